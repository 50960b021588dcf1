"""Issue 11: a task row is never taken for a repeated header because its cells mention header
words (责任单位, 进展情况); every other row that is not imported is named in a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.importers.build import import_plan
from tests.support.genre import write_table_as
from tests.support.tables import TableSpec, write_table

HEADER = ["序号", "任务", "具体内容", "责任单位", "进展情况", "完成时限"]
TITLE = ["某某市重点任务分工方案"]
# A task that talks about the header's own words, short cells included.
WORDY = [3, "责任单位进展情况报送", "各责任单位", "责任单位", "进展情况", "2022年底前"]


def skipped_rows(plan) -> list[str]:
    return [w.message for w in plan.warnings if "未作为任务导入" in w.message]


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".xlsx"])
def test_a_task_row_mentioning_header_words_is_a_task(tmp_path: Path, suffix: str):
    rows = [
        [1, "任务甲", "内容甲", "市司法局", "", "2022年6月底前"],
        [2, "任务乙", "内容乙", "市财政局", "", "2022年底前"],
        HEADER,  # the header repeated over a page break: not a task
        WORDY,
    ]
    spec = TableSpec(header=HEADER, rows=rows, title_lines=TITLE)
    plan = import_plan(write_table(spec, tmp_path / f"plan{suffix}"), coordinator="市司法局")
    assert [(t.no, t.title) for t in plan.tasks] == [
        (1, "任务甲"),
        (2, "任务乙"),
        (3, "责任单位进展情况报送"),
    ]
    assert plan.task(3).progress == "进展情况"
    assert skipped_rows(plan) == []


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_a_short_unnumbered_row_of_header_words_in_the_wrong_columns_is_a_task(
    tmp_path: Path, suffix: str
):
    rows = [
        HEADER,
        [1, "任务甲", "内容甲", "市司法局", "", "2022年底前"],
        ["", "责任单位", "进展情况", "市财政局", "", "2022年底前"],
    ]
    source = write_table_as(tmp_path / f"plan{suffix}", rows, TITLE)
    plan = import_plan(source, coordinator="市司法局")
    assert [t.title for t in plan.tasks] == ["任务甲", "责任单位"]


def test_a_row_that_is_not_imported_is_named_with_its_reason(tmp_path: Path):
    rows = [
        HEADER,
        [1, "任务甲", "内容甲", "市司法局", "", "2022年底前"],
        ["", "", "", "", "已完成", "2022年底前"],
        ["说明", "各单位每月报送", "", "", "", ""],
    ]
    source = write_table_as(tmp_path / "plan.xlsx", rows, TITLE)
    plan = import_plan(source, coordinator="市司法局")
    assert [t.title for t in plan.tasks] == ["任务甲"]
    assert skipped_rows(plan) == [
        "源文件第 4 行“已完成 | 2022年底前”没有序号、任务名称、具体内容和责任单位，"
        "未作为任务导入，请核对",
        "源文件第 5 行“说明 | 各单位每月报送”像是表下的注释或说明，未作为任务导入，请核对",
    ]


# --- the property: every task-like row is a task or is named as skipped ----------------------

WORDS = ["责任单位", "进展情况", "完成时限", "具体内容", "任务", "序号", "牵头单位", "推进情况",
         "完善", "机制", "建设", "法治", "营商环境", "督促", "落实", "报送", "台账",
         "市司法局"]  # fmt: skip
cell_text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map("".join)
maybe_text = st.one_of(st.just(""), cell_text)
task_row = st.tuples(cell_text, maybe_text, maybe_text, maybe_text, maybe_text).map(
    lambda cells: ["N", *cells]
)
other_row = st.sampled_from(
    [
        ("header", HEADER),
        ("blank", [""] * len(HEADER)),
        ("section", ["二、加强法治保障"]),
        ("section", ["三、优化营商环境"]),
        ("note", ["注：排在第一位的为牵头单位。"]),
    ]
)
table_rows = st.lists(
    st.one_of(task_row.map(lambda r: ("task", r)), other_row), min_size=1, max_size=12
).filter(lambda rows: any(kind == "task" for kind, _ in rows))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=table_rows, suffix=st.sampled_from([".txt", ".xlsx"]))
def test_tasks_and_skipped_rows_account_for_every_task_like_row(tmp_path: Path, rows, suffix):
    numbered, n = [], 0
    for kind, row in rows:
        if kind == "task":
            n += 1
            row = [n, *row[1:]]
        numbered.append(list(row))
    spec = TableSpec(header=HEADER, rows=[["一、优化营商环境"], *numbered], title_lines=TITLE)
    plan = import_plan(write_table(spec, tmp_path / f"plan{suffix}"), coordinator="市司法局")
    task_like = sum(1 for kind, _ in rows if kind == "task")
    assert len(plan.tasks) + len(skipped_rows(plan)) == task_like
    assert [t.no for t in plan.tasks] == list(range(1, task_like + 1))

"""The limits an import keeps whatever the file (engine.importers.limits): each refused with one
line naming the file and the limit, exit 2, no plan file touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.refusal import refuser
from support.tables import TableSpec, write_table

from engine.importers import build, limits
from engine.importers.header import column_role
from engine.importers.limits import MAX_CELLS, MAX_SOURCE_BYTES, MAX_TASKS, MAX_TEXT

MB = 1024 * 1024
HEADER = "\t序号\t任务\t责任单位\t完成时限\n\n"


@pytest.fixture
def refuse(duban, workdir):
    return refuser(duban, workdir)


@pytest.fixture
def elsewhere(tmp_path_factory) -> Path:
    """A folder for a big source, outside the working directory the refusal compares."""
    return tmp_path_factory.mktemp("sources")


def task_rows(count: int, content: str = "") -> str:
    row = "\t{n}\t任务{n}{content}\t市司法局\t2022年底前\n\n"
    return "".join(row.format(n=n, content=content) for n in range(1, count + 1))


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".xlsx", ".html", ".pdf", ".doc", ".xls"])
def test_a_50_mb_file_is_refused_before_it_is_read(refuse, elsewhere, suffix):
    source = elsewhere / f"big{suffix}"
    with source.open("wb") as out:
        out.write(HEADER.encode() + task_rows(20).encode())
        out.truncate(50 * MB)  # sparse: no 50 MB written
    err = refuse(source, f"big{suffix}", "50 MB", "超过导入上限 20 MB")
    assert MAX_SOURCE_BYTES == 20 * MB, err


def test_a_file_at_the_limit_is_read_within_bounds(duban, workdir):
    """Just under 20 MB of a real table layout: refused for its size of table, not read whole
    into rows (which took 1.8 GB and 22 s for 50 MB)."""
    source = workdir / "long.txt"
    rows = task_rows(2_000)
    source.write_text(HEADER + rows * ((MAX_SOURCE_BYTES - MB) // len(rows.encode())))
    result = duban("import", "long.txt", "-o", "plan.yaml")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "long.txt" in result.err and "上限" in result.err


@pytest.fixture
def small_limits(monkeypatch):
    """Limits small enough to reach in a test: what is checked, and how it is said, not the
    values, which are sized for a province's plan."""
    monkeypatch.setattr(build, "MAX_TASKS", 50)
    monkeypatch.setattr(limits, "MAX_CELLS", 2_000)
    monkeypatch.setattr(limits, "MAX_TEXT", 20_000)


def test_more_tasks_than_a_plan_file_takes(refuse, workdir, small_limits):
    (workdir / "many.txt").write_text(HEADER + task_rows(51), encoding="utf-8")
    refuse("many.txt", "many.txt", "51 项任务", "50 项")


def test_as_many_tasks_as_a_plan_file_takes(duban, workdir, small_limits):
    (workdir / "full.txt").write_text(HEADER + task_rows(50), encoding="utf-8")
    result = duban("import", "full.txt", "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    assert "已导入 50 项任务" in result.err


def test_more_cells_than_a_table_takes(refuse, workdir, small_limits):
    row = "\t".join(["x"] * 100)
    lines = [f"\t序号\t任务\t责任单位\t{row}"] + [f"\t1\t任务\t市司法局\t{row}"] * 20
    (workdir / "wide.txt").write_text("\n".join(lines), encoding="utf-8")
    refuse("wide.txt", "wide.txt", "2,000 个单元格")


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".xlsx"])
def test_more_text_than_a_table_takes(refuse, workdir, small_limits, suffix):
    spec = TableSpec(
        header=["序号", "任务", "具体内容", "责任单位"],
        rows=[[n, f"任务{n}", "内容" * 1_000, "市司法局"] for n in range(1, 12)],
    )
    write_table(spec, workdir / f"long{suffix}")
    refuse(f"long{suffix}", f"long{suffix}", "20,000 字")


def test_the_limits_take_the_largest_plans_the_benchmark_reads():
    """benchmarks/import_bench.py reads a 5,000-task workbook; a province's plan is that size."""
    assert MAX_TASKS >= 5_000 and MAX_CELLS >= 5_000 * 10 and MAX_TEXT >= 5_000 * 500


def test_one_cell_continued_over_a_million_lines(refuse, workdir):
    """A cell whose text goes on line after line grew by copying itself: quadratic."""
    lines = MAX_TEXT // 2 + 1_000  # a few seconds to read when linear; hours when quadratic
    text = HEADER + "\t1\t任务\t市司法局\t2022年底前" + "\n续续" * lines
    (workdir / "on.txt").write_text(text, encoding="utf-8")
    refuse("on.txt", "on.txt", "上限")


def test_a_long_cell_of_open_brackets_is_no_header():
    """A header cell's bracketed note was removed by a regex quadratic in unclosed brackets:
    200,000 of them took a quarter of an hour. The timeout is a safety net, not a benchmark."""
    code = "from engine.importers.header import column_role; print(column_role('（' * 200_000))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "None"
    assert column_role("完成时限（" + "注" * 50 + "）") == "deadline"

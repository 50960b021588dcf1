"""`duban export` on the seed plan after progress, approvals and an extension: every cell of every
format against the plan file, the round trip through the importers, and the user's mistakes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import docx
import openpyxl
import pytest

from engine.planfile import read_plan
from tests.conftest import SEED_PLAN

NOW = "2021-06-20T10:00:00+08:00"

# What happened to the seed plan before NOW.
HISTORY = [
    ("2021-04-01T09:00:00+08:00", "load", str(SEED_PLAN)),
    ("2021-05-10T10:00:00+08:00", "progress", "1", "--unit", "市发改局", "--text",
     "已起草《关于加快推进公共法律服务体系建设的意见》初稿，正在征求意见。"),
    ("2021-06-01T10:00:00+08:00", "progress", "4", "--unit", "市司法局", "--text",
     "已与澳门法务局建立联络机制。"),
    ("2021-06-02T10:00:00+08:00", "request", "4", "--unit", "市司法局", "--to", "completed",
     "--reason", "联络机制已建立"),
    ("2021-06-03T10:00:00+08:00", "approve", "1", "--by", "市司法局"),
    ("2021-06-05T10:00:00+08:00", "extend", "2", "--unit", "横琴新区", "--until", "2021-09-30",
     "--reason", "条例待省人大常委会批准"),
    ("2021-06-06T10:00:00+08:00", "approve", "2", "--by", "市司法局"),
]

PROGRESS = {
    1: "【推进中】2021年5月10日："
    "已起草《关于加快推进公共法律服务体系建设的意见》初稿，正在征求意见。",
    2: "【未启动】（完成时限经批准延至2021年9月30日）",
    4: "【已完成】2021年6月1日：已与澳门法务局建立联络机制。",
}
REPORTED = {1: HISTORY[1][-1], 4: HISTORY[2][-1]}
# The lights on 2021-06-20: due 2021-06-30 is within 30 days; 2020 deadlines are past.
LIGHTS = {1: "黄灯", 2: "绿灯", 3: "黄灯", 4: "已完成", 5: "黄灯", 6: "黄灯", 7: "黄灯",
          8: "绿灯", 9: "黄灯", 10: "绿灯", 11: "黄灯", 12: "黄灯", 13: "黄灯", 14: "红灯",
          15: "红灯", 16: "绿灯", 17: "绿灯", 18: "无时限"}
FILLS = {"红灯": "FFC7CE", "黄灯": "FFEB9C", "绿灯": "C6EFCE", "已完成": "DDEBF7", "无时限": None}


@pytest.fixture
def seeded(duban):
    for now, *args in HISTORY:
        result = duban("--now", now, *args)
        assert result.code == 0, result.err
    return duban


@pytest.fixture(scope="module")
def source():
    return read_plan(SEED_PLAN)


def expected_rows(source) -> list[list[str]]:
    """Every task row as the ledger must print it: the plan file's cells, the progress text."""
    headings = {s.no: f"{s.no}、{s.title}" for s in source.sections}
    return [
        [headings[t.section], str(t.no), t.title, t.content, t.units_text,
         PROGRESS.get(t.no, "【未启动】"), t.deadline.text]
        for t in source.tasks
    ]


def export(duban, fmt: str, name: str, *extra: str) -> Path:
    result = duban("--now", NOW, "export", "--format", fmt, "-o", name, *extra)
    assert result.code == 0, result.err
    assert "已导出 18 项任务" in result.err or extra
    return Path(name)


def test_docx_every_cell_matches_the_plan(seeded, source):
    document = docx.Document(str(export(seeded, "docx", "汇总表.docx")))
    assert document.paragraphs[0].text == source.title
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == [
        "项目", "任务", "任务", "具体内容", "责任部门", "推进情况", "完成时限"
    ]
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert rows == expected_rows(source)
    fills = []
    for row in table.rows[1:]:
        shd = row.cells[5]._tc.tcPr.find(docx.oxml.ns.qn("w:shd"))
        fills.append(None if shd is None else shd.get(docx.oxml.ns.qn("w:fill")))
    assert fills == [FILLS[LIGHTS[n]] for n in range(1, 19)]
    assert "灯号按2021年6月20日计算" in document.paragraphs[-1].text


def test_xlsx_every_cell_matches_the_plan(seeded, source):
    ws = openpyxl.load_workbook(export(seeded, "xlsx", "汇总表.xlsx")).active
    assert ws["A1"].value == source.title
    expected = expected_rows(source)
    sections = {}
    for i, want in enumerate(expected):
        values = [c.value if c.value is not None else "" for c in ws[3 + i]]
        assert values[1:] == [int(want[1]), *want[2:]]
        if values[0]:
            sections[values[0]] = i
        fill = ws.cell(row=3 + i, column=6).fill
        got = fill.fgColor.rgb[-6:] if fill.fill_type == "solid" else None
        assert got == FILLS[LIGHTS[i + 1]]
    # 项目 written once per section, merged down over its tasks
    assert list(sections) == [f"{s.no}、{s.title}" for s in source.sections]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A3:A5", "A6:A10", "A11:A12", "A13:A17", "A18:A20"} <= merged


def test_markdown_and_csv_every_cell_with_light_words(seeded, source):
    expected = expected_rows(source)
    words = [LIGHTS[n] for n in range(1, 19)]
    data = export(seeded, "csv", "汇总表.csv").read_bytes()
    assert data[:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == [source.title]
    assert rows[2:] == [[*row, word] for row, word in zip(expected, words, strict=True)]

    text = export(seeded, "md", "汇总表.md").read_text("utf-8")
    lines = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert len(lines) == 18
    for line, row, word in zip(lines, expected, words, strict=True):
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert cells[1:] == [c.replace("\n", "<br>") for c in row[1:]] + [word]


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_round_trip_gives_the_same_plan_with_progress(seeded, source, fmt):
    exported = export(seeded, fmt, f"汇总表.{fmt}")
    result = seeded("import", str(exported), "-o", "back.yaml", "--plan-id", source.id,
                    "--coordinator", source.coordinator)
    assert result.code == 0, result.err
    back = read_plan(Path("back.yaml"))
    assert back.title == source.title
    assert back.columns == source.columns
    assert back.sections == source.sections

    def shape(task):
        return (task.no, task.section, task.title, task.content, task.lead, task.co_units,
                task.units_text, task.deadline)

    assert [shape(t) for t in back.tasks] == [shape(t) for t in source.tasks]
    # issue 11: the progress as reported, without the ledger's 【status】, day and extension
    assert {t.no: t.progress for t in back.tasks} == {t.no: REPORTED.get(t.no, "")
                                                       for t in source.tasks}


def test_reexporting_an_imported_ledger_does_not_stack_status_prefixes(seeded, source):
    seeded("import", str(export(seeded, "docx", "a.docx")), "-o", "back.yaml",
           "--plan-id", "again", "--coordinator", "市司法局")
    assert seeded("--db", "sqlite:///second.db", "--now", NOW, "load", "back.yaml").code == 0
    result = seeded("--db", "sqlite:///second.db", "--now", NOW, "export", "-o", "b.csv")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(Path("b.csv").read_text("utf-8-sig"), newline="")))
    progress = {int(r[1]): r[5] for r in rows[2:]}
    # an imported task starts as 未启动 (DESIGN.md); its text is the report, without its day
    assert progress[1] == "【未启动】" + REPORTED[1]
    assert progress[4] == "【未启动】已与澳门法务局建立联络机制。"
    assert progress[3] == "【未启动】"


def test_unit_ledger_lists_only_that_units_tasks(seeded):
    result = seeded("--now", NOW, "export", "--format", "csv", "-o", "fgj.csv",
                    "--unit", "市市场监督管理局")  # an alias of 市市场监管局
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(Path("fgj.csv").read_text("utf-8-sig"), newline="")))
    assert [int(r[1]) for r in rows[2:]] == [3, 13]


# --- mistakes ----------------------------------------------------------------------------


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_unknown_format_is_one_line_exit_2_and_touches_nothing(duban, workdir):
    result = duban("export", "--format", "pdf", "-o", "汇总表.pdf")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "pdf" in result.err and "xlsx / docx / md / csv" in result.err
    assert files(workdir) == {}  # not even the database was created


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--format", "docx", "-o", "汇总表.xlsx"), "扩展名 .xlsx 与导出格式 docx 不符"),
        (("-o", "汇总表"), "无法从输出文件名"),
        (("--format", "md", "-o", "old.md", "--plan", "nope"), "--plan 的值“nope”"),
        (("--format", "md", "-o", "old.md", "--unit", "市不存在局"), "市不存在局"),
        (("--format", "md", "-o", "plan.yaml/汇总表.md"), "plan.yaml"),
        (("--format", "md", "-o", "."), "是一个目录"),
    ],
)
def test_mistakes_are_one_line_and_change_nothing(seeded, workdir, args, words):
    Path("old.md").write_text("上一版汇总表", encoding="utf-8")
    Path("plan.yaml").write_text("not a folder", encoding="utf-8")
    before = files(workdir)
    result = seeded("--now", NOW, "export", *args)
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1
    assert words in result.err
    assert "Traceback" not in result.err
    after = files(workdir)
    assert after == before


def test_export_without_any_plan_loaded_says_to_load_one(duban):
    result = duban("--now", NOW, "export", "--format", "xlsx", "-o", "a.xlsx")
    assert result.code == 2
    assert "duban load" in result.err
    assert not Path("a.xlsx").exists()


# --- another city's layout ---------------------------------------------------------------

def test_a_table_with_number_column_separate_co_units_and_section_rows_round_trips(duban):
    from tests.support.tables import TableSpec, write_table

    spec = TableSpec(
        header=["序号", "工作任务", "工作措施", "牵头单位", "配合单位", "时间节点"],
        title_lines=["附件", "某市法治政府建设工作分工方案"],
        rows=[
            ["一、完善制度体系"],
            [1, "制定实施意见", "出台实施意见。", "市发改局", "市财政局、市司法局",
             "2021年6月30日前"],
            [2, "建立联席会议", "建立联席会议制度。", "市司法局", "", "2021年9月底前"],
            ["二、加强工作保障"],
            [3, "落实经费保障", "将经费纳入预算。", "市财政局", "各区政府", "长期推进"],
        ],
    )
    write_table(spec, Path("source.xlsx"))
    assert duban("import", "source.xlsx", "-o", "plan.yaml", "--plan-id", "city",
                 "--coordinator", "市司法局").code == 0
    source = read_plan(Path("plan.yaml"))
    assert duban("--now", "2021-05-01T09:00:00+08:00", "load", "plan.yaml").code == 0
    assert duban("--now", "2021-05-20T09:00:00+08:00", "progress", "3", "--unit", "市财政局",
                 "--text", "已纳入年度预算。").code == 0

    for fmt in ("docx", "xlsx"):
        result = duban("--now", "2021-06-01T09:00:00+08:00", "export", "-o", f"out.{fmt}")
        assert result.code == 0, result.err
    table = docx.Document("out.docx").tables[0]
    texts = [[c.text for c in r.cells] for r in table.rows]
    assert texts[0] == [
        "序号", "工作任务", "工作措施", "牵头单位", "配合单位", "推进情况", "时间节点"
    ]
    assert texts[1] == ["一、完善制度体系"] * 7  # a full-width section row, as the source had
    assert texts[2] == ["1", "制定实施意见", "出台实施意见。", "市发改局", "市财政局、市司法局",
                        "【未启动】", "2021年6月30日前"]
    assert texts[5] == ["3", "落实经费保障", "将经费纳入预算。", "市财政局", "各区政府",
                        "【推进中】2021年5月20日：已纳入年度预算。", "长期推进"]
    ws = openpyxl.load_workbook("out.xlsx").active
    assert ws["A3"].value == "一、完善制度体系"
    assert "A3:G3" in {str(r) for r in ws.merged_cells.ranges}

    for fmt in ("docx", "xlsx"):
        assert duban("import", f"out.{fmt}", "-o", f"back-{fmt}.yaml", "--plan-id", "city",
                     "--coordinator", "市司法局").code == 0
        back = read_plan(Path(f"back-{fmt}.yaml"))
        assert back.title == source.title
        assert back.sections == source.sections
        assert [(t.no, t.section, t.title, t.content, t.lead, t.co_units, t.units_text,
                 t.deadline) for t in back.tasks] == [
            (t.no, t.section, t.title, t.content, t.lead, t.co_units, t.units_text, t.deadline)
            for t in source.tasks
        ]
        assert back.task(3).progress == "已纳入年度预算。"


# --- issue 11: the exported ledger names the coordinator, and importing it keeps it ----------


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_reimporting_a_ledger_keeps_its_coordinator_and_the_progress_as_reported(
    seeded, source, fmt
):
    exported = export(seeded, fmt, f"汇总表.{fmt}")
    result = seeded("import", str(exported), "-o", "back.yaml", "--plan-id", source.id)
    assert result.code == 0, result.err
    assert "未指定统筹" not in result.err
    back = read_plan(Path("back.yaml"))
    assert back.coordinator == source.coordinator
    assert back.title == source.title
    assert [(t.no, t.title, t.lead, t.co_units, t.deadline) for t in back.tasks] == [
        (t.no, t.title, t.lead, t.co_units, t.deadline) for t in source.tasks
    ]
    assert {t.no: t.progress for t in back.tasks} == {t.no: REPORTED.get(t.no, "")
                                                       for t in source.tasks}


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_a_coordinator_given_on_import_wins_over_the_ledgers_with_a_warning(seeded, source, fmt):
    exported = export(seeded, fmt, f"汇总表.{fmt}")
    result = seeded("import", str(exported), "-o", "back.yaml", "--plan-id", source.id,
                    "--coordinator", "市政府办公室")
    assert result.code == 0, result.err
    back = read_plan(Path("back.yaml"))
    assert back.coordinator == "市政府办公室"
    assert any(f"统筹单位为“{source.coordinator}”" in w.message and "市政府办公室" in w.message
               for w in back.warnings)


def test_every_format_names_the_coordinator(seeded, source):
    line = f"统筹单位：{source.coordinator}"
    document = docx.Document(str(export(seeded, "docx", "a.docx")))
    assert document.paragraphs[1].text == line
    ws = openpyxl.load_workbook(export(seeded, "xlsx", "a.xlsx")).active
    assert any(line in str(c.value or "") for row in ws.iter_rows() for c in row)
    assert line in export(seeded, "md", "a.md").read_text("utf-8")

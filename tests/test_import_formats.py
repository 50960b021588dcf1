"""One table read from Word text, .docx and .xlsx gives one plan; other wordings read too."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import SEED
from support.tables import SPAN, TableSpec, seed_spec, write_table

from engine.deadlines.deadline import DeadlineKind
from engine.importers.build import import_plan
from engine.model.plan import Plan, Status
from tests.support.plans import essentials

PROGRESS_COLUMN, DEADLINE_COLUMN = 5, 6  # in the seed's layout grid (任务 covers two columns)



@pytest.fixture(scope="module")
def from_text() -> Plan:
    return import_plan(SEED, coordinator="市司法局")


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".txt"])
def test_each_format_gives_the_seed_plan(tmp_path, from_text, suffix):
    source = write_table(seed_spec(), tmp_path / f"zhuhai{suffix}")
    plan = import_plan(source, coordinator="市司法局")
    assert essentials(plan) == essentials(from_text)
    assert plan.sections == from_text.sections
    assert plan.title == from_text.title
    assert plan.columns == from_text.columns
    assert [(w.task, w.message) for w in plan.warnings if w.task != 18] == [
        (w.task, w.message) for w in from_text.warnings if w.task != 18
    ]
    assert "缺少责任部门和完成时限" in [w.message for w in plan.warnings if w.task == 18]


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_a_filled_in_rendering_gives_the_same_tasks(tmp_path, from_text, suffix):
    # As an office would hand it back: progress written in, and in Excel a real date cell.
    spec = seed_spec().with_cell(14, PROGRESS_COLUMN, "已修订经济困难标准。")
    if suffix == ".xlsx":
        spec = spec.with_cell(8, DEADLINE_COLUMN, date(2023, 12, 31))
    plan = import_plan(write_table(spec, tmp_path / f"filled{suffix}"), coordinator="市司法局")
    assert essentials(plan, deadline_text=False) == essentials(from_text, deadline_text=False)
    assert plan.task(14).progress == "已修订经济困难标准。"
    assert plan.task(8).deadline.due == date(2023, 12, 31)


def test_the_docx_rendering_really_has_merged_cells(tmp_path):
    source = write_table(seed_spec(), tmp_path / "zhuhai.docx")
    xml = zipfile.ZipFile(source).read("word/document.xml").decode()
    assert 'w:gridSpan w:val="2"' in xml  # 任务 over the number and the title
    assert 'w:gridSpan w:val="7"' in xml  # section headings across the row
    assert "w:vMerge" in xml  # 项目 merged down over its tasks


def test_the_xlsx_rendering_really_has_merged_cells(tmp_path):
    source = write_table(seed_spec(), tmp_path / "zhuhai.xlsx")
    ranges = {str(r) for r in openpyxl.load_workbook(source).active.merged_cells.ranges}
    assert "B4:C4" in ranges  # 任务 in the header row (below three title rows)
    assert "A5:A7" in ranges  # 项目 一 over tasks 1-3


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_a_progress_cell_becomes_progress_and_leaves_status(tmp_path, suffix):
    spec = seed_spec().with_cell(
        14, PROGRESS_COLUMN, "已修订法律援助经济困难标准，\n正在征求意见。"
    )
    plan = import_plan(write_table(spec, tmp_path / f"t{suffix}"))
    assert plan.task(14).progress == "已修订法律援助经济困难标准，\n正在征求意见。"
    assert plan.task(14).status is Status.NOT_STARTED
    assert plan.task(13).progress == ""


@pytest.mark.parametrize(
    "value", [date(2021, 6, 30), datetime(2021, 6, 30, 0, 0)], ids=["date", "datetime"]
)
def test_a_real_excel_date_cell_is_a_date_deadline(tmp_path, value):
    spec = seed_spec().with_cell(1, DEADLINE_COLUMN, value)
    plan = import_plan(write_table(spec, tmp_path / "dated.xlsx"))
    task = plan.task(1)
    assert task.deadline.kind is DeadlineKind.DATE
    assert task.deadline.due == date(2021, 6, 30)
    assert task.lead == "市发改局"


# --- other wordings -------------------------------------------------------------------------

OTHER_CITY = TableSpec(
    title_lines=["附件1", "某市优化法治化营商环境工作任务分工表", "（各单位于每月25日前报送进展）"],
    header=["序号", "工作任务", "工作措施", "责任单位", "时间节点"],
    rows=[
        ["一、提升政务服务水平"],
        [1, "推进“一网通办”", "整合政务服务事项。",
         "牵头单位：市政数局；配合单位：市司法局、各区政府", "2022年底前"],
        [2, "优化公证服务", "推行公证事项证明材料清单制度。",
         "市司法局牵头，市公安局、市民政局配合", date(2022, 6, 30)],
        ["二、强化法治保障"],
        [3, "加强法律援助", "扩大法律援助覆盖面。",
         "市司法局（牵头）、市财政局、市司法局", "长期坚持"],
        [4, "开展执法检查", "", "各区政府", "根据上级部署"],
    ],
)  # fmt: skip


@pytest.mark.parametrize("suffix", [".xlsx", ".docx", ".txt"])
def test_other_wording_without_a_project_column(tmp_path, suffix):
    plan = import_plan(write_table(OTHER_CITY, tmp_path / f"other{suffix}"), coordinator="市司法局")
    assert plan.title == "某市优化法治化营商环境工作任务分工表"
    assert plan.columns == ["序号", "工作任务", "工作措施", "责任单位", "时间节点"]
    assert [(s.no, s.title) for s in plan.sections] == [
        ("一", "提升政务服务水平"),
        ("二", "强化法治保障"),
    ]
    units = {t.no: (t.section, t.lead, t.co_units) for t in plan.tasks}
    assert units == {
        1: ("一", "市政数局", ["市司法局", "各区政府"]),
        2: ("一", "市司法局", ["市公安局", "市民政局"]),
        3: ("二", "市司法局", ["市财政局"]),
        4: ("二", "各区政府", []),
    }
    assert plan.task(1).deadline.due == date(2022, 12, 31)
    assert plan.task(2).deadline.due == date(2022, 6, 30)
    assert plan.task(3).deadline.kind is DeadlineKind.LONG_TERM
    assert plan.task(4).deadline.kind is DeadlineKind.UNKNOWN
    assert {t.progress for t in plan.tasks} == {""}  # no 推进情况 column at all
    warnings = [(w.task, w.message) for w in plan.warnings]
    assert warnings == [
        (3, "责任单位中“市司法局”重复出现，已合并"),
        (4, "时间节点“根据上级部署”无法识别，已记为待定，请人工确认"),
    ]


def test_a_table_without_numbers_is_numbered_in_order(tmp_path):
    spec = TableSpec(
        header=["主要任务", "主要内容", "责任部门", "完成时间", "备注"],
        rows=[
            ["建立联席会议制度", "每季度召开一次。", "市司法局", "2022年3月底前", ""],
            ["编制发展规划", "", "市发改局、市司法局", "2022年第三季度", "已列入年度计划"],
        ],
    )
    plan = import_plan(write_table(spec, tmp_path / "plain.xlsx"), coordinator="市司法局")
    assert [(t.no, t.title) for t in plan.tasks] == [(1, "建立联席会议制度"), (2, "编制发展规划")]
    assert plan.task(2).deadline.due == date(2022, 9, 30)
    assert plan.sections == [] and plan.task(1).section is None
    assert plan.title == "plain"  # no title above the table: the file's name
    assert plan.warnings == []


def test_lead_and_co_unit_columns_are_read_together(tmp_path):
    spec = TableSpec(
        header=["序号", "重点任务", "牵头单位", "配合单位", "完成时限", "进展情况"],
        rows=[
            [1, "建设公共法律服务中心", "市司法局", "市发改局、市财政局", "2023年底前", "已选址"]
        ],
    )
    plan = import_plan(write_table(spec, tmp_path / "split.docx"), coordinator="市司法局")
    task = plan.task(1)
    assert (task.lead, task.co_units) == ("市司法局", ["市发改局", "市财政局"])
    assert task.progress == "已选址"


def test_repeated_and_missing_numbers_are_renumbered_and_reported(tmp_path):
    spec = TableSpec(
        header=["序号", "任务", "责任单位", "完成时限"],
        rows=[
            [1, "甲", "市司法局", "2022年底前"],
            [1, "乙", "市财政局", "2022年底前"],
            ["", "丙", "市人社局", "2022年底前"],
        ],
    )
    plan = import_plan(write_table(spec, tmp_path / "dup.xlsx"), coordinator="市司法局")
    assert [(t.no, t.title) for t in plan.tasks] == [(1, "甲"), (2, "乙"), (3, "丙")]
    assert [(w.task, w.message) for w in plan.warnings] == [
        (2, "任务序号 1 与前面的任务重复，已改编为 2"),
        (3, "第 4 行没有任务序号，已编为 3"),
    ]


def test_the_plan_table_is_found_after_other_tables_and_sheets(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("联系人名单")
    contacts = document.add_table(rows=2, cols=2)
    contacts.cell(0, 0).text, contacts.cell(0, 1).text = "单位", "联系人"
    contacts.cell(1, 0).text, contacts.cell(1, 1).text = "市司法局", "张三"
    document.add_paragraph("附件2")
    document.add_paragraph("某市重点任务分工表")
    plan_table = document.add_table(rows=2, cols=3)
    for c, text in enumerate(["任务", "责任单位", "完成时限"]):
        plan_table.cell(0, c).text = text
    for c, text in enumerate(["建立联席会议制度", "市司法局、市财政局", "2022年6月前"]):
        plan_table.cell(1, c).text = text
    source = tmp_path / "two-tables.docx"
    document.save(str(source))
    plan = import_plan(source, coordinator="市司法局")
    assert plan.title == "某市重点任务分工表"
    assert [(t.no, t.lead, t.deadline.due) for t in plan.tasks] == [
        (1, "市司法局", date(2022, 5, 31))
    ]


def test_a_plan_on_the_second_worksheet(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表由市司法局汇总"])
    sheet = book.create_sheet("任务表")
    sheet.append(["序号", "任  务", "责任单位", "时间节点"])
    sheet.append([1, "建立联席会议制度", "市司法局", "2022年12月31日"])
    source = tmp_path / "sheets.xlsx"
    book.save(source)
    plan = import_plan(source, coordinator="市司法局")
    assert [(t.no, t.title, t.deadline.due) for t in plan.tasks] == [
        (1, "建立联席会议制度", date(2022, 12, 31))
    ]


def test_a_header_split_over_its_span_in_text_keeps_numbers_and_titles(tmp_path):
    # In Word's text layout the header has one cell fewer than the rows: 任务 covered two columns.
    spec = TableSpec(
        header=["项目", "任务", SPAN, "责任部门", "完成时限"],
        rows=[
            ["一、健全机制", 1, "建立制度", "市司法局", "2021年底前"],
            ["", 2, "完善规则", "市财政局", "2022年底前"],
        ],
    )  # fmt: skip
    source = write_table(spec, tmp_path / "span.txt")
    plan = import_plan(Path(source), coordinator="市司法局")
    assert [(t.no, t.title, t.lead, t.section) for t in plan.tasks] == [
        (1, "建立制度", "市司法局", "一"),
        (2, "完善规则", "市财政局", "一"),
    ]


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("gb18030", "\n"), ("utf-16", "\r\n"), ("utf-8-sig", "\r\n")],
    ids=["gbk", "utf-16", "utf-8-bom-crlf"],
)
def test_word_text_in_the_encodings_word_saves(tmp_path, from_text, encoding, newline):
    text = SEED.read_text(encoding="utf-8").replace("\n", newline)
    source = tmp_path / "seed.txt"
    source.write_bytes(text.encode(encoding))
    plan = import_plan(source, coordinator="市司法局")
    assert essentials(plan) == essentials(from_text)
    assert plan.title == from_text.title


def test_a_pasted_table_with_one_row_per_line(tmp_path):
    source = tmp_path / "pasted.txt"
    source.write_text(
        "某区重点任务清单\n"
        "序号\t任务\t责任单位\t完成时限\t推进情况\n"
        "1\t建立联席会议制度\t区司法局、区财政局\t2022年6月30日前\t已召开首次会议\n"
        "2\t编制发展规划\t区发改局\t2022年底前\t\n",
        encoding="utf-8",
    )
    plan = import_plan(source, coordinator="区司法局")
    assert plan.title == "某区重点任务清单"
    assert [
        (t.no, t.title, t.lead, t.co_units, t.deadline.due, t.progress) for t in plan.tasks
    ] == [
        (1, "建立联席会议制度", "区司法局", ["区财政局"], date(2022, 6, 30), "已召开首次会议"),
        (2, "编制发展规划", "区发改局", [], date(2022, 12, 31), ""),
    ]
    assert plan.warnings == []


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_number_and_project_columns_side_by_side(tmp_path, suffix):
    spec = TableSpec(
        header=["序号", "项目", "任务", "责任单位", "完成时限"],
        rows=[
            [1, "一、完善制度", "制定实施意见", "市司法局", "2022年底前"],
            [2, "", "出台配套办法", "市财政局", "2023年底前"],
            [3, "二、强化保障", "落实经费", "市财政局", "长期推进"],
        ],
        merge_down=1,
    )
    plan = import_plan(write_table(spec, tmp_path / f"side{suffix}"), coordinator="市司法局")
    assert [(s.no, s.title) for s in plan.sections] == [("一", "完善制度"), ("二", "强化保障")]
    assert [(t.no, t.section, t.title) for t in plan.tasks] == [
        (1, "一", "制定实施意见"),
        (2, "一", "出台配套办法"),
        (3, "二", "落实经费"),
    ]


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_a_units_header_split_into_lead_and_co_units(tmp_path, suffix):
    # 责任单位 over two columns, 牵头单位 | 配合单位 below it; the other headers merged down.
    path = tmp_path / f"two-row-header{suffix}"
    header = ["序号", "工作任务", "责任单位", None, "完成时限"]
    below = [None, None, "牵头单位", "配合单位", None]
    row = [1, "建设公共法律服务中心", "市司法局", "市发改局、市财政局", "2023年底前"]
    if suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        for values in (header, below, row):
            sheet.append(values)
        for ref in ("A1:A2", "B1:B2", "C1:D1", "E1:E2"):
            sheet.merge_cells(ref)
        book.save(path)
    else:
        import docx

        document = docx.Document()
        table = document.add_table(rows=3, cols=5)
        for r, values in enumerate((header, below, row)):
            for c, value in enumerate(values):
                if value is not None:
                    table.cell(r, c).text = str(value)
        table.cell(0, 2).merge(table.cell(0, 3))
        for c in (0, 1, 4):
            table.cell(0, c).merge(table.cell(1, c))
        document.save(str(path))
    plan = import_plan(path, coordinator="市司法局")
    task = plan.task(1)
    assert (task.title, task.lead, task.co_units) == (
        "建设公共法律服务中心",
        "市司法局",
        ["市发改局", "市财政局"],
    )
    assert task.deadline.due == date(2023, 12, 31)
    assert plan.columns == ["序号", "工作任务", "牵头单位", "配合单位", "完成时限"]
    assert len(plan.tasks) == 1


def test_nested_headings_and_headings_without_numerals(tmp_path):
    spec = TableSpec(
        header=["序号", "工作任务", "责任单位", "完成时限"],
        rows=[
            ["一、完善制度"],
            ["（一）健全规则"],
            [1, "制定实施意见", "市司法局", "2022年底前"],
            ["（二）强化执行"],
            [2, "开展执法检查", "市司法局", "2022年底前"],
            ["二、强化保障"],
            ["（一）经费保障"],
            [3, "落实经费", "市财政局", "长期推进"],
            ["其他工作"],
            [4, "总结评估", "市司法局", "2023年底前"],
        ],
    )
    plan = import_plan(write_table(spec, tmp_path / "nested.xlsx"), coordinator="市司法局")
    assert [(s.no, s.title) for s in plan.sections] == [
        ("一", "完善制度"),
        ("一（一）", "健全规则"),
        ("一（二）", "强化执行"),
        ("二", "强化保障"),
        ("二（一）", "经费保障"),
        ("三", "其他工作"),
    ]
    assert [t.section for t in plan.tasks] == ["一（一）", "一（二）", "二（一）", "三"]


def test_each_gap_is_a_warning_naming_its_task_and_column(tmp_path):
    spec = TableSpec(
        header=["序号", "任务", "牵头单位", "时间节点"],
        rows=[
            [1, "甲", "", "2022年底前"],
            [2, "乙", "市财政局", ""],
            [3, "丙", "", ""],
            [4, "丁", "市财政局", "视情况而定"],
            [5, "", "市财政局", "2022年底前"],
        ],
    )
    plan = import_plan(write_table(spec, tmp_path / "gaps.docx"), coordinator="市司法局")
    assert [(w.task, w.message) for w in plan.warnings] == [
        (1, "缺少牵头单位"),
        (2, "缺少时间节点"),
        (3, "缺少牵头单位和时间节点"),
        (4, "时间节点“视情况而定”无法识别，已记为待定，请人工确认"),
        (5, "缺少任务名称"),
    ]
    assert [t.no for t in plan.tasks] == [1, 2, 3, 4, 5]  # flagged, never dropped


def test_a_dash_or_slash_marks_an_empty_cell(tmp_path):
    spec = TableSpec(
        header=["序号", "任务", "责任单位", "推进情况", "完成时限"],
        rows=[[1, "甲", "—", "/", "／"], [2, "乙", "市司法局", "无", "2022年底前"]],
    )
    plan = import_plan(write_table(spec, tmp_path / "dashes.xlsx"), coordinator="市司法局")
    assert (plan.task(1).lead, plan.task(1).progress) == (None, "")
    assert plan.task(2).progress == "无"  # a word is a report, not a placeholder
    assert [(w.task, w.message) for w in plan.warnings] == [(1, "缺少责任单位和完成时限")]


def test_a_word_table_split_in_two_is_read_as_one_plan(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("某市重点任务分工表")
    header = ["序号", "任务", "责任单位", "完成时限"]
    parts = [
        [["一、完善制度", "", "", ""], [1, "甲", "市司法局", "2022年底前"]],
        [
            [2, "乙", "市财政局", "2023年底前"],
            ["二、强化保障", "", "", ""],
            [3, "丙", "市人社局", "长期推进"],
        ],
    ]  # fmt: skip
    for rows in parts:
        table = document.add_table(rows=1 + len(rows), cols=4)
        for r, values in enumerate([header, *rows]):
            for c, value in enumerate(values):
                table.cell(r, c).text = str(value)
            if str(values[0]).endswith(("完善制度", "强化保障")):
                table.cell(r, 0).merge(table.cell(r, 3))
        document.add_paragraph("（续表）")
    source = tmp_path / "split.docx"
    document.save(str(source))
    plan = import_plan(source, coordinator="市司法局")
    assert [(t.no, t.section, t.lead) for t in plan.tasks] == [
        (1, "一", "市司法局"),
        (2, "一", "市财政局"),
        (3, "二", "市人社局"),
    ]
    assert [(w.task, w.message) for w in plan.warnings] == [
        (None, "第 2 个表格与第 1 个表格表头相同，已作为续表一并导入")
    ]

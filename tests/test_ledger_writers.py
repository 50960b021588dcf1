"""The ledger writers on hand-built rows: every cell, merged cells, fonts, colours and legends."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

from engine.errors import UserError
from engine.ledger import export, render
from engine.ledger.build import TaskState, layout_columns, progress_text
from engine.ledger.model import ColumnKind, Ledger, LedgerRow, LedgerSection
from engine.model.plan import Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED_COLUMNS = ["项目", "任 务", "具体内容", "责任部门", "推进情况", "完成时限"]

ROWS = (
    LedgerRow("一", 1, "统筹谋划体系建设", "出台意见。\n建立联席会议制度。", "市发改局、市财政局",
              "【推进中】2021年5月10日：已起草初稿。", "2021年6月30日前", "red"),
    LedgerRow("一", 2, "加强立法", "研究立法|可行性", "横琴新区、市司法局",
              "【未启动】", "2021年6月30日前", "yellow"),
    LedgerRow("二", 3, "建设基地", "打造基地", "金湾区", "【推进中】", "2023年底前", "green"),
    LedgerRow("二", 4, "公证改革", "深化改革", "市司法局", "【已完成】2021年6月1日：已印发。",
              "长期推进", "done"),
    LedgerRow("二", 5, "信息化建设", "", "", "【未启动】", "", "none"),
)
SECTIONS = (LedgerSection("一", "完善体系"), LedgerSection("二", "加强保障"))
FILLS = {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE", "done": "DDEBF7", "none": None}


def ledger(columns=SEED_COLUMNS, **extra) -> Ledger:
    return Ledger("试点分工方案推进情况汇总表", layout_columns(columns), SECTIONS, ROWS,
                  as_of=date(2021, 6, 20), **extra)


def expected_cells(row: LedgerRow) -> list[str]:
    heading = {"一": "一、完善体系", "二": "二、加强保障"}[row.section]
    return [heading, str(row.no), row.title, row.content, row.units_text, row.progress,
            row.deadline]


# --- columns and the 推进情况 text ----------------------------------------------------------


def test_seed_columns_keep_their_order_and_the_task_header_spans_two_columns():
    columns = layout_columns(SEED_COLUMNS)
    assert [c.kind for c in columns] == [
        ColumnKind.SECTION, ColumnKind.NO, ColumnKind.TITLE, ColumnKind.CONTENT,
        ColumnKind.UNITS, ColumnKind.PROGRESS, ColumnKind.DEADLINE,
    ]
    assert [c.header for c in columns][:3] == ["项目", "任 务", "任 务"]
    assert [c.joined for c in columns] == [False, False, True, False, False, False, False]


def test_a_number_column_makes_the_task_column_the_title_alone():
    columns = layout_columns(["序号", "工作任务", "工作措施", "责任单位", "时间节点"])
    assert [c.kind for c in columns] == [
        ColumnKind.NO, ColumnKind.TITLE, ColumnKind.CONTENT, ColumnKind.UNITS,
        ColumnKind.PROGRESS, ColumnKind.DEADLINE,
    ]
    assert not any(c.joined for c in columns)
    assert columns[4].header == "推进情况"  # added after 责任单位: the ledger exists to fill it


def test_no_recorded_columns_give_the_seed_layout():
    assert [c.header for c in layout_columns([])] == [
        "项目", "任务", "任务", "具体内容", "责任部门", "推进情况", "完成时限"
    ]


def test_progress_text_is_status_date_and_report_in_the_plan_zone():
    # 17:30 UTC is already the next day in Shanghai
    state = TaskState(Status.IN_PROGRESS, "yellow", "已起草初稿。",
                      datetime(2021, 5, 10, 17, 30, tzinfo=UTC))
    assert progress_text(state, "", SHANGHAI) == "【推进中】2021年5月11日：已起草初稿。"


def test_progress_text_without_report_keeps_the_imported_text_and_notes_an_extension():
    state = TaskState(Status.NOT_STARTED, "green", extended_due=date(2021, 9, 30))
    text = progress_text(state, "【推进中】已形成方案。", SHANGHAI)
    # a ledger read back already has a status prefix: it is replaced, not stacked
    assert text == "【未启动】已形成方案。（完成时限经批准延至2021年9月30日）"


# --- docx ------------------------------------------------------------------------------------


def open_docx(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def test_docx_every_cell_as_given_with_sections_and_task_header_merged():
    document = open_docx(render(ledger(), "docx"))
    assert document.paragraphs[0].text == "试点分工方案推进情况汇总表"
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == [
        "项目", "任 务", "任 务", "具体内容", "责任部门", "推进情况", "完成时限"
    ]
    assert table.rows[0].cells[1]._tc is table.rows[0].cells[2]._tc  # one header cell, two columns
    assert [[c.text for c in r.cells] for r in table.rows[1:]] == [expected_cells(r) for r in ROWS]
    # 项目 is one cell merged down over its section's tasks
    section_cells = [r.cells[0]._tc for r in table.rows[1:]]
    assert section_cells[0] is section_cells[1]
    assert section_cells[2] is section_cells[3] is section_cells[4]
    assert section_cells[1] is not section_cells[2]


def test_docx_prints_landscape_with_a_repeated_header_and_fixed_widths():
    document = open_docx(render(ledger(), "docx"))
    section = document.sections[0]
    assert section.orientation == docx.enum.section.WD_ORIENT.LANDSCAPE
    assert section.page_width > section.page_height
    table = document.tables[0]
    header_flags = table.rows[0]._tr.trPr.findall(qn("w:tblHeader"))
    assert len(header_flags) == 1
    assert table.rows[1]._tr.trPr is None or not table.rows[1]._tr.trPr.findall(qn("w:tblHeader"))
    assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    widths = [c.width for c in table.columns]
    usable = section.page_width - section.left_margin - section.right_margin
    assert sum(widths) <= usable
    assert widths[3] == max(widths)  # 具体内容 gets the room
    footer = section.footer.paragraphs[0]._p
    assert footer.find(qn("w:fldSimple")).get(qn("w:instr")) == "PAGE"


def _east_asian(run) -> str | None:
    fonts = run._element.rPr.find(qn("w:rFonts"))
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def test_docx_fonts_are_set_for_chinese_text():
    document = open_docx(render(ledger(), "docx"))
    assert _east_asian(document.paragraphs[0].runs[0]) == "方正小标宋简体"
    table = document.tables[0]
    assert _east_asian(table.rows[0].cells[3].paragraphs[0].runs[0]) == "黑体"
    body = table.rows[1].cells[3].paragraphs[0].runs[0]
    assert _east_asian(body) == "仿宋_GB2312"
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"


def _fill(cell) -> str | None:
    shd = cell._tc.tcPr.find(qn("w:shd"))
    return None if shd is None else shd.get(qn("w:fill"))


def test_docx_lights_are_the_progress_cells_shading_with_a_legend():
    document = open_docx(render(ledger(), "docx"))
    table = document.tables[0]
    assert [_fill(r.cells[5]) for r in table.rows[1:]] == [FILLS[r.light] for r in ROWS]
    assert all(_fill(r.cells[3]) is None for r in table.rows[1:])  # only 推进情况 is coloured
    # Word refuses properties out of the schema's order: w:shd comes before w:vAlign
    tags = [child.tag for child in table.rows[1].cells[5]._tc.tcPr]
    assert tags.index(qn("w:shd")) < tags.index(qn("w:vAlign"))
    legend = document.paragraphs[-1]
    for words in ("红灯 逾期未完成", "黄灯 30日内到期", "绿灯 正常推进", "已完成", "无时限",
                  "灯号按2021年6月20日计算"):
        assert words in legend.text
    swatches = [r._element.rPr.find(qn("w:shd")) for r in legend.runs]
    assert [s.get(qn("w:fill")) for s in swatches if s is not None] == [
        FILLS[c] for c in ("red", "yellow", "green", "done")
    ]


def test_docx_without_a_section_column_has_full_width_section_rows():
    columns = ["序号", "任务", "具体内容", "责任单位", "推进情况", "完成时限"]
    table = open_docx(render(ledger(columns), "docx")).tables[0]
    texts = [[c.text for c in r.cells] for r in table.rows]
    assert texts[1] == ["一、完善体系"] * 6
    assert table.rows[1].cells[0]._tc is table.rows[1].cells[5]._tc
    assert texts[2] == expected_cells(ROWS[0])[1:]
    assert texts[4] == ["二、加强保障"] * 6
    assert len(texts) == 1 + 2 + len(ROWS)


def test_docx_unit_ledger_says_so_in_the_legend():
    document = open_docx(render(ledger(unit="市司法局"), "docx"))
    assert "本表仅列市司法局牵头或配合的任务" in document.paragraphs[-1].text


# --- xlsx ------------------------------------------------------------------------------------


def open_sheet(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_xlsx_title_header_and_every_cell():
    ws = open_sheet(render(ledger(), "xlsx"))
    assert ws["A1"].value == "试点分工方案推进情况汇总表"
    assert "A1:G1" in {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[2]] == ["项目", "任 务", None, "具体内容", "责任部门", "推进情况",
                                        "完成时限"]
    assert "B2:C2" in {str(r) for r in ws.merged_cells.ranges}
    for offset, row in enumerate(ROWS):
        values = [c.value if c.value is not None else "" for c in ws[3 + offset]]
        cells = expected_cells(row)
        assert values[1:] == [row.no, *cells[2:]]
        assert isinstance(values[1], int)
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A3:A4", "A5:A7"} <= merged
    assert ws["A3"].value == "一、完善体系" and ws["A5"].value == "二、加强保障"


def test_xlsx_is_frozen_filtered_wrapped_and_sized():
    ws = open_sheet(render(ledger(), "xlsx"))
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:G7"
    assert ws.print_title_rows == "$2:$2"
    assert ws.page_setup.orientation == "landscape"
    assert ws.oddFooter.center.text == "第 &P 页，共 &N 页"
    body = [ws.cell(row=r, column=c) for r in range(3, 8) for c in range(2, 8)]
    assert all(cell.alignment.wrap_text for cell in body)
    widths = [ws.column_dimensions[col].width for col in "ABCDEFG"]
    assert widths[3] == max(widths) and widths[1] < widths[2]
    assert ws.row_dimensions[3].height > ws.row_dimensions[4].height  # two lines of content


def test_xlsx_lights_fill_the_progress_cells_and_the_legend_shows_each_colour():
    ws = open_sheet(render(ledger(), "xlsx"))

    def fill(cell) -> str | None:
        return cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type == "solid" else None

    assert [fill(ws.cell(row=3 + i, column=6)) for i in range(len(ROWS))] == [
        FILLS[r.light] for r in ROWS
    ]
    legend = {ws.cell(row=r, column=6).value: fill(ws.cell(row=r, column=6))
              for r in range(9, ws.max_row + 1) if ws.cell(row=r, column=6).value}
    assert legend["红灯：逾期未完成"] == "FFC7CE"
    assert legend["黄灯：30日内到期"] == "FFEB9C"
    assert any(v.startswith("无时限") for v in legend)
    assert ws["A9"].value.startswith("说明：") and "2021年6月20日" in ws["A9"].value


# --- md and csv ------------------------------------------------------------------------------


def test_markdown_table_with_light_words_and_escaped_cells():
    text = render(ledger(), "md").decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "# 试点分工方案推进情况汇总表"
    assert lines[2] == "| 项目 | 序号 | 任 务 | 具体内容 | 责任部门 | 推进情况 | 完成时限 | 灯号 |"
    body = [line for line in lines if line.startswith("| ") and line != lines[2]]
    assert body[0] == (
        "| 一、完善体系 | 1 | 统筹谋划体系建设 | 出台意见。<br>建立联席会议制度。 | "
        "市发改局、市财政局 | 【推进中】2021年5月10日：已起草初稿。 | 2021年6月30日前 | 红灯 |"
    )
    assert body[1].startswith("|  | 2 | 加强立法 | 研究立法\\|可行性 |")  # 项目 shown once
    assert [line.rsplit("|", 2)[1].strip() for line in body] == [
        "红灯", "黄灯", "绿灯", "已完成", "无时限"
    ]
    assert "说明：红灯：逾期未完成" in text


def test_csv_has_a_bom_the_title_and_every_cell_with_light_words():
    data = render(ledger(), "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["试点分工方案推进情况汇总表"]
    assert rows[1] == [
        "项目", "序号", "任 务", "具体内容", "责任部门", "推进情况", "完成时限", "灯号"
    ]
    words = ["红灯", "黄灯", "绿灯", "已完成", "无时限"]
    assert rows[2:] == [[*expected_cells(r), w] for r, w in zip(ROWS, words, strict=True)]
    assert b"\r\n" in data  # Excel's line ends


# --- the interface -------------------------------------------------------------------------


def test_unknown_format_is_a_user_error_naming_the_choices(tmp_path):
    target = tmp_path / "ledger.pdf"
    with pytest.raises(UserError, match=r"pdf.*xlsx / docx / md / csv"):
        export(ledger(), "pdf", target)
    assert not target.exists()


def test_export_replaces_a_file_whole(tmp_path):
    target = tmp_path / "ledger.md"
    target.write_text("old")
    export(ledger(), "md", target)
    assert target.read_text("utf-8").startswith("# 试点分工方案推进情况汇总表")
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.md"]  # no temporary file left

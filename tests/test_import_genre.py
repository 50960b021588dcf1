"""Plan tables of the genre as other offices write them (分工方案, 任务分解表, 重点任务清单,
督办台账): other cities, other wordings, Word and Excel layouts the importer has never seen. Each
table is built with python-docx / openpyxl (tests/support/genre.py) and read through
`import_plan`; the assertions are what a coordinating office would expect to find
in the plan file."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from support.genre import MERGE_LEFT as L
from support.genre import MERGE_UP as U
from support.genre import (
    DocTable,
    Sheet,
    use_builtin_format,
    write_docx_tables,
    write_table_as,
    write_xlsx_sheets,
)

from engine.deadlines.grammar import parse_deadline
from engine.errors import UserError
from engine.importers.build import COORDINATOR_MISSING, import_plan
from engine.importers.units import parse_units
from engine.model.plan import Plan, Status
from engine.planfile import read_plan


@pytest.mark.parametrize(
    ("cell", "lead", "co_units"),
    [
        ("市发展改革委（牵头），市财政局、市自然资源局",
         "市发展改革委", ["市财政局", "市自然资源局"]),
        ("各区政府，市有关部门", "各区政府", ["市有关部门"]),
        ("市教育局牵头，各区配合", "市教育局", ["各区"]),
        ("市发展改革委牵头，市有关单位按职责分工负责", "市发展改革委", ["市有关单位"]),
        ("市卫生健康委、市医保局按职责分工负责", "市卫生健康委", ["市医保局"]),
        ("市教育局，各区政府负责", "市教育局", ["各区政府"]),
        ("各区政府（管委会）负责落实", "各区政府", []),
        ("市财政局等部门", "市财政局", []),
        ("市委组织部等有关单位", "市委组织部", []),
        ("市公安局、市交通运输局及各区政府", "市公安局", ["市交通运输局", "各区政府"]),
        ("市司法局和市财政局", "市司法局", ["市财政局"]),
        ("市发展和改革局与市财政局", "市发展和改革局", ["市财政局"]),
        ("市人力资源和社会保障局、市住房和城乡建设局",
         "市人力资源和社会保障局", ["市住房和城乡建设局"]),
        ("市住房城乡建设局/市城市管理局", "市住房城乡建设局", ["市城市管理局"]),
        ("市科技局、市工业和信息化局分别牵头", "市科技局", ["市工业和信息化局"]),
        # A note inside a name holding a separator is dropped rather than cutting the name.
        ("各县（市、区）人民政府，省有关单位", "各县人民政府", ["省有关单位"]),
        ("市教育局（牵头）、各县（市、区）政府", "市教育局", ["各县政府"]),
        ("市司法局（市委依法治市办）牵头，市财政局配合", "市司法局", ["市财政局"]),
        ("1.市发展改革委；2.市财政局", "市发展改革委", ["市财政局"]),
        ("（1）市发展改革委；（2）市财政局", "市发展改革委", ["市财政局"]),
        ("12345热线管理中心", "12345热线管理中心", []),
        ("中国（广东）自由贸易试验区横琴片区管委会负责",
         "中国（广东）自由贸易试验区横琴片区管委会", []),
    ],
)  # fmt: skip
def test_units_cells_of_other_cities(cell, lead, co_units):
    units = parse_units(cell)
    assert (units.lead, units.co_units) == (lead, co_units)


# --- whole tables ---------------------------------------------------------------------------------


def essentials(plan: Plan) -> list[tuple]:
    return [
        (t.no, t.section, t.title, t.lead, t.co_units, t.deadline.kind.value, t.deadline.due)
        for t in plan.tasks
    ]


def warnings_of(plan: Plan) -> list[tuple[int | None, str]]:
    return [(w.task, w.message) for w in plan.warnings if w.message != COORDINATOR_MISSING]


def test_key_tasks_list_docx_with_lead_and_co_columns(tmp_path):
    # 重点任务清单: 附件2 and a title over two paragraphs, separate 牵头单位 and 配合单位 columns
    # (配合单位 empty in one row), section rows merged across, a spacer row, a note row below.
    rows = [
        ["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"],
        ["一、优化营商环境", L, L, L, L, L],
        ["1", "深化“放管服”改革", "推行“一网通办”", "市政务服务数据管理局",
         "市发展改革委、市司法局", "2022年6月底前完成"],
        ["2", "优化审批流程", "压缩审批时限", "市政务服务数据管理局", "", "2022年底前出台"],
        ["", "", "", "", "", ""],
        ["二、加强法治保障", L, L, L, L, L],
        ["3", "完善执法监督", "开展执法检查", "市司法局", "各区政府", "2021年起持续推进"],
        ["4", "开展普法宣传", "", "市司法局", "市委宣传部", "每半年"],
        ["5", "建设法律服务中心", "选址建设", "市司法局", "市财政局；市自然资源局",
         "2021年10月前启动\n2022年底前完成"],
        ["注：排在第一位的为牵头单位，下同。", L, L, L, L, L],
    ]  # fmt: skip
    title = ["附件2", "某某市2022年优化营商环境", "重点任务清单"]
    source = write_docx_tables(tmp_path / "重点任务清单.docx", [DocTable(rows, title)])
    plan = import_plan(source, coordinator="市政府办公室")
    assert plan.title == "某某市2022年优化营商环境重点任务清单"
    assert [(s.no, s.title) for s in plan.sections] == [
        ("一", "优化营商环境"),
        ("二", "加强法治保障"),
    ]
    assert essentials(plan) == [
        (1, "一", "深化“放管服”改革", "市政务服务数据管理局", ["市发展改革委", "市司法局"],
         "date", date(2022, 6, 30)),
        (2, "一", "优化审批流程", "市政务服务数据管理局", [], "date", date(2022, 12, 31)),
        (3, "二", "完善执法监督", "市司法局", ["各区政府"], "long_term", None),
        (4, "二", "开展普法宣传", "市司法局", ["市委宣传部"], "recurring", None),
        (5, "二", "建设法律服务中心", "市司法局", ["市财政局", "市自然资源局"],
         "milestones", date(2022, 12, 31)),
    ]  # fmt: skip
    assert plan.task(1).content == "推行“一网通办”"
    assert plan.task(3).deadline.start == date(2021, 1, 1)
    assert [m.due for m in plan.task(5).deadline.milestones] == [
        date(2021, 9, 30),
        date(2022, 12, 31),
    ]
    assert warnings_of(plan) == []


def test_task_breakdown_xlsx_off_a1_after_an_explanation_sheet(tmp_path):
    # 任务分解表 in Excel: a 说明 sheet first, the table from C4 under 附件1 and a title merged
    # across, numbers stored as text, a hidden helper column, units cells of every kind, a real
    # date cell and a serial number formatted as a date.
    explain = Sheet("说明", [["填表说明"], ["1. 请各单位于每月25日前报送进展情况。"]])
    rows = [
        ["附件1"],
        ["某某市推进教育高质量发展任务分解表", L, L, L, L, L],
        ["序号", "工作任务", "内部编码", "责任单位", "时间节点", "进展情况"],
        ["1", "扩大学位供给", "X-01", "市发展改革委（牵头），市财政局、市自然资源局",
         datetime(2022, 6, 30), "已完成选址"],
        ["2", "推进集团化办学", "X-02", "各区政府，市有关部门", 44926, ""],
        ["3", "加强教师队伍建设", "X-03", "市教育局牵头，各区配合", "2022.06", None],
        ["4", "实施课后服务", "X-04", "市教育局", "长期坚持", "持续推进中"],
        ["5", "改善办学条件", "X-05", "市教育局、市财政局", "近期", None],
    ]  # fmt: skip
    table = Sheet("任务分解", rows, top=4, left=3, hidden_columns=["E"])
    table.number_formats = {"G8": "yyyy-mm-dd"}  # task 2's 时间节点
    source = write_xlsx_sheets(tmp_path / "任务分解表.xlsx", [explain, table])
    plan = import_plan(source, coordinator="市教育局")
    assert plan.title == "某某市推进教育高质量发展任务分解表"
    assert plan.columns == ["序号", "工作任务", "责任单位", "时间节点", "进展情况"]
    assert essentials(plan) == [
        (1, None, "扩大学位供给", "市发展改革委", ["市财政局", "市自然资源局"],
         "date", date(2022, 6, 30)),
        (2, None, "推进集团化办学", "各区政府", ["市有关部门"], "date", date(2022, 12, 31)),
        (3, None, "加强教师队伍建设", "市教育局", ["各区"], "date", date(2022, 6, 30)),
        (4, None, "实施课后服务", "市教育局", [], "long_term", None),
        (5, None, "改善办学条件", "市教育局", ["市财政局"], "unknown", None),
    ]  # fmt: skip
    assert plan.task(1).progress == "已完成选址"
    assert plan.task(4).status is Status.NOT_STARTED
    assert warnings_of(plan) == [
        (None, "工作表“任务分解”E 列已隐藏，未导入其内容；如需导入请先取消隐藏"),
        (5, "时间节点“近期”无法识别，已记为待定，请人工确认"),
    ]


def test_a_hidden_column_does_not_take_the_place_of_the_visible_one(tmp_path):
    rows = [
        ["某某市任务分解表", L, L, L, L],
        ["序号", "工作任务", "责任单位", "原定时限", "时间节点"],
        [1, "任务甲", "市教育局", "2021年底前", "2022年6月底前"],
        [2, "任务乙", "市教育局", "2021年底前", "2022年底前"],
    ]
    source = write_xlsx_sheets(tmp_path / "t.xlsx", [Sheet("表", rows, hidden_columns=["D"])])
    plan = import_plan(source, coordinator="市教育局")
    assert [t.deadline.due for t in plan.tasks] == [date(2022, 6, 30), date(2022, 12, 31)]
    assert "时间节点" in plan.columns and "原定时限" not in plan.columns
    assert any("D 列已隐藏" in m for _, m in warnings_of(plan))


DEADLINE_CELLS = [
    ("2022年6月底前完成", "date", date(2022, 6, 30)),
    ("2022年底前出台", "date", date(2022, 12, 31)),
    ("2021年起持续推进", "long_term", None),
    ("每半年", "recurring", None),
    ("2023年6月", "date", date(2023, 6, 30)),
    ("2022年12月前", "date", date(2022, 11, 30)),
    ("2021年第四季度", "date", date(2021, 12, 31)),
    ("2022年上半年完成", "date", date(2022, 6, 30)),
    ("长期坚持", "long_term", None),
    ("2022.06", "date", date(2022, 6, 30)),
    ("2022年", "date", date(2022, 12, 31)),
    ("近期", "unknown", None),
    ("按上级要求", "unknown", None),
    ("2021年10月前启动\n2022年底前完成", "milestones", date(2022, 12, 31)),
    ("2021年10月前启动\r\n2022年底前完成", "milestones", date(2022, 12, 31)),
]


def test_deadline_wordings_and_excel_date_cells(tmp_path):
    # Excel: a date cell, and date cells in Chinese Excel's built-in formats 31 (2022年6月30日)
    # and 57 (2022年6月, the month: due at its end), a custom month format, a custom year format.
    cells: list[tuple[object, str, date | None]] = [
        *DEADLINE_CELLS,
        (datetime(2022, 6, 30), "date", date(2022, 6, 30)),
        (datetime(2022, 6, 30), "date", date(2022, 6, 30)),
        (datetime(2022, 6, 1), "date", date(2022, 6, 30)),
        (datetime(2022, 3, 1), "date", date(2022, 3, 31)),
        (datetime(2023, 1, 1), "date", date(2023, 12, 31)),
        (44742, "date", date(2022, 6, 30)),
    ]
    rows = [["序号", "任务", "责任单位", "完成时限"]]
    rows += [[i, f"任务{i}", "市司法局", cell] for i, (cell, _, _) in enumerate(cells, 1)]
    first = len(DEADLINE_CELLS) + 2  # the sheet row of the first Excel date cell
    formats = {
        f"D{first}": "yyyy-mm-dd",
        f"D{first + 1}": 'yyyy"年"m"月"d"日"',
        f"D{first + 2}": '[$-804]yyyy"年"m"月"',
        f"D{first + 3}": 'yyyy"年"m"月"',
        f"D{first + 4}": 'yyyy"年"',
        f"D{first + 5}": "yyyy/m/d",
    }
    source = write_xlsx_sheets(tmp_path / "时限.xlsx", [Sheet("表", rows, number_formats=formats)])
    use_builtin_format(source, 'yyyy"年"m"月"d"日"', 31)
    use_builtin_format(source, 'yyyy"年"m"月"', 57)
    plan = import_plan(source, coordinator="市司法局")
    got = [(t.deadline.kind.value, t.deadline.due) for t in plan.tasks]
    assert got == [(kind, due) for _, kind, due in cells]
    assert plan.task(first + 1).deadline.text == "2022年6月"  # as the office sees the cell
    assert plan.task(14).deadline.milestones[0].text == "2021年10月前启动"
    assert plan.task(15).deadline.milestones[0].text == "2021年10月前启动"
    assert warnings_of(plan) == [
        (12, "完成时限“近期”无法识别，已记为待定，请人工确认"),
        (13, "完成时限“按上级要求”无法识别，已记为待定，请人工确认"),
    ]


@pytest.mark.parametrize(
    ("cell", "kind", "due"),
    [
        ("（2022年6月底前）", "date", date(2022, 6, 30)),
        ("(长期坚持)", "long_term", None),
        ("2022-12-31 00:00:00", "date", date(2022, 12, 31)),
        ("2022/6/30 0:00", "date", date(2022, 6, 30)),
        ("（待定）", "unknown", None),
    ],
)
def test_cells_in_brackets_or_with_a_time_keep_their_text(cell, kind, due):
    deadline = parse_deadline(cell)
    assert (deadline.text, deadline.kind.value, deadline.due) == (cell, kind, due)


def test_a_line_break_saved_by_windows_is_no_part_of_a_milestone():
    deadline = parse_deadline("2021年10月前启动\r\n2022年底前完成")
    assert [m.text for m in deadline.milestones] == ["2021年10月前启动", "2022年底前完成"]


@pytest.mark.parametrize(("lead_name", "co_name"), [("牵头单位", "配合单位"), ("牵头", "配合")])
def test_division_plan_docx_with_cover_table_two_row_header_and_split_table(
    tmp_path, lead_name, co_name
):
    # 分工方案 in Word: a cover table first, the title over three paragraphs under 附件, a header
    # over two rows (责任单位 split into 牵头/配合), the table split in two by a page with a
    # paragraph between, sub-items 1.1/1.2 under task 1, a closing paragraph.
    cover = DocTable(
        [["文号", "某府办〔2022〕12号"], ["密级", "公开"]], ["某某市人民政府办公室文件"]
    )
    head = [
        ["序号", "工作任务", "责任单位", L, "完成时限"],
        [U, U, lead_name, co_name, U],
    ]
    part1 = [
        *head,
        ["（一）强化创新驱动", L, L, L, L],
        ["1", "建设创新平台", "市科技局", "市发展改革委、市工业和信息化局", "2023年6月"],
        ["1.1", "建设实验室", "市科技局", "", "2022年12月前"],
        ["1.2", "培育新型研发机构", "市科技局", "市财政局", "2021年第四季度"],
        ["2", "培育高新技术企业", "市科技局", "市税务局", "2022年上半年完成"],
    ]
    part2 = [
        *head,
        ["（二）推动产业升级", L, L, L, L],
        ["3", "发展先进制造业", "市工业和信息化局", "各区政府", "2022年"],
        ["4", "发展现代服务业", "市商务局", "", "按上级要求"],
    ]
    title = ["附件", "某某市推进高质量发展", "三年行动方案", "重点任务分工方案"]
    source = write_docx_tables(
        tmp_path / "分工方案.docx",
        [cover, DocTable(part1, title), DocTable(part2, ["（续表）"])],
        after=["抄送：市委各部门。"],
    )
    plan = import_plan(source, coordinator="市发展改革委")
    assert plan.title == "某某市推进高质量发展三年行动方案重点任务分工方案"
    assert [(s.no, s.title) for s in plan.sections] == [
        ("（一）", "强化创新驱动"),
        ("（二）", "推动产业升级"),
    ]
    assert essentials(plan) == [
        (1, "（一）", "建设创新平台", "市科技局", ["市发展改革委", "市工业和信息化局"],
         "date", date(2023, 6, 30)),
        (5, "（一）", "建设实验室", "市科技局", [], "date", date(2022, 11, 30)),
        (6, "（一）", "培育新型研发机构", "市科技局", ["市财政局"], "date", date(2021, 12, 31)),
        (2, "（一）", "培育高新技术企业", "市科技局", ["市税务局"], "date", date(2022, 6, 30)),
        (3, "（二）", "发展先进制造业", "市工业和信息化局", ["各区政府"], "date",
         date(2022, 12, 31)),
        (4, "（二）", "发展现代服务业", "市商务局", [], "unknown", None),
    ]  # fmt: skip
    assert warnings_of(plan) == [
        (None, "第 3 个表格与第 2 个表格表头相同，已作为续表一并导入"),
        (5, "第 2 个表格第 5 行的序号“1.1”不是任务序号，已编为 5"),
        (6, "第 2 个表格第 6 行的序号“1.2”不是任务序号，已编为 6"),
        (4, "完成时限“按上级要求”无法识别，已记为待定，请人工确认"),
    ]


def test_supervision_ledger_xlsx_split_over_two_sheets(tmp_path):
    # 督办台账: sections as 一/二/三 in the 序号 column, task numbers （1）, the ledger continued on
    # a second sheet with its header repeated, other column names (督办事项, 办理时限).
    head = ["序号", "督办事项", "责任单位", "办理时限", "办理情况"]
    first = [
        ["2022年重点工作督办台账", L, L, L, L],
        head,
        ["一", "经济发展", None, None, None],
        ["（1）", "稳住工业基本盘", "市工业和信息化局", "2022年6月底前完成", None],
        ["（2）", "扩大有效投资", "市发展改革委", datetime(2022, 9, 30), "已开工12个项目"],
        [None, None, None, None, None],
        ["二", "民生保障", None, None, None],
        ["（3）", "稳定就业", "市人力资源社会保障局", "每季度", None],
    ]
    second = [
        head,
        ["三", "生态环境", None, None, None],
        ["（4）", "治理黑臭水体", "市生态环境局、市水务局", "2022年底前", None],
        ["（5）", "推进垃圾分类", "市城市管理局", "长期坚持", None],
        ["备注：办理情况每月更新", L, L, L, L],
    ]
    source = write_xlsx_sheets(
        tmp_path / "督办台账.xlsx", [Sheet("台账（一）", first), Sheet("台账（二）", second)]
    )
    plan = import_plan(source, coordinator="市政府督查室")
    assert plan.title == "2022年重点工作督办台账"
    assert [(s.no, s.title) for s in plan.sections] == [
        ("一", "经济发展"),
        ("二", "民生保障"),
        ("三", "生态环境"),
    ]
    assert essentials(plan) == [
        (1, "一", "稳住工业基本盘", "市工业和信息化局", [], "date", date(2022, 6, 30)),
        (2, "一", "扩大有效投资", "市发展改革委", [], "date", date(2022, 9, 30)),
        (3, "二", "稳定就业", "市人力资源社会保障局", [], "recurring", None),
        (4, "三", "治理黑臭水体", "市生态环境局", ["市水务局"], "date", date(2022, 12, 31)),
        (5, "三", "推进垃圾分类", "市城市管理局", [], "long_term", None),
    ]
    assert plan.task(2).progress == "已开工12个项目"
    assert warnings_of(plan) == [
        (None, "工作表“台账（二）”与工作表“台账（一）”表头相同，已作为续表一并导入")
    ]


def test_ledger_docx_with_nested_sections_and_dotted_numbers(tmp_path):
    # "一、…" and "（一）…" headings mixed, numbers written "1.", units cells with a （牵头）
    # mark, labels, a line break and a note; a task without a deadline is kept and flagged.
    rows = [
        ["序号", "重点任务", "责任单位", "时间节点", "进展情况"],
        ["一、坚持规划引领", L, L, L, L],
        ["（一）完善规划体系", L, L, L, L],
        ["1.", "编制国土空间规划", "市自然资源局（牵头）、市发展改革委", "2022年6月", "已形成初稿"],
        ["2.", "编制专项规划",
         "牵头单位：市住房城乡建设局；配合单位：市交通运输局、市水务局", "2022年12月底前", ""],
        ["（二）强化规划实施", L, L, L, L],
        ["3.", "建立规划实施评估机制", "市自然资源局\n各区政府", "每年", ""],
        ["二、加强要素保障", L, L, L, L],
        ["4.", "保障建设用地", "市自然资源局，各区人民政府（管委会）", "2022年底前", ""],
        ["5.", "保障资金", "市财政局", "", ""],
    ]  # fmt: skip
    title = ["附件3", "某某市规划建设重点工作台账"]
    source = write_docx_tables(tmp_path / "台账.docx", [DocTable(rows, title)])
    plan = import_plan(source, coordinator="市自然资源局")
    assert [(s.no, s.title) for s in plan.sections] == [
        ("一", "坚持规划引领"),
        ("一（一）", "完善规划体系"),
        ("一（二）", "强化规划实施"),
        ("二", "加强要素保障"),
    ]
    assert essentials(plan) == [
        (1, "一（一）", "编制国土空间规划", "市自然资源局", ["市发展改革委"], "date",
         date(2022, 6, 30)),
        (2, "一（一）", "编制专项规划", "市住房城乡建设局", ["市交通运输局", "市水务局"], "date",
         date(2022, 12, 31)),
        (3, "一（二）", "建立规划实施评估机制", "市自然资源局", ["各区政府"], "recurring", None),
        (4, "二", "保障建设用地", "市自然资源局", ["各区人民政府"], "date", date(2022, 12, 31)),
        (5, "二", "保障资金", "市财政局", [], "unknown", None),
    ]  # fmt: skip
    assert plan.task(1).progress == "已形成初稿"
    assert warnings_of(plan) == [(5, "缺少时间节点")]


def test_totals_and_footnotes_under_the_table_are_not_tasks_or_sections(tmp_path):
    rows = [
        ["序号", "任务", "责任单位", "完成时限"],
        ["1", "任务甲", "市司法局", "2022年底前"],
        ["2", "任务乙", "市财政局", "2022年底前"],
        ["合计", "2项", "", ""],
        ["*排在第一位的为牵头单位", "", "", ""],
        ["排在首位的为牵头单位，其他为配合单位。", L, L, L],
    ]
    source = write_docx_tables(tmp_path / "表.docx", [DocTable(rows, ["某某市重点任务清单"])])
    plan = import_plan(source, coordinator="市司法局")
    assert [(t.no, t.title) for t in plan.tasks] == [(1, "任务甲"), (2, "任务乙")]
    assert plan.sections == []
    assert warnings_of(plan) == []


def test_excel_header_with_line_breaks_and_numbers_typed_every_way(tmp_path):
    rows = [
        ["序\n号", "工作\n任务", "责任\n单位", "完成\n时限", "备注"],
        [1.0, "任务甲", "市司法局", "２０２２年６月底前", None],
        [2, "任务乙", "市财政局、\n市税务局", "2022年\n12月底前", None],
        ["3、", "任务丙", "市财政局", "2022年12月31日", "重点"],
        [" 4 ", "任务丁", "市财政局", "2022-12-31 00:00:00", ""],
    ]
    source = write_xlsx_sheets(tmp_path / "t.xlsx", [Sheet("Sheet1", rows)])
    plan = import_plan(source, coordinator="市司法局")
    assert plan.columns == ["序号", "工作任务", "责任单位", "完成时限", "备注"]
    assert essentials(plan) == [
        (1, None, "任务甲", "市司法局", [], "date", date(2022, 6, 30)),
        (2, None, "任务乙", "市财政局", ["市税务局"], "date", date(2022, 12, 31)),
        (3, None, "任务丙", "市财政局", [], "date", date(2022, 12, 31)),
        (4, None, "任务丁", "市财政局", [], "date", date(2022, 12, 31)),
    ]
    assert warnings_of(plan) == []


@pytest.mark.parametrize(
    ("header", "row", "content", "co_units", "progress"),
    [
        (["序号", "重点工作", "牵头处室", "配合处室", "完成节点"],
         ["1", "建立工作机制", "市司法局", "市财政局", "2022年底前"], "", ["市财政局"], ""),
        (["序号", "主要工作", "改革举措", "实施主体", "时间进度", "执行情况"],
         ["1", "建立工作机制", "制定实施细则", "市司法局", "2022年底前", "已起草"],
         "制定实施细则", [], "已起草"),
        (["编号", "工作要点", "政策措施", "责任分工", "进度要求", "办理情况"],
         ["1", "建立工作机制", "制定实施细则", "市司法局", "2022年底前", "已起草"],
         "制定实施细则", [], "已起草"),
    ],
)  # fmt: skip
def test_header_names_of_other_offices(tmp_path, header, row, content, co_units, progress):
    source = write_xlsx_sheets(tmp_path / "t.xlsx", [Sheet("表", [header, row])])
    task = import_plan(source, coordinator="市司法局").tasks[0]
    assert (task.no, task.title, task.lead) == (1, "建立工作机制", "市司法局")
    assert task.deadline.due == date(2022, 12, 31)
    assert (task.content, task.co_units, task.progress) == (content, co_units, progress)


def test_cli_import_of_a_genre_docx_reports_warnings_by_task(duban, workdir):
    rows = [
        ["序号", "工作任务", "责任单位", "时间节点", "进展情况"],
        ["1", "建立协调机制", "市政府办公室（牵头），各区政府", "2022年3月底前", ""],
        ["2", "开展专项督查", "市政府督查室", "根据上级部署", ""],
        ["3", "通报工作进展", "市政府督查室", "每季度", ""],
    ]
    write_docx_tables(workdir / "督办.docx", [DocTable(rows, ["附件", "重点工作督办清单"])])
    result = duban(
        "import", "督办.docx", "-o", "plan.yaml", "--plan-id", "duban-2022",
        "--coordinator", "市政府督查室", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "tasks": 3,
        "warnings": [
            {"task": 2, "message": "时间节点“根据上级部署”无法识别，已记为待定，请人工确认"}
        ],
    }
    plan = read_plan(workdir / "plan.yaml")
    assert (plan.id, plan.title, plan.coordinator) == (
        "duban-2022",
        "重点工作督办清单",
        "市政府督查室",
    )
    assert plan.task(1).lead == "市政府办公室" and plan.task(1).co_units == ["各区政府"]


def test_a_required_column_hidden_is_one_clear_error(duban, workdir):
    rows = [["序号", "重点任务", "责任单位", "完成时限"], [1, "任务", "市司法局", "2022年"]]
    write_xlsx_sheets(workdir / "表.xlsx", [Sheet("表", rows, hidden_columns=["C"])])
    result = duban("import", "表.xlsx", "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "缺少“责任部门”列" in result.err and "C 列已隐藏" in result.err
    assert not (workdir / "plan.yaml").exists()


@pytest.mark.parametrize(
    ("cell", "dues"),
    [
        ("2022年6月底前启动，年底前完成", [date(2022, 6, 30), date(2022, 12, 31)]),
        ("2022年6月底前完成初稿，9月底前印发", [date(2022, 6, 30), date(2022, 9, 30)]),
        ("2022年3月底前出台方案，并于6月底前完成", [date(2022, 3, 31), date(2022, 6, 30)]),
        ("2022年上半年启动，下半年完成", [date(2022, 6, 30), date(2022, 12, 31)]),
        ("2022年一季度启动，三季度完成", [date(2022, 3, 31), date(2022, 9, 30)]),
        ("2022.6.30前启动；力争12月底前完成", [date(2022, 6, 30), date(2022, 12, 31)]),
        ("2022年10月—12月", [date(2022, 12, 31)]),
        ("2022年6月至12月", [date(2022, 12, 31)]),
        ("2022年年内", [date(2022, 12, 31)]),
        # A year carried back in time, or into the middle of a clause, is not a reading.
        ("2021年底前完成，6月底前启动", []),
        ("2021年6月、12月底前", []),
        ("12月底前", []),
    ],
)
def test_a_later_date_without_its_year_is_in_the_year_written_before_it(cell, dues):
    deadline = parse_deadline(cell)
    got = [m.due for m in deadline.milestones] or ([deadline.due] if deadline.due else [])
    assert got == dues
    if len(dues) > 1:  # each milestone keeps its own words, as written
        assert "".join(m.text for m in deadline.milestones) == cell.replace("，", "").replace(
            "；", ""
        )


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_headings_in_the_task_column_or_numbered_in_the_number_column(tmp_path, suffix):
    # Headings written alone in the 任务 column ("一、…", "（一）…", "第三部分 …"), or numbered
    # in the 序号 column ("一" / "（一）") beside their title: sections, never tasks.
    rows = [
        ["序号", "重点任务", "牵头单位", "完成时限"],
        ["", "一、经济发展", "", ""],
        ["", "（一）稳增长", "", ""],
        ["1", "任务甲", "市发展改革委", "2022年"],
        ["（二）", "促改革", "", ""],
        ["2", "任务乙", "市发展改革委", "2022年"],
        ["", "第二部分 社会民生", "", ""],
        ["3", "任务丙", "市民政局", "2022年"],
        ["三", "生态环境", "", ""],
        ["4", "任务丁", "市生态环境局", "2022年"],
    ]
    if suffix == ".docx":
        source = write_docx_tables(tmp_path / "t.docx", [DocTable(rows, ["重点任务清单"])])
    else:
        source = write_xlsx_sheets(tmp_path / "t.xlsx", [Sheet("表", rows)])
    plan = import_plan(source, coordinator="市发展改革委")
    assert [(s.no, s.title) for s in plan.sections] == [
        ("一", "经济发展"),
        ("一（一）", "稳增长"),
        ("一（二）", "促改革"),
        ("二", "社会民生"),
        ("三", "生态环境"),
    ]
    assert [(t.no, t.section, t.title) for t in plan.tasks] == [
        (1, "一（一）", "任务甲"),
        (2, "一（二）", "任务乙"),
        (3, "二", "任务丙"),
        (4, "三", "任务丁"),
    ]
    assert warnings_of(plan) == []


def test_a_word_table_split_without_its_header_is_read_on(tmp_path):
    # A paragraph slipped between rows splits a Word table; the second part has no header. A
    # contacts table after the plan (other columns) is no part of it.
    first = [
        ["序号", "重点任务", "责任单位", "完成时限"],
        ["1", "任务甲", "市发展改革委", "2022年"],
        ["2", "任务乙", "市发展改革委", "2022年"],
    ]
    second = [["3", "任务丙", "市民政局", "2022年"], ["4", "任务丁", "市民政局", "2023年"]]
    contacts = [["单位", "联系人", "电话"], ["市发展改革委", "张三", "0756-1234567"]]
    source = write_docx_tables(
        tmp_path / "t.docx",
        [DocTable(first, ["重点任务清单"]), DocTable(second, [""]), DocTable(contacts, ["联系人"])],
    )
    plan = import_plan(source, coordinator="市发展改革委")
    assert [(t.no, t.title, t.lead) for t in plan.tasks] == [
        (1, "任务甲", "市发展改革委"),
        (2, "任务乙", "市发展改革委"),
        (3, "任务丙", "市民政局"),
        (4, "任务丁", "市民政局"),
    ]
    assert warnings_of(plan) == [
        (None, "第 2 个表格没有表头，但列数与第 1 个表格相同且接续其任务，已作为续表一并导入"),
        (None, "第 3 个表格（2 行）的表头和列数与第 1 个表格不同，不是分工表的续表，未导入，"
               "请核对：单位 | 联系人 | 电话 | 市发展改革委 | 张三 | 0756-1234…"),
    ]  # fmt: skip


def test_a_headerless_piece_whose_tasks_name_no_unit_is_read_on_and_flagged(tmp_path):
    """A continuation piece (a page of a PDF, a Word table split by a paragraph) whose tasks name
    no unit yet: it continues the plan, and each such task is flagged, never dropped."""
    first = [
        ["序号", "重点任务", "责任单位", "完成时限"],
        ["1", "任务甲", "市发展改革委", "2022年"],
    ]
    pieces = [DocTable(first, ["重点任务清单"])]
    pieces += [DocTable([[str(n), f"任务{n}", "", ""]], [""]) for n in range(2, 7)]
    plan = import_plan(write_docx_tables(tmp_path / "t.docx", pieces), coordinator="市发展改革委")
    assert [(t.no, t.title, t.lead) for t in plan.tasks] == [(1, "任务甲", "市发展改革委")] + [
        (n, f"任务{n}", None) for n in range(2, 7)
    ]
    assert warnings_of(plan)[0] == (
        None,
        "第 2 个表格至第 6 个表格共 5 个表格没有表头，但列数与第 1 个表格相同且接续其任务，"
        "已作为续表一并导入",
    )
    assert [w for w in warnings_of(plan) if w[0] == 6] == [(6, "缺少责任单位和完成时限")]


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_a_task_over_several_rows_keeps_each_measure_with_its_own_unit(tmp_path, suffix):
    # 序号 and 重点任务 merged down over two measures, each with its own unit and deadline: two
    # tasks (each is chased on its own), the second numbered anew, and the warning says why.
    rows = [
        ["序号", "重点任务", "具体措施", "责任单位", "完成时限"],
        ["1", "优化营商环境", "推行一网通办", "市政务服务数据管理局", "2022年6月底前"],
        [U, U, "压缩审批时限", "市发展改革委", "2022年底前"],
        ["2", "加强监管", "开展双随机检查", "市市场监管局", "每季度"],
    ]
    if suffix == ".docx":
        source = write_docx_tables(tmp_path / "t.docx", [DocTable(rows, ["重点任务清单"])])
    else:
        source = write_xlsx_sheets(tmp_path / "t.xlsx", [Sheet("表", rows)])
    plan = import_plan(source, coordinator="市发展改革委")
    assert [(t.no, t.title, t.content, t.lead) for t in plan.tasks] == [
        (1, "优化营商环境", "推行一网通办", "市政务服务数据管理局"),
        (3, "优化营商环境", "压缩审批时限", "市发展改革委"),
        (2, "加强监管", "开展双随机检查", "市市场监管局"),
    ]
    assert warnings_of(plan) == [(3, "任务序号 1 的单元格合并了多行，第 3 行另编为任务 3")]


@pytest.mark.parametrize(
    ("title", "deadline_header", "year", "where"),
    [
        (["附件", "某某市2022年法治政府建设工作要点"], "完成时限", 2022, "标题"),
        (["某某市法治政府建设工作要点"], "完成时限（2023年）", 2023, "表头"),
        (["某某市2021—2023年法治政府建设行动方案"], "完成时限", None, None),
    ],
)
def test_deadlines_without_a_year_in_a_plan_for_one_year(
    tmp_path, title, deadline_header, year, where
):
    # An annual 工作要点 writes 6月底前 and 年底前; the year is in the title or the header. With
    # no single year there, nothing is guessed.
    rows = [
        ["序号", "工作任务", "责任单位", deadline_header],
        ["1", "任务甲", "市司法局", "6月底前"],
        ["2", "任务乙", "市司法局", "年底前"],
        ["3", "任务丙", "市司法局", "三季度"],
        ["4", "任务丁", "市司法局", "3月底前启动，年底前完成"],
        ["5", "任务戊", "市司法局", "2024年6月"],
        ["6", "任务己", "市司法局", "长期坚持"],
    ]
    source = write_docx_tables(tmp_path / "要点.docx", [DocTable(rows, title)])
    plan = import_plan(source, coordinator="市司法局")
    deadlines = [(t.deadline.text, t.deadline.kind.value, t.deadline.due) for t in plan.tasks]
    if year is None:
        assert [kind for _, kind, _ in deadlines[:4]] == ["unknown"] * 4
        assert len([w for w in warnings_of(plan) if "无法识别" in w[1]]) == 4
        return
    assert deadlines == [
        ("6月底前", "date", date(year, 6, 30)),
        ("年底前", "date", date(year, 12, 31)),
        ("三季度", "date", date(year, 9, 30)),
        ("3月底前启动，年底前完成", "milestones", date(year, 12, 31)),
        ("2024年6月", "date", date(2024, 6, 30)),
        ("长期坚持", "long_term", None),
    ]
    assert [m.text for m in plan.task(4).deadline.milestones] == ["3月底前启动", "年底前完成"]
    assert warnings_of(plan) == [
        (None, f"任务 1、2、3、4 的完成时限未写年份，已按{where}中的 {year} 年读取，请核对")
    ]


MIXED_ROWS = [
    ["序号", "重点任务", "具体措施", "责任单位", "完成时限", "进展情况"],
    ["一、优化营商环境", L, L, L, L, L],
    ["1", "深化改革", "推行一网通办", "市政务服务数据管理局（牵头），市发展改革委",
     "2022年6月底前", ""],
    [U, U, "压缩审批时限", "市发展改革委牵头，各区政府配合", "2022年6月底前启动，年底前完成", ""],
    ["（一）", "加强监管", "", "", "", ""],
    ["2", "开展检查", "双随机", "市市场监管局、市公安局及各区政府", "每季度", "已开展2次"],
    ["二、加强法治保障", L, L, L, L, L],
    ["3", "完善执法监督", "开展执法检查", "各县（市、区）人民政府，市有关部门", "长期坚持", ""],
    ["4", "开展普法宣传", "", "市司法局", "按上级要求", ""],
    ["注：排在第一位的为牵头单位。", L, L, L, L, L],
]  # fmt: skip


def test_one_table_as_word_and_as_excel_gives_one_plan(tmp_path):
    title = ["附件1", "某某市重点任务分工方案"]
    plans = [
        import_plan(write_table_as(tmp_path / f"方案{suffix}", MIXED_ROWS, title), coordinator="X")
        for suffix in (".docx", ".xlsx")
    ]
    word, excel = ([*essentials(p), *((t.content, t.progress) for t in p.tasks)] for p in plans)
    assert word == excel
    assert plans[0].sections == plans[1].sections
    assert plans[0].title == plans[1].title == "某某市重点任务分工方案"
    assert [(s.no, s.title) for s in plans[0].sections] == [
        ("一", "优化营商环境"),
        ("一（一）", "加强监管"),
        ("二", "加强法治保障"),
    ]
    assert essentials(plans[1]) == [
        (1, "一", "深化改革", "市政务服务数据管理局", ["市发展改革委"], "date", date(2022, 6, 30)),
        (5, "一", "深化改革", "市发展改革委", ["各区政府"], "milestones", date(2022, 12, 31)),
        (2, "一（一）", "开展检查", "市市场监管局", ["市公安局", "各区政府"], "recurring", None),
        (3, "二", "完善执法监督", "各县人民政府", ["市有关部门"], "long_term", None),
        (4, "二", "开展普法宣传", "市司法局", [], "unknown", None),
    ]  # fmt: skip
    assert [(w.task, w.message) for w in plans[1].warnings if w.task] == [
        (5, "任务序号 1 的单元格合并了多行，第 6 行另编为任务 5"),
        (4, "完成时限“按上级要求”无法识别，已记为待定，请人工确认"),
    ]


def test_an_explanation_sheet_with_a_small_header_of_its_own_is_passed_over(tmp_path):
    explain = Sheet(
        "填表说明",
        [["序号", "填报事项", "说明"], [1, "进展情况", "请简要填写"], [2, "完成时限", "不得修改"]],
    )
    plan_rows = [
        ["序号", "重点任务", "责任单位", "完成时限"],
        [1, "任务甲", "市司法局", "2022年底前"],
    ]
    source = write_xlsx_sheets(tmp_path / "t.xlsx", [explain, Sheet("任务表", plan_rows)])
    plan = import_plan(source, coordinator="市司法局")
    assert [(t.no, t.title, t.lead) for t in plan.tasks] == [(1, "任务甲", "市司法局")]
    # With no plan table after it, the small header is the one the error names.
    alone = write_xlsx_sheets(tmp_path / "alone.xlsx", [explain])
    with pytest.raises(UserError, match=r"alone\.xlsx：第 1 行的表头缺少“责任部门”列"):
        import_plan(alone, coordinator="市司法局")


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_an_empty_lead_cell_beside_co_units_is_flagged(tmp_path, suffix):
    rows = [
        ["序号", "工作任务", "责任单位", L, "完成时限"],
        [U, U, "牵头", "配合", U],
        ["1", "任务甲", "市科技局", "市财政局", "2022年"],
        ["2", "任务乙", "", "市财政局、市税务局", "2023年"],
    ]
    plan = import_plan(write_table_as(tmp_path / f"t{suffix}", rows, ["某某方案"]), coordinator="X")
    assert [(t.lead, t.co_units, t.units_text) for t in plan.tasks] == [
        ("市科技局", ["市财政局"], "牵头单位：市科技局；配合单位：市财政局"),
        ("市财政局", ["市税务局"], "牵头单位：；配合单位：市财政局、市税务局"),
    ]
    assert warnings_of(plan) == [(2, "牵头单位为空，暂以市财政局为牵头单位，请核对")]


def test_a_hidden_sheet_is_not_the_plan(tmp_path):
    # Last year's table kept in a hidden sheet before this year's: the visible one is the plan.
    head = ["序号", "任务", "责任单位", "完成时限"]
    old = Sheet("2021年", [head, [1, "旧任务", "市司法局", "2021年底前"]], hidden=True)
    new = Sheet("2022年", [head, [1, "新任务", "市财政局", "2022年底前"]])
    plan = import_plan(write_xlsx_sheets(tmp_path / "t.xlsx", [old, new]), coordinator="X")
    assert [(t.no, t.title, t.lead) for t in plan.tasks] == [(1, "新任务", "市财政局")]
    assert warnings_of(plan) == [(None, "工作表“2021年”已隐藏，未导入；如需导入请先取消隐藏")]


def test_a_section_row_under_the_header_naming_a_column_word_is_a_section(tmp_path):
    """"第1部分、推进重点工作" spans the table right under the header: it names 重点工作, a task
    column's word, yet it is a section, not the second row of a split header."""
    rows = [
        ["序号", "重点任务", "责任单位", "完成时限"],
        ["第1部分、推进重点工作", L, L, L],
        ["1", "任务甲", "市发展改革委", "2022年"],
        ["2", "任务乙", "市民政局", "2023年"],
    ]
    source = write_docx_tables(tmp_path / "t.docx", [DocTable(rows, ["重点任务清单"])])
    plan = import_plan(source, coordinator="市发展改革委")
    assert [(s.no, s.title) for s in plan.sections] == [("一", "第1部分、推进重点工作")]
    assert [(t.no, t.section, t.title, t.lead) for t in plan.tasks] == [
        (1, "一", "任务甲", "市发展改革委"),
        (2, "一", "任务乙", "市民政局"),
    ]

"""Prose plans (实施意见, 分工意见, 行动方案): numbered items ending in a units bracket, imported
through the real `duban import` and read back from the plan file it writes.

The corpus under tests/data/prose/ is written for these tests, in the genre: State Council
opinions with （三） items and a stated lead rule, a division-of-work opinion with 1. items and
two brackets in one paragraph, a city action plan with 牵头单位：/配合单位： labels and ASCII
brackets, an unnumbered plan, provincial key points with （1） and ① items, a plan in ASCII
brackets with deadlines inside them, a notice with no assignments, items spread over two
paragraphs, a county plan in 第一部分 parts, mixed wordings (full-width numbers, 完成时限： in the
bracket), and a plan below the notice that issues it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import date
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.importers.build import import_plan
from engine.importers.units import read_bracket
from engine.model.plan import Plan, Section, Task
from engine.planfile import dump_plan, parse_plan, read_plan

CORPUS = Path(__file__).parent / "data" / "prose"
D, U, R = DeadlineKind.DATE, DeadlineKind.UNKNOWN, DeadlineKind.RECURRING


def run_import(duban, workdir: Path, name: str, *options: str) -> tuple[Plan, str]:
    source = workdir / name
    if not source.exists():
        shutil.copy(CORPUS / name, source)
    result = duban("import", name, "-o", "plan.yaml", "--coordinator", "督查室", *options)
    assert result.code == 0, result.err
    return read_plan(workdir / "plan.yaml"), result.err


def tasks(plan: Plan) -> list[tuple]:
    return [
        (t.no, t.label, t.section, t.title, t.lead, t.co_units, t.deadline.kind, t.deadline.due)
        for t in plan.tasks
    ]


def messages(plan: Plan, task: int | None = None) -> list[str]:
    return [w.message for w in plan.warnings if w.task == task]


# --- the corpus, document by document ---------------------------------------------------------

STATE_COUNCIL = [
    (1, "（三）", "二", "大规模开展职业技能培训", "人力资源社会保障部", ["财政部"], D,
     date(2019, 12, 31)),
    (2, "（四）", "二", "完善培训补贴政策", "财政部", ["人力资源社会保障部"], D, date(2019, 6, 30)),
    (3, "（五）", "二", "建设公共实训基地", "发展改革委", ["人力资源社会保障部", "各省级人民政府"],
     D, date(2024, 3, 4)),
    (4, "（六）", "二", "加强培训监管", "人力资源社会保障部", ["市场监管总局"], D,
     date(2019, 12, 31)),
]  # fmt: skip


def test_state_council_opinions(duban, workdir):
    plan, err = run_import(duban, workdir, "01-state-council-opinions.txt")
    assert plan.title == "国务院办公厅关于推进职业技能提升的实施意见"
    assert plan.sections == [Section("一", "总体要求"), Section("二", "重点任务"),
                             Section("三", "保障措施")]  # fmt: skip
    assert tasks(plan) == STATE_COUNCIL
    assert plan.issued == date(2019, 3, 5)  # the date of the signature at the end
    first = plan.task(1)
    assert first.units_text == "人力资源社会保障部、财政部负责。列第一位者为牵头单位，下同"
    assert first.content == (
        "大规模开展职业技能培训。面向企业职工、就业重点群体广泛开展培训，2019年底前培训1500万人次以上。"
    )
    assert plan.task(4).deadline.text == "2019年1月1日至12月31日"
    assert plan.task(3).deadline.text == "5年内"
    general = messages(plan)
    assert any("第 2 行至第 4 行" in m and "文号" in m for m in general)
    assert any("第 6 行至第 7 行" in m and "（一）指导思想" in m for m in general)
    assert any("第 14 行至第 15 行" in m and "（七）加强组织领导" in m for m in general)
    assert any("第 16 行至第 18 行" in m and "落款" in m for m in general)
    assert any("任务 3 " in m and "2019年3月5日" in m and "第 17 行" in m for m in general)
    # the rule stated in the first bracket (下同) holds for the brackets after it
    assert not any("未写明牵头单位" in m for m in general)
    assert any("等有关部门" in m for m in messages(plan, 4))
    assert "已导入 4 项任务" in err


def test_division_of_work_with_two_brackets_in_one_paragraph(duban, workdir):
    plan, _ = run_import(duban, workdir, "02-division-of-work.txt")
    assert plan.title == "国务院关于落实《政府工作报告》重点工作部门分工的意见"
    assert tasks(plan) == [
        (1, None, "一", "实施积极的财政政策", "财政部", ["发展改革委", "人民银行"], D,
         date(2020, 12, 31)),
        (2, None, "一", "实施稳健的货币政策", "人民银行", [], R, None),
        (3, "2.", "一", "合理扩大有效投资，2019年6月底前下达中央预算内投资计划", "发展改革委",
         ["财政部"], D, date(2019, 6, 30)),
        (4, "3.", "二", "推进全国一体化在线政务服务平台（以下简称“一体化平台”）建设",
         "各省级人民政府", ["国务院办公厅"], D, date(2019, 4, 14)),
        (5, "4.", "二", "清理规范涉企收费", "发展改革委", ["财政部", "市场监管总局"], U, None),
        (6, "5.", "二", "加强事中事后监管", "市场监管总局", [], U, None),
    ]  # fmt: skip
    recurring = plan.task(2).deadline
    assert recurring.text == "从2019年起每年2月底前" and recurring.start == date(2019, 1, 1)
    assert plan.task(3).units_text == "发展改革委会同财政部负责"
    assert plan.task(4).deadline.text == "本意见印发之日起30日内"
    assert plan.issued == date(2019, 3, 16)
    # no rule stated: where several units share the duty, the first leads, and it says so
    assert any(m.startswith("任务 5 的责任单位未写明牵头单位") for m in messages(plan))
    assert "缺少完成时限" in messages(plan, 5) and "缺少完成时限" in messages(plan, 6)
    assert any("等部门" in m for m in messages(plan, 5))


def test_city_action_plan_with_labels_and_ascii_brackets(duban, workdir):
    plan, _ = run_import(duban, workdir, "03-city-action-plan.txt")
    assert plan.title == "广州市推进营商环境改革三年行动方案（2019—2021年）"
    assert [s.no for s in plan.sections] == ["一", "二", "二（一）", "二（二）", "三"]
    assert tasks(plan) == [
        (1, None, "二（一）", "压缩企业开办时间", "市市场监管局", ["市公安局", "各区、县级市"], D,
         date(2019, 6, 30)),
        (2, None, "二（一）", "推行告知承诺制（试行）", "市政务服务数据管理局", ["市司法局"], U,
         None),
        (3, None, "二（二）", "降低用电成本", "市发展改革委", ["市工业和信息化局", "广州供电局"], D,
         date(2020, 12, 31)),
        (4, None, "二（二）", "完善用地保障", "市规划和自然资源局", [], D, date(2024, 4, 1)),
    ]  # fmt: skip
    assert plan.issued == date(2019, 4, 2)  # 二〇一九年四月二日
    assert plan.task(2).units_text == "牵头单位:市政务服务数据管理局,配合单位:市司法局"
    assert any("第 4 行" in m and "到2021年" in m for m in messages(plan))
    assert any("第 13 行" in m and "加强督促检查" in m for m in messages(plan))


def test_unnumbered_plan_without_a_date(duban, workdir):
    plan, err = run_import(duban, workdir, "04-unnumbered-plan.txt")
    assert plan.title == "某市数字政府建设行动计划"
    assert plan.sections == [Section("一", "建设一体化平台"), Section("二", "提升服务能力")]
    assert tasks(plan) == [
        (1, None, "一", "建成全市统一的政务云平台，2020年底前完成迁移", "市政务服务数据管理局",
         ["市财政局"], D, date(2020, 12, 31)),
        (2, None, "一", "推进数据共享交换，本计划印发之日起3个月内完成目录编制",
         "市政务服务数据管理局", [], U, None),
        (3, None, "一", "完善网络安全防护体系，定期开展攻防演练", None, [], U, None),
        (4, None, "二", "推动高频事项掌上办，5年内实现全部高频事项掌上可办", "各区人民政府",
         ["市政务服务数据管理局"], U, None),
    ]  # fmt: skip
    assert plan.issued is None
    for no in (2, 4):  # relative, and no issue date: unknown, never a guessed date
        assert plan.task(no).deadline.text in ("本计划印发之日起3个月内", "5年内")
        assert any("--issued" in m and "未找到印发日期" in m for m in messages(plan, no))
    # an item naming no unit among items that do: imported, and flagged
    assert any("缺少责任单位" in m for m in messages(plan, 3))
    assert "--issued" in err


def test_issued_option_resolves_relative_deadlines(duban, workdir):
    plan, _ = run_import(duban, workdir, "04-unnumbered-plan.txt", "--issued", "2019-06-01")
    assert plan.issued == date(2019, 6, 1)
    assert (plan.task(2).deadline.kind, plan.task(2).deadline.due) == (D, date(2019, 8, 31))
    assert (plan.task(4).deadline.kind, plan.task(4).deadline.due) == (D, date(2024, 5, 31))
    assert not any("未找到印发日期" in m for w in [2, 4] for m in messages(plan, w))
    assert any("任务 2、4 " in m and "--issued" in m for m in messages(plan))


def test_issued_option_over_the_documents_date_warns(duban, workdir):
    plan, _ = run_import(duban, workdir, "01-state-council-opinions.txt", "--issued", "2019-04-01")
    assert plan.issued == date(2019, 4, 1)
    assert plan.task(3).deadline.due == date(2024, 3, 31)
    assert any("2019年3月5日" in m and "--issued" in m and "2019年4月1日" in m
               for m in messages(plan))  # fmt: skip


@pytest.mark.parametrize("value", ["2019-13-01", "昨天", "2019/03/05", "1900-01-01"])
def test_a_bad_issued_date_is_one_line_and_nothing_is_written(duban, workdir, value):
    shutil.copy(CORPUS / "01-state-council-opinions.txt", workdir / "plan.txt")
    result = duban("import", "plan.txt", "-o", "plan.yaml", "--issued", value)
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "--issued" in result.err
    assert "YYYY-MM-DD" in result.err or "范围" in result.err
    assert not (workdir / "plan.yaml").exists()


def test_provincial_key_points_with_circled_numbers(duban, workdir):
    plan, _ = run_import(duban, workdir, "05-provincial-key-points.txt")
    assert [s.no for s in plan.sections] == ["一", "一（一）", "一（二）", "二"]
    assert tasks(plan) == [
        (1, None, "一（一）", "全面清理省级行政许可事项，2019年9月底前公布保留事项清单", "省司法厅",
         ["省政务服务数据管理局"], D, date(2019, 9, 30)),
        (2, None, "一（一）", "推行证明事项告知承诺制", "省司法厅", ["省直有关部门"], U, None),
        (3, "①", "一（二）", "建设省级政务服务平台", "省政务服务数据管理局", [], D,
         date(2019, 12, 31)),
        (4, "②", "一（二）", "推广电子证照应用", "省政务服务数据管理局", [], U, None),
        (5, "③", "一（二）", "推进“一网通办”", "各地级以上市人民政府", [], U, None),
        (6, None, "二", "全面推行“双随机、一公开”监管，2019年底前实现全覆盖",
         "各地级以上市人民政府", ["省市场监管局"], D, date(2019, 12, 31)),
    ]  # fmt: skip
    assert plan.task(5).content == "推进“一网通办”。"


def test_ascii_brackets_and_deadlines_inside_them(duban, workdir):
    plan, _ = run_import(duban, workdir, "06-ascii-brackets.txt")
    assert tasks(plan) == [
        (1, None, "一", "完善养老服务设施", "市民政局", ["市住房城乡建设局"], D,
         date(2016, 12, 31)),
        (2, None, "一", "发展居家养老服务", "市民政局", ["市卫生健康委"], U, None),
        (3, None, "一", "加强养老护理人员培训", "市人力资源社会保障局", [], D,
         date(2019, 12, 31)),
        (4, None, "一", "开展养老服务质量提升行动", "省民政厅", [], U, None),
    ]  # fmt: skip
    assert plan.task(1).deadline.text == "2012年起5年内"  # counted from the year it names
    assert any("第 8 行至第 9 行" in m and "保障措施" in m for m in messages(plan))


def test_a_document_with_no_units_brackets_is_refused(duban, workdir):
    shutil.copy(CORPUS / "07-no-assignments.txt", workdir / "notice.txt")
    result = duban("import", "notice.txt", "-o", "plan.yaml")
    assert result.code == 2
    assert result.err.strip().count("\n") == 0
    assert "notice.txt" in result.err and "未找到分工表" in result.err
    assert "负责" in result.err and "没有可导入的分工" in result.err
    assert not (workdir / "plan.yaml").exists()


def test_an_item_over_two_paragraphs_and_a_rule_stated_apart(duban, workdir):
    plan, _ = run_import(duban, workdir, "08-multi-paragraph-items.txt")
    assert tasks(plan) == [
        (1, None, "一", "推行企业开办全程网办", "市市场监管局", ["市公安局", "市税务局"], D,
         date(2019, 6, 8)),
        (2, None, "一", "降低企业开办成本", "市市场监管局", ["市财政局"], D, date(2019, 7, 31)),
        (3, None, "二", "压减办电时间", "广州供电局", [], D, date(2019, 9, 30)),
    ]  # fmt: skip
    assert plan.issued == date(2019, 5, 10)  # （2019年5月10日印发） under the title
    assert plan.task(1).content.splitlines() == [
        "推行企业开办全程网办。依托政务服务平台，整合营业执照、刻章、申领发票等环节。",
        "企业开办时间压缩至1个工作日，本方案印发之日起30日内完成系统改造。",
    ]
    assert not any("未写明牵头单位" in m for m in messages(plan))  # the rule line applies


def test_county_plan_in_parts(duban, workdir):
    plan, _ = run_import(duban, workdir, "09-county-parts.txt")
    assert plan.sections == [Section("第一部分", "产业振兴"), Section("第二部分", "人才振兴")]
    one, two = "第一部分", "第二部分"
    assert tasks(plan) == [
        (1, None, one, "发展特色产业", "县农业农村局", ["县财政局", "县自然资源局"], D,
         date(2020, 12, 31)),
        (2, None, one, "培育新型经营主体", "县农业农村局", [], R, None),
        (3, None, two, "加强乡土人才培养", "各乡（镇）人民政府", ["县委组织部"], U, None),
        (4, None, two, "落实人才激励政策", "县人力资源社会保障局", ["县财政局"], U, None),
    ]  # fmt: skip
    # text after the last bracket is kept in the task, and said so
    assert plan.task(2).content.endswith("同时加强示范引导。")
    assert any("同时加强示范引导" in m for m in messages(plan, 2))
    assert plan.issued == date(2019, 2, 20)


def test_mixed_wordings_full_width_numbers_and_deadlines_in_brackets(duban, workdir):
    plan, _ = run_import(duban, workdir, "10-mixed-wordings.txt")
    assert plan.title == "某市法治政府建设实施方案（征求意见稿）"
    assert tasks(plan) == [
        (1, None, "一", "完善重大行政决策程序", "市司法局", [], D, date(2019, 12, 31)),
        (2, None, "一", "推行法律顾问制度", "市司法局", ["市委组织部", "各区人民政府"], U, None),
        (3, None, "一", "加强合法性审查", "市司法局", ["各区人民政府"], U, None),
        (4, None, "二", "推行行政执法三项制度，持续推进", "市司法局", [],
         DeadlineKind.LONG_TERM, None),
        (5, "４．", "二", "完善执法人员管理，2019年9月底前完成清理", "市司法局", [], D,
         date(2019, 9, 30)),
        (6, "４．", "二", "健全执法监督机制", "市政府办公室", [], D, date(2020, 6, 30)),
    ]  # fmt: skip
    assert plan.task(1).deadline.text == "2019年底前"  # written as 完成时限：… in the bracket
    general = messages(plan)
    # the rule in task 2's bracket has no 下同: it does not carry to task 3
    assert any(m.startswith("任务 3 的责任单位未写明牵头单位") for m in general)
    assert any("第 6 行" in m and "附注" in m for m in general)  # （此项工作长期坚持）


def test_a_plan_under_the_notice_that_issues_it(duban, workdir):
    plan, _ = run_import(duban, workdir, "11-issuing-notice.txt")
    assert plan.title == "某市促进消费行动方案"  # the plan's own title, not the notice's
    assert plan.issued == date(2020, 4, 10)  # the notice's date
    assert tasks(plan) == [
        (1, None, "一", "落实汽车限购放宽政策", "市发展改革委", ["市公安局"], D, date(2020, 5, 9)),
        (2, None, "一", "开展汽车下乡活动", "市商务局", ["各区人民政府"], D, date(2020, 6, 30)),
    ]  # fmt: skip
    general = messages(plan)
    assert any(m.startswith("源文件第 1 行至第 6 行") and "印发通知" in m for m in general)
    assert any(m.startswith("源文件第 8 行“为进一步激发消费潜力") for m in general)
    assert any(m.startswith("源文件第 13 行“各有关部门要加强协调配合") for m in general)


def test_headings_nest_under_parts(duban, workdir):
    (workdir / "parts.txt").write_text(
        "某区城市更新实施方案\n第一部分 老旧小区改造\n一、完善配套设施\n"
        "（一）加装电梯。2021年底前完成100台。（区住房城乡建设局负责）\n"
        "第二部分 城中村治理\n一、整治环境\n（一）清理违法建筑。（各街道办事处负责）\n",
        "utf-8",
    )
    plan, _ = run_import(duban, workdir, "parts.txt")
    assert [s.no for s in plan.sections] == ["第一部分", "第一部分一", "第二部分", "第二部分一"]
    assert [(t.section, t.label) for t in plan.tasks] == [("第一部分一", None),
                                                          ("第二部分一", "（一）")]  # fmt: skip


# --- the same documents as Word files ------------------------------------------------------


def write_docx(lines: list[str], path: Path, headings: dict[str, int] | None = None) -> Path:
    """The lines as Word paragraphs; those in `headings` in a Heading style of that level."""
    document = docx.Document()
    for line in lines:
        level = (headings or {}).get(line)
        if level is None:
            document.add_paragraph(line)
        else:
            document.add_heading(line, level=level)
    document.save(str(path))
    return path


@pytest.mark.parametrize(
    ("name", "headings"),
    [
        ("01-state-council-opinions.txt", {}),
        ("02-division-of-work.txt", {"一、继续创新和完善宏观调控": 1, "二、深化放管服改革": 1}),
        ("05-provincial-key-points.txt", {"一、深化行政审批制度改革": 1,
                                         "（一）精简行政许可事项": 2}),
        ("06-ascii-brackets.txt", {}),
    ],
)  # fmt: skip
def test_a_word_rendering_gives_the_same_plan(duban, workdir, name, headings):
    from_text, _ = run_import(duban, workdir, name)
    lines = (CORPUS / name).read_text("utf-8").splitlines()
    write_docx([ln.strip() for ln in lines if ln.strip()], workdir / "plan.docx", headings)
    from_word, _ = run_import(duban, workdir, "plan.docx")
    assert tasks(from_word) == tasks(from_text)
    assert from_word.sections == from_text.sections and from_word.title == from_text.title
    assert [t.content for t in from_word.tasks] == [t.content for t in from_text.tasks]
    assert from_word.issued == from_text.issued
    # the same warnings, each naming the paragraph instead of the line
    assert len(from_word.warnings) == len(from_text.warnings)
    assert [re.sub(r"第 \d+ [行段]", "第 N 处", w.message) for w in from_word.warnings] == [
        re.sub(r"第 \d+ [行段]", "第 N 处", w.message) for w in from_text.warnings
    ]
    if name.startswith("01"):
        assert any(w.message.startswith("源文件第 2 段至第 4 段") for w in from_word.warnings)


def test_a_word_heading_style_makes_a_section_of_a_sentence(duban, workdir):
    write_docx(
        [
            "某区社区治理行动方案",
            "健全组织体系，强化党建引领",
            "建立街道社区党组织联席会议制度，2020年6月底前实现全覆盖。（区委组织部负责）",
            "提升服务水平，推动资源下沉",
            "推动部门资源下沉社区。（区民政局牵头，各街道办事处配合）",
        ],
        workdir / "plan.docx",
        {"某区社区治理行动方案": 0, "健全组织体系，强化党建引领": 1,
         "提升服务水平，推动资源下沉": 1},
    )  # fmt: skip
    plan, _ = run_import(duban, workdir, "plan.docx")
    assert plan.title == "某区社区治理行动方案"
    assert plan.sections == [Section("一", "健全组织体系，强化党建引领"),
                             Section("二", "提升服务水平，推动资源下沉")]  # fmt: skip
    assert [(t.section, t.lead, t.co_units) for t in plan.tasks] == [
        ("一", "区委组织部", []),
        ("二", "区民政局", ["各街道办事处"]),
    ]
    assert plan.task(1).deadline.due == date(2020, 6, 30)


def test_a_first_line_styled_as_a_heading_that_reads_as_a_title_is_the_title(duban, workdir):
    # as a web page's <h1> or a Word "Heading 1" title comes through
    write_docx(
        ["某市养老服务发展行动方案", "一、完善服务体系",
         "（一）建设养老服务设施。（市民政局负责）"],
        workdir / "plan.docx",
        {"某市养老服务发展行动方案": 1},
    )
    plan, _ = run_import(duban, workdir, "plan.docx")
    assert plan.title == "某市养老服务发展行动方案"
    assert plan.sections == [Section("一", "完善服务体系")]
    assert [(t.section, t.label, t.lead) for t in plan.tasks] == [("一", None, "市民政局")]


# --- units brackets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "lead", "co_units"),
    [
        ("人力资源社会保障部、财政部负责。列第一位者为牵头单位，下同", "人力资源社会保障部",
         ["财政部"]),
        ("牵头单位：市发展改革委，配合单位：市委组织部，各区、县级市", "市发展改革委",
         ["市委组织部", "各区、县级市"]),
        ("市司法局牵头，市财政局、市民政局参与", "市司法局", ["市财政局", "市民政局"]),
        ("市司法局会同市财政局负责", "市司法局", ["市财政局"]),
        ("市教育局指导", "市教育局", []),
        ("市教育局指导，各区人民政府负责", "各区人民政府", ["市教育局"]),
        ("发展改革委、财政部等有关部门按职责分工负责", "发展改革委", ["财政部"]),
        ("各省级人民政府负责", "各省级人民政府", []),
        ("各省、自治区、直辖市人民政府负责", "各省、自治区、直辖市人民政府", []),
        ("各县（市、区）人民政府负责", "各县（市、区）人民政府", []),
        ("市公安局负责，市民政局配合", "市公安局", ["市民政局"]),
        ("由市政府办公厅负责", "市政府办公厅", []),
        ("市发展改革委牵头负责", "市发展改革委", []),
        ("责任单位：市商务局、市财政局", "市商务局", ["市财政局"]),
        ("人社部负责，2019年底前完成", "人社部", []),
        ("中国（广东）自由贸易试验区横琴片区管委会负责", "中国（广东）自由贸易试验区横琴片区管委会",
         []),
    ],
)  # fmt: skip
def test_a_units_bracket(inner, lead, co_units):
    bracket = read_bracket(inner)
    assert bracket is not None
    assert (bracket.units.lead, bracket.units.co_units) == (lead, co_units)


@pytest.mark.parametrize(
    "inner",
    ["以下简称“一网通办”", "试行", "2019—2021年", "国发〔2019〕5号", "具体方案另行制定",
     "2019年3月5日国务院第41次常务会议通过", "费用由企业负责", "含各类市场主体", "此件公开发布",
     "", "负责"],
)  # fmt: skip
def test_an_ordinary_parenthesis_is_no_units_bracket(inner):
    assert read_bracket(inner) is None


@pytest.mark.parametrize(
    ("inner", "units"),
    [
        ("市发展改革委、市财政局", ("市发展改革委", ["市财政局"])),
        ("人民银行、银保监会", ("人民银行", ["银保监会"])),
        ("各区、县级市", ("各区、县级市", [])),
        ("试行", None),
        ("示范区", None),
        ("征求意见稿", None),
        ("省、市、县三级", None),
    ],
)
def test_names_alone_close_an_item_only_when_they_read_as_units(inner, units):
    closing = read_bracket(inner, closing=True)
    assert (closing and (closing.units.lead, closing.units.co_units)) == units
    assert read_bracket(inner) is None  # within a sentence, names alone are no assignment


def test_the_rule_and_the_tails_a_bracket_states():
    ruled = read_bracket("人力资源社会保障部、财政部负责。列第一位者为牵头单位，下同")
    assert ruled is not None and ruled.rule and ruled.rule_below
    tail = read_bracket("发展改革委、财政部等有关部门按职责分工负责")
    assert tail is not None and tail.further == ["财政部等有关部门"] and not tail.lead_marked
    inside = read_bracket("人社部负责，2019年底前完成")
    assert inside is not None and inside.deadline_text == "2019年底前完成"


# --- every paragraph accounted for -------------------------------------------------------------

_UNITS = ["市发展改革委", "市财政局", "市司法局", "市民政局", "各区人民政府", "市教育局"]
_SENTENCES = ["加强统筹协调", "完善工作机制", "推进数据共享", "强化监督检查", "优化服务流程"]
_TAGS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未"
_NOISE = ["（此项工作长期坚持）", "2019年3月5日", "各地区要高度重视，认真抓好落实。",
          "附件：重点任务清单", "注：排在第一位的为牵头单位。", "（一）组织保障", "1.加强领导"]
_DEADLINES = ["", "2019年6月底前完成。", "到2020年基本建成。", "5年内全面实现。"]


def _bracket_text(kind: int, units: list[str]) -> str:
    a, b = units[0], units[-1]
    return [
        f"{a}、{b}负责",
        f"牵头单位：{a}，配合单位：{b}",
        f"{a}牵头，{b}参与",
        f"{a}会同{b}负责",
        f"{a}指导",
        f"{a}、{b}等有关部门按职责分工负责",
        f"{a}、各县（市、区）人民政府负责",
    ][kind]


@st.composite
def prose_documents(draw) -> tuple[list[str], list[str]]:
    """A prose plan's lines, and the texts of the units brackets written in it."""
    lines = [draw(st.sampled_from(["某市营商环境改革行动方案", "关于推进法治政府建设的实施意见"]))]
    if draw(st.booleans()):
        lines += ["市府办〔2019〕3号", "各区人民政府，市政府各部门：", "为做好工作，制定本方案。"]
    style = draw(st.sampled_from(["（{}）", "{}.", "", "{}、"]))
    brackets: list[str] = []
    item = 0
    for s in range(draw(st.integers(1, 4))):
        lines.append(f"{'一二三四'[s]}、{draw(st.sampled_from(_SENTENCES))}")
        for _ in range(draw(st.integers(0, 4))):
            item += 1
            number = style.format("一二三四五六七八九十"[(item - 1) % 10]) if "（" in style else (
                style.format(item) if style else ""
            )
            sentence = draw(st.sampled_from(_SENTENCES)) + _TAGS[item % len(_TAGS)]  # unique
            deadline = draw(st.sampled_from(_DEADLINES))
            text = f"{number}{sentence}。{deadline}"
            for _ in range(draw(st.integers(0, 2))):
                units = draw(st.lists(st.sampled_from(_UNITS), min_size=1, max_size=2, unique=True))
                inner = _bracket_text(draw(st.integers(0, 6)), units)
                opening, closing = draw(st.sampled_from([("（", "）"), ("(", ")")]))
                text += f"{opening}{inner}{closing}"
                brackets.append(inner)
                if draw(st.booleans()):
                    text += f"另{draw(st.sampled_from(_SENTENCES))}{_TAGS[item % len(_TAGS)]}。"
            lines.append(text)
            if draw(st.integers(0, 5)) == 0:  # a line of another kind between the items
                lines.append(draw(st.sampled_from(_NOISE)))
    if draw(st.booleans()):
        lines += ["市人民政府办公室", "2019年3月5日"]
    if not brackets:
        lines.append(f"加强督查。（{_bracket_text(0, _UNITS[:2])}）")
        brackets.append(_bracket_text(0, _UNITS[:2]))
    return lines, brackets


def _accounted(plan: Plan, line_no: int, text: str) -> bool:
    if text in plan.title:
        return True
    if any(s.title and s.title in text for s in plan.sections):
        return True
    # a paragraph of an item: its words (without number and brackets) in a task's content
    words = re.sub(r"[（(][^（）()]*[)）]", "", text)
    words = re.sub(r"^(?:[（(]?[一二三四五六七八九十0-9]+[)）]?[、.]?)", "", words)[:7]
    if any((words or text) in t.content for t in plan.tasks):
        return True
    for w in plan.warnings:
        for first, last in re.findall(r"第 (\d+) 行(?:至第 (\d+) 行)?", w.message):
            if int(first) <= line_no <= int(last or first):
                return True
    return False


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(prose_documents())
def test_every_paragraph_is_a_task_a_section_the_title_or_a_warning(document):
    lines, brackets = document
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "plan.txt"
        source.write_text("\n".join(lines) + "\n", "utf-8")
        plan = import_plan(source, coordinator="督查室")
    for number, line in enumerate(lines, start=1):
        assert _accounted(plan, number, line), (number, line, plan.warnings)
    # each units bracket closes exactly one task, whatever else the paragraph holds
    assert [t.units_text for t in plan.tasks if t.units_text] == brackets
    assert all(t.lead for t in plan.tasks if t.units_text)
    assert [t.no for t in plan.tasks] == list(range(1, len(plan.tasks) + 1))


# --- the plan file keeps label and issued --------------------------------------------------


def _plan_with_label() -> Plan:
    return Plan(
        id="prose",
        title="某市行动方案",
        coordinator="督查室",
        issued=date(2019, 3, 5),
        sections=[Section("二", "重点任务")],
        tasks=[
            Task(no=1, section="二", title="加强培训", content="加强培训。", lead="市人社局",
                 co_units=[], units_text="市人社局负责",
                 deadline=Deadline(text="5年内", kind=D, due=date(2024, 3, 4)), label="（三）"),
            Task(no=2, section="二", title="完善政策", content="完善政策。", lead="市财政局",
                 co_units=[], units_text="市财政局负责",
                 deadline=Deadline(text="", kind=U), label="1."),
            Task(no=3, section=None, title="x", content="", lead=None, co_units=[],
                 units_text="", deadline=Deadline(text="", kind=U)),
        ],
    )  # fmt: skip


def test_label_and_issued_round_trip_through_the_plan_file(tmp_path):
    plan = _plan_with_label()
    text = dump_plan(plan)
    assert "issued: 2019-03-05" in text and "label: （三）" in text
    assert "label: '1.'" in text  # quoted, so no YAML reader takes it for a number
    assert text.count("label:") == 2  # a task whose number is its label has none
    back = parse_plan(text, tmp_path / "plan.yaml")
    assert back.issued == date(2019, 3, 5)
    assert [t.label for t in back.tasks] == ["（三）", "1.", None]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("label: （三）", "label: [三]", "label"),
        ("label: （三）", "label: \"（三）\\n（四）\"", "label"),
        ("issued: 2019-03-05", "issued: 2019-02-30", "2019-02-30"),
        ("issued: 2019-03-05", "issued: 下周一", "plan.issued"),
        ("label: （三）", "lable: （三）", "lable"),
    ],
)
def test_a_bad_label_or_issued_is_a_one_line_error(duban, workdir, old, new, key):
    text = dump_plan(_plan_with_label())
    assert old in text
    (workdir / "bad.yaml").write_text(text.replace(old, new, 1), "utf-8")
    result = duban("load", "bad.yaml")
    assert result.code == 2, result.err
    assert result.err.strip().count("\n") == 0
    assert "bad.yaml" in result.err and key in result.err and "内部错误" not in result.err


def test_working_day_counts_and_counts_without_nei_are_said(duban, workdir):
    """"30个工作日内" is not counted (that needs the calendar of the plan's years): the warning says
    so, not "use --issued"; "用3年时间" counts from the issue date like "3年内" does."""
    (workdir / "counts.txt").write_text(
        "某市优化营商环境行动方案\n"
        "一、重点任务\n"
        "（一）压缩办理时限。本方案印发之日起30个工作日内完成流程再造（市政务服务数据管理局负责）。\n"
        "（二）建设信用体系。用3年时间建成覆盖全市的信用信息平台（市发展改革委负责）。\n",
        encoding="utf-8",
    )
    plan, _ = run_import(duban, workdir, "counts.txt")
    first = messages(plan, 1)
    assert any("按工作日计算" in m for m in first), first
    assert not any("--issued" in m for m in first), first
    assert plan.task(1).deadline.kind is U
    second = messages(plan, 2)
    assert any("--issued" in m and "未找到印发日期" in m for m in second), second
    plan, _ = run_import(duban, workdir, "counts.txt", "--issued", "2020-01-10")
    assert (plan.task(2).deadline.kind, plan.task(2).deadline.due) == (D, date(2023, 1, 9))
    assert plan.task(1).deadline.kind is U

"""The deadline phrase read from inside a prose item, and what the grammar makes of it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.deadlines.grammar import is_relative, parse_deadline
from engine.deadlines.phrases import deadline_phrase

ISSUED = date(2019, 3, 15)


def _date(text: str, due: date) -> Deadline:
    return Deadline(text, DeadlineKind.DATE, due=due)


@pytest.mark.parametrize(
    ("item", "phrase", "deadline"),
    [
        (
            "（三）加快建设公共法律服务平台，2019年6月底前实现全覆盖。（市司法局负责）",
            "2019年6月底前",
            _date("2019年6月底前", date(2019, 6, 30)),
        ),
        (
            "到2020年，基本形成覆盖城乡、便捷高效的公共法律服务体系。",
            "到2020年",
            _date("到2020年", date(2020, 12, 31)),
        ),
        (
            "到2020年底，实现村（居）法律顾问全覆盖。",
            "到2020年底",
            _date("到2020年底", date(2020, 12, 31)),
        ),
        (
            "2019年1月1日至12月31日，在全市开展专项整治行动。",
            "2019年1月1日至12月31日",
            _date("2019年1月1日至12月31日", date(2019, 12, 31)),
        ),
        (
            "各地要在2020年前完成清理工作（各区政府负责）",
            "2020年前",
            _date("2020年前", date(2019, 12, 31)),
        ),
        (
            "二〇一九年六月底前完成清理。",
            "二〇一九年六月底前",
            _date("二〇一九年六月底前", date(2019, 6, 30)),
        ),
        (
            "建立XX机制（市发展改革委牵头，市财政局配合，2019年底前完成）",
            "2019年底前",
            _date("2019年底前", date(2019, 12, 31)),
        ),
        (
            "从2019年起每年2月底前报送上一年度工作情况（各区政府负责）。",
            "从2019年起每年2月底前",
            Deadline(
                "从2019年起每年2月底前",
                DeadlineKind.RECURRING,
                rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
                start=date(2019, 1, 1),
            ),
        ),
        (
            "自2019年起，每年2月底前向市政府报告。",
            "自2019年起，每年2月底前",
            Deadline(
                "自2019年起，每年2月底前",
                DeadlineKind.RECURRING,
                rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
                start=date(2019, 1, 1),
            ),
        ),
        (
            "建立工作台账，每季度末报送工作进展。",
            "每季度末",
            Deadline(
                "每季度末",
                DeadlineKind.RECURRING,
                rrule="FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
            ),
        ),
        (
            "每季度向市委报送工作进展。",
            "每季度",
            Deadline(
                "每季度",
                DeadlineKind.RECURRING,
                rrule="FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
            ),
        ),
        (
            "2012年起5年内完成棚户区改造。",
            "2012年起5年内",
            _date("2012年起5年内", date(2016, 12, 31)),
        ),
        (
            "建立健全工作机制，长期坚持。",
            "长期坚持",
            Deadline("长期坚持", DeadlineKind.LONG_TERM),
        ),
        (
            "深化“放管服”改革（市政务服务数据管理局负责，持续推进）",
            "持续推进",
            Deadline("持续推进", DeadlineKind.LONG_TERM),
        ),
    ],
)
def test_phrase(item: str, phrase: str, deadline: Deadline) -> None:
    assert deadline_phrase(item) == phrase
    assert parse_deadline(phrase) == deadline
    assert parse_deadline(phrase, issued=ISSUED) == deadline


@pytest.mark.parametrize(
    ("item", "phrase", "due"),
    [
        ("本意见印发之日起30日内制定具体实施办法。", "本意见印发之日起30日内", date(2019, 4, 13)),
        ("自印发之日起3个月内出台配套政策。", "自印发之日起3个月内", date(2019, 6, 14)),
        ("各区要在本方案印发后60天内报送方案。", "本方案印发后60天内", date(2019, 5, 13)),
        ("力争5年内基本建成现代公共法律服务体系。", "5年内", date(2024, 3, 14)),
        ("三年内实现全覆盖。", "三年内", date(2022, 3, 14)),
        ("力争用3年时间，基本建成公共法律服务体系。", "用3年时间", date(2022, 3, 14)),
        ("今年年底前完成清理。", "今年年底前", date(2019, 12, 31)),
        ("明年6月底前全面推开。", "明年6月底前", date(2020, 6, 30)),
    ],
)
def test_relative_phrase(item: str, phrase: str, due: date) -> None:
    assert deadline_phrase(item) == phrase
    assert is_relative(phrase)
    assert parse_deadline(phrase) == Deadline(phrase, DeadlineKind.UNKNOWN)
    assert parse_deadline(phrase, issued=ISSUED) == _date(phrase, due)


@pytest.mark.parametrize(
    ("item", "phrase"),
    [
        ("年底前完成清理。", "年底前"),
        ("各地要在年底前完成清理。", "年底前"),
        ("6月底前启动，年底前完成。", "6月底前启动，年底前完成"),
        ("在6月内完成。", "6月内"),
        ("年内完成清理。", "年内"),
    ],
)
def test_a_phrase_without_a_year_is_found_and_not_given_one(item: str, phrase: str) -> None:
    # the importer reads it in the plan's year, as it does a table's 6月底前
    assert deadline_phrase(item) == phrase
    assert parse_deadline(phrase, issued=ISSUED) == Deadline(phrase, DeadlineKind.UNKNOWN)


def test_a_date_without_a_year_is_left_out_beside_one_with_a_year() -> None:
    assert deadline_phrase("6月底前启动，2020年底前完成。") == "2020年底前"


def test_phrases_the_grammar_cannot_combine_are_kept_to_be_flagged() -> None:
    phrase = deadline_phrase("2019年底前完成清理，此后每年12月底前报送。")
    assert phrase == "2019年底前完成清理，每年12月底前报送"
    assert parse_deadline(phrase).kind is DeadlineKind.UNKNOWN


def test_working_days_after_each_quarter_are_found_and_stay_unknown() -> None:
    phrase = deadline_phrase("于每季度结束后5个工作日内报送。")
    assert phrase == "每季度结束后5个工作日内"
    assert parse_deadline(phrase) == Deadline(phrase, DeadlineKind.UNKNOWN)


@pytest.mark.parametrize(
    "item",
    [
        "2019年6月底前企业开办时间压缩至3个工作日以内。",
        "2019年6月底前将办理时限控制在5个工作日内。",
        "2019年6月底前审批时间缩短30天内。",
    ],
)
def test_a_count_that_measures_a_service_is_no_deadline(item: str) -> None:
    assert deadline_phrase(item) == "2019年6月底前"


def test_working_days_beside_a_date_are_kept_to_be_flagged() -> None:
    phrase = deadline_phrase("本意见印发之日起30个工作日内制定细则，2019年底前全面完成。")
    assert phrase == "本意见印发之日起30个工作日内制定细则，2019年底前全面完成"
    assert parse_deadline(phrase, issued=ISSUED).kind is DeadlineKind.UNKNOWN


def test_working_days_are_found_and_stay_unknown() -> None:
    phrase = deadline_phrase("本意见印发之日起30个工作日内制定细则。")
    assert phrase == "本意见印发之日起30个工作日内"
    assert parse_deadline(phrase, issued=ISSUED) == Deadline(phrase, DeadlineKind.UNKNOWN)
    assert not is_relative(phrase)  # an issue date would not read it


@pytest.mark.parametrize(
    ("item", "phrase", "milestones"),
    [
        (
            "2019年底前启动试点，2020年底前全面推开（市司法局负责）。",
            "2019年底前启动试点，2020年底前全面推开",
            [
                ("2019年底前启动试点", date(2019, 12, 31)),
                ("2020年底前全面推开", date(2020, 12, 31)),
            ],
        ),
        (
            "到2020年，基本形成法治框架；到2035年，全面建成法治政府。",
            "到2020年，基本形成法治框架；到2035年，全面建成法治政府",
            [
                ("到2020年，基本形成法治框架", date(2020, 12, 31)),
                ("到2035年，全面建成法治政府", date(2035, 12, 31)),
            ],
        ),
        (
            "各地要在2019年6月底前完成清理，并于年底前报送结果。",
            "2019年6月底前完成清理，年底前报送结果",
            [("2019年6月底前完成清理", date(2019, 6, 30)), ("年底前报送结果", date(2019, 12, 31))],
        ),
        (
            "2019年6月底前启动、12月底前完成。",
            "2019年6月底前，12月底前",
            [("2019年6月底前", date(2019, 6, 30)), ("12月底前", date(2019, 12, 31))],
        ),
        (
            "本意见印发之日起3个月内制定方案，1年内全面完成。",
            "本意见印发之日起3个月内制定方案，1年内全面完成",
            [
                ("本意见印发之日起3个月内制定方案", date(2019, 6, 14)),
                ("1年内全面完成", date(2020, 3, 14)),
            ],
        ),
    ],
)
def test_milestone_phrase(item: str, phrase: str, milestones: list[tuple[str, date]]) -> None:
    assert deadline_phrase(item) == phrase
    deadline = parse_deadline(phrase, issued=ISSUED)
    assert deadline.kind is DeadlineKind.MILESTONES
    assert deadline.milestones == tuple(Milestone(t, due) for t, due in milestones)
    assert deadline.due == milestones[-1][1]


@pytest.mark.parametrize(
    "item",
    [
        "加强队伍建设，提升服务水平（市司法局负责）。",
        "持续推进法治政府建设。",  # the item's subject, not its timing
        "2018年以来，全市累计建成公共法律服务站点120个。",
        "2017年全市GDP增长8%，经济社会发展稳中向好。",
        "贯彻落实《广东省法治建设规划（2016—2020年）》，完善制度。",
        "实施《珠海市公共法律服务规划》（2016—2020年），推进改革。",
        "十三五期间，我市公共法律服务取得显著成效。",
        "参照《公共法律服务标准（2019年版）》执行。",
        "参照公共法律服务标准2019年版执行。",
        "选聘具有5年以上工作经验的律师。",
        "近5年内全市未发生重大安全事故。",
        "截至2018年底，全市共有律师事务所120家。",
        "2018年底前已完成全部清理工作。",
        "收到申请后3日内办结。",
        "受理之日起15日内作出决定。",
        "2019年6月30日，市政府召开专题会议。",
        "2019年1月，国务院印发了有关意见。",
        "2019年起实施新的考核办法。",
        "每年新增就业岗位1万个。",
        "落实国办发〔2018〕5号文件精神。",
        "2020年度考核结果作为重要依据。",
        "国务院2018年印发的《意见》明确要求加快建设。",
        "国务院于2018年印发了有关意见。",
        "今年全市GDP增长8%。",
        "今年以来，全市各项工作稳步推进。",
        "经过3年时间的努力，已经建成。",
        "用3年左右时间基本建成。",  # about: the grammar would not read it
        "5年内不得再次申请。",  # a condition, not a deadline
        "三年内有效。",
        "2019年起，每年安排资金1亿元。",  # a rate from 2019
        "每年至少开展2次专项检查。",
        "",
    ],
)
def test_no_phrase(item: str) -> None:
    assert deadline_phrase(item) is None


_PIECES = st.sampled_from(
    [
        *"0123456789一二三四五六七八九十两半年月日号前底末内起至到后上下旬季度第每",
        *"，。；、（）《》 ",
        "印发之日起",
        "本意见",
        "工作日",
        "个月",
        "长期坚持",
        "持续推进",
        "2019年",
        "到2020年",
        "6月底前",
        "5年内",
        "以来",
        "每年",
        "完成",
        "负责",
    ]
)
_ITEMS = st.one_of(st.text(), st.lists(_PIECES, max_size=30).map("".join))


def test_a_long_text_without_separators_is_read() -> None:
    # no separator anywhere: the words of a phrase are looked for only so far, and a repeated
    # phrase is one
    item = "2019年6月底前完成" * 2000
    phrase = deadline_phrase(item)
    assert phrase is not None and phrase.startswith("2019年6月底前")
    assert parse_deadline(phrase).due == date(2019, 6, 30)


@given(_ITEMS)
def test_the_phrase_is_written_in_the_item(item: str) -> None:
    phrase = deadline_phrase(item)
    if phrase is not None:
        assert phrase.strip() == phrase != ""
        assert all(part in item for part in phrase.split("，"))
        parse_deadline(phrase)  # never raises
        parse_deadline(phrase, issued=ISSUED)


@pytest.mark.parametrize(
    ("item", "phrase"),
    [
        (
            "（一）完善公共法律服务体系。到2022年，全面建成覆盖城乡、便捷高效、均等普惠的现代"
            "公共法律服务体系。（市司法局牵头，各区政府负责）",
            "到2022年",
        ),
        (
            "2.推进实体平台建设。2019年底前，县级公共法律服务中心、乡镇（街道）公共法律服务"
            "工作站实现全覆盖。（市司法局负责）",
            "2019年底前",
        ),
        (
            "（三）建立健全法律援助制度。按照《法律援助条例》规定，自2019年7月1日起，将经济困难"
            "标准调整为当地最低工资标准。（市司法局、市财政局负责）",
            None,  # from when, not by when
        ),
        (
            "（四）加强律师队伍建设。2018年全市律师人数达到3000人，比上年增长12%。力争到2025年，"
            "每万人拥有律师数达到3人。（市司法局负责）",
            "到2025年",
        ),
        (
            "（五）各级政务服务中心要在2019年6月30日前实现“一窗受理”，2019年12月31日前实现"
            "“一网通办”。（市政务服务数据管理局牵头，各区政府负责）",
            "2019年6月30日前实现“一窗受理”，2019年12月31日前实现“一网通办”",
        ),
        (
            "（六）每年12月4日组织开展国家宪法日宣传活动。（市委宣传部、市司法局负责）",
            "每年12月4日",
        ),
        ("（七）落实“七五”普法规划（2016—2020年），2020年底前完成总结验收。", "2020年底前"),
        ("（八）将公共法律服务纳入2019年度绩效考核。（市委组织部负责）", None),
        ("十、各级财政要将经费纳入预算，自2020年起逐年增加。（市财政局负责）", None),
        (
            "（十一）本意见印发后1个月内，各区要制定具体实施方案并报市司法局备案。",
            "本意见印发后1个月内",
        ),
        (
            "（十二）市司法局每半年对各地工作情况进行一次督查，并于每年1月15日前向市政府报告上一"
            "年度工作情况。（市司法局负责）",
            "每年1月15日前",
        ),
        (
            "（十三）2019年上半年，完成摸底调查；2019年下半年，启动示范点建设。（市司法局负责）",
            "2019年上半年，完成摸底调查；2019年下半年，启动示范点建设",
        ),
        (
            "（十五）到2020年，全市公共法律服务网络平台访问量较2018年增长50%以上。",
            "到2020年",
        ),
        ("（十七）完善“12348”热线平台，实现7×24小时服务。（市司法局负责）", None),
        (
            "（十八）2019年3月底前制定出台实施细则。（市司法局负责，2019年3月底前完成）",
            "2019年3月底前",  # said twice: one deadline
        ),
        ("（二十）根据国家统一部署，适时开展相关试点。（市司法局负责）", None),
        ("（二十一）2017年12月，国务院办公厅印发了《关于……的意见》。", None),
        ("（二十三）在2020年6月前完成公证机构体制改革。（市司法局负责）", "2020年6月前"),
        (
            "（二十五）从今年起，每季度末向市委依法治市办报送工作进展。（各成员单位负责）",
            "从今年起，每季度末",
        ),
        ("（二十七）2019年9月至2020年6月，分三个阶段推进。", "2019年9月至2020年6月"),
    ],
)
def test_items_of_a_plan(item: str, phrase: str | None) -> None:
    assert deadline_phrase(item) == phrase


def test_from_this_year_needs_the_issue_date() -> None:
    phrase = "从今年起，每季度末"
    assert is_relative(phrase)
    assert parse_deadline(phrase, issued=ISSUED) == Deadline(
        phrase,
        DeadlineKind.RECURRING,
        rrule="FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
        start=date(2019, 1, 1),
    )

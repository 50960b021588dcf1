"""`duban calendar import` and `duban calendar show`: the State Council's holiday notice into the
calendar the service plans on, through the real command line on a real SQLite file.

The notices in tests/data/calendar/ are 2020–2026 as published (one saved with full-width digits,
one with its lines wrapped and 至 written —), and a 2027 one written in the 2026 layout.
"""

from __future__ import annotations

import html
import json
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import docx
import pytest

from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.model.plan import Plan, Section, Task
from engine.planfile import write_plan
from tests.support.plans import dump

NOTICES = Path(__file__).resolve().parent / "data" / "calendar"
N2027 = NOTICES / "国务院办公厅关于2027年部分节假日安排的通知.txt"
REAL = {
    2020: "2020-notice.txt",
    2021: "2021-notice-fullwidth.txt",
    2022: "2022-notice-wrapped.txt",
    2023: "2023-notice.txt",
    2024: "2024-notice.txt",
    2025: "2025-notice.txt",
    2026: "2026-notice.txt",
}
NOW = "2026-12-01T10:00:00+08:00"
SHOW_KEYS = {"year", "covered", "basis", "holidays", "workdays", "sources", "days"}


def days(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def calendar_import(duban, path: Path, *args: str):
    return duban("--now", NOW, *args, "calendar", "import", str(path))


def show(duban, year: int, *args: str) -> dict:
    r = duban(*args, "calendar", "show", str(year), "--json")
    assert r.code == 0, r.err
    document = json.loads(r.out)
    assert set(document) == SHOW_KEYS
    return document


def package_days(year: int) -> tuple[set[str], set[str]]:
    holidays = {d.isoformat() for d in chinese_calendar.holidays if d.year == year}
    workdays = {d.isoformat() for d in chinese_calendar.workdays if d.year == year}
    return holidays, workdays


# --- reading each year's layout -------------------------------------------------------------------

# Days the package gives a year from the next year's notice (元旦 with the weekend before it).
NEXT_NOTICE = {2022: {"2022-12-31"}, 2023: {"2023-12-30", "2023-12-31"}}


@pytest.mark.parametrize("year", [2021, 2022, 2023, 2024, 2025, 2026])
def test_each_published_notice_reads_as_the_package_has_that_year(duban, year):
    r = calendar_import(duban, NOTICES / REAL[year])
    assert r.code == 0, r.err
    shown = show(duban, year)
    holidays, workdays = package_days(year)
    assert shown["basis"] == "notice" and shown["covered"]
    assert set(shown["holidays"]) == holidays - NEXT_NOTICE.get(year, set())
    assert set(shown["workdays"]) == workdays
    assert {d["source"] for d in shown["days"]} == {"notice"}


def test_the_2020_notice_as_first_published_before_the_spring_festival_was_extended(duban):
    r = calendar_import(duban, NOTICES / REAL[2020])
    assert r.code == 0, r.err
    assert "已导入 2020 年节假日安排：放假 27 天，调休上班 7 天" in r.out
    assert "  春节：2020-01-24 至 2020-01-30，放假 7 天；调休上班 2020-01-19、2020-02-01" in r.out
    shown = show(duban, 2020)
    # The package has the later extension (to 2月2日); the notice imported is what counts.
    assert "2020-02-01" in shown["workdays"] and "2020-01-31" not in shown["holidays"]
    assert shown["holidays"][:1] == ["2020-01-01"]


def test_what_was_imported_is_said_per_holiday(duban):
    r = calendar_import(duban, N2027)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "已导入 2027 年节假日安排：放假 29 天，调休上班 6 天"
        "（国务院办公厅关于2027年部分节假日安排的通知.txt）",
        "  元旦：2027-01-01 至 2027-01-03，放假 3 天",
        "  春节：2027-02-05 至 2027-02-13，放假 9 天；调休上班 2027-02-14、2027-02-20",
        "  清明节：2027-04-03 至 2027-04-05，放假 3 天",
        "  劳动节：2027-05-01 至 2027-05-05，放假 5 天；调休上班 2027-04-25、2027-05-08",
        "  端午节：2027-06-09，放假 1 天",
        "  中秋节：2027-09-15，放假 1 天",
        "  国庆节：2027-10-01 至 2027-10-07，放假 7 天；调休上班 2027-09-26、2027-10-09",
    ]  # fmt: skip
    # the remark encouraging a day off on 2月4日 is said, and not taken
    assert "第 7 行：“鼓励各单位" in r.err and "不计入放假或上班安排" in r.err
    assert "2027-02-04" not in show(duban, 2027)["holidays"]


def test_new_years_day_from_december_31_is_a_day_of_the_year_before(duban):
    assert calendar_import(duban, NOTICES / REAL[2023]).code == 0
    before = show(duban, 2022)
    assert before["basis"] == "package"  # 2022 itself: the package, and the one notice day
    [day] = [d for d in before["days"] if d["date"] == "2022-12-31"]
    assert day == {"date": "2022-12-31", "kind": "holiday", "name": "元旦", "source": "notice"}
    assert [s["source"] for s in before["sources"]] == ["package", "notice"]
    assert show(duban, 2023)["holidays"][:2] == ["2023-01-01", "2023-01-02"]


def test_a_count_that_disagrees_with_the_dates_is_a_warning(duban, workdir):
    text = N2027.read_text("utf-8").replace("放假调休，共9天", "放假调休，共8天")
    path = workdir / "notice.txt"
    path.write_text(text, "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    assert (
        f"警告：{path} 第 7 行：春节写明共 8 天，但所列放假日期（2027-02-05 至 2027-02-13）"
        "为 9 天，按所列日期导入"
    ) in r.err.splitlines()
    assert len(show(duban, 2027)["holidays"]) == 29


def test_a_weekday_that_is_not_the_dates_is_a_warning(duban, workdir):
    text = N2027.read_text("utf-8").replace("2月14日（周日）", "2月14日（周一）")
    path = workdir / "notice.txt"
    path.write_text(text, "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    assert "第 7 行：2月14日 注明为星期一，实际是星期日，请核对日期" in r.err


def write_docx(lines: list[str], path: Path) -> Path:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    document.save(str(path))
    return path


def write_html(lines: list[str], path: Path, charset: str = "utf-8") -> Path:
    title, *body = lines
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in body)
    page = (
        f'<html><head><meta charset="{charset}"><title>{html.escape(title)}_政府信息公开'
        f'</title></head><body><div class="nav">首页 &gt; 政策 &gt; 通知</div>'
        f"<h1>{html.escape(title)}</h1>{paragraphs}<div>【打印】【关闭】</div></body></html>"
    )
    path.write_bytes(page.encode(charset))
    return path


@pytest.mark.parametrize("suffix", [".docx", ".html"])
@pytest.mark.parametrize("year", [2024, 2025, 2027])
def test_a_word_file_or_a_saved_web_page_reads_as_the_text(duban, workdir, suffix, year):
    source = N2027 if year == 2027 else NOTICES / REAL[year]
    r = calendar_import(duban, source, "--db", "sqlite:///var/text.db")
    assert r.code == 0, r.err
    from_text = show(duban, year, "--db", "sqlite:///var/text.db")
    lines = [line.strip() for line in source.read_text("utf-8").splitlines() if line.strip()]
    path = workdir / f"notice{suffix}"
    (write_docx if suffix == ".docx" else write_html)(lines, path)
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    shown = show(duban, year)
    assert shown["holidays"] == from_text["holidays"]
    assert shown["workdays"] == from_text["workdays"]
    assert shown["days"] == from_text["days"]


def test_a_gbk_web_page_reads_too(duban, workdir):
    lines = [line.strip() for line in N2027.read_text("utf-8").splitlines() if line.strip()]
    r = calendar_import(duban, write_html(lines, workdir / "notice.htm", "gbk"))
    assert r.code == 0, r.err
    assert len(show(duban, 2027)["holidays"]) == 29


# --- precedence: config over notice over package ------------------------------------------------

OTHER_2026 = """国务院办公厅关于2026年部分节假日安排的通知
一、元旦：1月1日（周四）放假，共1天。
二、春节：2月16日（周一）至22日（周日）放假调休，共7天。2月14日（周六）上班。
三、国庆节：10月1日（周四）至8日（周四）放假调休，共8天。10月10日（周六）上班。
"""


def test_an_imported_notice_wins_over_the_package_for_its_year(duban, workdir):
    path = workdir / "2026.txt"
    path.write_text(OTHER_2026, "utf-8")
    assert show(duban, 2026)["basis"] == "package"
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    shown = show(duban, 2026)
    assert shown["basis"] == "notice"
    assert shown["holidays"] == ["2026-01-01", *days("2026-02-16", "2026-02-22"),
                                 *days("2026-10-01", "2026-10-08")]  # fmt: skip
    assert shown["workdays"] == ["2026-02-14", "2026-10-10"]
    # what only the package said for 2026 is gone: 2月23日 and 1月2日 are ordinary days again
    assert "2026-02-23" not in shown["holidays"] and "2026-01-02" not in shown["holidays"]
    [notice] = shown["sources"]
    assert notice["source"] == "notice" and notice["file"] == "2026.txt" and notice["year"] == 2026
    assert set(notice) == {"source", "year", "file", "sha256", "imported_at"}
    assert notice["imported_at"] == "2026-12-01T02:00:00+00:00"


def test_config_overrides_win_over_the_notice(duban, workdir):
    config = workdir / "duban.toml"
    config.write_text(
        "[calendar]\nextra_holidays = [2027-02-20]\nextra_workdays = [2027-02-08]\n", "utf-8"
    )
    assert calendar_import(duban, N2027).code == 0
    shown = show(duban, 2027, "--config", str(config))
    by_day = {d["date"]: d for d in shown["days"]}
    assert by_day["2027-02-08"] == {
        "date": "2027-02-08",
        "kind": "workday",
        "name": "春节",
        "source": "config",
    }
    assert by_day["2027-02-20"] == {
        "date": "2027-02-20",
        "kind": "holiday",
        "name": "春节",
        "source": "config",
    }
    assert "2027-02-08" in shown["workdays"] and "2027-02-20" in shown["holidays"]
    assert [s["source"] for s in shown["sources"]] == ["notice", "config"]
    assert shown["sources"][1]["file"] == str(config)
    r = duban("--config", str(config), "calendar", "show", "2027")
    assert "  2027-02-08（星期一，春节）  来源：配置 [calendar]" in r.out


def test_importing_a_year_again_replaces_it(duban, workdir):
    assert calendar_import(duban, N2027).code == 0
    path = workdir / "again.txt"
    text = N2027.read_text("utf-8").replace(
        "六、中秋节：9月15日（周三）放假，共1天。",
        "六、中秋节：9月15日（周三）至17日（周五）放假调休，共3天。9月18日（周六）上班。",
    )
    path.write_text(text, "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    assert r.out.startswith(
        "已导入 2027 年节假日安排（替换此前导入的该年安排）：放假 31 天，调休上班 7 天"
    )
    shown = show(duban, 2027)
    assert len(shown["holidays"]) == 31 and "2027-09-18" in shown["workdays"]
    assert shown["sources"][0]["file"] == "again.txt"


def test_a_year_no_source_covers(duban):
    r = duban("calendar", "show", "2031")
    assert r.code == 0
    assert r.out.splitlines()[0].endswith(
        "请导入该年的通知：duban calendar import 国务院办公厅关于2031年部分节假日安排的通知.txt"
    )
    assert show(duban, 2031) == {
        "year": 2031,
        "covered": False,
        "basis": None,
        "holidays": [],
        "workdays": [],
        "sources": [],
        "days": [],
    }


def test_the_package_year_names_its_holidays_in_chinese(duban):
    shown = show(duban, 2026)
    assert shown["sources"] == [
        {"source": "package", "name": "chinesecalendar", "version": "1.11.0"}
    ]
    first = shown["days"][0]
    assert first == {"date": "2026-01-01", "kind": "holiday", "name": "元旦", "source": "package"}


# --- refusals: one line, exit 2, nothing stored changed ------------------------------------------

BAD = {
    "unreadable date": (
        lambda t: t.replace("2月5日（农历除夕、周五）至13日", "2月五日（农历除夕、周五）至13日"),
        "第 7 行：无法识别“2月五日（农历除夕、周五）至13日（农历正月初八、周六）放假调休”中的日期",
    ),
    "no year": (
        lambda t: t.replace("关于2027年部分", "关于部分").replace("现将2027年", "现将"),
        "第 6 行：找不到通知的年份",
    ),
    "both holiday and workday": (
        lambda t: t.replace("2月14日（周日）、2月20日", "2月13日（周六）、2月20日"),
        "第 7 行：2027-02-13 既是放假日又是上班日，应只是其中之一",
    ),
    "no such date": (
        lambda t: t.replace("四、劳动节：5月1日（周六）", "四、劳动节：4月31日（周六）"),
        "第 9 行：日期 2027年4月31日 不存在",
    ),
    "no holiday lines": (
        lambda t: "\n".join(
            line for line in t.splitlines() if "放假" not in line and "上班" not in line
        ),
        "第 1 行：2027 年的通知中没有“一、元旦：1月1日放假，共1天。”这样的放假安排条目",
    ),
    "verb missing": (
        lambda t: t.replace("5月8日（周六）上班", "5月8日（周六）"),
        "第 9 行：“4月25日（周日）、5月8日（周六）”中的日期看不出是放假还是上班",
    ),
    "day without month": (
        lambda t: t.replace("五、端午节：6月9日（周三）", "五、端午节：9日（周三）"),
        "第 10 行：日期“9日”缺少月份",
    ),
    "far from its year": (
        lambda t: t.replace("七、国庆节：10月1日（周五）", "七、国庆节：2017年10月1日（周五）"),
        "第 12 行：日期 2017-10-01 不在 2027 年节假日安排的范围内",
    ),
    "outside an item": (
        lambda t: t.replace("节假日期间，", "另外，2月4日放假。节假日期间，"),
        "第 13 行：这一行写有放假或上班日期，但不在“一、元旦：……”这样的编号条目中",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_notice_it_cannot_read_is_refused_in_one_line_and_nothing_changes(duban, workdir, case):
    change, expected = BAD[case]
    assert calendar_import(duban, NOTICES / REAL[2026]).code == 0
    assert calendar_import(duban, N2027).code == 0
    before = dump(workdir / "var" / "duban.db")
    path = workdir / "bad.txt"
    path.write_text(change(N2027.read_text("utf-8")), "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 2
    assert r.out == ""
    [line] = r.err.splitlines()
    assert line.startswith(f"duban: {path} "), line
    assert expected in line, line
    assert dump(workdir / "var" / "duban.db") == before


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.txt", None, "文件 {path} 不存在"),
        ("notice.xlsx", b"x", "{path}：不支持 .xlsx 格式，节假日安排通知应为 .txt、.docx 或 .html"),
        ("empty.txt", b"  \n", "{path}：文件是空的"),
        (
            "other.txt",
            "关于做好年终工作的通知\n请各单位认真落实。\n".encode(),
            "{path}：不是节假日安排通知",
        ),
    ],
)
def test_a_file_that_is_no_notice_is_refused(duban, workdir, name, content, expected):
    path = workdir / name
    if content is not None:
        path.write_bytes(content)
    r = calendar_import(duban, path)
    assert r.code == 2
    [line] = r.err.splitlines()
    assert expected.format(path=path) in line


def test_a_bad_year_to_show_is_one_line(duban):
    r = duban("calendar", "show", "二〇二七")
    assert r.code == 2
    assert r.err.splitlines() == [
        "duban: 年份“二〇二七”无效，应为 1970 至 2199 之间的四位数字，例如 2027"
    ]


# --- doctor ---------------------------------------------------------------------------------------


def trial_plan(due: date) -> Plan:
    return Plan(
        id="calendar-trial",
        title="春节后报送材料",
        coordinator="市司法局",
        sections=[Section("一", "报送")],
        tasks=[
            Task(
                1,
                "一",
                "报送年度总结",
                "",
                "市发改局",
                [],
                "市发改局",
                Deadline(f"{due.year}年{due.month}月{due.day}日前", DeadlineKind.DATE, due),
            )
        ],
    )


def load(duban, workdir: Path, due: date, *args: str) -> None:
    path = write_plan(trial_plan(due), workdir / "trial.yaml") or workdir / "trial.yaml"
    r = duban("--now", NOW, *args, "load", str(path))
    assert r.code == 0, r.err


def doctor(duban, workdir: Path):
    """`doctor` with a config naming an empty plan folder: the plan is the one in the database."""
    (workdir / "plans").mkdir(exist_ok=True)
    config = workdir / "duban.toml"
    config.write_text(
        '[service]\nplans_dir = "plans"\n[channels.file]\ndir = "outbox"\n'
        '[units."市发改局"]\nfile = true\n[units."市司法局"]\nfile = true\n',
        "utf-8",
    )
    return duban("--now", NOW, "--config", str(config), "doctor")


def test_doctor_names_a_year_with_a_due_date_no_source_covers_and_how_to_fix_it(duban, workdir):
    load(duban, workdir, date(2027, 2, 22))
    r = doctor(duban, workdir)
    assert r.code == 1
    [line] = [ln for ln in r.out.splitlines() if "2027" in ln]
    assert line.startswith(
        "问题：节假日日历缺少 2027 年的官方安排（计划 calendar-trial 有该年的截止日期）"
    )
    assert "duban calendar import 国务院办公厅关于2027年部分节假日安排的通知.txt" in line
    assert calendar_import(duban, N2027).code == 0
    r = doctor(duban, workdir)
    assert not [ln for ln in r.out.splitlines() if "节假日" in ln]
    assert r.code == 0, r.out


# --- the service on the imported calendar --------------------------------------------------------

# A task due Monday 2027-02-22, after 春节 2027 (2月5日至13日 off, 2月14日 and 2月20日 worked).
# Its 14-day reminder (2月8日, a day off) moves to 2月4日; the 1-day one (2月21日, a Sunday) to
# Saturday 2月20日, a make-up working day.


def reminders(duban, db: str) -> list[tuple[str, str]]:
    r = duban("--db", db, "outbox", "--json")
    assert r.code == 0, r.err
    return [(n["send_at"], n["recipient"]) for n in json.loads(r.out) if n["kind"] == "reminder"]


def run_once(duban, db: str, now: str) -> None:
    r = duban("--db", db, "--now", now, "run", "--once")
    assert r.code == 0, r.err


def test_the_service_rests_on_the_notices_holidays_and_works_its_make_up_days(duban, workdir):
    with_notice, without = "sqlite:///var/notice.db", "sqlite:///var/weekends.db"
    for db in (with_notice, without):
        load(duban, workdir, date(2027, 2, 22), "--db", db)
    assert calendar_import(duban, N2027, "--db", with_notice).code == 0

    run_once(duban, with_notice, "2027-02-08T09:30:00+08:00")  # 春节: nothing goes out
    run_once(duban, without, "2027-02-08T09:30:00+08:00")  # an ordinary Monday to weekends only
    assert reminders(duban, with_notice) == []
    assert reminders(duban, without) == [("2027-02-08T09:00:00+08:00", "市发改局")]

    run_once(duban, with_notice, "2027-02-20T09:30:00+08:00")  # the make-up Saturday
    run_once(duban, without, "2027-02-20T09:30:00+08:00")  # a Saturday off
    assert reminders(duban, with_notice) == [("2027-02-20T09:00:00+08:00", "市发改局")]
    assert reminders(duban, without) == [("2027-02-08T09:00:00+08:00", "市发改局")]


def test_a_config_workday_on_a_notice_holiday_sends(duban, workdir):
    config = workdir / "duban.toml"
    config.write_text("[calendar]\nextra_workdays = [2027-02-08]\n", "utf-8")
    db = "sqlite:///var/duban.db"
    load(duban, workdir, date(2027, 2, 22))
    assert calendar_import(duban, N2027).code == 0
    r = duban("--config", str(config), "--now", "2027-02-08T09:30:00+08:00", "run", "--once")
    assert r.code == 0, r.err
    assert reminders(duban, db) == [("2027-02-08T09:00:00+08:00", "市发改局")]


def test_simulate_follows_the_imported_notice(duban, workdir):
    load(duban, workdir, date(2027, 2, 22))
    assert calendar_import(duban, N2027).code == 0
    r = duban("--now", NOW, "simulate", "--from", "2027-02-01", "--to", "2027-02-21", "--json")
    assert r.code == 0, r.err
    sent = [n["at"][:10] for n in json.loads(r.out) if n["kind"] == "reminder"]
    # the first day catches up the 30-day reminder; then 14, 7, 3 and 1 days before, each on the
    # working day on or before it: 2月8日 is 春节, 2月21日 a Sunday before the make-up Saturday
    assert sent == ["2027-02-01", "2027-02-04", "2027-02-15", "2027-02-19", "2027-02-20"]


@pytest.mark.postgres
def test_on_postgresql_import_replace_refuse_show_and_simulate(duban, workdir):
    from tests.support.postgres import scratch_database

    with scratch_database("duban_calendar") as url:
        load(duban, workdir, date(2027, 2, 22), "--db", url)
        assert calendar_import(duban, N2027, "--db", url).code == 0
        assert calendar_import(duban, N2027, "--db", url).out.startswith(
            "已导入 2027 年节假日安排（替换此前导入的该年安排）"
        )
        bad = workdir / "bad.txt"
        bad.write_text(N2027.read_text("utf-8").replace("5月1日", "4月31日"), "utf-8")
        assert calendar_import(duban, bad, "--db", url).code == 2
        assert len(show(duban, 2027, "--db", url)["holidays"]) == 29
        # simulate copies the server's rows into SQLite, the calendar's among them
        r = duban("--db", url, "--now", NOW, "simulate", "--from", "2027-02-19", "--to",
                  "2027-02-21", "--json")  # fmt: skip
        assert r.code == 0, r.err
        sent = [n["at"][:10] for n in json.loads(r.out) if n["kind"] == "reminder"]
        assert sent == ["2027-02-19", "2027-02-20"]


def test_import_json_lists_each_year_and_holiday(duban):
    r = duban("--now", NOW, "calendar", "import", str(N2027), "--json")
    assert r.code == 0, r.err
    document = json.loads(r.out)
    assert set(document) == {"years", "warnings"} and len(document["warnings"]) == 1
    [year] = document["years"]
    assert {k: year[k] for k in ("year", "holidays", "workdays", "replaced")} == {
        "year": 2027, "holidays": 29, "workdays": 6, "replaced": False
    }  # fmt: skip
    assert year["periods"][1] == {
        "name": "春节",
        "holidays": days("2027-02-05", "2027-02-13"),
        "workdays": ["2027-02-14", "2027-02-20"],
    }


def test_two_years_in_one_file_are_both_imported(duban, workdir):
    path = workdir / "both.txt"
    text = (NOTICES / REAL[2026]).read_text("utf-8") + "\n" + N2027.read_text("utf-8")
    path.write_text(text, "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    assert [ln[:15] for ln in r.out.splitlines() if ln.startswith("已导入")] == [
        "已导入 2026 年节假日安排",
        "已导入 2027 年节假日安排",
    ]
    assert show(duban, 2026)["basis"] == show(duban, 2027)["basis"] == "notice"


def test_a_day_another_stored_notice_gives_the_other_kind_is_refused(duban, workdir):
    n2028 = workdir / "2028.txt"
    n2028.write_text(
        "国务院办公厅关于2028年部分节假日安排的通知\n"
        "一、元旦：2027年12月31日（周五）至2028年1月2日（周日）放假，共3天。\n",
        "utf-8",
    )
    assert calendar_import(duban, n2028).code == 0
    before = dump(workdir / "var" / "duban.db")
    path = workdir / "2027.txt"
    text = N2027.read_text("utf-8").replace(
        "10月9日（周六）上班。", "10月9日（周六）、12月31日（周五）上班。"
    )
    path.write_text(text, "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 2
    assert r.err.splitlines() == [
        "duban: 2027.txt：2027-12-31 在此通知中为上班，但已导入的 2028 年通知中为放假；"
        "请核对两份通知，先重新导入其中有误的一份"
    ]
    assert dump(workdir / "var" / "duban.db") == before


def gov_page(notice: Path) -> str:
    """The notice as the government website lays it out: navigation, a table of the document's
    particulars (标题 again in it), the heading, the body, a share bar with pictures, a footer."""
    title, *body = [line.strip() for line in notice.read_text("utf-8").splitlines() if line.strip()]
    paragraphs = "".join(f"<p style='text-indent:2em'>{html.escape(line)}</p>" for line in body)
    return f"""<!DOCTYPE html><html><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{title}_国务院文件_中国政府网</title><script>var x = 1;</script></head><body>
<div class="header"><a href="/">首页</a> | <a href="/zc">政策</a> | <a href="/hd">互动</a></div>
<div class="BreadcrumbNav">首页 &gt; 政策 &gt; 国务院政策文件库 &gt; 国务院文件</div>
<table class="bd1"><tr><td><b>索 引 号：</b></td><td>000014349/2025-00123</td>
<td><b>主题分类：</b></td><td>综合政务\\其他</td></tr>
<tr><td><b>发文机关：</b></td><td>国务院办公厅</td><td><b>成文日期：</b></td><td>2025年11月04日</td></tr>
<tr><td><b>标　　题：</b></td><td colspan="3">{title}</td></tr>
<tr><td><b>发文字号：</b></td><td>国办发明电〔2025〕7号</td>
<td><b>发布日期：</b></td><td>2025年11月04日</td></tr></table>
<div class="pages-title">{title}</div>
<div id="UCAP-CONTENT">{paragraphs}</div>
<div class="share">分享到：<img src="wx.png" alt="微信"><img src="wb.png" alt="微博">
【我要打印】【关闭窗口】</div>
<div class="footer">版权所有：中国政府网 | 京ICP备05070218号</div></body></html>"""


def test_a_page_saved_from_the_government_website(duban, workdir):
    path = workdir / "国务院办公厅关于2026年部分节假日安排的通知_国务院文件_中国政府网.html"
    path.write_text(gov_page(NOTICES / REAL[2026]), "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    assert r.out.startswith("已导入 2026 年节假日安排：放假 33 天，调休上班 6 天")
    holidays, workdays = package_days(2026)
    shown = show(duban, 2026)
    assert set(shown["holidays"]) == holidays and set(shown["workdays"]) == workdays


def test_items_without_their_full_stop_still_end_before_the_signing_date(duban, workdir):
    lines = N2027.read_text("utf-8").splitlines()
    items = [line.removesuffix("。") if line[:2] in ITEM_HEADS else line for line in lines]
    path = workdir / "notice.txt"
    path.write_text("\n".join(line for line in items if not line.startswith("节假日期间")), "utf-8")
    r = calendar_import(duban, path)
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].startswith("已导入 2027 年节假日安排：放假 29 天，调休上班 6 天")


ITEM_HEADS = {"一、", "二、", "三、", "四、", "五、", "六、", "七、"}

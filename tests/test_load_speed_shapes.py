"""The fast ways a large plan loads by give what the slow ways gave.

A plan file as the writer emits it is read by engine.plainyaml instead of PyYAML's composer: the
same document, value for value and type for type, or None (then the full loader reads it, with
its checks and its located messages). The load writes new tasks and their units in bulk (COPY on
PostgreSQL, one executemany on SQLite): the stored values, and the task revisions the planner
reads, are those the ORM would have written.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select
from support.plans import small_plan, with_task
from support.postgres import scratch_database

from engine import plainyaml
from engine.actions.loading import load_plan
from engine.config import Settings
from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.errors import UserError
from engine.model.plan import ImportWarning, Plan, Section, Source, Status, Task
from engine.planfile import _PLAIN_LOADER, LOADERS, StrictLoader, dump_plan, parse_plan
from engine.store import open_database
from engine.store.models import Task as TaskRow
from engine.store.models import TaskUnit
from engine.store.revision import current_revision

NOW = datetime(2021, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LATER = datetime(2021, 6, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SETTINGS = Settings()


def full(text: str) -> Any:
    """What the strict loader reads (libyaml's parser, PyYAML's composer and constructor)."""
    return yaml.load(text, Loader=LOADERS[0])


def fast(text: str) -> Any:
    return plainyaml.read(text, _PLAIN_LOADER)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not True, a date not a datetime),
    with the keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (list(map(type, a)) == list(map(type, b)) and list(a) == list(b)
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# Values YAML would read as something else unless written with care, and texts long enough
# (with spaces) for the writer to break them over lines.
AWKWARD = [
    "no", "yes", "on", "off", "true", "False", "null", "~", "", " ", "1", "-1", "0o17", "0x1F",
    "1_000", "1:30", "1e3", "1.5", ".inf", "2021-06-30", "2021-06-30 10:00:00", "<<", "=",
    "a: b", "a #b", "#a", "- a", "-a", "[a]", "{a: b}", "a, b", "'quoted'", '"double"', "it's",
    "a\\b", "*star", "&amp", "!bang", "%pct", "@at", "`tick", "|pipe", ">gt", "?q", "a:", ":a",
    " leading", "trailing ", "two  spaces", "line\nbreak", "ends with break\n", "\nstarts",
    "tab\there", "市发改局：牵头", "（一）完善体系", "第1项；第2项", "10:00前", "50%",
    "Long English text that goes on well past the writer's width of one hundred characters so "
    "that it is broken over several lines at its spaces, as a person might write.",
    "一段很长的中文内容，" * 12,
    "mixed 中文 and English, with: colons # and hashes, " * 3,
]

ORDINARY = ["统筹谋划体系建设", "市发改局、市财政局、市司法局", "2021年6月30日前", "长期推进",
            "在支持澳门经济适度多元发展的谋篇布局中强化法治理念。"]


def awkward_plan(rng: random.Random, tasks: int = 3) -> Plan:
    def text() -> str:
        if rng.random() < 0.85:
            return rng.choice(ORDINARY)
        return "".join(rng.choice(AWKWARD + ORDINARY) for _ in range(rng.randint(1, 3)))

    def unit() -> str:
        return rng.choice(["市发改局", "市司法局", "on", "2021", "a: b", "x'y", text()]
                          ).replace("\n", " ").replace("\t", " ").strip() or "市财政局"

    def deadline() -> Deadline:
        due = date(2021, rng.randint(1, 12), rng.randint(1, 28))
        kind = rng.choice(list(DeadlineKind))
        if kind is DeadlineKind.MILESTONES:
            return Deadline(text(), kind, due, (Milestone(text(), due), Milestone(text(), due)))
        if kind is DeadlineKind.RECURRING:
            return Deadline(text(), kind, None, rrule="FREQ=MONTHLY;BYMONTHDAY=25",
                            start=rng.choice([None, due]))
        return Deadline(text(), kind, due if kind is DeadlineKind.DATE else None)

    return Plan(
        id="awkward-plan",
        title=text(),
        coordinator=unit(),
        issued=rng.choice([None, date(2021, 3, 1)]),
        source=rng.choice([None, Source(text(), "ab" * 32)]),
        columns=[text() for _ in range(rng.randint(0, 3))],
        sections=[Section(rng.choice(["一", "二", "no", "1"]) + str(i), text()) for i in range(2)],
        tasks=[
            Task(
                no=n,
                label=rng.choice([None, "（一）", "1.", "no"]),
                section=rng.choice([None, "一0", "no1"]),
                title=text(),
                content=text(),
                lead=rng.choice([None, unit()]),
                co_units=[unit() for _ in range(rng.randint(0, 12))],
                units_text=text(),
                deadline=deadline(),
                status=rng.choice(list(Status)),
                progress=text(),
            )
            for n in range(1, tasks + 1)
        ],
        aliases={unit(): unit() for _ in range(rng.randint(0, 3))},
        warnings=[ImportWarning(rng.choice([None, 1]), text().replace("\n", " "))
                  for _ in range(rng.randint(0, 2))],
    )


def test_a_plan_as_the_writer_emits_it_is_read_fast_to_the_same_document():
    text = dump_plan(small_plan())
    document = fast(text)
    assert document is not None
    assert same(document, full(text))


def test_long_texts_broken_over_lines_and_long_unit_lists_are_read_fast_the_same():
    long_title = "Long English text that goes on well past the writer's width " * 4
    units = [f"市第{i}局" for i in range(40)]
    plan = with_task(small_plan(), 1, title=long_title, co_units=units,
                     content="第一段\n第二段\n\n第四段", progress="已完成  \n")
    text = dump_plan(plan)
    assert "\n    " in text  # the writer did break the title and the list
    document = fast(text)
    assert document is not None
    assert same(document, full(text))


def test_awkward_values_read_fast_are_what_the_full_loader_reads():
    rng = random.Random(12)
    taken = 0
    for _ in range(300):
        text = dump_plan(awkward_plan(rng))
        document = fast(text)
        if document is not None:
            taken += 1
            assert same(document, full(text)), text
            # and so the same plan, or the same refusal of a value the reader checks
            assert outcome(parse_plan, text) == outcome(parse_plan_slowly, text)
    assert taken >= 100  # many, awkward values and all, still take the fast way


def parse_plan_slowly(text: str, path: Path) -> Plan:
    from engine.planfile import _Reader

    return _Reader(path).plan(full(text))


def outcome(parse: Any, text: str) -> Plan | str:
    try:
        return parse(text, Path("p.yaml"))  # type: ignore[no-any-return]
    except UserError as exc:
        return str(exc)


@pytest.mark.parametrize(
    "text",
    [
        "plan: {id: a}  # a comment\n",
        "# a comment\nplan: {id: a}\n",
        "plan:\n  id: a\n\ntasks: []\n",
        "plan: &p {id: a}\ncopy: *p\n",
        "plan: {id: !!str a}\n",
        "plan:\n  id: !!int 1\n",
        "plan:\n  id:\ta\n",
        "plan: {id: a}\ntasks: >\n  folded\n",
        "? plan\n: {id: a}\n",
        "---\nplan: {id: a}\n",
        "\ufeffplan: {id: a}\n",
        "plan: {id: a}\n<<: {b: c}\n",
        "plan: {id: a}\ntasks: |2\n   indented\n",
        'plan: {id: "a\n  b"}\n',
        "plan:\n  id: a\n   title: b\n",
        "plan: {id: a}",
        "plan: {id: 2021-13-30}\n",
        "plan:\n  id: a\n  id2: [a, [b, [c, [d, [e, [f, [g, [h, [i, [j]]]]]]]]]]\n",
    ],
    ids=["comment after", "comment line", "blank line", "anchor and alias", "tag in flow",
         "tag in block", "tab", "folded block", "complex key", "document marker",
         "byte order mark", "merge key", "indentation indicator", "double-quoted over lines",
         "bad indentation", "no final line break", "impossible date", "deep flow"],
)
def test_what_the_writer_never_emits_is_left_to_the_full_loader(text):
    assert fast(text) is None


def test_an_impossible_date_is_still_refused_at_its_line_and_column():
    text = dump_plan(small_plan()).replace("due: 2021-06-30}", "due: 2021-02-30}")
    with pytest.raises(UserError) as refused:
        parse_plan(text, Path("p.yaml"))
    assert str(refused.value) == (
        "计划文件 p.yaml：第 17 行第 50 列日期“2021-02-30”不存在，应为有效的 YYYY-MM-DD"
    )


def test_the_fast_reader_uses_the_strict_loaders_resolvers():
    # `no`, `on`, `yes` stay texts; `true` is a boolean, a date a date, as the strict loader
    text = "a: no\nb: on\nc: yes\nd: true\ne: 2021-06-30\nf: 0x1F\ng: ~\nh: [no, 1, 2021-06-30]\n"
    assert same(fast(text), yaml.load(text, Loader=StrictLoader))
    assert fast(text) == {"a": "no", "b": "on", "c": "yes", "d": True, "e": date(2021, 6, 30),
                          "f": 31, "g": None, "h": ["no", 1, date(2021, 6, 30)]}


# --- the bulk writes -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, workdir: Path):
    if request.param == "sqlite":
        database = open_database("sqlite:///var/duban.db")
        yield database
        database.close()
        return
    with scratch_database("duban_speed") as url:
        database = open_database(url)
        yield database
        database.close()


def test_new_tasks_are_stored_as_the_orm_reads_them_back(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    with db.read() as session:
        rows = {t.no: t for t in session.scalars(select(TaskRow))}
        units = {
            (row.task_id, row.position): (row.role, row.unit.name)
            for row in session.scalars(select(TaskUnit))
        }
    first, second = rows[1], rows[2]
    assert (first.created_at, first.updated_at, first.progress_at) == (NOW, NOW, None)
    assert first.created_at.utcoffset() is not None
    assert (first.due, first.deadline_kind, first.in_plan, first.status) == (
        date(2021, 6, 30), "date", True, "not_started"
    )
    assert second.milestones == [{"text": "2021年10月前启动", "due": "2021-09-30"},
                                 {"text": "2022年底前完成", "due": "2022-12-31"}]
    assert second.file_deadline["milestones"] == second.milestones
    assert rows[4].rrule == "FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1"
    assert [units[(first.id, p)] for p in range(3)] == [
        ("lead", "市发改局"), ("co", "市财政局"), ("co", "市司法局")
    ]


def test_every_task_written_carries_the_loads_revision_and_no_other_does(db):
    load_plan(db, small_plan(), SETTINGS, NOW)
    with db.read() as session:
        first = current_revision(session)
        assert {t.revision for t in session.scalars(select(TaskRow))} == {first}
    # Task 1 gets new units, task 2 a new deadline, task 6 is new; 3, 4 and 5 stay as they were.
    plan = with_task(small_plan(), 1, co_units=["市商务局"])
    later = Deadline("2023年底前", DeadlineKind.DATE, date(2023, 12, 31))
    plan = with_task(plan, 2, deadline=later)
    plan = replace(plan, tasks=[*plan.tasks, replace(plan.tasks[0], no=6, title="新增")])
    report = load_plan(db, plan, SETTINGS, LATER)
    assert (report.created, report.updated) == ([6], [1, 2])
    with db.read() as session:
        second = current_revision(session)
        revisions = {t.no: t.revision for t in session.scalars(select(TaskRow))}
    assert second == first + 1
    assert revisions == {1: second, 2: second, 3: first, 4: first, 5: first, 6: second}


def test_keys_that_begin_alike_are_each_read_whole():
    aliases = {"甲: 乙": "市司法局", "甲: 丙": "市发改局", "甲": "市商务局"}
    text = dump_plan(replace(small_plan(), aliases=aliases))
    document = fast(text)
    assert document is not None
    assert same(document, full(text))
    assert document["aliases"] == aliases

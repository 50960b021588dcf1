"""A plan file of the wrong shape is the user's mistake: one line, exit 2, nothing stored changed.

Issue 15: `tasks: 5`, `sections: true` and YAML nested 20,000 deep were internal errors (exit 1
with a TypeError or a RecursionError). Every value a plan file holds is now checked for its shape
where the file is read, and the YAML itself is bounded: nesting, explicit tags, and aliases (an
alias of one value is what the writer emits for a shared date; an alias of a mapping or a list,
the "billion laughs", is refused).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.errors import UserError
from engine.model.plan import Plan, Task
from engine.planfile import MAX_PLAN_ID, MAX_SECTION_NO, MAX_UNIT, dump_plan, parse_plan, read_plan
from tests.conftest import SEED_PLAN
from tests.support.plans import dump

NOW = ("--now", "2021-07-01T10:00:00+08:00")
DUBAN = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "duban"
SEED_TEXT = SEED_PLAN.read_text("utf-8")
TITLE = "宽视野高标准统筹谋划公共法律服务体系建设"  # the seed's first task


def one_line(result, code: int = 2) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err and "内部错误" not in result.err, result.err
    assert result.err.count("\n") == 1 and result.err.startswith("duban: "), result.err
    return result.err


@pytest.fixture
def seeded(duban, workdir: Path):
    """The seed plan in ./var/duban.db, and a check that a failed load leaves it unchanged."""
    assert duban(*NOW, "load", str(SEED_PLAN)).code == 0
    database = workdir / "var" / "duban.db"
    before = dump(database)

    def refuse(text: str, *names: str) -> str:
        (workdir / "bad.yaml").write_text(text, "utf-8")
        result = duban(*NOW, "load", "bad.yaml")
        err = one_line(result)
        assert result.out == "" and "bad.yaml" in err
        for name in names:
            assert name in err, err
        assert dump(database) == before
        return err

    return refuse


def seed_with(old: str, new: str) -> str:
    assert old in SEED_TEXT, old
    return SEED_TEXT.replace(old, new, 1)


# --- the shapes of issue 15, and what the fuzzer below found -----------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("plan: {id: x}\ntasks: 5\n", ("tasks", "列表", "“5”")),
        ("plan: {id: x}\nsections: true\n", ("sections", "列表", "“true”")),
        ("plan: {id: x}\nwarnings: 3\n", ("warnings", "列表")),
        ("plan: {id: x}\ntasks: {no: 1}\n", ("tasks", "列表", "映射")),
        ("plan: {id: x}\ntasks: [{no: 1, deadline: {kind: milestones, due: 2021-06-30,"
         " milestones: 7}}]\n", ("tasks[0]（任务 1）.deadline.milestones", "列表")),
        ("plan: {id: x}\nwarnings: [{task: [1], message: m}]\n", ("warnings[0].task", "整数")),
        ("plan: {id: x, source: 5}\n", ("plan.source", "映射")),
        ("plan: {id: x}\nsections: [{no: 一}, {no: 一}]\n", ("sections[1].no", "重复")),
        # doctor quotes these, one problem a line: a line break split one problem in two
        ('plan: {id: x}\nwarnings: [{task: null, message: "a\\rb"}]\n',
         ("warnings[0].message", "一行")),
        ('plan: {id: x, coordinator: "市司法局\\n市财政局"}\n', ("plan.coordinator", "一行")),
    ],
)
def test_a_value_of_the_wrong_shape_is_named_with_its_key(seeded, text, names):
    seeded(text, *names)


def test_yaml_nested_twenty_thousand_deep_is_refused_with_its_line(seeded):
    seeded("plan: {id: x}\ntasks: " + "[" * 20000 + "]" * 20000 + "\n", "第 2 行", "嵌套")
    seeded("plan: {id: x}\nwarnings:\n" + "".join(f"{' ' * i}- \n" for i in range(1, 200)),
           "嵌套")
    seeded("a: " + "{b: " * 20000 + "1" + "}" * 20000 + "\n", "第 1 行", "嵌套")


def test_an_alias_of_a_mapping_or_list_is_refused_before_it_expands(seeded):
    laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]"
               for i in range(8)]
    text = "plan: {id: x}\n" + "\n".join(laughs) + "\ntasks: *i\n"
    seeded(text, "第 3 行", "别名“*a”", "锚点")
    seeded("plan: &p {id: x}\ncopy: *p\n", "第 2 行", "别名“*p”")


def test_a_key_written_twice_is_refused_naming_both_lines(seeded):
    # PyYAML keeps the last of two equal keys: the first value was lost without a word
    seeded(seed_with("  lead: 市发改局\n", "  lead: 市发改局\n  lead: 市财政局\n"),
           "lead", "重复", "行已有")
    seeded(seed_with("due: 2021-06-30}", "due: 2021-06-30, due: 2021-07-30}"), "due", "重复")


def test_an_explicit_tag_is_refused_with_its_line(seeded):
    # !!bool and !!timestamp of a wrong value were a KeyError and an AttributeError
    seeded(seed_with("status: not_started", "status: !!bool maybe"), "!!bool", "行")
    seeded(seed_with("due: 2021-06-30}", "due: !!timestamp soon}"), "!!timestamp", "行")


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        # an unknown zone loaded, then every board failed (ZoneInfoNotFoundError, IsADirectoryError)
        ("timezone: Asia/Shanghai", "timezone: Asia/Nowhere", ("plan.timezone", "时区")),
        ("timezone: Asia/Shanghai", "timezone: Asia", ("plan.timezone", "时区")),
        # a rule dateutil iterates forever (the planner hung) or cannot read
        ("kind: date, due: 2021-06-30}",
         "kind: recurring, rrule: 'FREQ=MONTHLY;INTERVAL=0', due: null}", ("rrule", "INTERVAL")),
        ("kind: date, due: 2021-06-30}",
         "kind: recurring, rrule: 'FREQ=MONTHLY;BYDAY=XX', due: null}", ("rrule", "FREQ=")),
        ("kind: date, due: 2021-06-30}", "kind: recurring, rrule: 5, due: null}", ("rrule",)),
        # a NUL (PostgreSQL refuses it) or a lone surrogate (SQLite cannot encode it)
        (f"title: {TITLE}", 'title: "宽视野\\0"', ("title", "空字符")),
        (f"title: {TITLE}", 'title: "\\ud800"', ("title",)),
        # a date and time, or a year the calendar arithmetic runs off
        ("due: 2021-06-30}", "due: 2021-06-30 10:00:00}", ("deadline.due", "YYYY-MM-DD")),
        ("due: 2021-06-30}", "due: 9999-12-31}", ("deadline.due", "2199")),
        ("due: 2021-06-30}", "due: 2021-06-30 10:00:00+99:00}", ("第 ", "不存在")),
        ("- 'no': 2\n", "- 'no': " + "9" * 5000 + "\n", ("位数过多",)),
        # longer than the store's columns (PostgreSQL refuses them)
        ("lead: 市发改局", "lead: " + "局" * (MAX_UNIT + 1), ("lead", "过长")),
        ("section: 一", "section: " + "一" * (MAX_SECTION_NO + 1), ("section", "过长")),
        ("id: zhuhai-gba-legal-services", "id: " + "x" * (MAX_PLAN_ID + 1), ("plan.id", "过长")),
    ],
)
def test_a_value_the_store_or_planner_cannot_take_is_refused_at_load(seeded, old, new, names):
    seeded(seed_with(old, new), *names)


def test_the_limits_are_the_store_columns():
    from engine.store.models import Plan as PlanRow
    from engine.store.models import Task as TaskRow
    from engine.store.models import Unit

    assert Unit.__table__.c.name.type.length == MAX_UNIT
    assert PlanRow.__table__.c.id.type.length == MAX_PLAN_ID
    assert TaskRow.__table__.c.section_no.type.length == MAX_SECTION_NO


# --- aliases: older writers emitted them for one shared date, so those are still read --------


def milestone_plan() -> Plan:
    final = date(2022, 12, 31)  # the importer's `due = max(milestones)`: the same object
    deadline = Deadline("2021年6月30日前完成方案，2022年底前全面完成", DeadlineKind.MILESTONES,
                        final, (Milestone("2021年6月30日前完成方案", date(2021, 6, 30)),
                                Milestone("2022年底前全面完成", final)))
    task = Task(1, None, "任务", "", "市司法局", [], "市司法局", deadline)
    return Plan(id="milestones", title="t", coordinator="市司法局", tasks=[task])


def test_what_the_writer_emits_is_read_back_aliases_of_dates_included(tmp_path):
    text = dump_plan(milestone_plan())
    assert "&id001" not in text and "*id001" not in text  # issue 11: no more anchors
    assert parse_plan(text, tmp_path / "p.yaml") == milestone_plan()
    # A file written before issue 11 shares the date by an alias; it still reads.
    old = text.replace("due: 2022-12-31}", "due: &id001 2022-12-31}", 1)
    old = old.replace("due: 2022-12-31\n", "due: *id001\n", 1)
    assert "&id001" in old and "*id001" in old
    assert parse_plan(old, tmp_path / "p.yaml") == milestone_plan()


def test_the_seed_plan_has_no_anchors_or_aliases():
    events = list(yaml.parse(SEED_TEXT))
    assert not any(isinstance(e, yaml.AliasEvent) for e in events)
    assert not any(getattr(e, "anchor", None) for e in events)
    assert read_plan(SEED_PLAN).tasks


# --- the installed command, once per point of the issue ----------------------------------------


def script(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return subprocess.run([str(DUBAN), *NOW, *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(not DUBAN.exists(), reason="needs the installed console script")
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("plan: {id: x}\ntasks: 5\n", ("tasks", "列表")),
        ("plan: {id: x}\nsections: true\n", ("sections", "列表")),
        ("plan: {id: x}\ntasks: " + "[" * 20000 + "]" * 20000 + "\n", ("第 2 行", "嵌套")),
    ],
)
def test_the_installed_duban_refuses_a_bad_plan_file_in_one_line(workdir: Path, text, names):
    shutil.copy(SEED_PLAN, workdir / "seed.yaml")
    assert script(workdir, "load", "seed.yaml").returncode == 0
    before = dump(workdir / "var" / "duban.db")
    (workdir / "bad.yaml").write_text(text, "utf-8")
    done = script(workdir, "load", "bad.yaml")
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("duban: 计划文件 bad.yaml：")
    assert all(name in done.stderr for name in names), done.stderr
    assert "Traceback" not in done.stderr and "内部错误" not in done.stderr
    assert dump(workdir / "var" / "duban.db") == before


# --- any document: a plan, or one line and exit 2 ----------------------------------------------

TASK_KEYS = ["no", "section", "title", "content", "lead", "co_units", "units_text", "deadline",
             "status", "progress"]
PLAN_KEYS = ["plan", "sections", "tasks", "aliases", "warnings", "id", "title", "coordinator",
             "timezone", "source", "columns", "text", "kind", "due", "milestones", "rrule",
             "start", "file", "sha256", "message", "task", *TASK_KEYS]
WORDS = ["not_started", "in_progress", "completed", "long_term", "date", "milestones", "recurring",
         "unknown", "2021-06-30", "2021-13-30", "Asia/Shanghai", "Asia", "UTC", "市司法局",
         "市发改局", "一", "", " ", "x", "FREQ=MONTHLY;BYMONTHDAY=25", "\0", "yes", "no", "null",
         "~", "1e999"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(), st.text(max_size=12), st.sampled_from(WORDS),
    st.dates(), st.datetimes(), st.integers(min_value=0, max_value=30),
)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(PLAN_KEYS) | st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


names = st.sampled_from(["市司法局", "市发改局", "市财政局", "", "各区政府"]) | st.text(max_size=8)
days = st.dates(min_value=date(1960, 1, 1), max_value=date(2230, 12, 31))
RULES = ["FREQ=MONTHLY;BYMONTHDAY=25", "FREQ=WEEKLY;BYDAY=MO", "FREQ=MONTHLY;INTERVAL=0",
         "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
         "FREQ=DAILY;COUNT=3", "FREQ=MONTHLY;UNTIL=20211231", "FREQ=SECONDLY"]


def plan_documents(garbage: bool) -> st.SearchStrategy:
    """Plan-file shaped documents; with `garbage`, any value may be of any type at all."""

    def maybe(good: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(good, good, good, good, anything) if garbage else good

    deadlines = st.fixed_dictionaries(
        {"kind": maybe(st.sampled_from([k.value for k in DeadlineKind])), "due": maybe(days)},
        optional={
            "text": maybe(st.text(max_size=10)),
            "milestones": maybe(st.lists(st.fixed_dictionaries(
                {"text": maybe(st.text(max_size=6)), "due": maybe(days)}), max_size=3)),
            "rrule": maybe(st.sampled_from(RULES) | st.text(max_size=20)),
            "start": maybe(days | st.none()),
        },
    )
    tasks = st.fixed_dictionaries(
        {"no": maybe(st.integers(min_value=0, max_value=20)), "deadline": maybe(deadlines)},
        optional={
            "section": maybe(st.sampled_from(["一", "二"]) | st.none()),
            "title": maybe(st.text(max_size=10)),
            "content": maybe(st.text(max_size=10)),
            "lead": maybe(names | st.none()),
            "co_units": maybe(st.lists(names, max_size=3)),
            "units_text": maybe(st.text(max_size=10)),
            "status": maybe(st.sampled_from(WORDS[:4])),
            "progress": maybe(st.text(max_size=10)),
        },
    )
    head = st.fixed_dictionaries(
        {"id": maybe(st.sampled_from(["fuzz", "fuzz-2"])
                     | st.from_regex(r"[a-z0-9][a-z0-9.-]{0,8}", fullmatch=True))},
        optional={
            "title": maybe(st.text(max_size=10)),
            "coordinator": maybe(names),
            "timezone": maybe(st.sampled_from(WORDS[10:13])),
            "source": maybe(st.fixed_dictionaries({"file": maybe(st.text(max_size=8)),
                                                   "sha256": maybe(st.text(max_size=8))})),
            "columns": maybe(st.lists(st.text(max_size=6), max_size=3)),
        },
    )
    return st.fixed_dictionaries(
        {"plan": maybe(head)},
        optional={
            "sections": maybe(st.lists(st.fixed_dictionaries(
                {"no": maybe(st.sampled_from(["一", "二", "三"]))},
                optional={"title": maybe(st.text(max_size=8))}), max_size=3)),
            "tasks": maybe(st.lists(tasks, max_size=4)),
            "aliases": maybe(st.dictionaries(names, names, max_size=2)),
            "warnings": maybe(st.lists(st.fixed_dictionaries(
                {"task": maybe(st.none() | st.integers(min_value=0, max_value=20)),
                 "message": maybe(st.text(max_size=8))}), max_size=2)),
        },
    )


YAML_CHARS = st.sampled_from(list("-:{}[],&*!|>'\"#%@?~ \n\t ab01一市"))
seed_lines = SEED_TEXT.splitlines(keepends=True)[:60]


@st.composite
def mutated_seed(draw: st.DrawFn) -> str:
    """The seed's first tasks with one line's value replaced by some YAML."""
    lines = list(seed_lines)
    at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    head = lines[at].split(":", 1)[0] if ":" in lines[at] else lines[at].rstrip("\n")
    value = draw(st.one_of(anything.map(lambda v: yaml.safe_dump(v, default_flow_style=True,
                                                                width=10**6).strip()),
                           st.text(YAML_CHARS, max_size=12).map(lambda s: s.replace("\n", " "))))
    lines[at] = f"{head}: {value}\n"
    return "".join(lines)


def dumped(value: object) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


documents = st.one_of(
    plan_documents(garbage=True).map(dumped),
    plan_documents(garbage=False).map(dumped),
    anything.map(dumped),
    mutated_seed(),
    st.lists(YAML_CHARS | st.sampled_from(["!!", "- ", ": ", "no: ", "*a", "&a "]),
             max_size=40).map("".join),
    st.text(max_size=40),
)


@pytest.fixture
def fuzz_config(workdir: Path) -> Path:
    """A config whose plan folder holds the one plan file the property writes."""
    (workdir / "plans").mkdir()
    config = workdir / "duban.toml"
    config.write_text('[service]\nplans_dir = "plans"\n[channels.file]\ndir = "outbox"\n', "utf-8")
    return config


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=documents)
def test_any_document_loads_or_is_one_line_with_exit_2(duban, workdir, fuzz_config, text):
    plan_file = workdir / "plans" / "fuzz.yaml"
    plan_file.write_text(text, "utf-8")
    try:
        read_plan(plan_file)
    except UserError as exc:
        assert "\n" not in str(exc) and str(plan_file) in str(exc), str(exc)
    loaded = duban(*NOW, "--config", str(fuzz_config), "load", str(plan_file))
    if loaded.code != 0:
        assert str(plan_file) in one_line(loaded)
        return
    board = duban(*NOW, "--config", str(fuzz_config), "tasks", "--json")
    assert board.code == 0, board.err
    json.loads(board.out)
    doctor = duban(*NOW, "--config", str(fuzz_config), "doctor")
    assert doctor.code in (0, 1) and "内部错误" not in doctor.err, doctor.err
    assert all(line.startswith("问题：") for line in doctor.out.splitlines()), doctor.out

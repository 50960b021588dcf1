"""Plan files (`workflows/*.yaml`): write a `Plan` for a person to review, read it back.

Written so that any YAML reader gets the same values: keys in a stable order, Chinese as is,
strings that YAML 1.1 would turn into booleans or numbers quoted. Read with a loader that turns
only `true`/`false` into booleans, and checked key by key: an error names the file and the key.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.error import Mark

from engine import plainyaml
from engine.clock import FIRST_YEAR, LAST_YEAR
from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.errors import UserError
from engine.model.plan import ImportWarning, Plan, Section, Source, Status, Task
from engine.values import control_character, is_time_zone, read_plan_bytes

# --- writing -------------------------------------------------------------------------------


class _Flow(dict):
    """A mapping written on one line: `{text: …, kind: …, due: …}`."""


class _FlowList(list):
    """A list written on one line: `[市财政局, 市司法局]`."""


class _Block(str):
    """A multi-line string written as a literal block (`|`)."""


# libyaml's emitter (C) writes the same text as PyYAML's, several times faster.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):  # type: ignore[valid-type,misc]
    """Writes every value where it stands: a date met twice (a milestone's due that is also the
    deadline's) is written twice, never as an anchor (`&id001`) and an alias (`*id001`), which a
    person reviewing the file cannot follow."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _Block, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="|")
)


def _text(value: str) -> str:
    return _Block(value.rstrip() + "\n") if "\n" in value.strip() else value


def _deadline_to_yaml(deadline: Deadline) -> dict[str, Any]:
    out: dict[str, Any] = {"text": deadline.text, "kind": str(deadline.kind)}
    if deadline.kind is DeadlineKind.MILESTONES:
        out["milestones"] = [_Flow(text=m.text, due=m.due) for m in deadline.milestones]
    if deadline.kind is DeadlineKind.RECURRING:
        out["rrule"] = deadline.rrule
        if deadline.start:
            out["start"] = deadline.start
    out["due"] = deadline.due
    return out if deadline.kind is DeadlineKind.MILESTONES else _Flow(out)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    head: dict[str, Any] = {
        "id": plan.id,
        "title": plan.title,
        "coordinator": plan.coordinator,
        "timezone": plan.timezone,
    }
    if plan.issued:
        head["issued"] = plan.issued
    if plan.source:
        head["source"] = _Flow(file=plan.source.file, sha256=plan.source.sha256)
    if plan.columns:
        head["columns"] = _FlowList(plan.columns)
    tasks = [
        {
            "no": t.no,
            **({"label": t.label} if t.label is not None else {}),
            "section": t.section,
            "title": t.title,
            "content": _text(t.content),
            "lead": t.lead,
            "co_units": _FlowList(t.co_units),
            "units_text": t.units_text,
            "deadline": _deadline_to_yaml(t.deadline),
            "status": str(t.status),
            "progress": _text(t.progress),
        }
        for t in plan.tasks
    ]
    doc: dict[str, Any] = {
        "plan": head,
        "sections": [_Flow(no=s.no, title=s.title) for s in plan.sections],
        "tasks": tasks,
    }
    if plan.aliases:
        doc["aliases"] = dict(plan.aliases)
    doc["warnings"] = [_Flow(task=w.task, message=w.message) for w in plan.warnings]
    return doc


def dump_plan(plan: Plan) -> str:
    return yaml.dump(
        plan_to_dict(plan), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
    )


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that a reader sees the old content or the new, never a part."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UserError(f"无法写入文件 {path}：{exc.strerror or exc}") from None
    try:
        # mkstemp makes the file private (0600); give it the mode the replaced file had, or
        # rw-r--r-- (plan files hold no secrets), so the service user can read a regenerated plan.
        # (Not 0o666 & ~umask: reading the umask means setting it, which races with other threads.)
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.is_file() else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a directory in the way: the old file stays as it was
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"无法写入文件 {path}：{exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(plan: Plan, path: Path) -> None:
    write_atomically(path, dump_plan(plan).encode("utf-8"))


# --- reading -------------------------------------------------------------------------------


# A plan file nests six deep (tasks, a task, its deadline, milestones, a milestone): anything
# much deeper is a mistake, and PyYAML's composer would recurse until Python's stack runs out.
MAX_DEPTH = 32


class PlanFileError(yaml.MarkedYAMLError):
    """A plan file that is YAML but not what a plan file may hold, at a line (Chinese problem)."""


if TYPE_CHECKING:
    _LoaderBase = yaml.SafeLoader
else:
    _LoaderBase = object


class _Strict(_LoaderBase):
    """A safe loader that does not turn `no`, `yes`, `on`, `off` into booleans (YAML 1.2 style).

    It refuses what a plan file never holds and what would make reading it costly: nesting
    deeper than MAX_DEPTH, an alias of a mapping or a list (so no "billion laughs" expansion) and
    explicit tags such as `!!bool`. An alias of a single value is accepted: the writer emits one
    when two dates are the same object (`due: &id001 2022-12-31` … `due: *id001`).
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and not isinstance(target, yaml.ScalarNode):
                raise self._refuse(
                    event,
                    f"别名“*{event.anchor}”引用了一个映射或列表；计划文件不用锚点和别名（& 与 *）"
                    "重复映射或列表，请直接写出其内容",
                )
            return super().compose_node(parent, index)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!", "tag:yaml.org,2002:str"):
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            raise self._refuse(event, f"计划文件不使用 YAML 标签“{shown}”，请直接写出值")
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self._refuse(event, f"嵌套超过 {MAX_DEPTH} 层，计划文件不会嵌套这么深")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys without a word; in a plan file edited by
        # hand the first value would be lost silently.
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    raise self._refuse(
                        key_node, f"键{_shown(str(key))}重复出现（第 {first} 行已有），"
                        "同一层中每个键只能写一次"
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:  # due: 2021-13-30, or an hour or offset out of range
            raise self._refuse(
                node, f"日期“{node.value}”不存在，应为有效的 YYYY-MM-DD"
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # more digits than Python converts (4300)
            raise self._refuse(node, "数字位数过多") from None

    @staticmethod
    def _refuse(at: yaml.Event | yaml.Node, problem: str) -> PlanFileError:
        mark = at.start_mark  # yaml.error.Mark, or libyaml's mark with the same line and column
        line, column = getattr(mark, "line", None), getattr(mark, "column", None)
        shown = None if line is None else Mark("", 0, line, column or 0, None, 0)
        return PlanFileError(problem=problem, problem_mark=shown)




class StrictLoader(_Strict, yaml.SafeLoader):
    """The strict loader in pure Python (what runs where PyYAML was built without libyaml)."""


if yaml.__with_libyaml__:

    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _CStrictLoader(
        _Strict,
        yaml.composer.Composer,
        CParser,
        yaml.constructor.SafeConstructor,
        yaml.resolver.Resolver,
    ):
        """The strict loader on libyaml's scanner and parser (C): the same checks and values,
        reading a large plan file several times faster. Nodes are composed in Python, so that
        every check above sees every event."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    LOADERS: list[type[Any]] = [_CStrictLoader, StrictLoader]
else:  # pragma: no cover - PyYAML without libyaml
    LOADERS = [StrictLoader]


for _loader in LOADERS:
    _loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for _first in "tTfF":
        _loader.add_implicit_resolver(
            "tag:yaml.org,2002:bool",
            re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
            [_first],
        )
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _Strict.construct_yaml_timestamp)
    _loader.add_constructor("tag:yaml.org,2002:int", _Strict.construct_yaml_int)



# The keys plan_to_dict writes for a task; any other (a typo such as "leed") would silently
# drop a value, so it is refused.
_TASK_KEYS = ["no", "label", "section", "title", "content", "lead", "co_units", "units_text",
              "deadline", "status", "progress"]
_TASK_KEY_SET = frozenset(_TASK_KEYS)
_KINDS = [k.value for k in DeadlineKind]
_STATUSES = [s.value for s in Status]

# The longest value the store's columns take (engine/store/models.py: PostgreSQL enforces them).
MAX_UNIT = 200
MAX_PLAN_ID = 100
MAX_SECTION_NO = 20
MAX_SHA256 = 64

# A recurring deadline's rule, as the deadline grammar writes it: a frequency of a day or longer
# and the parts that pick days. (dateutil takes more, some of which never end: INTERVAL=0.)
_RRULE_FREQ = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
_RRULE_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYMONTH", "BYMONTHDAY", "BYDAY",
                "BYSETPOS", "BYYEARDAY", "BYWEEKNO")
_RRULE_EXAMPLE = "应为 RFC 5545 重复规则，例如 FREQ=MONTHLY;BYMONTHDAY=25"


def _shown(value: Any) -> str:
    """A value quoted in a message: short, on one line, and a mapping or list only named."""
    if isinstance(value, dict):
        return "一个映射"
    if isinstance(value, list | set | tuple):
        return "一个列表"
    if value is None:
        return "空值"
    if isinstance(value, bool):
        return "“true”" if value else "“false”"
    text = " ".join(str(value).split())
    return f"“{text if len(text) <= 40 else text[:40] + '…'}”"


_BAD_CHARACTERS = re.compile("[\0\ud800-\udfff]")
# What engine.values.control_character looks for (categories Cc, Zl, Zp), to find in one search
# that a text has none; the message names the character as control_character does.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _bad_characters(text: str) -> bool:
    """A NUL (PostgreSQL refuses it) or a lone surrogate (no encoding can store it)."""
    return _BAD_CHARACTERS.search(text) is not None


class _Reader:
    """Checks one plan file's values; every error names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str) -> UserError:
        return UserError(f"计划文件 {self.path}：{key} {expected}")

    def mapping(self, value: Any, key: str) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"应为映射（键: 值），而不是{_shown(value)}")
        return value

    def sequence(self, value: Any, key: str) -> list[Any]:
        """A list that may be left out or empty (`tasks:`)."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"应为列表（每项一行，以“- ”开头），而不是{_shown(value)}")
        return value

    def text(self, value: Any, key: str, *, optional: bool = False, limit: int = 0,
             line: bool = False) -> str:
        """A text; with `line`, one line (a name, a number, a message doctor quotes)."""
        if value is None and optional:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"应为文本，而不是{_shown(value)}")
        text = str(value)
        if _bad_characters(text):
            raise self.fail(key, "含空字符（\\0）或无效的 Unicode 字符，应为普通文本")
        if limit and len(text) > limit:
            raise self.fail(key, f"过长：最多 {limit} 个字符，而这里有 {len(text)} 个")
        if line and _CONTROL.search(text) and (code := control_character(text)):
            raise self.fail(key, f"应为一行文本，不能含换行或控制字符（{code}）")
        return text

    def unit(self, value: Any, key: str) -> str:
        return self.text(value, key, limit=MAX_UNIT, line=True)

    def day(self, value: Any, key: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            if not FIRST_YEAR <= value.year <= LAST_YEAR:
                raise self.fail(key, f"的日期“{value}”超出可用范围，"
                                     f"应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间")
            return value
        raise self.fail(key, f"应为日期（YYYY-MM-DD），而不是{_shown(value)}")

    def choice(self, value: Any, key: str, choices: list[str]) -> str:
        if isinstance(value, bool) or value not in choices:
            raise self.fail(key, f"应为 {' / '.join(choices)} 之一，而不是{_shown(value)}")
        return str(value)

    def rrule(self, value: Any, key: str) -> str:
        from dateutil.rrule import rrulestr

        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, _RRULE_EXAMPLE)
        parts = dict(part.partition("=")[::2] for part in value.strip().upper().split(";"))
        unknown = sorted(set(parts) - set(_RRULE_PARTS))
        interval = parts.get("INTERVAL", "1")
        if (unknown or parts.get("FREQ") not in _RRULE_FREQ
                or not (interval.isascii() and interval.isdigit() and 1 <= int(interval) <= 1000)):
            raise self.fail(key, f"{_RRULE_EXAMPLE}（频率为 {'/'.join(_RRULE_FREQ)}，"
                                 f"INTERVAL 为 1 至 1000），而不是{_shown(value)}")
        try:
            rrulestr(value.strip(), dtstart=datetime(2000, 1, 1))
        except (ValueError, TypeError, OverflowError):  # what dateutil raises for a bad part
            raise self.fail(key, f"{_RRULE_EXAMPLE}，而不是{_shown(value)}") from None
        return value.strip()

    def deadline(self, value: Any, key: str) -> Deadline:
        raw = self.mapping(value, key)
        kind = DeadlineKind(
            self.choice(raw.get("kind"), f"{key}.kind", _KINDS)
        )
        milestones = []
        for i, item in enumerate(self.sequence(raw.get("milestones"), f"{key}.milestones")):
            where = f"{key}.milestones[{i}]"
            m = self.mapping(item, where)
            milestones.append(Milestone(
                text=self.text(m.get("text"), f"{where}.text"),
                due=self.day(m.get("due"), f"{where}.due") or self._missing(f"{where}.due"),
            ))
        due = self.day(raw.get("due"), f"{key}.due")
        if kind in (DeadlineKind.DATE, DeadlineKind.MILESTONES) and due is None:
            raise self.fail(f"{key}.due", f"不能为空：完成时限类型为 {kind} 时须有日期")
        rrule = self.rrule(raw.get("rrule"), f"{key}.rrule") if kind is DeadlineKind.RECURRING \
            else None
        return Deadline(
            text=self.text(raw.get("text"), f"{key}.text", optional=True),
            kind=kind,
            due=due,
            milestones=tuple(milestones),
            rrule=rrule,
            start=self.day(raw.get("start"), f"{key}.start"),
        )

    def _missing(self, key: str) -> date:
        raise self.fail(key, "不能为空")

    def units(self, value: Any, key: str, *, limit: int = MAX_UNIT,
              what: str = "单位名称", line: bool = True) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"应为{what}的列表，而不是{_shown(value)}")
        return [self.text(v, f"{key}[{i}]", limit=limit, line=line) for i, v in enumerate(value)]

    def task(self, value: Any, index: int) -> Task:
        key = f"tasks[{index}]"
        raw = self.mapping(value, key)
        no = raw.get("no")
        if isinstance(no, bool) or not isinstance(no, int) or not 0 <= no < 2**63:
            raise self.fail(f"{key}.no", f"应为任务序号（整数），而不是{_shown(no)}")
        key = f"tasks[{index}]（任务 {no}）"
        for name in () if _TASK_KEY_SET.issuperset(raw) else raw:
            if name not in _TASK_KEYS:
                near = difflib.get_close_matches(str(name), _TASK_KEYS, n=1)
                hint = (f"，您是否想写“{near[0]}”？" if near
                        else f"，应为 {'、'.join(_TASK_KEYS)} 之一")
                raise self.fail(f"{key}.{_shown(name).strip('“”')}", f"是未知的键{hint}")
        lead = raw.get("lead")
        section = raw.get("section")
        label = raw.get("label")
        return Task(
            no=no,
            label=None if label is None
            else self.text(label, f"{key}.label", limit=MAX_SECTION_NO, line=True),
            section=None if section is None
            else self.text(section, f"{key}.section", limit=MAX_SECTION_NO, line=True),
            title=self.text(raw.get("title"), f"{key}.title", optional=True),
            content=self.text(raw.get("content"), f"{key}.content", optional=True).rstrip("\n"),
            lead=None if lead in (None, "") else self.unit(lead, f"{key}.lead"),
            co_units=self.units(raw.get("co_units"), f"{key}.co_units"),
            units_text=self.text(raw.get("units_text"), f"{key}.units_text", optional=True),
            deadline=self.deadline(raw.get("deadline"), f"{key}.deadline"),
            status=Status(
                self.choice(raw.get("status", "not_started"), f"{key}.status", _STATUSES)
            ),
            progress=self.text(raw.get("progress"), f"{key}.progress",
                               optional=True).rstrip("\n"),
        )

    def section(self, value: Any, index: int) -> Section:
        key = f"sections[{index}]"
        raw = self.mapping(value, key)
        return Section(
            no=self.text(raw.get("no"), f"{key}.no", limit=MAX_SECTION_NO, line=True),
            title=self.text(raw.get("title"), f"{key}.title", optional=True),
        )

    def warning(self, value: Any, index: int) -> ImportWarning:
        key = f"warnings[{index}]"
        raw = self.mapping(value, key)
        task = raw.get("task")
        if task is not None and (isinstance(task, bool) or not isinstance(task, int)):
            raise self.fail(f"{key}.task", f"应为任务序号（整数）或留空，而不是{_shown(task)}")
        message = self.text(raw.get("message"), f"{key}.message", line=True)
        return ImportWarning(task=task, message=message)

    def source(self, value: Any) -> Source | None:
        if value is None:
            return None
        raw = self.mapping(value, "plan.source")
        return Source(
            file=self.text(raw.get("file"), "plan.source.file", optional=True),
            sha256=self.text(raw.get("sha256"), "plan.source.sha256", optional=True,
                             limit=MAX_SHA256),
        )

    def timezone(self, value: Any) -> str:
        zone = self.text("Asia/Shanghai" if value in (None, "") else value, "plan.timezone")
        if not is_time_zone(zone):
            raise self.fail("plan.timezone", f"是未知的时区{_shown(zone)}，例如 Asia/Shanghai")
        return zone

    def plan(self, doc: Any) -> Plan:
        root = self.mapping(doc, "文件顶层")
        head = self.mapping(root.get("plan"), "plan")
        plan_id = self.text(head.get("id"), "plan.id", limit=MAX_PLAN_ID)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", plan_id):
            raise self.fail("plan.id",
                            f"应为由字母、数字、连字符组成的标识，而不是{_shown(plan_id)}")
        tasks = [self.task(t, i) for i, t in enumerate(self.sequence(root.get("tasks"), "tasks"))]
        seen: set[int] = set()
        for i, t in enumerate(tasks):
            if t.no in seen:
                raise self.fail(f"tasks[{i}].no", f"重复：任务序号 {t.no} 出现了不止一次")
            seen.add(t.no)
        sections = [self.section(s, i)
                    for i, s in enumerate(self.sequence(root.get("sections"), "sections"))]
        numbers: set[str] = set()
        for i, s in enumerate(sections):
            if s.no in numbers:
                raise self.fail(f"sections[{i}].no",
                                f"重复：部分序号 {_shown(s.no)} 出现了不止一次")
            numbers.add(s.no)
        aliases = self.mapping(root.get("aliases") or {}, "aliases")
        return Plan(
            id=plan_id,
            title=self.text(head.get("title"), "plan.title", optional=True),
            coordinator=self.text(head.get("coordinator"), "plan.coordinator", optional=True,
                                  limit=MAX_UNIT, line=True),
            timezone=self.timezone(head.get("timezone")),
            issued=self.day(head.get("issued"), "plan.issued"),
            source=self.source(head.get("source")),
            columns=self.units(head.get("columns"), "plan.columns", limit=0, what="列名",
                               line=False),
            sections=sections,
            tasks=tasks,
            aliases={
                self.unit(k, "aliases"): self.unit(v, f"aliases.{_shown(k).strip('“”')}")
                for k, v in aliases.items()
            },
            warnings=[self.warning(w, i)
                      for i, w in enumerate(self.sequence(root.get("warnings"), "warnings"))],
        )


_PLAIN_LOADER = StrictLoader("")
"""Whose resolvers and constructors build the plain scalars of the fast reader."""


def _load(text: str) -> Any:
    """The YAML document. A file as the writer emits it is read by engine.plainyaml, several
    times faster, to the same values; any other by libyaml where it is available. A text
    libyaml refuses is read again in pure Python, whose errors say more (the line, the key, our
    Chinese reasons for nesting or a control character) — and which reads the few texts libyaml
    alone refuses."""
    doc = plainyaml.read(text, _PLAIN_LOADER)
    if doc is not None:
        return doc
    try:
        return yaml.load(text, Loader=LOADERS[0])
    except PlanFileError:
        raise
    except yaml.YAMLError:
        if LOADERS[0] is StrictLoader:
            raise
    return yaml.load(text, Loader=StrictLoader)


def parse_plan(text: str, path: Path) -> Plan:
    try:
        doc = _load(text)
    except PlanFileError as exc:
        mark = exc.problem_mark
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise UserError(f"计划文件 {path}：{where}{exc.problem}") from None
    except yaml.reader.ReaderError as exc:  # a control character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise UserError(
            f"计划文件 {path}：第 {line} 行含 YAML 不允许的控制字符 U+{code:04X}，应为普通文本"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise UserError(f"计划文件 {path}：{where}不是有效的 YAML（{problem}）") from None
    except RecursionError:  # a guard: MAX_DEPTH keeps the composer far from the stack's end
        raise UserError(f"计划文件 {path}：嵌套过深，不是计划文件的结构") from None
    return _Reader(path).plan(doc)


def decode_plan_file(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"计划文件 {path} 不是 UTF-8 编码的文本") from None


def read_plan(path: Path) -> Plan:
    path = Path(path)
    return parse_plan(decode_plan_file(read_plan_bytes(path), path), path)

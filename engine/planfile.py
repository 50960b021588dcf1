"""Plan files (`workflows/*.yaml`): write a `Plan` for a person to review, read it back.

Written so that any YAML reader gets the same values: keys in a stable order, Chinese as is,
strings that YAML 1.1 would turn into booleans or numbers quoted. Read with a loader that turns
only `true`/`false` into booleans, and checked key by key: an error names the file and the key.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.errors import UserError, os_reason
from engine.model.plan import ImportWarning, Plan, Section, Source, Status, Task

# --- writing -------------------------------------------------------------------------------


class _Flow(dict):
    """A mapping written on one line: `{text: …, kind: …, due: …}`."""


class _FlowList(list):
    """A list written on one line: `[市财政局, 市司法局]`."""


class _Block(str):
    """A multi-line string written as a literal block (`|`)."""


class _Dumper(yaml.SafeDumper):
    pass


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
    if plan.source:
        head["source"] = _Flow(file=plan.source.file, sha256=plan.source.sha256)
    if plan.columns:
        head["columns"] = _FlowList(plan.columns)
    tasks = [
        {
            "no": t.no,
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


class StrictLoader(yaml.SafeLoader):
    """A safe loader that does not turn `no`, `yes`, `on`, `off` into booleans (YAML 1.2 style)."""


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    StrictLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first]
    )


# The keys plan_to_dict writes for a task; any other (a typo such as "leed") would silently
# drop a value, so it is refused.
_TASK_KEYS = ["no", "section", "title", "content", "lead", "co_units", "units_text", "deadline",
              "status", "progress"]


class _Reader:
    """Checks one plan file's values; every error names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str) -> UserError:
        return UserError(f"计划文件 {self.path}：{key} {expected}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "应为映射（键: 值）")
        return value

    def text(self, value: Any, key: str, *, optional: bool = False) -> str:
        if value is None and optional:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(key, "应为文本")
        return str(value)

    def day(self, value: Any, key: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"应为日期（YYYY-MM-DD），而不是“{value}”")

    def choice(self, value: Any, key: str, choices: list[str]) -> str:
        if value not in choices:
            raise self.fail(key, f"应为 {' / '.join(choices)} 之一，而不是“{value}”")
        return str(value)

    def deadline(self, value: Any, key: str) -> Deadline:
        raw = self.mapping(value, key)
        kind = DeadlineKind(
            self.choice(raw.get("kind"), f"{key}.kind", [k.value for k in DeadlineKind])
        )
        milestones = tuple(
            Milestone(
                text=self.text(self.mapping(m, f"{key}.milestones[{i}]").get("text"),
                               f"{key}.milestones[{i}].text"),
                due=self.day(m.get("due"), f"{key}.milestones[{i}].due")
                or self._missing(f"{key}.milestones[{i}].due"),
            )
            for i, m in enumerate(raw.get("milestones") or [])
        )
        due = self.day(raw.get("due"), f"{key}.due")
        if kind in (DeadlineKind.DATE, DeadlineKind.MILESTONES) and due is None:
            raise self.fail(f"{key}.due", f"不能为空：完成时限类型为 {kind} 时须有日期")
        rrule = raw.get("rrule")
        if kind is DeadlineKind.RECURRING and not isinstance(rrule, str):
            raise self.fail(
                f"{key}.rrule", "应为 RFC 5545 重复规则，例如 FREQ=MONTHLY;BYMONTHDAY=25"
            )
        return Deadline(
            text=self.text(raw.get("text"), f"{key}.text", optional=True),
            kind=kind,
            due=due,
            milestones=milestones,
            rrule=rrule if kind is DeadlineKind.RECURRING else None,
            start=self.day(raw.get("start"), f"{key}.start"),
        )

    def _missing(self, key: str) -> date:
        raise self.fail(key, "不能为空")

    def units(self, value: Any, key: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, "应为单位名称的列表")
        return [self.text(v, f"{key}[{i}]") for i, v in enumerate(value)]

    def task(self, value: Any, index: int) -> Task:
        key = f"tasks[{index}]"
        raw = self.mapping(value, key)
        no = raw.get("no")
        if isinstance(no, bool) or not isinstance(no, int) or not 0 <= no < 2**63:
            raise self.fail(f"{key}.no", f"应为任务序号（整数），而不是“{no}”")
        key = f"tasks[{index}]（任务 {no}）"
        for name in raw:
            if name not in _TASK_KEYS:
                near = difflib.get_close_matches(str(name), _TASK_KEYS, n=1)
                hint = (f"，您是否想写“{near[0]}”？" if near
                        else f"，应为 {'、'.join(_TASK_KEYS)} 之一")
                raise self.fail(f"{key}.{name}", f"是未知的键{hint}")
        lead = raw.get("lead")
        section = raw.get("section")
        return Task(
            no=no,
            section=None if section is None else self.text(section, f"{key}.section"),
            title=self.text(raw.get("title"), f"{key}.title", optional=True),
            content=self.text(raw.get("content"), f"{key}.content", optional=True).rstrip("\n"),
            lead=None if lead in (None, "") else self.text(lead, f"{key}.lead"),
            co_units=self.units(raw.get("co_units"), f"{key}.co_units"),
            units_text=self.text(raw.get("units_text"), f"{key}.units_text", optional=True),
            deadline=self.deadline(raw.get("deadline"), f"{key}.deadline"),
            status=Status(
                self.choice(raw.get("status", "not_started"), f"{key}.status",
                            [s.value for s in Status])
            ),
            progress=self.text(raw.get("progress"), f"{key}.progress", optional=True).rstrip("\n"),
        )

    def plan(self, doc: Any) -> Plan:
        root = self.mapping(doc, "文件顶层")
        head = self.mapping(root.get("plan"), "plan")
        plan_id = self.text(head.get("id"), "plan.id")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", plan_id):
            raise self.fail("plan.id", f"应为由字母、数字、连字符组成的标识，而不是“{plan_id}”")
        source = head.get("source")
        tasks = [self.task(t, i) for i, t in enumerate(root.get("tasks") or [])]
        seen: set[int] = set()
        for i, t in enumerate(tasks):
            if t.no in seen:
                raise self.fail(f"tasks[{i}].no", f"重复：任务序号 {t.no} 出现了不止一次")
            seen.add(t.no)
        aliases = self.mapping(root.get("aliases") or {}, "aliases")
        return Plan(
            id=plan_id,
            title=self.text(head.get("title"), "plan.title", optional=True),
            coordinator=self.text(head.get("coordinator"), "plan.coordinator", optional=True),
            timezone=self.text(head.get("timezone") or "Asia/Shanghai", "plan.timezone"),
            source=Source(file=str(source.get("file", "")), sha256=str(source.get("sha256", "")))
            if isinstance(source, dict)
            else None,
            columns=self.units(head.get("columns"), "plan.columns"),
            sections=[
                Section(
                    no=self.text(self.mapping(s, f"sections[{i}]").get("no"), f"sections[{i}].no"),
                    title=self.text(s.get("title"), f"sections[{i}].title", optional=True),
                )
                for i, s in enumerate(root.get("sections") or [])
            ],
            tasks=tasks,
            aliases={
                self.text(k, "aliases"): self.text(v, f"aliases.{k}") for k, v in aliases.items()
            },
            warnings=[
                ImportWarning(
                    task=self.mapping(w, f"warnings[{i}]").get("task"),
                    message=self.text(w.get("message"), f"warnings[{i}].message"),
                )
                for i, w in enumerate(root.get("warnings") or [])
            ],
        )


def parse_plan(text: str, path: Path) -> Plan:
    try:
        doc = yaml.load(text, Loader=StrictLoader)  # StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        problem = getattr(exc, "problem", exc)
        raise UserError(f"计划文件 {path}：{where}不是有效的 YAML（{problem}）") from None
    except ValueError:  # YAML read a date-looking value that is no date, e.g. due: 2021-13-30
        raise UserError(f"计划文件 {path}：{_bad_date(text)}") from None
    return _Reader(path).plan(doc)


def _bad_date(text: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        for found in re.finditer(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", line):
            try:
                date(*(int(g) for g in found.groups()))
            except ValueError:
                return f"第 {number} 行的日期“{found.group(0)}”不存在，应为有效的 YYYY-MM-DD"
    return "含不存在的日期，应为有效的 YYYY-MM-DD"


def read_plan(path: Path) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"计划文件 {path} 不存在") from None
    except UnicodeDecodeError:
        raise UserError(f"计划文件 {path} 不是 UTF-8 编码的文本") from None
    except OSError as exc:
        raise UserError(f"无法读取计划文件 {path}：{os_reason(exc)}") from None
    return parse_plan(text, path)

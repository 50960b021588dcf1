"""Build the ledger from a plan and each task's current state. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from engine.importers.header import NOTE, column_role
from engine.ledger.model import (
    Column,
    ColumnKind,
    Ledger,
    LedgerRow,
    LedgerSection,
    format_day,
    normalise_header,
)
from engine.model.plan import Plan, Status

# The importer's column roles (one vocabulary of header names) and the ledger's column kinds.
_ROLE_KINDS = {
    "section": ColumnKind.SECTION,
    "number": ColumnKind.NO,
    "task": ColumnKind.TITLE,
    "content": ColumnKind.CONTENT,
    "units": ColumnKind.UNITS,
    "co_units": ColumnKind.CO_UNITS,
    "progress": ColumnKind.PROGRESS,
    "deadline": ColumnKind.DEADLINE,
}

_UNIT_KINDS = (ColumnKind.UNITS, ColumnKind.CO_UNITS)

# What a ledger has when the plan does not record its source's columns: the seed's layout.
DEFAULT_COLUMNS = ("项目", "任务", "具体内容", "责任部门", "推进情况", "完成时限")


def classify_header(text: str) -> ColumnKind:
    """What a source column holds, by its header's name (as the importer reads it)."""
    role = column_role(text or "")
    return _ROLE_KINDS.get(role, ColumnKind.OTHER) if role else ColumnKind.OTHER


def split_units(units_text: str, columns: Sequence[Column]) -> tuple[str, str]:
    """The 牵头单位 and 配合单位 cells of a source that had both columns.

    The importer joins them into one text, "牵头单位：甲；配合单位：乙", using the headers' names;
    the ledger splits that text back into its two cells.
    """
    units = next((c for c in columns if c.kind is ColumnKind.UNITS), None)
    co = next((c for c in columns if c.kind is ColumnKind.CO_UNITS), None)
    if units is None or co is None:
        return units_text, ""
    prefix = f"{NOTE.sub('', normalise_header(units.header))}："
    separator = f"；{NOTE.sub('', normalise_header(co.header))}："
    if units_text.startswith(prefix) and separator in units_text:
        lead, rest = units_text[len(prefix):].split(separator, 1)
        return lead, rest
    return units_text, ""


def layout_columns(source_columns: Sequence[str]) -> tuple[Column, ...]:
    """The ledger's columns: the source's, in the source's order.

    A 任务 column with no 序号 column beside it spans two columns (number, title) under one merged
    header, as the 汇总表 prints it; a source that names 任务 twice in a row said the same. A source
    without 推进情况 gets one after 责任部门 (the ledger exists to fill it in).
    """
    names = [c for c in source_columns if normalise_header(c)] or list(DEFAULT_COLUMNS)
    kinds = [classify_header(c) for c in names]
    has_no = ColumnKind.NO in kinds
    out: list[Column] = []
    for i, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        if kind is ColumnKind.TITLE and i and kinds[i - 1] is ColumnKind.TITLE:
            continue  # the second half of a spanning 任务 header, handled below
        if kind is ColumnKind.TITLE and not has_no:
            out.append(Column(ColumnKind.NO, name))
            out.append(Column(ColumnKind.TITLE, name, joined=True))
            continue
        out.append(Column(kind, name))
    present = {c.kind for c in out}
    if ColumnKind.TITLE not in present:
        at = 1 if out and out[0].kind is ColumnKind.SECTION else 0
        out[at:at] = [Column(ColumnKind.NO, "任务"), Column(ColumnKind.TITLE, "任务", joined=True)]
    if ColumnKind.PROGRESS not in present:
        unit_columns = [i for i, c in enumerate(out) if c.kind in _UNIT_KINDS]
        after = unit_columns[-1] if unit_columns else len(out) - 1
        out.insert(after + 1, Column(ColumnKind.PROGRESS, "推进情况"))
    return tuple(out)


@dataclass(frozen=True)
class TaskState:
    """What the store knows of a task now, beyond the plan file."""

    status: Status
    light: str
    report_text: str | None = None
    report_at: datetime | None = None
    extended_due: date | None = None
    """The due date in force after an approved extension (None: never extended)."""


_STATUS_PREFIX = re.compile(r"^\s*【(?:未启动|推进中|已完成|长期推进)】\s*")


def progress_text(state: TaskState, imported: str, tz: tzinfo) -> str:
    """The 推进情况 cell: 【status】date：the latest report (or the imported text), any extension.

    Text read back from an exported ledger already carries a 【status】 prefix (and maybe a date);
    it is stripped so that exporting an imported ledger does not stack prefixes.
    """
    parts = [f"【{state.status.label}】"]
    if state.report_text and state.report_at:
        parts.append(f"{format_day(state.report_at.astimezone(tz).date())}：{state.report_text.strip()}")
    else:
        parts.append(_STATUS_PREFIX.sub("", imported or "").strip())
    if state.extended_due:
        parts.append(f"（完成时限经批准延至{format_day(state.extended_due)}）")
    return "".join(parts)


def build_ledger(
    plan: Plan,
    states: Mapping[int, TaskState],
    *,
    as_of: date,
    tz: tzinfo,
    yellow_within_days: int = 30,
    unit: str | None = None,
) -> Ledger:
    """The ledger of a plan; with `unit`, only the tasks that unit leads or shares."""
    columns = layout_columns(plan.columns)
    rows = []
    for task in plan.tasks:
        if unit is not None and unit not in task.units:
            continue
        state = states.get(task.no) or TaskState(task.status, "none")
        units_text, co_units_text = split_units(task.units_text, columns)
        rows.append(
            LedgerRow(
                section=task.section,
                no=task.no,
                title=task.title,
                content=task.content,
                units_text=units_text,
                co_units_text=co_units_text,
                progress=progress_text(state, task.progress, tz),
                deadline=task.deadline.text,
                light=state.light,
                lead=task.lead,
                co_units=tuple(task.co_units),
            )
        )
    return Ledger(
        title=plan.title,
        coordinator=plan.coordinator,
        columns=columns,
        sections=tuple(LedgerSection(s.no, s.title) for s in plan.sections),
        rows=tuple(rows),
        as_of=as_of,
        yellow_within_days=yellow_within_days,
        unit=unit,
    )

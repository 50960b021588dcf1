"""The coordinator's weekly digest: when it is due, and what it says. Pure: takes `now`.

`digest_due` (engine.planner.digest) tells the planner whether this week's digest should be
planned at `now`; `digest_content` is what the `digest` templates read (as the notice's
`extra`): totals by light, overdue tasks with their lead units and days overdue, units that have
not reported, requests waiting for a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from engine.ledger.stats import (
    PendingRequest,
    PlanSnapshot,
    TaskRecord,
    light_totals,
    report_period,
    unit_figures,
)
from engine.model.lights import Light
from engine.model.plan import status_label

# The timing lives with the planner, which decides when a digest is planned; named here too for
# the ledger's readers.
from engine.planner.digest import (
    Calendar,
    DigestPolicy,
    digest_day,
    digest_due,
    digest_occurrence,
)

__all__ = [
    "Calendar",
    "DigestFigures",
    "DigestPolicy",
    "digest_content",
    "digest_day",
    "digest_document",
    "digest_due",
    "digest_occurrence",
]


_REQUEST_TYPES = {"transition": "状态变更", "extension": "延期"}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass(frozen=True)
class DigestFigures:
    """What a digest says, before it is written out: built from a whole snapshot
    (`digest_content`), or read with aggregate and column queries (engine.ledger.query)."""

    plan_id: str
    title: str
    timezone: tzinfo
    today: date
    total: int
    totals: dict[str, int]
    late: tuple[tuple[int, TaskRecord], ...]
    """The red tasks, each with its days overdue, in any order."""
    period: tuple[date, date] | None
    missing: tuple[tuple[str, tuple[int, ...]], ...]
    """The units that owe reports, in the order units first appear in the plan, each with its
    tasks in plan order."""
    requests: tuple[PendingRequest, ...]
    titles: Mapping[int, str]
    """The title of each task the plan lists that a pending request concerns (at least)."""


def digest_content(snapshot: PlanSnapshot) -> dict[str, Any]:
    """The digest's figures as plain JSON-ready data for the templates (the notice's `extra`).

    Dates are ISO strings (the outbox stores a notice's data as JSON; the templates' `cn_date`
    reads them), counts are ints, task numbers ints.
    """
    today = snapshot.today
    late = tuple(
        ((today - t.due).days, t)
        for t in snapshot.tasks
        if t.due is not None and snapshot.light_of(t) is Light.RED
    )
    missing = tuple(
        (f.unit, tuple(f.missing_tasks)) for f in unit_figures(snapshot) if f.reports_missing
    )
    return digest_document(
        DigestFigures(
            plan_id=snapshot.plan_id,
            title=snapshot.title,
            timezone=snapshot.timezone,
            today=today,
            total=len(snapshot.tasks),
            totals=light_totals(snapshot),
            late=late,
            period=report_period(today, snapshot.report_every, snapshot.report_day),
            missing=missing,
            requests=snapshot.requests,
            titles={t.no: t.title for t in snapshot.tasks},
        )
    )


def digest_document(figures: DigestFigures) -> dict[str, Any]:
    """The digest's content from its figures: the one place its shape is written."""
    tz = figures.timezone
    today = figures.today
    overdue = [
        {
            "no": t.no,
            "title": t.title,
            "lead": t.lead or "",
            "deadline_text": t.deadline_text,
            "due": _iso(t.due),
            "days_overdue": days,
        }
        for days, t in sorted(figures.late, key=lambda pair: (-pair[0], pair[1].no))
    ]
    period = figures.period
    missing = [
        {"unit": unit, "tasks": list(tasks), "count": len(tasks)}
        for unit, tasks in figures.missing
        if tasks
    ]
    requests = [
        {
            "id": r.id,
            "no": r.no,
            "title": figures.titles.get(r.no, ""),
            "unit": r.unit,
            "type": r.type,
            "type_label": _REQUEST_TYPES.get(r.type, r.type),
            "to": r.to,
            "to_label": status_label(r.to),
            "until": _iso(r.until),
            "reason": r.reason,
            "at": r.at.astimezone(tz).date().isoformat(),
            "days_waiting": (today - r.at.astimezone(tz).date()).days,
        }
        for r in figures.requests
    ]
    return {
        "plan_id": figures.plan_id,
        "plan_title": figures.title,
        "as_of": today.isoformat(),
        "total": figures.total,
        "totals": figures.totals,
        "overdue": overdue,
        "report_period": (
            {"start": period[0].isoformat(), "end": period[1].isoformat()} if period else None
        ),
        "missing_reports": missing,
        "pending_requests": requests,
    }

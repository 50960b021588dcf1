"""The coordinator's weekly digest: when it is due, and what it says. Pure: takes `now`.

`digest_due` (engine.planner.digest) tells the planner whether this week's digest should be
planned at `now`; `digest_content` is what the `digest` templates read (as the notice's
`extra`): totals by light, overdue tasks with their lead units and days overdue, units that have
not reported, requests waiting for a decision.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.ledger.stats import PlanSnapshot, light_totals, report_period, unit_figures
from engine.model.lights import Light
from engine.model.plan import Status

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
    "DigestPolicy",
    "digest_content",
    "digest_day",
    "digest_due",
    "digest_occurrence",
]


_REQUEST_TYPES = {"transition": "状态变更", "extension": "延期"}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _status_label(value: str | None) -> str:
    try:
        return Status(value).label if value else ""
    except ValueError:
        return value or ""


def digest_content(snapshot: PlanSnapshot) -> dict[str, Any]:
    """The digest's figures as plain JSON-ready data for the templates (the notice's `extra`).

    Dates are ISO strings (the outbox stores a notice's data as JSON; the templates' `cn_date`
    reads them), counts are ints, task numbers ints.
    """
    tz = snapshot.timezone
    today = snapshot.today
    by_no = {t.no: t for t in snapshot.tasks}
    late = [
        ((today - t.due).days, t)
        for t in snapshot.tasks
        if t.due is not None and snapshot.light_of(t) is Light.RED
    ]
    overdue = [
        {
            "no": t.no,
            "title": t.title,
            "lead": t.lead or "",
            "deadline_text": t.deadline_text,
            "due": _iso(t.due),
            "days_overdue": days,
        }
        for days, t in sorted(late, key=lambda pair: (-pair[0], pair[1].no))
    ]
    period = report_period(today, snapshot.report_every, snapshot.report_day)
    missing = [
        {"unit": f.unit, "tasks": list(f.missing_tasks), "count": f.reports_missing}
        for f in unit_figures(snapshot)
        if f.reports_missing
    ]
    requests = [
        {
            "id": r.id,
            "no": r.no,
            "title": by_no[r.no].title if r.no in by_no else "",
            "unit": r.unit,
            "type": r.type,
            "type_label": _REQUEST_TYPES.get(r.type, r.type),
            "to": r.to,
            "to_label": _status_label(r.to),
            "until": _iso(r.until),
            "reason": r.reason,
            "at": r.at.astimezone(tz).date().isoformat(),
            "days_waiting": (today - r.at.astimezone(tz).date()).days,
        }
        for r in snapshot.requests
    ]
    return {
        "plan_id": snapshot.plan_id,
        "plan_title": snapshot.title,
        "as_of": today.isoformat(),
        "total": len(snapshot.tasks),
        "totals": light_totals(snapshot),
        "overdue": overdue,
        "report_period": (
            {"start": period[0].isoformat(), "end": period[1].isoformat()} if period else None
        ),
        "missing_reports": missing,
        "pending_requests": requests,
    }

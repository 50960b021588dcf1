"""The coordinator's weekly digest: when it is due, and what it says. Pure: takes `now`.

`digest_due` tells the planner whether this week's digest should be planned at `now`;
`digest_content` is what the `digest` templates read (as the notice's `extra`): totals by light,
overdue tasks with their lead units and days overdue, units that have not reported, requests
waiting for a decision.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from engine.clock import DEFAULT_TIMEZONE
from engine.ledger.stats import PlanSnapshot, light_totals, report_period, unit_figures
from engine.model.lights import Light
from engine.model.plan import Status


class Calendar(Protocol):
    def is_workday(self, d: date) -> bool: ...


class DigestPolicy(Protocol):
    """What the digest's timing needs from `[policy]` (config PolicySettings has both)."""

    send_at: time
    digest_weekday: int
    """ISO weekday, 1 = Monday."""


def digest_occurrence(day: date) -> str:
    """The digest's dedupe occurrence: its ISO week, e.g. 2021-W23 (one digest a week)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_day(day: date, weekday: int, calendar: Calendar) -> date | None:
    """The day the digest of `day`'s week goes out.

    The configured weekday if it is a working day; else the next working day of that week (a
    Monday holiday moves it to Tuesday); else the last working day before it in that week (a
    digest set for Sunday goes out on Friday); None only for a week without any working day.
    """
    monday = day - timedelta(days=day.isoweekday() - 1)
    week = [monday + timedelta(days=i) for i in range(7)]
    wanted = weekday - 1
    for candidate in [*week[wanted:], *reversed(week[:wanted])]:
        if calendar.is_workday(candidate):
            return candidate
    return None


def digest_due(
    now: datetime,
    policy: DigestPolicy,
    calendar: Calendar,
    already_sent: Collection[str],
    timezone: tzinfo | None = None,
) -> str | None:
    """This week's digest occurrence if it should be planned at `now`, else None.

    Like every notice, only on a working day at or after `send_at`. After downtime the digest is
    caught up within its week only: a digest describes the plan now, so last week's missed one is
    not worth sending, this week's is. `already_sent` holds the occurrences sent before; the
    time zone is the plan's (default: the policy's own, else Asia/Shanghai).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = timezone or getattr(policy, "timezone", None) or ZoneInfo(DEFAULT_TIMEZONE)
    local = now.astimezone(zone)
    today = local.date()
    if not calendar.is_workday(today) or local.time() < policy.send_at:
        return None
    day = digest_day(today, policy.digest_weekday, calendar)
    if day is None or today < day:
        return None
    occurrence = digest_occurrence(today)
    return None if occurrence in already_sent else occurrence


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

"""The coordinator's weekly digest: on which day it goes out, and `plan_digests`, which plans it.

Pure like the rest of the planner: it decides *that* a plan's digest is due; the service gathers
what it says (engine.ledger.query.digest_of) in the transaction that enqueues it. Kept apart from
`plan_notices`, whose notices are each about tasks; the service runs both in one pass.

Choices where DESIGN.md is silent:
- One digest per plan and week, to the plan's coordinator on each of its channels; a plan without
  a coordinator gets none (`duban doctor` reports that plan). A plan with no open task still gets
  it: the totals are what the coordinator reads.
- Its key is (plan, task 0, coordinator, channel, `digest`, 0, ISO week): task 0 because the
  digest is about the plan, not one task; the week because it is sent once a week.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from engine.clock import DEFAULT_TIMEZONE
from engine.planner.notices import PLAN_WIDE, NoticeKey, PlannedNotice, SentIndex, direct_notice
from engine.planner.policy import Policy
from engine.planner.snapshot import Snapshot

DIGEST = "digest"


class Calendar(Protocol):
    def is_workday(self, d: date) -> bool: ...


class DigestPolicy(Protocol):
    """What the digest's timing needs from `[policy]` (PolicySettings and Policy have both)."""

    @property
    def send_at(self) -> time: ...

    @property
    def digest_weekday(self) -> int:
        """ISO weekday, 1 = Monday."""
        ...


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


def plan_digests(
    snapshot: Snapshot,
    now: datetime,
    policy: Policy,
    calendar: Calendar,
    already_sent: SentIndex | Iterable[str] = (),
) -> list[PlannedNotice]:
    """This week's digest of every plan with a coordinator, on each of its channels, once.

    The notices carry no content yet (`tasks` and `context` empty): the service fills both from
    the store at `now`, in the transaction that enqueues them.
    """
    occurrence = digest_due(now, policy, calendar, (), policy.timezone)
    if occurrence is None:
        return []
    sent = already_sent if isinstance(already_sent, SentIndex) else SentIndex(already_sent)
    send_at = policy.send_time(now.astimezone(policy.timezone).date())
    notices = []
    for plan_id in sorted(snapshot.plans):
        coordinator = snapshot.coordinator(plan_id)
        if not coordinator:
            continue
        for channel in snapshot.contact(coordinator).channels:
            key = NoticeKey(plan_id, PLAN_WIDE, coordinator, channel, DIGEST, 0, occurrence)
            if key in sent:
                continue
            # A notice about the whole plan: its one key is `key` (task PLAN_WIDE).
            notices.append(
                direct_notice(
                    plan_id=plan_id,
                    kind=DIGEST,
                    recipient=coordinator,
                    channel=channel,
                    tasks=(),
                    occurrence=occurrence,
                    send_at=send_at,
                    context={},
                )
            )
    return notices

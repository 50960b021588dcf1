"""The reminder and escalation policy the planner applies, read from config `[policy]`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from engine.config import PolicySettings

OVERDUE = "overdue"
ESCALATION = "escalation"


@dataclass(frozen=True)
class EscalationStep:
    """One level of the overdue chain: when it first fires, how often it repeats, whom it tells."""

    level: int
    after_working_days: int
    every_working_days: int
    notify: tuple[str, ...]
    recipients: tuple[str, ...] = ()
    """Named units (a leader's office), for `notify = ["leader"]`."""

    @property
    def kind(self) -> str:
        return OVERDUE if self.level == 0 else ESCALATION


def _default_steps() -> tuple[EscalationStep, ...]:
    return (
        EscalationStep(0, 0, 3, ("lead", "co_units")),
        EscalationStep(1, 5, 5, ("coordinator",)),
    )


@dataclass(frozen=True)
class Policy:
    """What the planner needs from the config, in plain values."""

    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    send_at: time = time(9, 0)
    remind_before_days: tuple[int, ...] = (30, 14, 7, 3, 1)
    escalation: tuple[EscalationStep, ...] = field(default_factory=_default_steps)
    report_every: str = "monthly"
    """monthly | quarterly | none"""
    report_day: int = 25
    report_notice_working_days: int = 5
    digest_weekday: int = 1
    """ISO weekday of the coordinator's weekly digest (1 = Monday)."""

    @classmethod
    def from_settings(cls, settings: PolicySettings, timezone: str | tzinfo) -> Policy:
        zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        steps = tuple(
            EscalationStep(
                level=i,
                after_working_days=step.after_working_days,
                every_working_days=step.every_working_days,
                notify=tuple(step.notify),
                recipients=tuple(step.recipients),
            )
            for i, step in enumerate(settings.escalation)
        )
        return cls(
            timezone=zone,
            send_at=settings.send_at,
            remind_before_days=tuple(sorted(set(settings.remind_before_days), reverse=True)),
            escalation=steps,
            report_every=settings.report_every,
            report_day=settings.report_day,
            report_notice_working_days=settings.report_notice_working_days,
            digest_weekday=settings.digest_weekday,
        )

    def send_time(self, day: date) -> datetime:
        """The moment notices decided on `day` go out: that day's `send_at`, in the plan zone."""
        return datetime.combine(day, self.send_at, tzinfo=self.timezone)

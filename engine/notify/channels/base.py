"""The one small interface every channel implements: send a message, say how it went.

A `Delivery` classifies the outcome for the dispatcher: `sent`; `transient` (try again later, with
backoff); `permanent` (dead-letter it and tell the coordinator); or `deferred` (not tried at all,
e.g. the robot's rate limit: come back at `retry_at`, without counting an attempt). Channels never
raise for a delivery problem; they return a Delivery whose `detail` is safe to store and log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from engine.notify.render import Card


class Outcome(StrEnum):
    SENT = "sent"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class Message:
    """One notice rendered for one channel, with where it goes."""

    notice_id: int | None
    kind: str
    recipient: str
    subject: str
    text: str = ""
    html: str = ""
    markdown: tuple[str, ...] = ()
    """The messages of a WeCom or DingTalk notice (markdown), or the lines of each Feishu post."""
    card: Card | None = None
    """A wecom_app notice's text card (title, description, button), when it has a page to open."""
    send_date: date | None = None
    emails: tuple[str, ...] = ()
    webhook: str | None = None
    """The WeCom robot URL as configured, `${NAME}` unexpanded (expanded only when sending)."""
    mobiles: tuple[str, ...] = ()
    first_part: int = 0
    """For a WeCom notice of several messages: how many were already accepted before."""
    link: str | None = None
    """The address the notice opens (the unit's page or the console), for a button (wecom_app)."""
    on_part: Callable[[int], None] | None = field(default=None, compare=False, repr=False)
    """Called with the count accepted so far after each message of a notice of several, so that
    the count is on record before the next is sent (see the dispatcher)."""


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    detail: str = ""
    """The provider's answer or the error, with secrets masked."""
    retry_at: datetime | None = None
    parts_sent: int = 0
    """Messages accepted so far (WeCom notices may be several messages)."""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT

    @classmethod
    def sent(cls, detail: str = "", **kw: object) -> Delivery:
        return cls(Outcome.SENT, detail, **kw)  # type: ignore[arg-type]

    @classmethod
    def transient(cls, detail: str, **kw: object) -> Delivery:
        return cls(Outcome.TRANSIENT, detail, **kw)  # type: ignore[arg-type]

    @classmethod
    def permanent(cls, detail: str, **kw: object) -> Delivery:
        return cls(Outcome.PERMANENT, detail, **kw)  # type: ignore[arg-type]


class Channel(Protocol):
    name: str

    def send(self, message: Message, now: datetime) -> Delivery:
        """Deliver `message`; never raises for a delivery problem. Safe to call from threads."""
        ...

    def close(self) -> None:
        """Release connections kept between sends."""
        ...

"""What a notice template sees: the recipient, the plan, the tasks concerned, what is asked.

The values are plain data built from an outbox row and the store (see `compose.py`), or the sample
used by `duban preview` and the template tests. `escaped()` returns a copy in which every text is
passed through a function: the WeCom renderer uses it so that nothing a unit or a plan file wrote
can become markdown (links, @-mentions, headings) whatever the template does.

The one value left as it is, the notice's `link`, is a `NoticeLink`: an http(s) address built from
`[web] base_url` and checked, character by character, when it is made (see `site_url`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from loguru import logger

from engine.model.lights import LIGHT_LABELS

SYSTEM_NAME = "督办系统"

# Codes that templates compare (`light == "red"`); they never hold anyone's text, so they are not
# escaped. Anything a person wrote goes into other names.
CODE_NAMES = frozenset(
    {"kind", "channel", "status", "light", "type", "decision", "to", "failed_kind", "reason"}
)


# An address a notice may carry: nothing in it can end a markdown link or an HTML attribute, or
# start markup (no space, quote, bracket, parenthesis, angle bracket, backslash or backtick).
_SAFE_URL = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/-]*)?"
)
MAX_BASE_URL = 200
"""A longer `[web] base_url` is refused: a link must stay one short line in every message."""


@lru_cache(maxsize=16)
def site_url(base_url: str) -> str | None:
    """`[web] base_url` as the start of a link (scheme and host lower case, no trailing slash), or
    None when it is not a plain http(s) address: notices then go without links rather than carry
    something that is not one, and the log says so once."""
    url = _normalised(base_url)
    if url is None or not _SAFE_URL.fullmatch(url):
        logger.warning(
            "[web] base_url“{}”不是有效的 http(s) 地址，通知中将不附链接", base_url[:MAX_BASE_URL]
        )
        return None
    return url


def _normalised(base_url: str) -> str | None:
    """Scheme, host, port and path of `base_url`, the path percent-encoded; None for anything
    else (userinfo, a query or fragment, another scheme, no host, a bad port, too long)."""
    if len(base_url) > MAX_BASE_URL:
        return None
    try:
        parts = urlsplit(base_url.strip())
        host, port = parts.hostname or "", parts.port
        if not host.isascii():  # a Chinese domain name, in the form browsers send
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or parts.username is not None:
        return None
    if parts.query or parts.fragment:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{quote(parts.path.rstrip('/'), safe='/-._~%')}"


@dataclass(frozen=True)
class NoticeLink:
    """Where a notice sends its reader: the unit's own page, or a page of the console.

    Its address is checked when it is made (an http(s) address of the characters `_SAFE_URL`
    allows), so templates write it as it is, into a markdown link or an `href`: it is the one
    value the WeCom renderer does not escape.
    """

    url: str
    personal: bool = False
    """The unit's personal link (`/u/<token>`), valid `days` days; else a console page."""
    days: int = 0

    def __post_init__(self) -> None:
        if not _SAFE_URL.fullmatch(self.url):
            raise ValueError(f"not a safe link: {self.url!r}")

    @classmethod
    def unit_page(cls, site: str, token: str, days: int) -> NoticeLink:
        return cls(f"{site}/u/{quote(token, safe='')}", personal=True, days=days)

    @classmethod
    def console(cls, site: str, path: str = "/") -> NoticeLink:
        return cls(site + path)


@dataclass(frozen=True)
class TaskLine:
    """One task as a notice lists it."""

    no: int
    title: str
    deadline_text: str
    due: date | None
    status: str
    """The status code (`not_started`, …)."""
    status_label: str
    light: str
    lead: str
    co_units: tuple[str, ...] = ()
    progress: str = ""
    progress_at: date | None = None
    days_left: int | None = None
    """Calendar days from the notice's date to the due date (negative once overdue)."""

    @property
    def light_label(self) -> str:
        return LIGHT_LABELS.get(self.light, self.light)  # type: ignore[call-overload]

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


def lead_name(task: TaskLine) -> str:
    return task.lead or "（未明确牵头单位）"


def group_by_lead(tasks: Iterable[TaskLine]) -> list[tuple[str, list[TaskLine]]]:
    """(unit, its tasks) in the order units first appear, for templates that list units."""
    grouped: dict[str, list[TaskLine]] = {}
    for task in tasks:
        grouped.setdefault(lead_name(task), []).append(task)
    return list(grouped.items())


@dataclass(frozen=True)
class NoticeContext:
    """Everything one notice's templates may use; a missing name is an error (StrictUndefined)."""

    kind: str
    recipient: str
    channel: str
    level: int
    is_copy: bool
    plan_id: str
    plan_title: str
    coordinator: str
    notice_date: date
    tasks: tuple[TaskLine, ...]
    notice_id: int | None = None
    occurrence: str = ""
    reply_by: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Kind-specific data: the request and its decision, the failed notice, the digest's figures."""
    link: NoticeLink | None = None
    """The unit's personal link, or the console page for the coordinator; None when there is no
    valid `[web] base_url` or the recipient is no unit of any plan."""

    @property
    def sender(self) -> str:
        """Who signs: the plan's coordinating office, through the system."""
        return f"{self.coordinator}（{SYSTEM_NAME}）" if self.coordinator else SYSTEM_NAME

    @property
    def to_coordinator(self) -> bool:
        return bool(self.coordinator) and self.recipient == self.coordinator

    @property
    def reads_console(self) -> bool:
        """The recipient works in the console rather than on a unit's page: the coordinator, or a
        higher level (a leader's office) told of tasks that are not its own."""
        if self.to_coordinator:
            return True
        return self.kind == "escalation" and not any(
            self.recipient == t.lead or self.recipient in t.co_units for t in self.tasks
        )

    @property
    def console_page(self) -> str:
        """The console page a notice to the coordinator opens: the request to decide, the outbox
        with the failed notice, the one task concerned, or else the board."""
        request_id = self.extra.get("request_id")
        if self.kind == "approval_request" and isinstance(request_id, int):
            return f"/requests/{request_id}"
        if self.kind == "delivery_failure" and self.extra.get("failed_id") is not None:
            return "/outbox"
        if self.kind != "digest" and self.plan_id and len(self.tasks) == 1:
            return f"/plans/{quote(self.plan_id, safe='')}/tasks/{int(self.tasks[0].no)}"
        return "/"

    def link_for(
        self, base_url: str, link_days: int, token: Callable[[str], str | None]
    ) -> NoticeLink | None:
        """The link this notice carries: a console page for the coordinator (or a higher level),
        else the recipient's personal page with `token(recipient)` (None: no unit, no link)."""
        site = site_url(base_url)
        if site is None:
            return None
        if self.reads_console:
            return NoticeLink.console(site, self.console_page)
        signed = token(self.recipient)
        return NoticeLink.unit_page(site, signed, link_days) if signed else None

    @property
    def light_counts(self) -> dict[str, int]:
        """How many of the notice's tasks show each light (every light present, zero included)."""
        counts: dict[str, int] = {str(light): 0 for light in LIGHT_LABELS}
        for task in self.tasks:
            counts[task.light] = counts.get(task.light, 0) + 1
        return counts

    @property
    def by_lead(self) -> dict[str, list[int]]:
        """Task numbers per lead unit, in the order units first appear."""
        grouped: dict[str, list[int]] = {}
        for task in self.tasks:
            grouped.setdefault(lead_name(task), []).append(task.no)
        return grouped

    @property
    def lists_units(self) -> bool:
        """The notice lists units, each with its tasks: the coordinator's `progress_missing`
        (DESIGN.md: "one progress_missing notice listing those units")."""
        return self.kind == "progress_missing" and (self.to_coordinator or self.level >= 1)

    def grouped_by_lead(self) -> NoticeContext:
        """A copy whose tasks are ordered unit by unit (units in the order they first appear)."""
        first: dict[str, int] = {}
        for i, task in enumerate(self.tasks):
            first.setdefault(lead_name(task), i)
        ordered = sorted(self.tasks, key=lambda t: first[lead_name(t)])
        return dataclasses.replace(self, tasks=tuple(ordered))

    def template_vars(
        self, *, tasks: tuple[TaskLine, ...] | None = None, part: int = 1, more: int = 0
    ) -> dict[str, Any]:
        """The names templates see.

        `notice.tasks` holds every task of the notice; `tasks` those listed in this message (a
        WeCom message may carry only some), `part` counts the messages and `more` is how many tasks
        are left for the next ones.
        """
        return {
            "notice": self,
            "tasks": list(self.tasks if tasks is None else tasks),
            "extra": self.extra,
            "part": part,
            "more": more,
        }

    def escaped(self, escape: Callable[[str], str]) -> NoticeContext:
        """A copy with every text (tasks, names, extra) passed through `escape`."""
        return _escape_value(self, escape)


def _escape_value(value: Any, escape: Callable[[str], str]) -> Any:
    if isinstance(value, NoticeLink):  # checked when made; escaping would break the address
        return value
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, (date, datetime, int, float, bool)) or value is None:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _escape_value(getattr(value, f.name), escape)
            for f in dataclasses.fields(value)
            if f.name not in CODE_NAMES
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {k: v if k in CODE_NAMES else _escape_value(v, escape) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_escape_value(v, escape) for v in value)
    return value

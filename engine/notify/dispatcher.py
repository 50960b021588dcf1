"""The dispatcher: takes due notices from the outbox, renders and sends them, records the outcome.

One pass claims due rows in batches (a lease, see `queue.py`), drafts each notice in the main
thread (the store is read there) and renders it there or, in a large pass, in renderer processes
beside it (`renderpool.py`), sends them from a small thread pool (network only) and records each
outcome as soon as its send returns, in a thread of its own (`_Recorder`: what came back while it
recorded the last ones goes in its next record, and rendering never waits for the database):

- sent → `sent`, with the time and the provider's answer;
- transient → `failed`, tried again after an exponential backoff with jitter (about 1 minute,
  doubling, at most 1 hour), dead after `MAX_ATTEMPTS`;
- permanent → `dead`, and the plan's coordinator gets a `delivery_failure` notice (never about a
  `delivery_failure` notice itself, so that failures cannot loop); a notice sent to only some of a
  unit's members (wecom_app's `invaliduser`) is `sent`, and the coordinator is told which member
  ids WeCom did not know, once per unit and set of members;
- deferred (a robot's rate limit) → back in the queue at the moment a message may go, no attempt
  counted. The limit is counted in the database (`ratelimit.DatabaseRobotLimiter`), so that it
  holds across instances, and in real time: the wait is added to the business `now`;
- no longer true → `dropped`, never sent, the reason in `error` (`duban outbox` shows it): a 请示
  (`approval_request`) whose request the coordinator decided before it went would still ask them
  to decide it.

Guarantee: at-least-once. A notice is sent again only when the process dies between the provider
accepting it and duban recording that (the claim's lease then runs out and the row is due again);
a WeCom notice of several messages records each message as it is accepted, and resumes after the
last one recorded. Those records commit without waiting for the disk (`Database.write(relaxed=
True)`): a kill of the process loses none; a power cut of the database host may undo the last
moment of them, and those notices go again.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from queue import SimpleQueue
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loguru import logger
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.errors import DubanError
from engine.notify import queue, renderpool
from engine.notify.channels import messenger_channels
from engine.notify.channels.base import Channel, Delivery, Message, Outcome
from engine.notify.compose import NoticeSpec, StoreView, build_context
from engine.notify.directory import contact_of
from engine.notify.ratelimit import DatabaseRobotLimiter, RealClock, RobotLimiter, real_now
from engine.notify.secrets import mask
from engine.store import Database
from engine.store.models import Request
from engine.store.outbox import DROPPED, FAILED, SENT, OutboxNotice

if TYPE_CHECKING:
    from jinja2 import Environment

    from engine.notify.context import NoticeContext
    from engine.notify.render import Rendered

FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 10
"""About seven hours of transient failures (1, 2, 4, … 60, 60 minutes) before a notice is dead."""

_limiters: dict[int, RobotLimiter] = {}


def robot_limiter(per_minute: int) -> RobotLimiter:
    """The process's send windows, for sending without a database: they must outlive one pass
    to count a minute."""
    return _limiters.setdefault(per_minute, RobotLimiter(per_minute))


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """The wait after the `attempts`-th failed attempt: doubling from a minute, capped at an hour,
    times a random factor in [0.8, 1.2) so that notices failing together do not retry together."""
    base = FIRST_RETRY * (2 ** max(0, attempts - 1))
    return min(LAST_RETRY, min(base, LAST_RETRY) * rng.uniform(0.8, 1.2))


class Channels(Mapping[str, Channel]):
    """The configured channels, each made (and its module imported) when a notice first needs
    it: a pass that sends nothing, or only files, does not import requests, and a process
    without robots never starts their clients. Those named in `now` are made at once: a
    channel whose making checks the config (the WeCom application's Secret) fails the start,
    not a notice."""

    def __init__(
        self, makers: Mapping[str, Callable[[], Channel]], now: Iterable[str] = ()
    ) -> None:
        self._makers = dict(makers)
        self._made: dict[str, Channel] = {}
        self._lock = threading.Lock()
        for name in now:
            self[name]

    def __getitem__(self, name: str) -> Channel:
        maker = self._makers[name]  # KeyError for a channel not configured, and only for that
        with self._lock:
            made = self._made.get(name)
            if made is None:
                made = self._made[name] = maker()
            return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)

    def made(self) -> list[Channel]:
        """The channels made so far (the ones to close)."""
        with self._lock:
            return list(self._made.values())


def build_channels(
    settings: Settings, db: Database | None = None, real_clock: RealClock | None = None
) -> Channels:
    """The configured channels. With `db`, each robot's rate limit is counted in the database,
    across every instance that uses it; without, in this process. `real_clock`: the real time
    the limit counts in (default: the wall clock)."""

    def file() -> Channel:
        from engine.notify.channels.file import FileChannel

        return FileChannel(settings.resolve_path(settings.channels.file.dir))

    def wecom() -> Channel:
        from engine.notify.channels.wecom import WecomChannel

        per_minute = settings.channels.wecom.per_robot_per_minute
        limiter = (
            DatabaseRobotLimiter(db, per_minute, clock=real_clock or real_now)
            if db is not None
            else robot_limiter(per_minute)
        )
        return WecomChannel(settings.channels.wecom, limiter, settings.service.timezone)

    def email() -> Channel:
        # smtplib and the email package cost a start ~0.1 s
        from engine.notify.channels.email import EmailChannel

        assert settings.channels.email is not None
        return EmailChannel(settings.channels.email, reuse=True)

    makers: dict[str, Callable[[], Channel]] = {"file": file, "wecom": wecom}
    if settings.channels.email is not None:
        makers["email"] = email
    makers.update(messenger_channels(settings, db, real_clock))
    return Channels(makers, now=("wecom_app",) if "wecom_app" in makers else ())


@dataclass
class DispatchSummary:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    dropped: int = 0
    """Notices no longer true when their time came (a 请示 already decided), not sent."""
    lost_claims: int = 0
    """Rows whose lease another dispatcher took over before the outcome could be recorded."""

    def __str__(self) -> str:
        dropped = f"，不再发送 {self.dropped}" if self.dropped else ""
        return (
            f"发送通知 {self.claimed} 条：成功 {self.sent}，待重试 {self.failed}，"
            f"失败 {self.dead}，限流推迟 {self.deferred}{dropped}"
        )


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        channels: Mapping[str, Channel] | None = None,
        rng: random.Random | None = None,
        workers: int = 8,
        batch: int = 200,
        lease: timedelta = queue.LEASE,
        real_clock: RealClock | None = None,
        renderers: int | None = None,
        render_elsewhere_from: int = renderpool.FROM,
    ) -> None:
        self.db = db
        self.settings = settings
        # the channels this dispatcher made, and so closes (none when they were handed in)
        self.own_channels = None if channels is not None else build_channels(
            settings, db, real_clock
        )
        self.channels: Mapping[str, Channel] = (
            self.own_channels if self.own_channels is not None else dict(channels or {})
        )
        self.rng = rng or random.Random()
        self.workers = workers
        self.batch = batch
        self.lease = lease
        self._env: Environment | None = None
        # processes rendering beside this thread, for a batch of `render_elsewhere_from` notices
        # or more (renderpool.py); None: by the machine's CPUs; 0: never
        self.renderers = renderpool.renderers_for_machine() if renderers is None else renderers
        self.render_elsewhere_from = render_elsewhere_from
        self._pool: renderpool.RenderPool | None = None
        self.rendered_elsewhere = 0
        """How many notices the renderers rendered (for the tests and the benchmarks)."""

    @property
    def env(self) -> Environment:
        """The Jinja environment, made (and jinja2 imported) for the first notice rendered."""
        if self._env is None:
            from engine.notify.render import environment_for

            self._env = environment_for(self.settings)
        return self._env

    def _renderers(self, batch: int) -> renderpool.RenderPool | None:
        """The renderers for a batch of `batch` notices: started for the first that is large
        enough (None: this batch is rendered here)."""
        if self._pool is None:
            if batch < self.render_elsewhere_from or self.renderers < 1 or self.workers == 1:
                return None
            from engine.notify.render import templates_override

            self._pool = renderpool.RenderPool(templates_override(self.settings), self.renderers)
        return None if self._pool.broken else self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self.own_channels is not None:
            for channel in self.own_channels.made():
                channel.close()

    # -- one pass ---------------------------------------------------------------------------

    def dispatch_due(self, now: datetime) -> DispatchSummary:
        summary = DispatchSummary()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="duban-send") as pool:
            while True:
                token = queue.new_token()
                ids = queue.claim(self.db, now, limit=self.batch, token=token, lease=self.lease)
                if not ids:
                    return summary
                summary.claimed += len(ids)
                self._send_batch(pool, ids, token, now, summary)

    def _send_batch(
        self,
        pool: ThreadPoolExecutor,
        ids: list[int],
        token: str,
        now: datetime,
        summary: DispatchSummary,
    ) -> None:
        refused: list[tuple[int, Delivery]] = []
        dropped: list[tuple[int, str]] = []
        prepared: list[tuple[int, Message, Channel]] = []
        sending: list[Future[Delivery]] = []
        # notices handed to the renderers, in the order they were drafted
        rendering: deque[tuple[int, _Draft, Future[Rendered]]] = deque()
        renderers = self._renderers(len(ids))
        # Each outcome is recorded by the recorder's thread as soon as it has come back (with any
        # that came back meanwhile), while this thread renders the next notices: a crash repeats
        # at most the notices in flight, never one whose record had its turn.
        recorder = _Recorder(partial(self._record, token=token, now=now, summary=summary))

        def take(notice_id: int, built: tuple[Message, Channel] | Delivery) -> bool:
            """Send a rendered notice (or keep its refusal); False once nothing more may go."""
            if isinstance(built, Delivery):
                refused.append((notice_id, built))
            elif self.workers == 1:
                prepared.append((notice_id, *built))
            elif recorder.failed:  # the database is gone: send no more than is in flight
                return False
            else:  # sending starts while the rest of the batch is rendered
                future = pool.submit(_send_safely, built[1], built[0], now)
                future.add_done_callback(partial(recorder.returned, notice_id))
                sending.append(future)
            return True

        def took_rendered(wait: bool) -> bool:
            """Take the notices the renderers are done with, in order (with `wait`: all)."""
            if renderers is not None:
                renderers.poll()
            while rendering and (wait or rendering[0][2].done()):
                notice_id, draft, elsewhere = rendering.popleft()
                if renderers is not None and not elsewhere.done():
                    renderers.poll(elsewhere)
                if not take(notice_id, self._finish(notice_id, draft, elsewhere)):
                    return False
            return True

        try:
            for notice_id, drafted in self._prepare(ids, now, token):
                if isinstance(drafted, str):
                    dropped.append((notice_id, drafted))
                    continue
                if isinstance(drafted, Delivery):
                    refused.append((notice_id, drafted))
                    continue
                elsewhere = renderers.submit(drafted.ctx) if renderers is not None else None
                if elsewhere is not None:
                    rendering.append((notice_id, drafted, elsewhere))
                elif not take(notice_id, self._finish(notice_id, drafted)):
                    break
                if not took_rendered(wait=False):
                    break
            else:
                took_rendered(wait=True)
        finally:
            # the sends already made are recorded even when rendering failed; the recorder's own
            # failure (the database gone) is raised once every send has come back
            for future in sending:
                future.exception()  # waits; _send_safely does not raise
            recorder.close()
        if refused:
            self._record(refused, token, now, summary)
        if dropped:
            self._drop(dropped, token, summary)
        # one at a time: each outcome is recorded before the next notice is sent
        for notice_id, message, channel in prepared:
            self._record([(notice_id, _send_safely(channel, message, now))], token, now, summary)

    def _prepare(
        self, ids: list[int], now: datetime, token: str
    ) -> Iterator[tuple[int, _Draft | Delivery | str]]:
        """Draft the batch's notices in one read of the store; a notice that cannot be is
        refused, one no longer true is dropped (the reason, a string)."""
        with self.db.read() as session:
            view = StoreView(session)
            found = {
                row.id: row
                for row in session.scalars(select(OutboxNotice).where(OutboxNotice.id.in_(ids)))
            }
            view.prefetch(NoticeSpec.of_row(row) for row in found.values())
            decided = _decided_requests(session, found.values())
            for row in (found[i] for i in ids if i in found):
                request_id = _request_id(row)
                request = decided.get(request_id) if request_id is not None else None
                if request is not None:
                    yield row.id, self._decided_reason(view, row, request)
                    continue
                try:
                    draft: _Draft | Delivery = self._draft(view, row, now, token)
                except Exception as exc:
                    draft = _refusal(row.id, exc)
                yield row.id, draft

    def _draft(self, view: StoreView, row: OutboxNotice, now: datetime, token: str) -> _Draft:
        channel = self.channels.get(row.channel)
        if channel is None:
            raise DubanError(f"渠道 {row.channel} 未配置（配置文件缺少 [channels.{row.channel}]）")
        ctx = build_context(view, NoticeSpec.of_row(row), self.settings, now)
        plan = view.plan(row.plan_id)
        zone = ZoneInfo(plan.timezone if plan else self.settings.service.timezone)
        contact = contact_of(row.recipient, self.settings)
        message = partial(
            Message,
            notice_id=row.id,
            kind=row.kind,
            recipient=row.recipient,
            send_date=row.send_at.astimezone(zone).date(),
            emails=tuple(contact.email) if contact else (),
            webhook=contact.wecom if contact else None,
            mobiles=tuple(contact.mobiles) if contact else (),
            link=ctx.link.url if ctx.link else None,
            first_part=row.parts_sent or 0,
            on_part=partial(queue.record_part, self.db, row.id, token),
        )
        return _Draft(ctx, channel, message)

    def _finish(
        self, notice_id: int, draft: _Draft, elsewhere: Future[Rendered] | None = None
    ) -> tuple[Message, Channel] | Delivery:
        """The notice's message, rendered here or by a renderer (`elsewhere`), or its refusal."""
        from engine.notify.render import render_notice

        try:
            rendered = None
            if elsewhere is not None:
                rendered = self._rendered_elsewhere(elsewhere)
            if rendered is None:
                rendered = render_notice(draft.ctx, self.env)
        except Exception as exc:
            return _refusal(notice_id, exc)
        message = draft.message(
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            markdown=rendered.markdown,
            card=rendered.card,
        )
        return message, draft.channel

    def _rendered_elsewhere(self, future: Future[Rendered]) -> Rendered | None:
        """What a renderer rendered (raising what rendering raised); None when it died."""
        try:
            rendered = future.result()
        except renderpool.RendererGone as exc:
            if self._pool is not None:
                self._pool.lost(exc)
            return None
        self.rendered_elsewhere += 1
        return rendered

    def _decided_reason(self, view: StoreView, row: OutboxNotice, request: Request) -> str:
        """Why a 请示 is not sent: its request was decided (when, and how) before it went."""
        plan = view.plan(row.plan_id)
        zone = ZoneInfo(plan.timezone if plan else self.settings.service.timezone)
        from engine.notify.render import cn_date

        when = f"于{cn_date(request.decided_at.astimezone(zone))}" if request.decided_at else ""
        decision = _DECISIONS.get(request.state, request.state)
        return f"请示 #{request.id} 已{when}审批（{decision}），不再发送"

    def _drop(self, dropped: list[tuple[int, str]], token: str, summary: DispatchSummary) -> None:
        """Record notices no longer to be sent as `dropped`, with the reason; none is tried."""
        with self.db.transaction() as session:
            held = queue.held_rows(session, [notice_id for notice_id, _ in dropped], token)
            for notice_id, reason in dropped:
                row = held.get(notice_id)
                if row is None:
                    summary.lost_claims += 1
                    logger.warning("通知的发送权已被其他进程接管，结果未记录", notice=notice_id)
                    continue
                row.status, row.error, row.next_attempt_at = DROPPED, reason, None
                row.attempts = max(0, row.attempts - 1)  # nothing was tried
                queue.release(row)
                summary.dropped += 1
                logger.bind(notice=row.id, kind=row.kind, recipient=row.recipient).info(
                    "通知不再发送：{}", reason
                )

    def _record(
        self,
        outcomes: list[tuple[int, Delivery]],
        token: str,
        now: datetime,
        summary: DispatchSummary,
    ) -> None:
        sent = [(i, d) for i, d in outcomes if d.outcome is Outcome.SENT]
        others = [(i, d) for i, d in outcomes if d.outcome is not Outcome.SENT]
        partial = [(i, d) for i, d in sent if _invalid_members(d)]
        if sent and not others and not partial:
            # the common case: one statement on a bare connection, no row loaded, no session;
            # its commit does not wait for the disk (lost only in a power cut: sent again)
            with self.db.write(relaxed=True) as conn:
                self._record_sent(conn, sent, token, now, summary)
            return
        with self.db.transaction() as session:
            if sent:
                self._record_sent(session.connection(), sent, token, now, summary)
                self._report_partial(session, partial, now)
            if not others:
                return
            held = queue.held_rows(session, [notice_id for notice_id, _ in others], token)
            for notice_id, delivery in others:
                row = held.get(notice_id)
                if row is None:
                    summary.lost_claims += 1
                    logger.warning("通知的发送权已被其他进程接管，结果未记录", notice=notice_id)
                    continue
                self._apply(session, row, delivery, now, summary)

    def _record_sent(
        self,
        conn: Connection,
        sent: list[tuple[int, Delivery]],
        token: str,
        now: datetime,
        summary: DispatchSummary,
    ) -> None:
        recorded = queue.record_sent(
            conn, [(i, mask(d.detail), d.parts_sent) for i, d in sent], token, now
        )
        summary.sent += recorded
        summary.lost_claims += len(sent) - recorded
        for notice_id, _ in sent:
            logger.info("通知已发送", notice=notice_id)

    def _report_partial(
        self, session: Session, partial: list[tuple[int, Delivery]], now: datetime
    ) -> None:
        """Notices sent to some of a unit's members only (wecom_app's `invaliduser`, in
        `extra["invalid_users"]`): the coordinator is told, once per unit and set of members."""
        for notice_id, delivery in partial:
            row = session.get(OutboxNotice, notice_id)
            if row is None:
                continue
            unknown = [str(member) for member in _invalid_members(delivery)]
            queue.report_invalid_members(session, row, unknown, self.settings, now)

    def _apply(
        self,
        session: Session,
        row: OutboxNotice,
        delivery: Delivery,
        now: datetime,
        summary: DispatchSummary,
    ) -> None:
        detail = mask(delivery.detail)
        row.parts_sent = max(row.parts_sent or 0, delivery.parts_sent)
        log = logger.bind(
            notice=row.id, kind=row.kind, recipient=row.recipient, channel=row.channel
        )
        if delivery.outcome is Outcome.SENT:
            row.status, row.sent_at, row.provider_response, row.error = SENT, now, detail, None
            row.next_attempt_at = None
            queue.release(row)
            summary.sent += 1
            log.info("通知已发送")
        elif delivery.outcome is Outcome.DEFERRED:
            row.attempts = max(0, row.attempts - 1)  # nothing was tried
            row.next_attempt_at = delivery.retry_at
            queue.release(row)
            summary.deferred += 1
            log.debug("通知因限流推迟", until=delivery.retry_at)
        elif delivery.outcome is Outcome.TRANSIENT and row.attempts < MAX_ATTEMPTS:
            row.status, row.error = FAILED, detail
            row.next_attempt_at = now + backoff(row.attempts, self.rng)
            queue.release(row)
            summary.failed += 1
            log.warning("通知发送失败，将重试：{}", detail, retry_at=row.next_attempt_at)
        else:
            if delivery.outcome is Outcome.TRANSIENT:
                detail = f"{detail}（已重试 {row.attempts} 次，不再重试）"
            queue.mark_dead(row, detail)
            summary.dead += 1
            log.error("通知无法送达：{}", detail)
            queue.report_failure(session, row, detail, self.settings, now)


_DECISIONS = {"approved": "批准", "rejected": "驳回"}


@dataclass(frozen=True)
class _Draft:
    """A notice ready to be rendered: its context, its channel, and its message but the parts
    rendering gives (`message(subject=…, text=…, …)`)."""

    ctx: NoticeContext
    channel: Channel
    message: Callable[..., Message]


def _refusal(notice_id: int, exc: Exception) -> Delivery:
    """The outcome of a notice that could not be drafted or rendered: permanent for a reason
    duban gives (a template an operator got wrong, a channel not configured), else a fault of
    ours, logged, retried and dead in the end."""
    if isinstance(exc, DubanError):
        return Delivery.permanent(mask(exc))
    logger.opt(exception=exc).error("生成通知时出错", notice=notice_id)
    return Delivery.transient(mask(f"生成通知时出错：{type(exc).__name__}: {exc}"))


def _invalid_members(delivery: Delivery) -> list[object]:
    """The member ids a notice could not reach though it was sent (wecom_app), or []."""
    members = delivery.extra.get("invalid_users")
    return members if isinstance(members, list) else []


def _request_id(row: OutboxNotice) -> int | None:
    """The request a 请示 asks the coordinator to decide, or None for any other notice."""
    if row.kind != "approval_request":
        return None
    request_id = (row.context or {}).get("request_id")
    return request_id if isinstance(request_id, int) else None


def _decided_requests(session: Session, rows: Iterable[OutboxNotice]) -> dict[int, Request]:
    """The requests among those the batch's 请示 ask about that are no longer pending, by id."""
    ids = {i for i in map(_request_id, rows) if i is not None}
    if not ids:
        return {}
    found = session.scalars(
        select(Request).where(Request.id.in_(ids), Request.state != "pending")
    )
    return {request.id: request for request in found}


class _Recorder:
    """A thread recording the outcomes of a batch's sends as they come back: each time it is
    free, all that came back meanwhile, in one record (one statement for the sent ones). The
    thread rendering the batch is not held by the database's round trips. A record that fails
    (the database gone) stops the recording: the rest stay claimed and are sent again once their
    lease runs out; `close` raises the failure."""

    def __init__(self, record: Callable[[list[tuple[int, Delivery]]], None]) -> None:
        self._record = record
        self._came: SimpleQueue[tuple[int, Delivery] | None] = SimpleQueue()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="duban-record", daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        """Whether a record failed: what is sent from now on could not be recorded."""
        return self._failure is not None

    def returned(self, notice_id: int, future: Future[Delivery]) -> None:
        """A send's done-callback (in the sending thread)."""
        self._came.put((notice_id, future.result()))

    def _run(self) -> None:
        ended = False
        while not ended:
            outcomes: list[tuple[int, Delivery]] = []
            item = self._came.get()
            while True:
                if item is None:
                    ended = True
                else:
                    outcomes.append(item)
                if ended or self._came.empty():
                    break
                item = self._came.get_nowait()
            if outcomes and self._failure is None:
                try:
                    self._record(outcomes)
                except BaseException as exc:  # raised by close, in the dispatching thread
                    self._failure = exc

    def close(self) -> None:
        """Once every send has come back: wait for their records; raise a record's failure."""
        self._came.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure


def _send_safely(channel: Channel, message: Message, now: datetime) -> Delivery:
    """A channel must not raise; if one does anyway, the notice is retried, not lost."""
    try:
        return channel.send(message, now)
    except Exception as exc:  # recorded as a transient failure, never dropped
        return Delivery.transient(mask(f"发送时出错：{type(exc).__name__}: {exc}"))


def dispatch_due(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    channels: Mapping[str, Channel] | None = None,
    rng: random.Random | None = None,
    workers: int = 8,
    real_clock: RealClock | None = None,
    renderers: int | None = None,
) -> DispatchSummary:
    """Send every notice due at `now`; returns what happened (see the module's docstring).
    `renderers`: processes rendering beside (renderpool.py; None: by the machine, 0: none)."""
    dispatcher = Dispatcher(
        db,
        settings,
        channels=channels,
        rng=rng,
        workers=workers,
        real_clock=real_clock,
        renderers=renderers,
    )
    try:
        return dispatcher.dispatch_due(now)
    finally:
        dispatcher.close()

"""The service: each tick reads the store, plans the notices due, writes them to the outbox and
lets the dispatcher send them; `serve()` runs ticks on APScheduler until SIGTERM or SIGINT.

APScheduler holds nothing of ours: its one job lives in memory and is recreated at every start,
coalesced (missed ticks after a suspend run once), never two at a time. The planner decides from
the store alone, so a restart loses nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from loguru import logger
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from engine.clock import Clock, FixedClock, SystemClock
from engine.config import Settings
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.deadline import Deadline, DeadlineKind, Milestone
from engine.errors import DubanError, UserError
from engine.model.plan import Status
from engine.notify.directory import reach
from engine.planner import (
    Contact,
    PlannedNotice,
    PlanState,
    Policy,
    SentIndex,
    Snapshot,
    TaskState,
    plan_digests,
    plan_notices,
)
from engine.planner.decide import is_planning_time
from engine.planner.delta import EVERY_TASK, Mark, Scope, calendar_span, fingerprint, scope
from engine.planner.digest import DIGEST, PLAN_WIDE
from engine.planner.snapshot import task_key
from engine.store import Database
from engine.store.calendar_days import Calendars
from engine.store.instances import beat, leave, register
from engine.store.members import one_of
from engine.store.models import Plan, ProgressReport, Task, TaskUnit, Unit
from engine.store.outbox import OutboxNotice, enqueue, mark_sent, prune_keys, sent_keys
from engine.store.revision import (
    PRUNED_ON,
    claim_daily,
    current_revision,
    marked_dues,
    read_mark,
    write_mark,
)


def make_calendar(settings: Settings) -> WorkCalendar:
    return WorkCalendar(settings.calendar.extra_holidays, settings.calendar.extra_workdays)


def make_policy(settings: Settings) -> Policy:
    return Policy.from_settings(settings.policy, settings.service.timezone)


# --- the snapshot the planner reads ------------------------------------------------------------


def read_snapshot(
    session: Session,
    settings: Settings,
    scope: Scope | None = None,
    plan_ids: Sequence[str] | None = None,
) -> Snapshot:
    """Plans and the tasks still in their plan files, with units, reports and contacts: every
    task, or (a `scope` that is not full) only those the pass must look at; of every plan, or of
    the plans `plan_ids` only."""
    zone = ZoneInfo(settings.service.timezone)
    plan_query = select(Plan.id, Unit.name).outerjoin(Unit, Plan.coordinator_id == Unit.id)
    if plan_ids is not None:
        plan_query = plan_query.where(Plan.id.in_(plan_ids))
    plans = [PlanState(found, coordinator) for found, coordinator in session.execute(plan_query)]
    columns = (Task.id, Task.plan_id, Task.no, Task.status, Task.deadline_text,
               Task.deadline_kind, Task.due, Task.milestones, Task.rrule, Task.start,
               Task.created_at)
    # Only the columns the planner reads: not the texts, which are most of a task's weight.
    query = select(*columns).where(Task.in_plan.is_(True))
    partial = scope is not None and not scope.full
    if partial:
        assert scope is not None
        query = query.where(_in_scope(scope))
    if plan_ids is not None:
        query = query.where(Task.plan_id.in_(plan_ids))
    rows = session.execute(query).all()
    # a part of the tasks: their units and reports by their ids (one_of: few queries)
    chosen = [row.id for row in rows] if partial or plan_ids is not None else None
    units = _task_units(session, chosen)
    reports = _latest_reports(session, chosen)
    tasks = []
    for row in rows:
        roles = units.get(row.id, [])
        lead = next((name for role, name in roles if role == "lead"), None)
        tasks.append(
            TaskState(
                plan_id=row.plan_id,
                no=row.no,
                lead=lead,
                co_units=tuple(name for role, name in roles if role != "lead"),
                status=row.status,
                deadline=_deadline(row),
                tracked_since=row.created_at.astimezone(zone).date(),
                last_reports=reports.get(row.id, {}),
            )
        )
    names = {p.coordinator for p in plans if p.coordinator}
    for task in tasks:
        names.update(task.co_units)
        if task.lead:
            names.add(task.lead)
    for step in settings.policy.escalation:
        names.update(step.recipients)
    return Snapshot(plans, tasks, contacts(names, settings))


_SEVERAL_DUES = (DeadlineKind.MILESTONES.value, DeadlineKind.RECURRING.value)


def _in_scope(scope: Scope) -> Any:
    """The tasks a partial pass reads (engine.planner.delta): due on a fresh day, changed since
    the mark, or with several due dates."""
    wanted = [Task.revision > scope.changed_after, Task.deadline_kind.in_(_SEVERAL_DUES)]
    if scope.dues:
        wanted.append(Task.due.in_(scope.dues))
    return or_(*wanted)


def _task_units(session: Session, ids: list[int] | None) -> dict[int, list[tuple[str, str]]]:
    """Each task's units as (role, name) in order: of every task, or of the tasks `ids`."""
    query = (
        select(TaskUnit.task_id, TaskUnit.role, Unit.name)
        .join(Unit, TaskUnit.unit_id == Unit.id)
        .order_by(TaskUnit.task_id, TaskUnit.position)
    )
    units: dict[int, list[tuple[str, str]]] = {}
    queries = (
        [query] if ids is None
        else [query.where(c) for c in one_of(session, TaskUnit.task_id, ids)]
    )
    for chosen in queries:
        for task_id, role, name in session.execute(chosen):
            units.setdefault(task_id, []).append((role, name))
    return units


def _latest_reports(session: Session, ids: list[int] | None) -> dict[int, dict[str, datetime]]:
    """Each unit's latest progress report per task: of every task, or of the tasks `ids`."""
    query = (
        select(ProgressReport.task_id, Unit.name, func.max(ProgressReport.at))
        .join(Unit, ProgressReport.unit_id == Unit.id)
        .group_by(ProgressReport.task_id, Unit.name)
    )
    queries = (
        [query] if ids is None
        else [query.where(c) for c in one_of(session, ProgressReport.task_id, ids)]
    )
    reports: dict[int, dict[str, datetime]] = {}
    for chosen in queries:
        for task_id, name, at in session.execute(chosen):
            reports.setdefault(task_id, {})[name] = _aware(at)
    return reports


def _open_dues(session: Session) -> list[date]:
    """The distinct due dates of the open tasks whose deadline is chased (one row per day)."""
    query = (
        select(Task.due)
        .where(
            Task.in_plan.is_(True),
            Task.status.in_(_CHASED_STATUSES),
            Task.deadline_kind.in_((DeadlineKind.DATE.value, DeadlineKind.MILESTONES.value)),
            Task.due.is_not(None),
        )
        .group_by(Task.due)
    )
    return list(session.scalars(query))


_CHASED_STATUSES = (Status.NOT_STARTED.value, Status.IN_PROGRESS.value)


def contacts(names: Iterable[str], settings: Settings) -> dict[str, Contact]:
    found = {}
    for name in names:
        unit = reach(name, settings)
        found[name] = Contact(unit.channels, unit.missing)
    return found


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _deadline(row: Any) -> Deadline:
    milestones = tuple(
        Milestone(m["text"], date.fromisoformat(m["due"])) for m in row.milestones or ()
    )
    return Deadline(
        text=row.deadline_text,
        kind=DeadlineKind(row.deadline_kind),
        due=row.due,
        milestones=milestones,
        rrule=row.rrule,
        start=row.start,
    )


# --- one tick ----------------------------------------------------------------------------------


@dataclass
class TickSummary:
    at: datetime
    planned: list[OutboxNotice] = field(default_factory=list)
    dispatch: Any = None
    """The dispatcher's summary (engine.notify.dispatcher.DispatchSummary)."""


LONG_PAST = timedelta(days=365)
"""A plan whose open tasks were all due more than this long ago is named at start."""

CLOCK_SLACK = timedelta(minutes=10)
"""How far a host's clock may lag the last planning pass before `run` refuses to start."""

# Any constant that no other application on the server uses: "duban" in ASCII.
_PLANNING_LOCK = 0x647562616E


def planning_lock(session: Session) -> None:
    """Several instances on one PostgreSQL plan one at a time: the lock is held until the
    transaction ends, so the next planner reads the keys this one wrote and plans nothing twice.
    (SQLite takes its single write lock at the first write; there the unique keys suffice.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PLANNING_LOCK})


@dataclass
class PassResult:
    """What one planner pass wrote, and what it read to decide it."""

    rows: list[OutboxNotice]
    scope: Scope
    tasks_read: int = 0


def plan_and_enqueue(
    database: Database,
    settings: Settings,
    now: datetime,
    calendar: WorkCalendar,
    policy: Policy,
    *,
    simulated: bool = False,
    sent: SentIndex | None = None,
) -> list[OutboxNotice]:
    """One planner pass: decide and write to the outbox in one transaction (`plan_pass`)."""
    return plan_pass(database, settings, now, calendar, policy, simulated=simulated,
                     sent=sent).rows


def plan_pass(
    database: Database,
    settings: Settings,
    now: datetime,
    calendar: WorkCalendar,
    policy: Policy,
    *,
    simulated: bool = False,
    sent: SentIndex | None = None,
) -> PassResult:
    """One planner pass: decide and write to the outbox in one transaction.

    It reads only the tasks that fell due or changed since the last pass, and their keys
    (engine.planner.delta), and marks the pass in the same transaction.
    `simulated`: the rows are recorded as sent at once and not logged (the simulator's copy).
    `sent`: the outbox's keys, kept by a caller that alone writes to this outbox (the simulator)
    and grown here by what this pass enqueues; else they are read from the outbox.
    """
    if not is_planning_time(now, policy, calendar):
        # notices and digests are decided only on working days from send_at
        return PassResult([], Scope(False, reason="not a planning time"))
    today = now.astimezone(policy.timezone).date()
    with database.transaction() as session:
        planning_lock(session)
        revision = current_revision(session)  # before any task is read (engine.store.revision)
        stored = read_mark(session)
        # no task changed since the marked pass: the due dates it read (a GROUP BY over every
        # open task, 0.6 s at 1,000,000 tasks, otherwise)
        dues = marked_dues(stored, revision)
        if dues is None:
            dues = _open_dues(session)
        print_ = fingerprint(policy, calendar, *calendar_span(today, dues))
        mark = Mark(stored.day, stored.revision, stored.fingerprint) if stored else None
        # A caller that keeps its own index of every key (the simulator) reads every task.
        chosen = scope(mark, today, policy, calendar, dues, print_) if sent is None else EVERY_TASK
        rows: list[OutboxNotice] = []
        read = 0
        for snapshot, index in _pieces(session, settings, chosen, sent):
            notices: list[PlannedNotice] = plan_notices(snapshot, now, policy, calendar, index)
            digests = plan_digests(snapshot, now, policy, calendar, index)
            notices.extend(with_digest_content(session, settings, digests, now))
            added = enqueue(session, notices, now)
            _list_digest_tasks(added, notices)
            for notice in notices:
                for key in notice.keys:
                    index.add(key)
            rows.extend(added)
            read += len(snapshot.tasks)
        write_mark(session, now, revision, print_, policy.timezone, dues)
        result = PassResult(rows, chosen, read)
        if simulated:
            mark_sent(session, rows, now)
            return result
        logger.bind(read=read, full=chosen.full).debug(
            "本轮检查读取任务 {} 项（{}）", read,
            "全部任务" if chosen.full else "到期或有变化的任务",
        )
        for row in rows:
            logger.bind(
                notice=row.id, kind=row.kind, recipient=row.recipient, channel=row.channel,
                level=row.level, tasks=",".join(map(str, row.tasks)), plan=row.plan_id,
            ).info("已生成通知")
        return result


def _pieces(
    session: Session, settings: Settings, chosen: Scope, sent: SentIndex | None
) -> Iterator[tuple[Snapshot, SentIndex]]:
    """What a pass plans, in pieces, each with the keys already sent of its tasks.

    A pass reading every task (no mark yet, another calendar or policy) reads a few whole plans
    at a time (PIECE_TASKS), each piece with its own keys: the memory it takes is a piece's, not
    a province's (2.6 GB at 1,000,000 tasks in one piece). That is the same plan: each notice
    and digest the planner makes is of one plan (tests/test_planner_delta.py compares a run of
    such passes with passes reading one piece). A partial pass is one piece, with the keys of
    the tasks it read; the simulator's is one piece of every task, with the index of every key
    it keeps (`sent`).
    """
    if sent is not None:
        yield read_snapshot(session, settings, chosen), sent
        return
    if not chosen.full:
        snapshot = read_snapshot(session, settings, chosen)
        yield snapshot, SentIndex(sent_keys(session, _refs(snapshot)))
        return
    for plan_ids in _plan_groups(session):
        snapshot = read_snapshot(session, settings, chosen, plan_ids=plan_ids)
        yield snapshot, SentIndex(sent_keys(session, _refs(snapshot)))


PIECE_TASKS = 50_000
"""The most tasks a piece of a full pass holds, unless one plan alone has more (about 130 MB)."""
PIECE_PLANS = 500
"""The most plans a piece holds (their ids are parameters of its queries)."""


def _plan_groups(session: Session) -> list[list[str]]:
    """Every plan, in groups of whole plans of at most PIECE_TASKS tasks together (a plan with
    more is a group of its own) and PIECE_PLANS plans."""
    counts = dict(
        session.execute(
            select(Task.plan_id, func.count()).where(Task.in_plan.is_(True)).group_by(Task.plan_id)
        ).all()
    )
    groups: list[list[str]] = []
    size = 0
    for (plan_id,) in session.execute(select(Plan.id).order_by(Plan.id)):
        count = counts.get(plan_id, 0)
        if not groups or size + count > PIECE_TASKS or len(groups[-1]) >= PIECE_PLANS:
            groups.append([])
            size = 0
        groups[-1].append(plan_id)
        size += count
    return groups


def _refs(snapshot: Snapshot) -> list[str]:
    """The tasks whose keys a piece needs: its tasks, and its plans' plan-wide notices."""
    return [t.key for t in snapshot.tasks] + [
        task_key(plan_id, PLAN_WIDE) for plan_id in snapshot.plans
    ]


def with_digest_content(
    session: Session, settings: Settings, notices: list[PlannedNotice], now: datetime
) -> list[PlannedNotice]:
    """The planner decides that a plan's digest is due; what it says is read here, at `now`, in
    the transaction that enqueues it: the figures (`context`) and the overdue tasks (`tasks`)."""
    if not any(n.kind == DIGEST for n in notices):
        return notices
    from engine.ledger.query import digest_of  # the ledger's writers are only needed here

    contents: dict[str, dict[str, Any]] = {}
    out = []
    for notice in notices:
        if notice.kind == DIGEST:
            if notice.plan_id not in contents:
                contents[notice.plan_id] = digest_of(
                    session, plan_id=notice.plan_id, now=now, settings=settings
                )
            content = contents[notice.plan_id]
            overdue = tuple(row["no"] for row in content["overdue"])
            notice = dataclasses.replace(notice, tasks=overdue, context=content)
        out.append(notice)
    return out


def _list_digest_tasks(rows: list[OutboxNotice], notices: list[PlannedNotice]) -> None:
    """`enqueue` lists the task numbers of a notice's keys; a digest's one key is plan-wide
    (task 0), so its row lists the overdue tasks instead, worst first."""
    digests = {n.dedupe_key: n for n in notices if n.kind == DIGEST}
    for row in rows:
        if row.kind == DIGEST and row.dedupe_key in digests:
            row.tasks = list(digests[row.dedupe_key].tasks)


class Service:
    """The planner and the dispatcher on one clock, one database and one set of settings."""

    def __init__(
        self, settings: Settings, database: Database, clock: Clock, real: Clock | None = None
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.real = real or SystemClock()
        """Real time, for what is mechanical: leases, retries, the robots' rate limit."""
        self._real_start = self.real.now()
        self.zone = ZoneInfo(settings.service.timezone)
        # The imported holiday notices too (engine.store.calendar_days), followed when they change.
        self.calendars = Calendars(database, settings)
        self.calendar = self.calendars.current()
        self.policy = make_policy(settings)
        self._warned = 0
        self._pruned_on: date | None = None
        self.instance_id: str | None = None
        """This process in the instance table while it serves (engine.store.instances)."""

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.zone)

    def queue_now(self, now: datetime) -> datetime:
        """The moment the outbox is worked at: the business `now`, moved on by the real time
        since start while a fixed clock (`--now`) holds the business day still — so that a
        trial service still retries, takes over dead instances' leases and drains what the rate
        limit put off (DESIGN.md: mechanical time is real elapsed time)."""
        if isinstance(self.clock, FixedClock):
            return now + max(self.real.now() - self._real_start, timedelta(0))
        return now

    def tick(self, now: datetime | None = None) -> TickSummary:
        """One planner pass and one dispatch pass at `now` (default: the clock; the dispatch
        then at `queue_now`)."""
        from engine.notify.dispatcher import dispatch_due

        outbox_now = now or self.queue_now(self.now())
        now = now or self.now()
        summary = TickSummary(now)
        calendar = self.calendars.current()  # a notice imported while the service runs
        if calendar is not self.calendar:
            self.calendar, self._warned = calendar, 0
        summary.planned = plan_and_enqueue(
            self.database, self.settings, now, self.calendar, self.policy
        )
        self.log_calendar_warnings()
        summary.dispatch = dispatch_due(
            self.database, self.settings, outbox_now, real_clock=self.real.now
        )
        email = self.settings.channels.email
        if email is not None and email.imap_host:  # imaplib and the reply reader only then
            from engine.notify.replies import poll_replies

            poll_replies(self.database, self.settings, now)  # logs, never raises
        self.prune_daily(now)
        return summary

    def prune_daily(self, now: datetime) -> None:
        """Once a day (the first tick of each business day), forget the superseded dedupe keys
        (engine.store.outbox.prune_keys)."""
        today = now.astimezone(self.zone).date()
        if self._pruned_on == today:
            return
        with self.database.transaction() as session:
            # Once a day for the database, not per process: a `run --once` every few minutes
            # from cron, or three instances, read the keys once a day between them.
            due = claim_daily(session, PRUNED_ON, today)
            pruned = prune_keys(session, today) if due else 0
        self._pruned_on = today
        if pruned:
            logger.info("已清理 {} 条不再需要的通知去重记录", pruned)

    def safe_tick(self) -> None:
        """A tick for the scheduler: a failure is logged and the next tick tries again."""
        from engine.sdnotify import notify

        try:
            if self.instance_id:
                beat(self.database, self.instance_id)
            self.tick()
        except Exception as exc:  # the service must outlive one bad tick
            logger.opt(exception=exc).error("本轮督办检查失败，将在下一轮重试：{}", exc)
        finally:
            notify("WATCHDOG=1")  # a tick that hangs stops these, and systemd restarts duban

    def log_calendar_warnings(self) -> None:
        """Each year without official holiday data is said once."""
        for warning in self.calendar.warnings[self._warned :]:
            logger.warning(warning)
        self._warned = len(self.calendar.warnings)

    def next_send_time(self, now: datetime | None = None) -> datetime:
        """When notices next go out: today's send_at if still ahead on a working day, else the
        next working day's."""
        local = (now or self.now()).astimezone(self.zone)
        today = local.date()
        if self.calendar.is_workday(today) and local.time() < self.policy.send_at:
            return self.policy.send_time(today)
        return self.policy.send_time(self.calendar.next_workday(today))

    def describe_start(self) -> list[str]:
        """What a person starting the service wants to see: what, where, when."""
        with self.database.read() as session:
            plans, tasks = session.execute(
                select(func.count(), func.coalesce(func.sum(Plan.task_count), 0))
            ).one()
        now = self.now()
        # Touch this year and next so that a year without official data is said at start.
        for year in (now.year, now.year + 1):
            self.calendar.is_workday(date(year, 1, 1))
        channels = ["文件（" + str(self.settings.resolve_path(self.settings.channels.file.dir))
                    + "）"]
        if self.settings.channels.email:
            channels.append(f"电子邮件（{self.settings.channels.email.host}）")
        units = self.settings.units.values()
        if any(c.wecom for c in units):
            channels.append("企业微信群机器人")
        if self.settings.channels.wecom_app and any(c.wecom_users for c in units):
            channels.append(f"企业微信应用消息（应用 {self.settings.channels.wecom_app.agent_id}）")
        if any(c.dingtalk for c in units):
            channels.append("钉钉群机器人")
        if any(c.feishu for c in units):
            channels.append("飞书群机器人")
        lines = [
            f"已载入计划 {plans} 个、任务 {tasks} 项；数据库 {self.database.display_url}",
            f"通知渠道：{'、'.join(channels)}",
            f"下一批通知发送时间：{self.next_send_time(now).isoformat(timespec='minutes')}",
        ]
        # Started after today's send_at on a working day, the first pass sends today's notices
        # at once: say so, or "next batch: tomorrow" reads as if nothing goes out now.
        local = now.astimezone(self.zone)
        if self.calendar.is_workday(local.date()) and local.time() >= self.policy.send_at:
            lines.append(
                f"今日发送时间 {self.policy.send_at:%H:%M} 已过，今日应发的通知现在补发"
            )
        return lines

    def long_past_plans(self) -> list[str]:
        """A line for each plan whose dated deadlines all lie more than LONG_PAST before today
        while tasks are still open: its first pass will chase every one of them as years
        overdue (the bundled seed plan on a fresh clone), which is rarely what is meant. Once
        the database has had a pass, only the tasks added since count."""
        today = self.now().date()
        open_statuses = (Status.NOT_STARTED.value, Status.IN_PROGRESS.value)
        query = (
            select(Task.plan_id, func.max(Task.due), func.count())
            .where(Task.in_plan.is_(True), Task.due.is_not(None), Task.status.in_(open_statuses))
            .group_by(Task.plan_id)
        )
        with self.database.read() as session:
            mark = read_mark(session)
            if mark is not None:
                # After a pass, only the tasks added since are still to be chased for the first
                # time; with none (the revision unchanged) there is nothing to read.
                if current_revision(session) == mark.revision:
                    return []
                query = query.where(Task.revision > mark.revision, Task.created_at > mark.at)
            rows = session.execute(query).all()
        lines = []
        for plan_id, latest, count in rows:
            if latest is not None and latest < today - LONG_PAST:
                lines.append(
                    f"计划 {plan_id} 尚未完成的 {count} 项任务完成时限均已过去很久（最晚为 "
                    f"{latest:%Y年%-m月%-d日}，距今 {(today - latest).days} 天），本次运行将按逾期"
                    "发送催办和升级通知；如只想查看该计划按时推进时会发出哪些通知，请用 duban "
                    "simulate，或用 --db 指定试用数据库、--now 指定当年的日期回放"
                )
        return lines

    def load_plans(self) -> None:
        """Load every plan file of the plan folder (engine.plans), saying what was loaded."""
        from engine.plans import summary_lines, sync_plans

        sync = sync_plans(self.database, self.settings, self.now())
        for line in summary_lines(sync):
            logger.info(line)
        for error in sync.errors:  # one bad file does not stop the others
            logger.error("{}；该计划沿用上次载入的内容", error)

    def refuse_an_earlier_moment(self) -> None:
        """Refuse to start at a business moment before the last planning pass this database
        recorded: a trial `--now` left pointing at the real database would write notices of the
        past into its outbox. (Hosts' clocks may differ a little: CLOCK_SLACK is allowed.)"""
        with self.database.read() as session:
            mark = read_mark(session)
        now = self.now()
        if mark is None or now >= mark.at - CLOCK_SLACK:
            return
        last = mark.at.astimezone(self.zone).isoformat(timespec="minutes")
        raise UserError(
            f"数据库 {self.database.display_url} 已于 {last} 做过督办检查，晚于本次运行的时间 "
            f"{now.isoformat(timespec='minutes')}（--now、DUBAN_NOW 或系统时钟）；为免把过去的通知"
            "写入正式发件箱，已拒绝运行。试运行请用 --db 另指一个数据库，或使用 duban simulate"
        )

    def start(self) -> None:
        """At start: load the plans, then say what runs, where notices go, and when."""
        self.refuse_an_earlier_moment()
        self.load_plans()
        for line in self.describe_start():
            logger.info(line)
        for line in self.long_past_plans():
            logger.warning(line)
        self.log_calendar_warnings()
        email = self.settings.channels.email
        if email is None:
            return
        from engine.notify.channels.email import plaintext_login_problem  # only with e-mail

        plaintext = plaintext_login_problem(email)
        if plaintext:  # it still sends: a relay inside the network may be meant, doctor says more
            logger.warning(plaintext)

    def serve(self) -> int:
        """Run ticks every `service.tick_seconds` until SIGTERM or SIGINT; returns the exit code."""
        from apscheduler.events import EVENT_SCHEDULER_STARTED
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        from engine.sdnotify import notify, watchdog_seconds

        scheduler = BlockingScheduler(
            jobstores={"default": MemoryJobStore()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=self.zone,
        )
        seconds = self.settings.service.tick_seconds
        watchdog = watchdog_seconds()
        if watchdog is not None and seconds * 2 > watchdog:
            logger.warning("systemd 的 WatchdogSec（{} 秒）应大于 service.tick_seconds 的两倍，"
                           "否则服务会被误判为无响应而重启", watchdog)
        scheduler.add_job(
            self.safe_tick,
            IntervalTrigger(seconds=seconds, timezone=self.zone),
            id="tick",
            name="督办检查",
            next_run_time=datetime.now(self.zone) + timedelta(milliseconds=10),
            replace_existing=True,
        )
        stopping: list[int] = []

        def shut_down(signum: int) -> None:
            notify("STOPPING=1")
            logger.info("收到信号 {}，等待当前检查结束后停止", signal.Signals(signum).name)
            if scheduler.running:
                scheduler.shutdown(wait=True)

        def stop(signum: int, _frame: FrameType | None) -> None:
            # A signal handler interrupts the main thread anywhere, even inside a log call: it
            # only hands the shutdown to a thread, which logs and waits like any other code.
            if stopping:
                return
            stopping.append(signum)
            threading.Thread(target=shut_down, args=(signum,), name="duban-stop").start()

        def started(_event: object) -> None:
            # Said from inside start(), once the scheduler can be shut down: a signal that came
            # earlier stops it here, one that comes later stops it in `stop`.
            if stopping:
                scheduler.shutdown(wait=False)
                return
            logger.info("督办服务已启动，每 {} 秒检查一次（SIGTERM 或 Ctrl-C 停止）", seconds)
            notify("READY=1", f"STATUS=运行中，每 {seconds} 秒检查一次")

        scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            self.instance_id = register(self.database, seconds)
            logger.info("本实例 {} 已登记（duban doctor 列出运行中的实例）", self.instance_id)
            scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.instance_id:
                with contextlib.suppress(DubanError):  # a database gone away: doctor says so
                    leave(self.database, self.instance_id)
                self.instance_id = None
        logger.info("督办服务已停止")
        return 0

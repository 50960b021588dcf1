"""Three `duban run` processes on one PostgreSQL, killed with SIGKILL while they plan and send.

Real processes, a real PostgreSQL (the one scripts/test.sh starts) and a loopback WeCom server;
nothing is mocked and nothing sleeps: the test waits on lines of the processes' stderr, on
messages reaching the server and on rows of the database.

The business clock is fixed by `--now` on a day with many notices (a first pass on 2021-06-28
after loading on 2021-06-01). A claim's lease is counted on that clock, so the rows a killed
instance held are due again only for an instance whose clock is past the lease: each restart
after a kill is therefore a new "phase" whose clock is one lease later (the survivors are stopped
with SIGTERM and started again on it, so that no live instance's claims are ever taken over).
The rate limit is counted in real time; the robots are shared by several units each.

Asserted too: a kill repeats at most the messages a dispatcher had in flight (its WORKERS
sends, and those that came back while it recorded an outcome or rendered the next notice); a
robot gets at most 20 messages in any minute (counted at the server over 59 s windows: a message
admitted at the end of a minute may arrive a few milliseconds after the next one's start).
The outbox's clock is the business clock moved on by real time, so a notice the rate limit put
off goes out in the same phase; a dead instance's leases (10 minutes) are passed by the next
phase's clock.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import NullPool, create_engine, func, select, text
from sqlalchemy.orm import Session
from support.postgres import scratch_database
from support.wecom import Received, WecomServer, channel_toml

from engine.actions.loading import load_plan
from engine.config import load_settings
from engine.notify.dispatcher import dispatch_due
from engine.notify.queue import LEASE
from engine.notify.ratelimit import WINDOW
from engine.planfile import read_plan
from engine.service import make_calendar, make_policy, plan_and_enqueue
from engine.store import open_database
from engine.store.outbox import SENT, NoticeKeyRecord, OutboxNotice
from tests.conftest import SEED_PLAN

pytestmark = pytest.mark.postgres

READY = "督办服务已启动"
TICK_FAILED = "本轮督办检查失败"
ZONE = ZoneInfo("Asia/Shanghai")
LOADED = datetime(2021, 6, 1, 9, 0, tzinfo=ZONE)
NOW = datetime(2021, 6, 28, 9, 30, tzinfo=ZONE)  # a catch-up first pass: 28 notices at once
PHASE = LEASE + timedelta(seconds=1)  # a restart's clock: the dead instance's leases have passed
ROBOTS = 6
WORKERS = 8  # the dispatcher's thread pool
PER_MINUTE = 20
SEEDS = (12, 2, 6)
"""The kill schedules tried: 2 and 6 kill a second instance while it still starts (32 seeds
were run once, all passing)."""
DRAINS = 12  # restarts on a later clock for the notices the rate limit put off (at most)
WAIT = 30.0  # the bound of every wait (seconds); none is reached when all goes well


def seed_units() -> list[str]:
    doc = yaml.safe_load(SEED_PLAN.read_text("utf-8"))
    names = {doc["plan"]["coordinator"]}
    for task in doc["tasks"]:
        names.update([task["lead"], *(task.get("co_units") or [])] if task.get("lead") else [])
    return sorted(names)


def write_config(folder: Path, server: WecomServer) -> Path:
    """Every unit of the seed plan on WeCom, the 25 units sharing ROBOTS robots."""
    lines = ["[service]", "tick_seconds = 1", "", channel_toml(timeout_seconds=5),
             "[channels.file]", f'dir = "{folder / "outbox"}"', ""]
    for i, unit in enumerate(seed_units()):
        lines += [f'[units."{unit}"]', f'wecom = "{server.url(f"chaos-robot-{i % ROBOTS}")}"']
    path = folder / "duban.toml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def header(content: str) -> str:
    """What tells a notice from another in a message: its title and recipient lines (the rest
    may differ between two sends of one notice: a link is signed at the moment of sending)."""
    return "\n".join(content.splitlines()[:2])


# --- the loopback robot, recording when each message came ---------------------------------------


class Arrivals(list[Received]):
    """`WecomServer.received`, with the real moment of each message and a hook called in the
    server's handler thread once a message is accepted, before the answer goes back."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.hook: Any = None

    def append(self, item: Received) -> None:
        with self.lock:
            super().append(item)
            self.times.append(time.monotonic())
            count = len(self)
        if self.hook is not None:
            self.hook(count)


def max_in_a_minute(times: list[float], window: float = 60) -> int:
    """The most messages in any `window` seconds of real time."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- instances --------------------------------------------------------------------------------


@dataclass
class Instance:
    name: str
    clock: datetime
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    ready_or_ended: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, name: str, clock: datetime, config: Path, url: str, cwd: Path) -> Instance:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        env.update(DUBAN_CONFIG=str(config), DUBAN_DATABASE_URL=url,
                   DUBAN_WEB_SECRET="chaos-test-signing-secret-0123456789abcdef")
        process = subprocess.Popen(
            [sys.executable, "-m", "engine", "--now", clock.isoformat(), "run"],
            cwd=cwd, env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        instance = cls(name, clock, process)
        threading.Thread(target=instance._read, daemon=True).start()
        return instance

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if READY in line:
                self.ready.set()
                self.ready_or_ended.set()
        self.process.stderr.close()
        self.ended.set()
        self.ready_or_ended.set()

    def wait_ready(self, trigger: Trigger | None = None) -> None:
        """Until the instance says it is running; or, with `trigger`, until it has ended killed
        by it: the messages of the instances already running may fire it while this one still
        starts, and its second victim is any instance, whatever it is doing."""
        self.ready_or_ended.wait(WAIT)
        killed = trigger is not None and any(v is self for v in trigger.victims)
        assert self.ready.is_set() or (killed and self.ended.is_set()), (
            f"{self.name} was not ready:\n{self.said}"
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def said(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: the instance finishes its tick, records every outcome, and leaves."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=WAIT)
        self.ended.wait(WAIT)

    def reap(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait(timeout=WAIT)
        self.ended.wait(WAIT)


def connected(instances: list[Instance], port: int) -> list[Instance]:
    """The instances holding a TCP connection to the robot server at this moment (Linux /proc):
    the ones sending in this phase."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(f"socket:[{fields[9]}]")
    found = []
    for instance in instances:
        folder = Path(f"/proc/{instance.process.pid}/fd")
        try:
            links = {os.readlink(folder / fd) for fd in os.listdir(folder)}
        except OSError:
            continue
        if links & inodes:
            found.append(instance)
    return found


def wait_for(check: Any, what: str, timeout: float = WAIT) -> Any:
    """Poll the database (or anything) until `check()` is truthy, at most `timeout` seconds."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.1)


# --- what the database holds ------------------------------------------------------------------


def outbox(url: str) -> list[OutboxNotice]:
    database = open_database(url)
    try:
        with database.read() as session:
            return list(session.scalars(select(OutboxNotice).order_by(OutboxNotice.id)))
    finally:
        database.close()


def key_rows(url: str) -> list[tuple[str, int]]:
    database = open_database(url)
    try:
        with database.read() as session:
            return [(k, n) for k, n in session.execute(
                select(NoticeKeyRecord.key, NoticeKeyRecord.notice_id))]
    finally:
        database.close()


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def identity(row: OutboxNotice) -> tuple[Any, ...]:
    return (row.recipient, row.kind, row.channel, row.level, tuple(row.tasks), row.dedupe_key)


@dataclass
class Alone:
    """What one instance alone plans, on a SQLite copy of the same data, and what it sends."""

    rows: list[tuple[Any, ...]]
    keys: list[str]
    headers: dict[tuple[str, str], str]
    """(recipient, kind) → the header of its message."""


def plan_alone(folder: Path, config: Path, server: WecomServer, clocks: list[datetime]) -> Alone:
    settings = load_settings(config)
    database = open_database(f"sqlite:///{folder / 'alone.db'}")
    try:
        load_plan(database, read_plan(SEED_PLAN), settings, LOADED)
        calendar, policy = make_calendar(settings), make_policy(settings)
        first = plan_and_enqueue(database, settings, clocks[0], calendar, policy)
        later = [plan_and_enqueue(database, settings, c, calendar, policy) for c in clocks[1:]]
        assert not any(later), "the later phases' clocks plan more: the test would not know them"
        with database.read() as session:
            keys = list(session.scalars(select(NoticeKeyRecord.key).order_by(NoticeKeyRecord.id)))
        # sent one at a time, in the order claimed: the n-th message is the n-th row
        before = len(server.received)
        summary = dispatch_due(database, settings, clocks[0], workers=1)
        assert summary.sent == len(first), summary
        sent = server.received[before:]
        order = sorted(first, key=lambda r: (r.send_at, r.id))
        headers = {(r.recipient, r.kind): header(m.content) for r, m in zip(order, sent,
                                                                            strict=True)}
        assert all(f"**{r}**" in h for (r, _), h in headers.items())
        assert len(set(headers.values())) == len(first), "two notices read alike"
        return Alone([identity(r) for r in first], keys, headers)
    finally:
        database.close()


def check_outbox_whole(url: str, alone: Alone) -> list[OutboxNotice]:
    """Each notice planned once: the rows one instance alone plans, each with its keys."""
    rows = outbox(url)
    keys = key_rows(url)
    assert sorted(identity(r) for r in rows) == sorted(alone.rows)
    assert len({r.dedupe_key for r in rows}) == len(rows)
    assert sorted(k for k, _ in keys) == sorted(alone.keys)  # each key once
    ids = {r.id for r in rows}
    assert {n for _, n in keys} == ids  # no row without its keys, no key without its row
    return rows


# --- the chaos test ---------------------------------------------------------------------------


@dataclass
class Kill:
    phase: int
    victims: list[str]
    held: list[tuple[str, str]] = field(default_factory=list)
    """(recipient, kind) of the rows the killed instances still held, unrecorded."""
    in_flight: int = 0
    """Of those, how many the robot server had accepted: the messages a restart may repeat."""


class Trigger:
    """Called by the robot server for each message it accepts: once `target` messages have come,
    SIGKILL the instance sending (or, when none is connected, any), and sometimes another one,
    before the answer to that message goes back."""

    def __init__(self, live: list[Instance], port: int, target: int, rng: random.Random) -> None:
        self.live, self.port, self.target = live, port, target
        # drawn now, so that the schedule does not depend on timing
        self.pick, self.second, self.other = rng.random(), rng.random() < 1 / 3, rng.random()
        self.victims: list[Instance] = []
        self.fired = threading.Event()
        self.failure: BaseException | None = None
        self.lock = threading.Lock()

    def __call__(self, count: int) -> None:
        with self.lock:
            if self.fired.is_set() or count < self.target:
                return
            try:
                senders = connected(self.live, self.port) or self.live
                self.victims.append(senders[int(self.pick * len(senders))])
                if self.second:  # another one too, whatever it is doing
                    rest = [i for i in self.live if i is not self.victims[0]]
                    self.victims.append(rest[int(self.other * len(rest))])
                for victim in self.victims:
                    victim.kill()
            except BaseException as exc:  # said by the test, not lost in the server's thread
                self.failure = exc
            self.fired.set()


def settled(url: str, expected: int, clock: datetime) -> bool:
    """Every row sent, or put off beyond `clock` and held by nobody."""
    rows = outbox(url)
    return len(rows) == expected and all(
        r.status == SENT or (r.claimed_by is None and r.next_attempt_at is not None
                             and aware(r.next_attempt_at) > clock)
        for r in rows
    )


def window_wait(url: str, clock: datetime) -> float:
    """Real seconds from the start of the phase on `clock` until the first row put off may go:
    its time beyond the clock (a rate limit's wait, at most a window; a retry's backoff is left
    to the next phase's clock)."""
    put_off = [aware(r.next_attempt_at) - clock for r in outbox(url)
               if r.status != SENT and r.next_attempt_at is not None]
    return min([*put_off, WINDOW]).total_seconds()


def all_sent(url: str, expected: int) -> bool:
    rows = outbox(url)
    return len(rows) == expected and all(r.status == SENT for r in rows)


KILLS = 3
"""Kills a run must get through to count (see the test)."""
ATTEMPTS = 3
"""Runs of a schedule at most, until one gets through `KILLS` kills."""


@pytest.mark.parametrize("seed", SEEDS)
def test_instances_killed_at_random_deliver_every_notice_planned_once(
    tmp_path: Path, seed: int
) -> None:
    # Every run must deliver each notice planned once, repeats within what was in flight, and
    # keep every robot's limit (`run_schedule`). A run must also get through KILLS kills or more to
    # count: the survivors of a kill finish their tick, and if they held most of the outbox
    # (which instance claimed what is a matter of timing) they send it all, and the schedule
    # ends early (once in CI, at seed 2). Such a run is run again, never counted as a pass.
    kills_made = []
    for attempt in range(ATTEMPTS):
        folder = tmp_path / f"run-{attempt}"
        folder.mkdir()
        kills_made.append(len(run_schedule(folder, seed)))
        if kills_made[-1] >= KILLS:
            break
    assert kills_made[-1] >= KILLS, kills_made  # the schedule was not cut short every time


def run_schedule(tmp_path: Path, seed: int) -> list[Kill]:
    """Three instances killed and restarted by the schedule of `seed`, then checked: the kills
    made."""
    rng = random.Random(seed)
    kills_wanted = rng.randint(4, 6)
    clocks = [NOW + PHASE * p for p in range(kills_wanted + 1 + DRAINS)]
    everyone: list[Instance] = []
    kills: list[Kill] = []
    phase_start: list[int] = []
    phase_at: list[float] = []
    drains = 0
    with WecomServer() as server, scratch_database("duban_chaos") as url:
        config = write_config(tmp_path, server)
        alone = plan_alone(tmp_path, config, server, clocks)
        arrivals = Arrivals()
        server.received = arrivals
        database = open_database(url)
        load_plan(database, read_plan(SEED_PLAN), load_settings(config), LOADED)
        database.close()

        def start_phase(p: int) -> list[Instance]:
            phase_start.append(len(arrivals))
            phase_at.append(time.monotonic())
            started = [Instance.start(f"p{p}-{i}", clocks[p], config, url, tmp_path)
                       for i in range(3)]
            everyone.extend(started)
            return started

        try:
            live = start_phase(0)
            for p in range(kills_wanted):
                trigger = Trigger(live, server.port, len(arrivals) + rng.randint(1, 4), rng)
                arrivals.hook = trigger
                for instance in live:
                    instance.wait_ready(trigger)
                trigger(len(arrivals))  # the messages may have come while they were starting
                wait_for(lambda t=trigger: t.fired.is_set() or all_sent(url, len(alone.rows)),
                         f"kill {p + 1} or the end of the outbox")
                arrivals.hook = None
                assert trigger.failure is None, trigger.failure
                if not trigger.fired.is_set():
                    break  # everything was delivered before the schedule's end
                for victim in trigger.victims:
                    victim.reap()
                    assert victim.process.returncode == -signal.SIGKILL
                for instance in live:
                    instance.stop()  # the survivors finish their tick: what is held is the dead's
                # the claims made in this phase: the outbox's clock is the phase's, moved on by
                # the real seconds the phase has run (a fixed --now does not hold it still)
                lease = clocks[p] + LEASE
                held = [(r.recipient, r.kind) for r in outbox(url)
                        if r.claimed_by is not None and r.status != SENT
                        and r.lease_until is not None
                        and lease <= aware(r.lease_until) < lease + PHASE]
                kills.append(Kill(p, [v.name for v in trigger.victims], held))
                live = start_phase(p + 1)
            p = len(phase_start) - 1
            while True:
                for instance in live:
                    instance.wait_ready()
                wait_for(lambda p=p: settled(url, len(alone.rows), clocks[p]),
                         "every notice sent or put off by the rate limit")
                for instance in live:
                    instance.stop()
                if all_sent(url, len(alone.rows)):
                    break
                # Put off by a robot's limit, a row is due again at this phase's fixed clock
                # plus the real wait, so never for an instance on this clock: a later one,
                # started once that wait has passed in real time (the limiter counts real
                # seconds: one started sooner finds the robot's window still full).
                drains += 1
                assert drains <= DRAINS, "the rate limit put notices off too many times"
                opens = phase_at[p] + window_wait(url, clocks[p])
                wait_for(lambda opens=opens: time.monotonic() >= opens,
                         "the robots' windows to open", WINDOW.total_seconds() + WAIT)
                p += 1
                phase_start.append(len(arrivals))
                phase_at.append(time.monotonic())
                live = [Instance.start(f"p{p}-drain", clocks[p], config, url, tmp_path)]
                everyone.extend(live)
        finally:
            arrivals.hook = None
            for instance in everyone:
                instance.reap()
        phase_start.append(len(arrivals))
        phase_at.append(time.monotonic())
        check_outbox_whole(url, alone)

    # no instance failed a tick (three planning at once without the lock fail on a unique key)
    for instance in everyone:
        assert TICK_FAILED not in instance.said and "Traceback" not in instance.said, (
            instance.name + ":\n" + instance.said)
        if instance.process.returncode != -signal.SIGKILL:
            assert instance.process.returncode == 0, instance.said

    # every notice delivered; one came again only if it was in flight at a kill, once per kill
    got = Counter(header(m.content) for m in arrivals)
    assert set(got) == set(alone.headers.values())
    may_repeat: Counter[str] = Counter()
    for kill in kills:
        came = {header(m.content)
                for m in arrivals[phase_start[kill.phase]:phase_start[kill.phase + 1]]}
        in_flight = [alone.headers[h] for h in kill.held if alone.headers[h] in came]
        kill.in_flight = len(in_flight)
        may_repeat.update(in_flight)
    for h, n in got.items():
        assert n - 1 <= may_repeat[h], (h, n, may_repeat[h])
    repeats = sum(got.values()) - len(got)
    assert repeats <= sum(k.in_flight for k in kills)
    # each kill repeats at most what the dispatcher had in flight: its workers' sends, and those
    # that came back while an outcome was being recorded or the next notice rendered (9 seen;
    # before outcomes were recorded during rendering, 18 from one kill)
    assert all(k.in_flight <= 2 * WORKERS for k in kills), [k.in_flight for k in kills]

    by_robot: dict[str, list[float]] = {}
    for message, moment in zip(arrivals, arrivals.times, strict=True):
        by_robot.setdefault(message.key, []).append(moment)
    busiest = {robot: max_in_a_minute(times) for robot, times in by_robot.items()}
    print(f"\nchaos seed {seed}: {len(alone.rows)} notices, {len(arrivals)} messages, "
          f"{repeats} repeats; "
          + "; ".join(f"kill {n} ({'+'.join(k.victims)}): held {len(k.held)}, "
                      f"in flight {k.in_flight}" for n, k in enumerate(kills, 1))
          + f"; most to one robot in 60 s {max(busiest.values())}; {drains} restarts for"
          " notices put off by the rate limit; phases "
          + ", ".join(f"{b - a:.1f} s" for a, b in itertools.pairwise(phase_at)))
    # each robot's limit, across the instances, in real time at the server: at most 20 in any
    # minute (59 s windows: the moment between admitting a message and its arrival)
    for robot, times in by_robot.items():
        assert max_in_a_minute(times, 59) <= PER_MINUTE, (robot, max_in_a_minute(times, 59))
    return kills


# --- killed inside the planner's transaction --------------------------------------------------


def test_an_instance_killed_inside_the_planners_transaction_leaves_no_half_written_outbox(
    tmp_path: Path,
) -> None:
    with WecomServer() as server, scratch_database("duban_chaos_plan") as url:
        config = write_config(tmp_path, server)
        alone = plan_alone(tmp_path, config, server, [NOW])
        arrivals = Arrivals()
        server.received = arrivals
        database = open_database(url)
        load_plan(database, read_plan(SEED_PLAN), load_settings(config), LOADED)
        database.close()

        # Another transaction holds, uncommitted, the last key the planner will write: the
        # planner inserts its outbox rows and keys and then waits on that key's unique index.
        engine = create_engine(url, poolclass=NullPool)
        blocker = Session(engine)
        instances: list[Instance] = []
        try:
            blocker.add(OutboxNotice(
                plan_id=None, kind="blocker", recipient="-", channel="file", tasks=[],
                occurrence="", dedupe_key="chaos-test-blocker", context={}, send_at=NOW,
                status=SENT, attempts=0, created_at=NOW,
                keys=[NoticeKeyRecord(key=alone.keys[-1])],
            ))
            blocker.flush()
            mine = blocker.execute(text("SELECT pg_backend_pid()")).scalar_one()
            victim = Instance.start("planner", NOW, config, url, tmp_path)
            instances.append(victim)

            def waiting_planner() -> int | None:
                # a backend of the victim waiting on a lock, having written into both tables
                with engine.connect() as conn:
                    return conn.execute(text(
                        "SELECT a.pid FROM pg_stat_activity a WHERE a.datname = current_database()"
                        " AND a.pid <> :mine AND a.wait_event_type = 'Lock'"
                        " AND (SELECT count(DISTINCT c.relname) FROM pg_locks l"
                        "      JOIN pg_class c ON c.oid = l.relation WHERE l.pid = a.pid"
                        "      AND l.mode = 'RowExclusiveLock'"
                        "      AND c.relname IN ('outbox', 'notice_key')) = 2"
                    ), {"mine": mine}).scalar()

            backend = wait_for(waiting_planner, "the planner to wait inside its transaction")
            victim.kill()
            victim.reap()
            assert victim.process.returncode == -signal.SIGKILL
            blocker.rollback()  # the dead planner's transaction can now end: it is rolled back

            def gone() -> bool:
                with engine.connect() as conn:
                    return not conn.execute(text(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = :pid AND state <> 'idle'"
                    ), {"pid": backend}).first()

            wait_for(gone, "the dead planner's backend to end its transaction")
            with engine.connect() as conn:
                written = conn.execute(select(func.count()).select_from(OutboxNotice)).scalar()
                keys = conn.execute(select(func.count()).select_from(NoticeKeyRecord)).scalar()
            assert (written, keys) == (0, 0), "the killed planner left part of its pass"
            assert arrivals == []

            # restarted, three instances plan everything exactly once and send it
            restarted = [Instance.start(f"restart-{i}", NOW, config, url, tmp_path)
                         for i in range(3)]
            instances.extend(restarted)
            for instance in restarted:
                instance.wait_ready()
            wait_for(lambda: (rows := outbox(url)) and len(rows) == len(alone.rows)
                     and all(r.status == SENT for r in rows), "every notice sent")
            for instance in restarted:
                instance.stop()
                assert instance.process.returncode == 0, instance.said
                assert TICK_FAILED not in instance.said, instance.said
        finally:
            blocker.close()
            engine.dispose()
            for instance in instances:
                instance.reap()
        check_outbox_whole(url, alone)
        got = Counter(header(m.content) for m in arrivals)
        assert got == Counter(alone.headers.values())  # each once: nothing was in flight


def test_the_windows_are_counted_as_they_should_be() -> None:
    assert max_in_a_minute([0, 1, 59.9, 60, 120]) == 3
    assert max_in_a_minute([]) == 0
    assert max_in_a_minute([0, 1, 59.9, 60, 120], 59) == 2


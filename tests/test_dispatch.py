"""The dispatcher on a real SQLite outbox and a loopback WeCom server."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from support.notices import NOW, database_with_plan, queue, row, rows, settings_for
from support.wecom import WecomServer

from engine.config import Settings
from engine.notify import queue as outbox_queue
from engine.notify.channels.file import FileChannel
from engine.notify.channels.wecom import WecomChannel
from engine.notify.dispatcher import MAX_ATTEMPTS, backoff, dispatch_due
from engine.notify.ratelimit import RobotLimiter
from engine.store.outbox import DEAD, FAILED, PENDING, SENT

KEY = "robot-key-for-fgj-7f3e"
SFJ_KEY = "robot-key-for-sfj-1c9b"
REAL_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def server():
    with WecomServer() as srv:
        yield srv


@pytest.fixture
def setup(tmp_path, server):
    settings = settings_for(
        tmp_path,
        {
            "市发改局": {"wecom": server.url(KEY)},
            "市司法局": {"file": True},
            "市商务局": {"wecom": server.url("robot-key-for-swj-22aa")},
        },
    )
    db = database_with_plan(tmp_path, settings)
    yield db, settings
    db.close()


def channels_for(settings: Settings, per_minute: int = 20):
    """Fresh channels (a fresh rate limiter: the process-wide one would carry across tests),
    the limiter's real time standing still so that its waits are exact."""
    limiter = RobotLimiter(per_minute, clock=lambda: REAL_NOW)
    return {
        "wecom": WecomChannel(settings.channels.wecom, limiter),
        "file": FileChannel(settings.resolve_path(settings.channels.file.dir)),
    }


def dispatch(db, settings, now, *, per_minute: int = 20, rng=None):
    channels = channels_for(settings, per_minute)
    try:
        return dispatch_due(db, settings, now, channels=channels, rng=rng or random.Random(1))
    finally:
        for channel in channels.values():
            channel.close()


def test_due_notices_are_sent_and_recorded(setup, server):
    db, settings = setup
    (due,) = queue(db, settings)
    (later,) = queue(db, settings, occurrence="later", at=NOW + timedelta(hours=1))
    summary = dispatch(db, settings, NOW)
    assert (summary.claimed, summary.sent) == (1, 1)
    sent = row(db, due)
    assert sent.status == SENT and sent.sent_at == NOW and sent.attempts == 1
    assert "errcode=0" in (sent.provider_response or "")
    assert sent.claimed_by is None and sent.parts_sent == 1
    assert row(db, later).status == PENDING
    (message,) = server.received
    assert "任务到期提醒" in message.content and "统筹谋划体系建设" in message.content


def test_a_transient_failure_is_retried_after_a_jittered_backoff(setup, server):
    db, settings = setup
    (notice,) = queue(db, settings)
    server.answer(45009)
    summary = dispatch(db, settings, NOW, rng=random.Random(7))
    assert summary.failed == 1
    failed = row(db, notice)
    assert failed.status == FAILED and failed.attempts == 1
    assert "45009" in (failed.error or "") and KEY not in (failed.error or "")
    expected = backoff(1, random.Random(7))
    assert failed.next_attempt_at == NOW + expected
    assert timedelta(seconds=48) <= expected <= timedelta(seconds=72)
    # not before its time
    assert dispatch(db, settings, NOW + timedelta(seconds=30)).claimed == 0
    assert dispatch(db, settings, failed.next_attempt_at).sent == 1
    assert row(db, notice).status == SENT and row(db, notice).attempts == 2


class _NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 1.0


def test_backoff_doubles_from_a_minute_and_stops_at_an_hour():
    minutes = [backoff(n, _NoJitter()) / timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    spread = {backoff(3, random.Random(seed)) for seed in range(20)}
    assert len(spread) > 1 and all(
        timedelta(minutes=3.2) <= d <= timedelta(minutes=4.8) for d in spread
    )


def test_a_permanent_failure_goes_dead_and_tells_the_coordinator(setup, server, tmp_path):
    db, settings = setup
    (notice,) = queue(db, settings)
    server.answer(93000)
    summary = dispatch(db, settings, NOW)
    assert (summary.dead, summary.sent) == (1, 1)  # the failure report went out in the same pass
    dead = row(db, notice)
    assert dead.status == DEAD and "93000" in (dead.error or "") and KEY not in dead.error
    report = next(r for r in rows(db) if r.kind == "delivery_failure")
    assert (report.recipient, report.channel, report.status) == ("市司法局", "file", SENT)
    assert report.context["failed_id"] == notice
    text = next((tmp_path / "outbox").rglob("*delivery_failure*.txt")).read_text(encoding="utf-8")
    assert f"通知编号{notice}" in text and "93000" in text and "市发改局" in text
    assert KEY not in text


def test_a_failure_report_that_fails_is_not_reported(tmp_path, server):
    settings = settings_for(
        tmp_path,
        {"市发改局": {"wecom": server.url(KEY)}, "市司法局": {"wecom": server.url(SFJ_KEY)}},
    )
    db = database_with_plan(tmp_path, settings)
    queue(db, settings)
    server.answer(93000, 93000)
    dispatch(db, settings, NOW)
    kinds = sorted((r.kind, r.status) for r in rows(db))
    assert kinds == [("delivery_failure", DEAD), ("reminder", DEAD)]
    db.close()


def test_transient_failures_go_dead_after_the_last_attempt(setup, server):
    db, settings = setup
    (notice,) = queue(db, settings)
    with db.transaction() as session:
        from engine.store.outbox import OutboxNotice

        session.get(OutboxNotice, notice).attempts = MAX_ATTEMPTS - 1
    server.answer(-1)
    summary = dispatch(db, settings, NOW)
    assert summary.dead == 1
    dead = row(db, notice)
    assert dead.status == DEAD and "不再重试" in (dead.error or "")
    assert any(r.kind == "delivery_failure" for r in rows(db))


def test_two_dispatchers_never_claim_the_same_row(setup):
    db, settings = setup
    queue(db, settings)
    queue(db, settings, "市商务局", tasks=(4,))
    first = outbox_queue.claim(db, NOW, limit=10, token="first")
    second = outbox_queue.claim(db, NOW, limit=10, token="second")
    assert len(first) == 2 and second == []


def test_a_row_held_by_a_dispatcher_that_died_is_sent_once_its_lease_passes(setup, server):
    db, settings = setup
    (notice,) = queue(db, settings)
    assert outbox_queue.claim(db, NOW, limit=10, token="died") == [notice]
    assert dispatch(db, settings, NOW + timedelta(minutes=1)).claimed == 0
    summary = dispatch(db, settings, NOW + outbox_queue.LEASE + timedelta(seconds=1))
    assert summary.sent == 1
    assert row(db, notice).attempts == 2  # the lost attempt is counted
    assert len(server.received) == 1


def test_the_robot_rate_limit_defers_without_counting_an_attempt(setup, server):
    db, settings = setup
    ids = [queue(db, settings, occurrence=f"o{n}")[0] for n in range(3)]
    summary = dispatch(db, settings, NOW, per_minute=2)
    assert (summary.sent, summary.deferred) == (2, 1)
    deferred = next(row(db, i) for i in ids if row(db, i).status == PENDING)
    assert deferred.attempts == 0
    assert deferred.next_attempt_at == NOW + timedelta(minutes=1)
    assert len(server.received) == 2


def test_a_broken_template_override_makes_the_notice_dead(tmp_path, server):
    override = tmp_path / "templates"
    (override / "reminder").mkdir(parents=True)
    (override / "reminder" / "subject.txt.j2").write_text("{{ notice.nonexistent }}")
    settings = settings_for(tmp_path, {"市发改局": {"wecom": server.url(KEY)}})
    settings = settings.model_copy(
        update={"templates": settings.templates.model_copy(update={"dir": str(override)})}
    )
    db = database_with_plan(tmp_path, settings)
    (notice,) = queue(db, settings)
    assert dispatch(db, settings, NOW).dead == 1
    assert "reminder/subject.txt.j2" in (row(db, notice).error or "")
    assert server.received == []
    db.close()


def test_a_request_and_its_decision_notify_coordinator_and_unit(setup):
    from engine.actions.tasks import decide, request_transition
    from engine.model.plan import Status

    db, settings = setup
    request_id = request_transition(
        db,
        plan_id=None,
        no=1,
        unit="市发改局",
        to=Status.IN_PROGRESS,
        reason="已启动起草",
        now=NOW,
        settings=settings,
    )
    (asked,) = [r for r in rows(db) if r.kind == "approval_request"]
    assert (asked.recipient, asked.channel, asked.tasks) == ("市司法局", "file", [1])
    assert asked.context["request_reason"] == "已启动起草"
    decide(
        db,
        request_id=request_id,
        by="市司法局",
        approve=False,
        reason="请补充材料",
        now=NOW,
        settings=settings,
    )
    (told,) = [r for r in rows(db) if r.kind == "approval_decision"]
    assert (told.recipient, told.channel) == ("市发改局", "wecom")
    assert told.context["decision"] == "rejected"
    assert told.context["decision_reason"] == "请补充材料"


@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")
def test_an_email_notice_arrives_rendered_from_the_store(tmp_path, monkeypatch):
    from support.smtp import SmtpServer

    smtp = SmtpServer("none", tmp_path, username="duban@example.gov.cn", password="pw-7788").start()
    monkeypatch.setenv("DUBAN_TEST_PW", "pw-7788")
    try:
        email = {
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "username": "duban@example.gov.cn",
            "password_env": "DUBAN_TEST_PW",
            "from": "珠海市司法局督办系统 <duban@example.gov.cn>",
            "timeout_seconds": 5,
        }
        settings = settings_for(
            tmp_path, {"市发改局": {"email": ["fgj@example.gov.cn"]}}, email=email
        )
        db = database_with_plan(tmp_path, settings)
        (notice,) = queue(db, settings, kind="overdue", tasks=(1,), at=NOW + timedelta(days=10))
        summary = dispatch_due(db, settings, NOW + timedelta(days=10), rng=random.Random(1))
        assert summary.sent == 1
        (got,) = smtp.received
        mail = got.message
        assert mail["Subject"] == "关于“统筹谋划体系建设”任务逾期未完成的督办通知"
        assert mail["From"].addresses[0].display_name == "珠海市司法局督办系统"
        text = mail.get_body(("plain",)).get_content()
        assert "已逾期3天" in text and "督办灯：红灯" in text
        assert "<table" in mail.get_body(("html",)).get_content()
        assert "queued as DUBAN42" in (row(db, notice).provider_response or "")
        db.close()
    finally:
        smtp.stop()


@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")
def test_a_pass_sends_its_emails_over_kept_connections_and_quits_them(tmp_path, monkeypatch):
    from support.smtp import SmtpServer

    with SmtpServer("none", tmp_path, username="duban@example.gov.cn", password="pw") as smtp:
        monkeypatch.setenv("DUBAN_TEST_PW", "pw")
        email = {
            "host": "127.0.0.1", "port": smtp.port, "security": "none",
            "username": "duban@example.gov.cn", "password_env": "DUBAN_TEST_PW",
            "from": "督办系统 <duban@example.gov.cn>", "timeout_seconds": 5,
        }
        units = ("市发改局", "市司法局", "市财政局", "市人社局", "市住建局", "市商务局")
        contacts = {unit: {"email": [f"unit{i}@example.gov.cn"]} for i, unit in enumerate(units)}
        settings = settings_for(tmp_path, contacts, email=email)
        db = database_with_plan(tmp_path, settings)
        queued = [i for unit in units for i in queue(db, settings, unit, tasks=(1, 2))]
        summary = dispatch_due(db, settings, NOW, rng=random.Random(1), workers=2)
        assert summary.sent == len(queued) == len(units)
        assert sorted(got.rcpt_tos[0] for got in smtp.received) == sorted(
            f"unit{i}@example.gov.cn" for i in range(len(units))
        )
        # two senders: at most two connections, each logged in once, and both ended by the pass
        assert 1 <= smtp.connections <= 2, smtp.connections
        assert smtp.handler.quits == smtp.connections
        db.close()


def test_a_notice_that_cannot_be_built_is_retried_not_stuck(setup, monkeypatch):
    from engine.notify import dispatcher as module

    db, settings = setup
    (notice,) = queue(db, settings)

    def broken(*args, **kwargs):
        raise RuntimeError("store read failed")

    monkeypatch.setattr(module, "build_context", broken)
    assert dispatch(db, settings, NOW).failed == 1
    failed = row(db, notice)
    assert failed.status == FAILED and "RuntimeError: store read failed" in (failed.error or "")
    assert failed.claimed_by is None and failed.next_attempt_at > NOW


def test_an_outcome_is_recorded_while_the_next_notice_is_still_rendered(setup, monkeypatch):
    # The rendering of the second notice waits (at most 10 s) until the first one's outcome has
    # been recorded: were outcomes recorded only by the thread that renders, between two
    # notices, it would wait in vain, and a crash then would repeat a message already sent.
    from engine.notify import dispatcher as module

    db, settings = setup
    (first,) = queue(db, settings, "市司法局")
    (second,) = queue(db, settings, "市司法局", occurrence="2021-06-30/T-3")
    recorded = threading.Event()
    record = module.Dispatcher._record

    def noting(self, outcomes, *args, **kwargs):
        record(self, outcomes, *args, **kwargs)  # returns once its transaction has committed
        if any(notice_id == first for notice_id, _ in outcomes):
            recorded.set()

    draft = module.Dispatcher._draft
    waited: list[bool] = []

    def held(self, view, notice, now, token):
        if notice.id == second:
            waited.append(recorded.wait(10))
            waited.append(row(db, first).status == SENT)  # committed, read on another connection
        return draft(self, view, notice, now, token)

    monkeypatch.setattr(module.Dispatcher, "_record", noting)
    monkeypatch.setattr(module.Dispatcher, "_draft", held)
    assert dispatch(db, settings, NOW).sent == 2
    assert waited == [True, True]
    assert {row(db, first).status, row(db, second).status} == {SENT}


def test_once_an_outcome_cannot_be_recorded_nothing_more_is_sent(setup, monkeypatch, tmp_path):
    # The database fails as the first outcome is recorded: the second notice, rendered after
    # that, is not sent (its outcome could not be recorded either: a restart would send it
    # again), and the failure is raised, one line, once the send in flight has come back.
    from engine.errors import ServiceError
    from engine.notify import dispatcher as module

    db, settings = setup
    ids = [queue(db, settings, "市司法局", occurrence=f"2021-06-30/T-{n}")[0] for n in (7, 3, 1)]
    failed = threading.Event()

    def failing(self, conn, sent, *args, **kwargs):
        raise ServiceError("数据库 sqlite:///duban.db 无法连接")

    class Noting(module._Recorder):
        """The recorder, telling the test once it holds the failure (not merely once the
        database raised it: the dispatcher can only stop after that)."""

        @property
        def _failure(self):
            return self.__dict__.get("failure")

        @_failure.setter
        def _failure(self, value):
            self.__dict__["failure"] = value
            if value is not None:
                failed.set()

    draft = module.Dispatcher._draft

    def after_the_failure(self, view, notice, now, token):
        if notice.id != ids[0]:
            assert failed.wait(10)
        return draft(self, view, notice, now, token)

    monkeypatch.setattr(module, "_Recorder", Noting)
    monkeypatch.setattr(module.Dispatcher, "_record_sent", failing)
    monkeypatch.setattr(module.Dispatcher, "_draft", after_the_failure)
    with pytest.raises(ServiceError, match="无法连接"):
        dispatch(db, settings, NOW)
    written = sorted(p.name for p in (tmp_path / "outbox").rglob("*.txt"))
    assert len(written) == 1 and written[0].startswith(f"{ids[0]}-")
    assert [row(db, i).status for i in ids] == [PENDING] * 3  # held by the claim's lease

"""WeCom @-mentions only for the kinds that call for them, against a loopback robot.

A mention is a second message: it counts against the robot's 20 a minute and pings the group, so
by default only overdue and escalation notices carry one (`[channels.wecom] mention_kinds`).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.notices import NOW, database_with_plan, queue, row, settings_for
from support.wecom import WecomServer

from engine.config import WecomSettings, load_settings
from engine.errors import UserError
from engine.notify.channels.base import Message
from engine.notify.channels.file import FileChannel
from engine.notify.channels.wecom import WecomChannel
from engine.notify.dispatcher import dispatch_due
from engine.notify.ratelimit import RobotLimiter
from engine.store.outbox import SENT

KEY = "robot-key-for-fgj-7f3e"
MOBILE = "13800000000"
REAL_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def server():
    with WecomServer() as srv:
        yield srv


def send(server: WecomServer, kind: str, **settings) -> list[str]:
    """The message types the robot received for one notice of `kind` to a unit with a mobile."""
    channel = WecomChannel(
        WecomSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=0.5, **settings),
        RobotLimiter(20, clock=lambda: REAL_NOW),
    )
    message = Message(
        notice_id=7, kind=kind, recipient="市发改局", subject="通知",
        markdown=("### 督办通知\n**市发改局**：",), webhook=server.url(KEY), mobiles=(MOBILE,),
    )
    try:
        assert channel.send(message, NOW).ok
    finally:
        channel.close()
    types = [r.payload["msgtype"] for r in server.received]
    server.received.clear()
    return types


def test_by_default_only_overdue_and_escalation_mention_the_mobiles(server):
    assert WecomSettings().mention_kinds == ["overdue", "escalation"]
    for kind in ("reminder", "progress_request", "progress_missing", "approval_request", "digest"):
        assert send(server, kind) == ["markdown"], kind
    for kind in ("overdue", "escalation"):
        assert send(server, kind) == ["markdown", "text"], kind


def test_the_kinds_that_mention_are_configurable(server):
    assert send(server, "reminder", mention_kinds=["reminder"]) == ["markdown", "text"]
    assert send(server, "overdue", mention_kinds=["reminder"]) == ["markdown"]
    assert send(server, "escalation", mention_kinds=[]) == ["markdown"]


def test_send_test_mentions_so_that_the_numbers_can_be_checked(server):
    assert send(server, "test", mention_kinds=[]) == ["markdown", "text"]


def test_a_routine_reminder_through_the_dispatcher_is_one_message(tmp_path, server):
    settings = settings_for(tmp_path, {"市发改局": {"wecom": server.url(KEY), "mobiles": [MOBILE]}})
    db = database_with_plan(tmp_path, settings)
    try:
        (reminder,) = queue(db, settings, kind="reminder", occurrence="2021-06-30/T-7")
        (overdue,) = queue(db, settings, kind="overdue", occurrence="2021-06-30/overdue")
        limiter = RobotLimiter(20, clock=lambda: REAL_NOW)
        channels = {
            "wecom": WecomChannel(settings.channels.wecom, limiter),
            "file": FileChannel(settings.resolve_path(settings.channels.file.dir)),
        }
        try:
            dispatch_due(db, settings, NOW, channels=channels, rng=random.Random(1))
        finally:
            for channel in channels.values():
                channel.close()
        assert row(db, reminder).status == SENT and row(db, reminder).parts_sent == 1
        assert row(db, overdue).status == SENT and row(db, overdue).parts_sent == 2
    finally:
        db.close()
    mentions = [r for r in server.received if r.payload["msgtype"] == "text"]
    assert len(server.received) == 3 and len(mentions) == 1
    assert mentions[0].payload["text"]["mentioned_mobile_list"] == [MOBILE]


@pytest.mark.parametrize("value", ['["overdue", "remind"]', '["全部"]'])
def test_an_unknown_kind_is_one_line_naming_the_key_and_the_kinds(tmp_path: Path, value):
    config = tmp_path / "duban.toml"
    config.write_text(f"[channels.wecom]\nmention_kinds = {value}\n", encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_settings(config)
    message = str(info.value)
    assert "\n" not in message
    assert "channels.wecom.mention_kinds" in message and "未知的通知类别" in message
    assert "可用的类别：reminder、overdue、escalation、progress_request" in message


def test_mention_kinds_must_be_a_list_of_kinds(tmp_path: Path):
    config = tmp_path / "duban.toml"
    config.write_text('[channels.wecom]\nmention_kinds = "overdue"\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"channels\.wecom\.mention_kinds.*应为列表"):
        load_settings(config)

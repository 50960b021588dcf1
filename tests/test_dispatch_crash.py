"""A dispatcher killed while a message is in flight: a restart loses nothing and repeats at most
that message (the at-least-once guarantee)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from support.dispatch import dispatch_to_the_end, kill_when_reached, start_dispatcher
from support.notices import NOW, database_with_plan, queue, rows, settings_for
from support.wecom import Answer, WecomServer, channel_toml

from engine.notify.queue import LEASE
from engine.store.outbox import SENT

KEY = "robot-key-crash-test-9a1b"


@pytest.fixture
def server():
    with WecomServer() as srv:
        yield srv


def _config(folder: Path, url: str) -> Path:
    path = folder / "duban.toml"
    path.write_text(
        channel_toml(timeout_seconds=30) + 'mention_kinds = ["reminder"]\n' + "[channels.file]\n"
        f'dir = "{folder / "outbox"}"\n'
        '[units."市发改局"]\n'
        f'wecom = "{url}"\n'
        '[units."市市场监管局"]\n'
        f'wecom = "{url}"\n'
        '[units."市司法局"]\n'
        f'wecom = "{url}"\n'
        '[units."市商务局"]\n'
        f'wecom = "{url}"\n',
        encoding="utf-8",
    )
    return path


def _task_of(content: str) -> int:
    found = re.search(r"^> \*\*(\d+)\. ", content, flags=re.M)
    assert found, content
    return int(found.group(1))


def test_a_restart_after_a_kill_loses_nothing_and_repeats_only_the_message_in_flight(
    tmp_path: Path, server: WecomServer
):
    settings = settings_for(tmp_path, {})
    db = database_with_plan(tmp_path, settings)
    config = _config(tmp_path, server.url(KEY))
    from engine.config import load_settings

    real = load_settings(config)
    units = {1: "市发改局", 2: "市市场监管局", 3: "市司法局", 4: "市商务局"}
    for no, unit in units.items():
        queue(db, real, unit, tasks=(no,), occurrence=f"crash-{no}")
    server.answer(Answer(), Answer(hold=True))  # the second message hangs in the provider

    first = start_dispatcher(config, tmp_path, NOW)
    kill_when_reached(first, server.holding)

    before = {r.tasks[0]: r for r in rows(db)}
    assert before[1].status == SENT  # recorded before the next message went out
    assert all(before[n].status != SENT for n in (2, 3, 4))
    # the provider accepts the message that was in flight after the dispatcher died
    server.released.set()

    # a restart before the lease has passed leaves the claimed rows alone …
    early = dispatch_to_the_end(config, tmp_path, NOW + timedelta(minutes=1))
    assert "发送通知 0 条" in early
    # … and once it has passed, sends every one of them
    dispatch_to_the_end(config, tmp_path, NOW + LEASE + timedelta(seconds=1))

    after = {r.tasks[0]: r for r in rows(db)}
    assert all(r.status == SENT for r in after.values()), {n: r.status for n, r in after.items()}
    received = Counter(_task_of(r.content) for r in server.received)
    assert set(received) == {1, 2, 3, 4}  # nothing lost
    assert received == Counter({1: 1, 2: 2, 3: 1, 4: 1})  # only the one in flight twice
    db.close()


def test_a_notice_of_several_messages_killed_partway_resumes_after_the_last_accepted(
    tmp_path: Path, server: WecomServer
):
    settings = settings_for(tmp_path, {})
    db = database_with_plan(tmp_path, settings)
    config = tmp_path / "duban.toml"
    config.write_text(
        channel_toml(timeout_seconds=30) + 'mention_kinds = ["reminder"]\n' + "[channels.file]\n"
        f'dir = "{tmp_path / "outbox"}"\n'
        '[units."市发改局"]\n'
        f'wecom = "{server.url(KEY)}"\n'
        'mobiles = ["13800000000"]\n',
        encoding="utf-8",
    )
    from engine.config import load_settings

    # one notice of two messages: the markdown body and the text that @-mentions the mobile
    [notice_id] = queue(db, load_settings(config), "市发改局", tasks=(1,))
    server.answer(Answer(), Answer(hold=True))
    first = start_dispatcher(config, tmp_path, NOW)
    kill_when_reached(first, server.holding)
    [before] = rows(db)
    assert before.status != SENT
    assert before.parts_sent == 1  # the accepted first message is on record
    server.released.set()

    dispatch_to_the_end(config, tmp_path, NOW + LEASE + timedelta(seconds=1))
    [after] = rows(db)
    assert after.status == SENT and after.id == notice_id and after.parts_sent == 2
    kinds = [r.payload["msgtype"] for r in server.received]
    # the first message went once; only the one in flight at the kill went twice
    assert kinds == ["markdown", "text", "text"], kinds
    db.close()

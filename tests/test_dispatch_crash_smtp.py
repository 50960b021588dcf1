"""A dispatcher killed while the SMTP server holds a message: a restart loses nothing and repeats
at most that message (the at-least-once guarantee, over email as over WeCom), and the repeat
carries the same Message-ID, so that mail clients fold it into the first."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from support.dispatch import dispatch_to_the_end, kill_when_reached, start_dispatcher
from support.notices import NOW, database_with_plan, queue, rows, settings_for
from support.smtp import SmtpServer

from engine.config import load_settings
from engine.notify.queue import LEASE
from engine.store.outbox import SENT

UNITS = {1: "市发改局", 2: "市市场监管局", 3: "市司法局", 4: "市商务局"}


@pytest.fixture
def smtp(tmp_path: Path):
    with SmtpServer("none", tmp_path) as server:
        yield server


def _config(folder: Path, port: int) -> Path:
    lines = [
        "[channels.email]",
        'host = "127.0.0.1"',
        f"port = {port}",
        'security = "none"',
        'from = "督办系统 <duban@example.gov.cn>"',
        "timeout_seconds = 30",
        "[channels.file]",
        f'dir = "{folder / "outbox"}"',
    ]
    for no, unit in UNITS.items():
        lines += [f'[units."{unit}"]', f'email = ["unit{no}@example.gov.cn"]']
    path = folder / "duban.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _notice_id(message) -> int:
    # the Message-ID carries the outbox id: <duban.notice.<id>@example.gov.cn>
    found = re.fullmatch(r"<duban\.notice\.(\d+)@example\.gov\.cn>", message["Message-ID"])
    assert found, message["Message-ID"]
    return int(found.group(1))


def test_a_restart_after_a_kill_loses_no_email_and_repeats_only_the_one_in_flight(
    tmp_path: Path, smtp: SmtpServer
):
    config = _config(tmp_path, smtp.port)
    real = load_settings(config)
    db = database_with_plan(tmp_path, settings_for(tmp_path, {}))
    ids = {}
    for no, unit in UNITS.items():
        (ids[no],) = queue(db, real, unit, tasks=(no,), occurrence=f"crash-{no}")
    assert {r.channel for r in rows(db)} == {"email"}
    holding = smtp.hold(2)  # the server takes the second message and keeps its answer

    first = start_dispatcher(config, tmp_path, NOW)
    kill_when_reached(first, holding)
    smtp.release()

    before = {r.id: r for r in rows(db)}
    assert before[ids[1]].status == SENT  # recorded before the next message went out
    assert all(before[ids[n]].status != SENT for n in (2, 3, 4))
    assert [_notice_id(r.message) for r in smtp.received] == [ids[1], ids[2]]

    # a restart within the lease leaves the claimed rows alone …
    early = dispatch_to_the_end(config, tmp_path, NOW + timedelta(minutes=1))
    assert "发送通知 0 条" in early
    # … and once it has passed, sends every one of them
    dispatch_to_the_end(config, tmp_path, NOW + LEASE + timedelta(seconds=1))

    after = {r.id: r for r in rows(db)}
    assert all(r.status == SENT for r in after.values()), {i: r.status for i, r in after.items()}
    received = Counter(_notice_id(r.message) for r in smtp.received)
    assert set(received) == set(ids.values())  # nothing lost
    # only the message in flight twice
    assert received == Counter({ids[1]: 1, ids[2]: 2, ids[3]: 1, ids[4]: 1})
    to = {_notice_id(r.message): r.rcpt_tos for r in smtp.received}
    assert to == {ids[n]: [f"unit{n}@example.gov.cn"] for n in UNITS}
    # the repeat is the same message to a mail client: one Message-ID, whatever the attempt
    repeats = [r.message for r in smtp.received if _notice_id(r.message) == ids[2]]
    assert repeats[0]["Message-ID"] == repeats[1]["Message-ID"]
    assert len({r.message["Message-ID"] for r in smtp.received}) == len(ids)
    for received in smtp.received:
        assert received.message["Auto-Submitted"] == "auto-generated"
    db.close()

"""Notices rendered in processes beside the dispatcher (engine.notify.renderpool): the same text
as rendered in the dispatcher, errors that come back as they are raised there, and renderers that
die, or whose dispatcher dies, without a notice lost."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from loguru import logger

from engine.actions.loading import load_plan
from engine.config import Settings
from engine.errors import UserError
from engine.notify import kinds, renderpool
from engine.notify.dispatcher import Dispatcher
from engine.notify.render import environment, render_notice
from engine.notify.samples import sample_context
from engine.planfile import read_plan
from engine.service import make_calendar, make_policy, plan_and_enqueue
from engine.store import open_database
from engine.store.outbox import DEAD, SENT, list_notices

REPO = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Asia/Shanghai")
LOADED = datetime(2021, 5, 10, 9, 0, tzinfo=ZONE)
DAY = datetime(2021, 6, 25, 9, 0, tzinfo=ZONE)
"""The seed on this day: 35 notices of seven kinds (reminders, copies, a digest, reports…)."""


def rendered_by(pool: renderpool.RenderPool, ctx):
    future = pool.submit(ctx)
    assert future is not None
    pool.poll(future)
    return future.result()


def test_every_kind_on_every_channel_reads_the_same_from_a_renderer():
    env = environment(None)
    pool = renderpool.RenderPool(None, 1)
    try:
        for kind in kinds.KINDS:
            for channel in kinds.CHANNELS:
                ctx = sample_context(kind, channel)
                assert rendered_by(pool, ctx) == render_notice(ctx, env), (kind, channel)
        assert not pool.broken
    finally:
        pool.close()


def test_a_template_error_comes_back_as_the_dispatcher_would_raise_it(tmp_path: Path):
    (tmp_path / "reminder").mkdir()
    (tmp_path / "reminder" / "subject.txt.j2").write_text("关于{{ notice.no_such_field }}的提醒")
    ctx = sample_context("reminder")
    with pytest.raises(UserError) as here:
        render_notice(ctx, environment(str(tmp_path)))
    pool = renderpool.RenderPool(str(tmp_path), 1)
    try:
        with pytest.raises(UserError) as there:
            rendered_by(pool, ctx)
        assert str(there.value) == str(here.value)
        assert "reminder/subject.txt.j2" in str(there.value)
        # the renderer lives on: the next notice (another kind) renders
        overdue = sample_context("overdue")
        assert rendered_by(pool, overdue) == render_notice(overdue, environment(None))
    finally:
        pool.close()


def seed_outbox(folder: Path) -> tuple[Settings, Path]:
    """The seed loaded and planned on DAY, into folder/duban.db; units have no contacts, so
    every notice goes by the file channel (folder/outbox)."""
    settings = Settings.model_validate(
        {
            "channels": {"file": {"dir": str(folder / "outbox")}},
            "web": {"base_url": "http://127.0.0.1:8080"},
        }
    ).model_copy(update={"source": folder / "duban.toml"})
    db = open_database(f"sqlite:///{folder / 'duban.db'}")
    try:
        seed = read_plan(REPO / "workflows" / "zhuhai-gba-legal-services.yaml")
        load_plan(db, seed, settings, LOADED)
        calendar, policy = make_calendar(settings), make_policy(settings)
        planned = plan_and_enqueue(db, settings, DAY, calendar, policy)
        assert len({n.kind for n in planned}) >= 6, planned
    finally:
        db.close()
    return settings, folder / "duban.db"


def dispatched(folder: Path, settings: Settings, renderers: int) -> tuple[Dispatcher, dict]:
    """Send the outbox of folder/duban.db; the dispatcher, and each file written, by name."""
    db = open_database(f"sqlite:///{folder / 'duban.db'}")
    dispatcher = Dispatcher(db, settings, renderers=renderers, render_elsewhere_from=1)
    try:
        summary = dispatcher.dispatch_due(DAY)
        with db.read() as session:
            notices = list_notices(session)
    finally:
        dispatcher.close()
        db.close()
    assert summary.sent == len(notices) > 30 and {n.status for n in notices} == {SENT}
    written = {
        path.relative_to(folder / "outbox").as_posix(): path.read_text(encoding="utf-8")
        for path in sorted((folder / "outbox").rglob("*"))
        if path.is_file()
    }
    return dispatcher, written


def test_a_pass_rendered_by_renderers_writes_what_one_rendered_here_writes(tmp_path, monkeypatch):
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    settings, database = seed_outbox(here)
    # one signing secret for both (else each database makes its own at its first link)
    monkeypatch.setenv(settings.web.secret_env, "a-secret-for-both-outboxes-0123456789")
    there.mkdir()
    shutil.copy(database, there / "duban.db")
    _, by_dispatcher = dispatched(here, settings, renderers=0)
    # the same settings but for the folder the files go to
    elsewhere = settings.model_copy(
        update={"channels": settings.channels.model_copy(
            update={"file": settings.channels.file.model_copy(update={"dir": there / "outbox"})}
        )}
    )
    dispatcher, by_renderers = dispatched(there, elsewhere, renderers=1)
    assert dispatcher.rendered_elsewhere > 0
    assert by_renderers == by_dispatcher
    assert any("/u/" in text for text in by_renderers.values())  # personal links signed alike


def dying_renderer(after: int) -> str:
    """A renderer program that answers `after` notices, then dies as if killed."""
    return (
        f"import os, sys; sys.path.insert(0, {str(REPO)!r}); "
        "import engine.notify.renderpool as r; read = r._frame; count = [0]\n"
        "def frame(stream):\n"
        "    count[0] += 1\n"
        f"    if count[0] > {after}: os._exit(9)\n"
        "    return read(stream)\n"
        "r._frame = frame; r.serve()"
    )


@pytest.mark.parametrize("after", [0, 3])
def test_a_renderer_that_dies_loses_no_notice(tmp_path: Path, monkeypatch, after: int):
    # It dies at once (after 0), or after three answers with more notices waiting for it: those
    # it held, and every notice after, are rendered in the dispatcher; each is sent once.
    monkeypatch.setattr(renderpool, "_MAIN", dying_renderer(after))
    settings, _ = seed_outbox(tmp_path)
    lines: list[str] = []
    handler = logger.add(lambda m: lines.append(m.record["message"]), level="WARNING")
    try:
        dispatcher, written = dispatched(tmp_path, settings, renderers=1)
    finally:
        logger.remove(handler)
    assert dispatcher.rendered_elsewhere == after
    died = [line for line in lines if "生成通知的子进程已退出" in line]
    assert len(died) == 1, lines
    names = [name for name in written if name.endswith(".txt")]
    assert len(names) == len(set(names)) > 30


def test_a_notice_the_renderer_cannot_render_is_refused_like_one_rendered_here(tmp_path: Path):
    (tmp_path / "templates" / "reminder").mkdir(parents=True)
    (tmp_path / "templates" / "reminder" / "subject.txt.j2").write_text("{{ notice.nothing }}")
    settings, _ = seed_outbox(tmp_path)
    settings = settings.model_copy(
        update={"templates": settings.templates.model_copy(update={"dir": "templates"})}
    )
    dispatcher, written = dispatched_with_failures(tmp_path, settings)
    assert dispatcher.rendered_elsewhere > 0
    dead = [n for n in written if n.status == DEAD]
    assert dead and all(n.kind == "reminder" for n in dead)
    assert all("通知模板 reminder/subject.txt.j2 无法渲染" in (n.error or "") for n in dead)
    assert all(n.status == SENT for n in written if n.kind not in ("reminder", "delivery_failure"))


def dispatched_with_failures(folder: Path, settings: Settings):
    db = open_database(f"sqlite:///{folder / 'duban.db'}")
    dispatcher = Dispatcher(db, settings, renderers=1, render_elsewhere_from=1)
    try:
        dispatcher.dispatch_due(DAY)
        with db.read() as session:
            return dispatcher, list_notices(session)
    finally:
        dispatcher.close()
        db.close()


def test_a_small_pass_starts_no_renderer(tmp_path: Path):
    settings, _ = seed_outbox(tmp_path)
    db = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    dispatcher = Dispatcher(db, settings, renderers=1)  # a batch of 200 or more starts one
    try:
        assert dispatcher.dispatch_due(DAY).sent > 30
        assert dispatcher.rendered_elsewhere == 0 and dispatcher._pool is None
    finally:
        dispatcher.close()
        db.close()


KILLED = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from engine.notify import renderpool
from engine.notify.samples import sample_context
pool = renderpool.RenderPool(None, 1)
future = pool.submit(sample_context("reminder"))
pool.poll(future)
assert future.result().subject
print(pool._renderers[0].process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_dispatcher_leaves_no_renderer_behind():
    done = subprocess.run(
        [sys.executable, "-c", KILLED.format(repo=str(REPO))], capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid = int(done.stdout.split()[0])
    try:
        ended = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone
    try:
        readable, _, _ = select.select([ended], [], [], 30)  # readable once it has ended
        assert readable, f"renderer {pid} still runs after its dispatcher was killed"
    finally:
        os.close(ended)

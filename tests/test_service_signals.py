"""`duban run` as a process: it says when it is ready and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEED_PLAN

READY = "督办服务已启动"


def start_service(workdir: Path) -> subprocess.Popen[str]:
    config = workdir / "duban.toml"
    config.write_text('[service]\ntick_seconds = 1\n\n[channels.file]\ndir = "out"\n', "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_CONFIG=str(config), DUBAN_DATABASE_URL=f"sqlite:///{workdir / 'duban.db'}")
    subprocess.run([sys.executable, "-m", "engine", "load", str(SEED_PLAN)], cwd=workdir,
                   env=env, check=True, capture_output=True)
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "run"], cwd=workdir, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def wait_until_ready(process: subprocess.Popen[str]) -> list[str]:
    """Read stderr line by line until the service says it is ready (no sleeping)."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if READY in line:
            return lines
    raise AssertionError("the service exited before it was ready:\n" + "".join(lines))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_stops_cleanly_on_a_signal(workdir: Path, signum: signal.Signals) -> None:
    process = start_service(workdir)
    try:
        said = "".join(wait_until_ready(process))
        process.send_signal(signum)
        _, rest = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert "已载入计划 1 个、任务 18 项" in said and "下一批通知发送时间" in said
    assert str(workdir / "out") in said or "out" in said
    assert "督办服务已停止" in rest and "Traceback" not in rest


def _doctor(workdir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_CONFIG=str(workdir / "duban.toml"),
               DUBAN_DATABASE_URL=f"sqlite:///{workdir / 'duban.db'}")
    done = subprocess.run([sys.executable, "-m", "engine", "doctor"], cwd=workdir, env=env,
                          text=True, capture_output=True)
    return done.stderr


def test_doctor_lists_the_running_instance_and_forgets_it_when_it_stops(workdir: Path) -> None:
    process = start_service(workdir)
    try:
        said = "".join(wait_until_ready(process))
        running = _doctor(workdir)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert f":{process.pid}:" in said  # the instance's id names its host and pid
    assert "运行中的督办实例 1 个" in running, running
    assert f":{process.pid}:" in running and "最后心跳" in running
    assert "没有运行中的督办实例" in _doctor(workdir)  # it left the table when it stopped


def test_a_killed_instance_is_shown_without_a_heartbeat(workdir: Path) -> None:
    from datetime import timedelta

    from engine.store import open_database
    from engine.store.instances import describe, instances, real_now, register

    database = open_database(f"sqlite:///{workdir / 'duban.db'}")
    try:
        long_ago = real_now() - timedelta(minutes=10)
        ident = register(database, 60, now=long_ago)  # beat every minute, then killed
        fresh = register(database, 60)
        found = instances(database)
    finally:
        database.close()
    assert [(i.id, i.alive) for i in found] == [(fresh, True), (ident, False)]
    lines = describe(found)
    assert lines[0] == "运行中的督办实例 1 个（督办服务 1 个，网页端 0 个）"
    assert "已无心跳" in lines[2] and re.search(r"最后心跳 6\d\d 秒前", lines[2]), lines[2]

"""The systemd unit, the install script and the `sudo duban` wrapper, checked with real tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.config import load_settings

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "duban.service"
INSTALL = REPO / "systemd" / "install.sh"
ADMIN = REPO / "systemd" / "duban-admin"
EXEC_START = "/opt/duban/venv/bin/duban"

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def unit_settings() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def verifiable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at an executable that exists here (verify checks it)."""
    program = tmp_path / "duban"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    unit = tmp_path / "duban.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(EXEC_START, str(program)), "utf-8")
    return unit


@needs_systemd_analyze
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "verify", str(verifiable_copy(tmp_path))],
        capture_output=True, text=True, check=False,
    )
    # verify exits 0 even for an unknown key; any output is a finding.
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stderr


@needs_systemd_analyze
def test_the_unit_is_hardened(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(verifiable_copy(tmp_path))],
        capture_output=True, text=True, check=False,
    )
    found = re.search(r"Overall exposure level for duban\.service: ([0-9.]+)", result.stdout)
    if found is None and "--offline" in result.stderr:
        pytest.skip("this systemd-analyze cannot assess a unit file offline")
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0  # "OK"; an unhardened service scores 9.6


def test_the_unit_runs_duban_unprivileged_with_state_config_and_secrets():
    unit = unit_settings()
    assert unit["ExecStart"] == [f"{EXEC_START} run"]
    assert unit["User"] == ["duban"]
    assert unit["StateDirectory"] == ["duban"]
    assert unit["WorkingDirectory"] == ["/var/lib/duban"]
    assert unit["ConfigurationDirectory"] == ["duban"]
    assert "DUBAN_CONFIG=/etc/duban/duban.toml" in unit["Environment"]
    assert unit["EnvironmentFile"] == ["-/etc/duban/secrets.env"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert unit[key] == ["yes"], key
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["KillSignal"] == ["SIGTERM"]


def test_the_example_config_writes_only_inside_the_state_directory(tmp_path):
    """Under ProtectSystem=strict only the StateDirectory is writable."""
    shutil.copy(REPO / "config" / "duban.example.toml", tmp_path / "duban.toml")
    shutil.copy(REPO / "config" / "units.example.toml", tmp_path / "units.toml")
    settings = load_settings(tmp_path / "duban.toml")
    assert settings.channels.file.dir.startswith("/var/lib/duban/")
    assert settings.database.url.startswith("sqlite:////var/lib/duban/")


def run_install(dest: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESTDIR": str(dest), "DUBAN_SKIP_VENV": "1"}
    return subprocess.run(["sh", str(INSTALL)], env=env, capture_output=True, text=True,
                          check=False)


def test_install_lays_out_config_secrets_and_unit(tmp_path):
    dest = tmp_path / "root"
    result = run_install(dest)
    assert result.returncode == 0, result.stderr
    etc = dest / "etc" / "duban"
    assert (etc / "duban.toml").read_bytes() == (REPO / "config/duban.example.toml").read_bytes()
    assert (etc / "units.toml").read_bytes() == (REPO / "config/units.example.toml").read_bytes()
    assert (dest / "etc/systemd/system/duban.service").read_bytes() == UNIT.read_bytes()
    assert os.access(dest / "usr/local/bin/duban", os.X_OK)
    for plan in (REPO / "workflows").glob("*.yaml"):
        assert (etc / "workflows" / plan.name).exists()

    secrets = etc / "secrets.env"
    assert secrets.stat().st_mode & 0o077 == 0  # root only
    names = {line.split("=")[0] for line in secrets.read_text("utf-8").splitlines()
             if line and not line.startswith("#")}
    assert "DUBAN_SMTP_PASSWORD" in names and "DUBAN_WECOM_SFJ" in names
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) for name in names)

    settings = load_settings(etc / "duban.toml")
    assert "市司法局" in settings.units


def test_install_again_keeps_the_operators_files(tmp_path):
    dest = tmp_path / "root"
    assert run_install(dest).returncode == 0
    edited = dest / "etc/duban/units.toml"
    edited.write_text('[units."市司法局"]\nemail = "real@example.gov.cn"\n', encoding="utf-8")
    secrets = dest / "etc/duban/secrets.env"
    secrets.write_text("DUBAN_SMTP_PASSWORD=s3cret\n", encoding="utf-8")
    result = run_install(dest)
    assert result.returncode == 0, result.stderr
    assert "real@example.gov.cn" in edited.read_text("utf-8")
    assert secrets.read_text("utf-8") == "DUBAN_SMTP_PASSWORD=s3cret\n"
    assert "保留已有的" in result.stdout


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="the wrapper switches user: needs root and runuser")
def test_the_admin_wrapper_passes_secrets_as_data_not_code(tmp_path):
    probe = tmp_path / "probe"
    probe.write_text('#!/bin/sh\nprintf "%s|%s|%s|%s|%s\\n" "$DUBAN_SMTP_PASSWORD" '
                     '"$DUBAN_WECOM_SFJ" "$DUBAN_CONFIG" "$(pwd)" "$*"\n', encoding="utf-8")
    probe.chmod(0o755)
    secrets = tmp_path / "secrets.env"
    marker = tmp_path / "pwned"
    secrets.write_text(
        f'# comment\n\nDUBAN_SMTP_PASSWORD="pa ss"\nDUBAN_WECOM_SFJ=$(touch {marker})\n',
        encoding="utf-8",
    )
    state = tmp_path / "state"
    state.mkdir()
    env = {"PATH": os.environ["PATH"], "DUBAN_BIN": str(probe), "DUBAN_SECRETS": str(secrets),
           "DUBAN_STATE": str(state), "DUBAN_USER": "root"}
    result = subprocess.run(["sh", str(ADMIN), "doctor", "--network"], env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"pa ss|$(touch {marker})|/etc/duban/duban.toml|{state}|doctor --network"
    )
    assert not marker.exists()


def test_the_service_tells_systemd_ready_alive_and_stopping(tmp_path):
    """Type=notify: READY=1 once running, WATCHDOG=1 after each tick, STOPPING=1 on SIGTERM."""
    import signal
    import socket
    import sys

    address = tmp_path / "notify"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(address))
    receiver.settimeout(120)  # a bound on a blocking read, not a sleep
    config = tmp_path / "duban.toml"
    config.write_text('[service]\ntick_seconds = 1\nplans_dir = "plans"\n'
                      '[channels.file]\ndir = "out"\n', encoding="utf-8")
    (tmp_path / "plans").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(NOTIFY_SOCKET=str(address), DUBAN_CONFIG=str(config),
               DUBAN_DATABASE_URL=f"sqlite:///{tmp_path / 'duban.db'}")
    process = subprocess.Popen([sys.executable, "-m", "engine", "run"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        seen: list[str] = []
        while not {"READY=1", "WATCHDOG=1"} <= set(seen):
            seen += receiver.recv(4096).decode().splitlines()
        assert any(line.startswith("STATUS=") for line in seen)
        process.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in seen:
            seen += receiver.recv(4096).decode().splitlines()
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        receiver.close()


def test_without_systemd_notify_does_nothing(monkeypatch):
    from engine.sdnotify import notify, watchdog_seconds

    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify("READY=1") is False
    assert watchdog_seconds() is None
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/notify")
    assert notify("READY=1") is False  # a vanished systemd never stops the service
    monkeypatch.setenv("WATCHDOG_USEC", "600000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_seconds() == 600.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_seconds() is None


WEB_UNIT = REPO / "systemd" / "duban-web.service"


def _web_copy(tmp_path: Path) -> Path:
    program = tmp_path / "duban"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    unit = tmp_path / "duban-web.service"
    unit.write_text(WEB_UNIT.read_text(encoding="utf-8").replace(EXEC_START, str(program)), "utf-8")
    return unit


@needs_systemd_analyze
def test_the_web_unit_passes_verify_and_is_hardened(tmp_path):
    unit = _web_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip()
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True, text=True, check=False,
    )
    found = re.search(r"Overall exposure level for duban-web\.service: ([0-9.]+)", result.stdout)
    if found is None and "--offline" in result.stderr:
        pytest.skip("this systemd-analyze cannot assess a unit file offline")
    assert found and float(found.group(1)) <= 2.0, result.stdout + result.stderr


def test_the_web_unit_serves_duban_web_as_the_service_user():
    values: dict[str, list[str]] = {}
    for line in WEB_UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    assert values["ExecStart"] == [f"{EXEC_START} web"]
    assert values["User"] == ["duban"] and values["WorkingDirectory"] == ["/var/lib/duban"]
    assert values["EnvironmentFile"] == ["-/etc/duban/secrets.env"]
    assert values["Type"] == ["notify"] and "WatchdogSec" not in values
    assert values["ProtectSystem"] == ["strict"]


def test_install_lays_out_the_web_unit_and_a_signing_secret_it_keeps(tmp_path):
    dest = tmp_path / "root"
    assert run_install(dest).returncode == 0
    assert (dest / "etc/systemd/system/duban-web.service").read_bytes() == WEB_UNIT.read_bytes()
    secrets = dest / "etc" / "duban" / "secrets.env"
    (line,) = [x for x in secrets.read_text("utf-8").splitlines() if x.startswith("DUBAN_WEB_")]
    assert re.fullmatch(r"DUBAN_WEB_SECRET=[0-9a-f]{64}", line)
    assert secrets.stat().st_mode & 0o077 == 0
    before = secrets.read_bytes()
    assert run_install(dest).returncode == 0  # an upgrade keeps it: links stay valid
    assert secrets.read_bytes() == before


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="the wrapper switches user: needs root and runuser")
@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "duban").exists(),
                    reason="needs the installed console script")
@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_admin_wrapper_creates_the_database_0600_whatever_the_umask(tmp_path, umask):
    """`sudo duban …` from an operator's shell with a loose umask: files only duban reads."""
    from support.service import running_service

    state = tmp_path / "state"
    (state / "workflows").mkdir(parents=True)
    shutil.copy(REPO / "workflows" / "zhuhai-gba-legal-services.yaml", state / "workflows")
    (state / "duban.toml").write_text("[service]\ntick_seconds = 1\n", encoding="utf-8")
    env = {"PATH": os.environ["PATH"], "DUBAN_BIN": str(REPO / ".venv" / "bin" / "duban"),
           "DUBAN_SECRETS": str(tmp_path / "no-secrets.env"), "DUBAN_STATE": str(state),
           "DUBAN_USER": "root", "DUBAN_CONFIG": str(state / "duban.toml"),
           "DUBAN_NOW": "2021-07-01T10:00:00+08:00"}

    def admin(*args: str) -> list[str]:
        return ["sh", "-c", f'umask {umask:03o} && exec sh "$@"', "sh", str(ADMIN), *args]

    result = subprocess.run(admin("tasks"), env=env, capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    database = state / "var" / "duban.db"
    assert (state / "var").stat().st_mode & 0o777 == 0o700
    assert database.stat().st_mode & 0o777 == 0o600

    # the notices a command writes follow the service's UMask=0027, not the operator's umask
    once = subprocess.run(admin("run", "--once"), env=env, capture_output=True, text=True,
                          check=False, timeout=120)
    assert once.returncode == 0, once.stderr
    notices = [p for p in (state / "var" / "outbox").rglob("*") if p.is_file()]
    assert notices and all(p.stat().st_mode & 0o027 == 0 for p in notices)

    # while the service runs through the wrapper, SQLite's -wal and -shm files are 0600 too
    with running_service(admin("run"), state, env):
        for suffix in ("", "-wal", "-shm"):
            assert Path(f"{database}{suffix}").stat().st_mode & 0o777 == 0o600, suffix

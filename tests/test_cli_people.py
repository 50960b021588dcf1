"""The people commands as an administrator runs them: accounts, units' links, API tokens and
`duban web`; what they print, what they store, and every refusal."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SEED_PLAN
from support.plans import dump

from engine.actions.people import LinkRefused, LoginRefused, check_login, read_link, read_token
from engine.config import Settings
from engine.store import Database, open_database

T = datetime.fromisoformat("2021-06-10T09:00:00+08:00")
PASSWORD = "s3cret-Passw0rd"
LINK = re.compile(r"^http://127\.0\.0\.1:8080/u/(?P<token>[A-Za-z0-9_.-]+)$")


@pytest.fixture
def run(duban, monkeypatch: pytest.MonkeyPatch):
    """`duban --now NOW LINE…`, the line split as a shell splits it, with `given` on stdin."""

    def command(line: str, *, given: str = "", now: datetime = T) -> Any:
        monkeypatch.setattr(sys, "stdin", io.StringIO(given))
        return duban("--now", now.isoformat(), *shlex.split(line))

    return command


@pytest.fixture
def loaded(run):
    """The seed plan, a coordinator account `sfj` and a unit token `hengqin`."""
    assert run(f"load {SEED_PLAN}").code == 0
    made = run("user add sfj --unit 市司法局 --role coordinator --password-stdin", given=PASSWORD)
    assert made.code == 0, made.err
    assert run("token add hengqin --unit 横琴新区 --role unit").code == 0
    return run


@pytest.fixture
def database(workdir: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{workdir / 'var' / 'duban.db'}")
    yield db
    db.close()


def one_line_error(result: Any) -> str:
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.err.count("\n") == 1 and result.err.startswith("duban: "), result.err
    assert "Traceback" not in result.err and result.out == ""
    assert any("\u4e00" <= c <= "\u9fff" for c in result.err), result.err
    return str(result.err)


# --- accounts ----------------------------------------------------------------------------------


def test_user_list_json_rows_are_name_unit_and_role(loaded):
    added = loaded(
        "user add leader --unit 市发改局 --role viewer --password-stdin", given="pw-12345678\n"
    )
    assert added.code == 0 and "leader" in added.out
    listed = loaded("user list --json")
    assert listed.code == 0 and listed.err == ""
    assert json.loads(listed.out) == [
        {"name": "leader", "unit": "市发改局", "role": "viewer"},
        {"name": "sfj", "unit": "市司法局", "role": "coordinator"},
    ]


def test_an_account_named_with_an_alias_belongs_to_the_unit_itself(loaded):
    made = loaded(
        "user add scj --unit 市市场监督管理局 --role viewer --password-stdin", given=PASSWORD
    )
    assert made.code == 0, made.err
    rows = json.loads(loaded("user list --json").out)
    assert {"name": "scj", "unit": "市市场监管局", "role": "viewer"} in rows


def test_the_password_is_stored_as_an_argon2_hash_and_never_shown(loaded, workdir):
    changed = loaded("user passwd sfj --password-stdin", given="new-password-42\n")
    assert changed.code == 0, changed.err
    for result in (changed, loaded("user list"), loaded("user list --json")):
        for secret in (PASSWORD, "new-password-42"):
            assert secret not in result.out and secret not in result.err
    database = workdir / "var" / "duban.db"
    with sqlite3.connect(database) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM web_user WHERE name = 'sfj'").fetchone()
    assert stored.startswith("$argon2")
    raw = database.read_bytes() + b"".join(p.read_bytes() for p in database.parent.glob("*-wal"))
    assert PASSWORD.encode() not in raw and b"new-password-42" not in raw


def test_passwd_changes_the_password_a_login_is_checked_against(loaded, database):
    assert loaded("user passwd sfj --password-stdin", given="new-password-42\n").code == 0
    assert check_login(database, "sfj", "new-password-42", T).name == "sfj"
    with pytest.raises(LoginRefused):
        check_login(database, "sfj", PASSWORD, T)


def test_a_removed_user_is_gone_from_the_list(loaded):
    removed = loaded("user remove sfj")
    assert removed.code == 0 and "sfj" in removed.out
    assert json.loads(loaded("user list --json").out) == []


# --- the units' links --------------------------------------------------------------------------


def link_of(result: Any) -> str:
    """The token of the link on the last line of stdout, which holds the link alone."""
    assert result.code == 0, result.err
    found = LINK.match(result.out.splitlines()[-1])
    assert found, result.out
    return found["token"]


def test_duban_link_prints_the_link_alone_on_the_last_line(loaded, database):
    result = loaded("link 横琴新区")
    token = link_of(result)
    assert result.out == f"http://127.0.0.1:8080/u/{token}\n"
    assert "30 天" in result.err
    assert read_link(database, Settings(), token, T).unit == "横琴新区"


def test_a_link_expires_by_the_business_clock(loaded, database):
    token = link_of(loaded("link 横琴新区"))
    # the machine's clock is years past T: only the business clock decides
    assert read_link(database, Settings(), token, T + timedelta(days=29)).unit == "横琴新区"
    with pytest.raises(LinkRefused, match="已过期"):
        read_link(database, Settings(), token, T + timedelta(days=31))


def test_a_link_of_an_alias_opens_the_units_page(loaded, database):
    token = link_of(loaded("link 市市场监督管理局"))
    assert read_link(database, Settings(), token, T).unit == "市市场监管局"


def test_link_revoke_ends_every_link_issued_before(loaded, database):
    first = link_of(loaded("link 横琴新区"))
    second = link_of(loaded("link 横琴新区", now=T + timedelta(hours=1)))
    other = link_of(loaded("link 金湾区"))
    revoked = loaded("link --revoke 横琴新区", now=T + timedelta(days=1))
    assert revoked.code == 0 and "横琴新区" in revoked.out
    fresh = link_of(loaded("link 横琴新区", now=T + timedelta(days=1, minutes=30)))
    later = T + timedelta(days=1, hours=1)
    for token in (first, second):
        with pytest.raises(LinkRefused, match="已停用"):
            read_link(database, Settings(), token, later)
    assert read_link(database, Settings(), other, later).unit == "金湾区"
    assert read_link(database, Settings(), fresh, later).unit == "横琴新区"


# --- API tokens --------------------------------------------------------------------------------


def test_token_add_prints_the_token_alone_on_the_last_line_and_keeps_only_its_hash(
    loaded, database, workdir
):
    result = loaded("token add oa --unit 市司法局 --role coordinator")
    assert result.code == 0, result.err
    token = result.out.splitlines()[-1]
    assert result.out == token + "\n" and re.fullmatch(r"dbn_[A-Za-z0-9_-]{20,}", token)
    holder = read_token(database, token)
    assert holder is not None
    assert (holder.name, holder.unit, holder.role) == ("oa", "市司法局", "coordinator")
    assert token.encode() not in (workdir / "var" / "duban.db").read_bytes()
    for listing in (loaded("token list"), loaded("token list --json")):
        assert token not in listing.out


def test_token_list_json_rows_are_name_unit_role_and_created(loaded):
    made = loaded("token add dashboard --unit 市发改局 --role viewer", now=T + timedelta(days=1))
    assert made.code == 0, made.err
    listed = loaded("token list --json")
    assert listed.code == 0 and listed.err == ""
    assert json.loads(listed.out) == [
        {"name": "dashboard", "unit": "市发改局", "role": "viewer",
         "created": "2021-06-11T09:00:00+08:00"},
        {"name": "hengqin", "unit": "横琴新区", "role": "unit",
         "created": "2021-06-10T09:00:00+08:00"},
    ]  # fmt: skip


def test_a_removed_token_no_longer_opens_the_api(loaded, database):
    token = loaded("token add oa --unit 市司法局 --role viewer").out.splitlines()[-1]
    assert read_token(database, token) is not None
    removed = loaded("token remove oa")
    assert removed.code == 0 and "oa" in removed.out
    assert read_token(database, token) is None
    assert [t["name"] for t in json.loads(loaded("token list --json").out)] == ["hengqin"]


# --- every refusal: one line in Chinese, exit 2, nothing stored changed --------------------------

ADD_X = "user add x --unit 市司法局 --role viewer"
REFUSALS = [
    # (command line, standard input, words the message must hold)
    (ADD_X, PASSWORD, "请用 --password-stdin"),
    (f"{ADD_X} --password-stdin", "", "标准输入中没有密码"),
    (f"{ADD_X} --password-stdin", "\n", "标准输入中没有密码"),
    (f"{ADD_X} --password-stdin", "short\n", "密码太短"),
    ("user add x --unit 市司法 --role viewer --password-stdin", PASSWORD, "您是否指：市司法局"),
    ("user add sfj --unit 市司法局 --role viewer --password-stdin", PASSWORD, "“sfj”已存在"),
    ("user add x --unit 市司法局 --role boss --password-stdin", PASSWORD,
     "--role 的值“boss”无效，应为 coordinator、viewer 之一"),
    ("user add x --unit 市司法局 --role unit --password-stdin", PASSWORD, "“unit”无效"),
    ("user add 'a b' --unit 市司法局 --role viewer --password-stdin", PASSWORD, "不含空格"),
    ("user remove nobody", "", "用户“nobody”不存在"),
    ("user passwd nobody --password-stdin", PASSWORD, "用户“nobody”不存在"),
    ("user passwd sfj --password-stdin", "short\n", "密码太短"),
    ("user passwd sfj --password-stdin", "", "duban user passwd"),
    ("user passwd sfj", PASSWORD, "请用 --password-stdin"),
    ("token add hengqin --unit 横琴新区 --role unit", "", "令牌“hengqin”已存在"),
    ("token add x --unit 横琴 --role unit", "", "您是否指：横琴新区"),
    ("token add x --unit 横琴新区 --role admin", "",
     "--role 的值“admin”无效，应为 coordinator、viewer、unit 之一"),
    ("token remove nope", "", "令牌“nope”不存在"),
    ("link 市司法", "", "参数 UNIT 的值“市司法”不是已知的单位，您是否指：市司法局"),
    ("link --revoke 火星局", "", "参数 UNIT 的值“火星局”不是已知的单位"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "given", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_people_command_says_why_in_one_line_and_changes_nothing(
    loaded, workdir, line, given, words
):
    before = dump(workdir / "var" / "duban.db")
    message = one_line_error(loaded(line, given=given))
    assert words in message
    assert PASSWORD not in message
    assert dump(workdir / "var" / "duban.db") == before


# --- duban web -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(process: subprocess.Popen[Any], port: int, *, seconds: float = 30) -> None:
    """Until the server accepts connections; waiting on the process is the pause between tries."""
    deadline = datetime.now() + timedelta(seconds=seconds)
    while datetime.now() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        try:
            code = process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"duban web exited with {code} before it listened")
    raise AssertionError(f"duban web did not listen on {port} within {seconds} s")


@dataclass
class WebProcess:
    url: str
    process: subprocess.Popen[Any]
    output: str = ""
    """Everything it wrote (stdout and stderr), once it has stopped."""


@contextmanager
def duban_web(workdir: Path, log_level: str) -> Iterator[WebProcess]:
    """`duban web --port P` as systemd starts it, logging at `log_level`; killed if still up."""
    config = workdir / "duban.toml"
    config.write_text(f'[service]\nlog_level = "{log_level}"\n', "utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(
        DUBAN_CONFIG=str(config), DUBAN_DATABASE_URL=f"sqlite:///{workdir / 'var' / 'duban.db'}"
    )
    with (workdir / "web.log").open("w+", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "engine", "web", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        web = WebProcess(f"http://127.0.0.1:{port}", process)
        try:
            wait_for_port(process, port)
            yield web
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=15)
            log.seek(0)
            web.output = log.read()


def log_in_twice(url: str) -> None:
    """A wrong password, then the right one, through the login form."""
    browser = requests.Session()
    page = browser.get(f"{url}/login", timeout=10)
    assert page.status_code == 200 and 'name="username"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    for password, code in (("wrong-" + PASSWORD, 401), (PASSWORD, 200)):
        answer = browser.post(
            f"{url}/login",
            data={"csrf_token": csrf[1], "username": "sfj", "password": password},
            timeout=10,
        )
        assert answer.status_code == code


def test_duban_web_serves_the_login_page_and_stops_on_sigterm(loaded, workdir):
    # at DEBUG, so that a password that leaked into any log line would show
    with duban_web(workdir, "DEBUG") as web:
        log_in_twice(web.url)
        web.process.send_signal(signal.SIGTERM)
        assert web.process.wait(timeout=15) == 0
    assert "网页端已启动" in web.output and "网页端已停止" in web.output
    assert "Traceback" not in web.output
    assert PASSWORD not in web.output


def test_duban_web_at_debug_logs_neither_the_signing_secret_nor_a_password_hash(loaded, workdir):
    with duban_web(workdir, "DEBUG") as web:
        log_in_twice(web.url)
        web.process.send_signal(signal.SIGTERM)
        assert web.process.wait(timeout=15) == 0
    with sqlite3.connect(workdir / "var" / "duban.db") as conn:
        (secret,) = conn.execute("SELECT value FROM app_secret").fetchone()
        (hashed,) = conn.execute("SELECT password_hash FROM web_user").fetchone()
    assert secret not in web.output
    assert hashed not in web.output


def test_duban_web_is_listed_by_doctor_while_it_runs_and_leaves_when_stopped(loaded, workdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_CONFIG=str(workdir / "duban.toml"),
               DUBAN_DATABASE_URL=f"sqlite:///{workdir / 'var' / 'duban.db'}")

    def doctor() -> str:
        done = subprocess.run([sys.executable, "-m", "engine", "doctor"], cwd=workdir, env=env,
                              text=True, capture_output=True, timeout=60)
        return done.stdout + done.stderr

    with duban_web(workdir, "INFO") as web:
        running = doctor()
        web.process.send_signal(signal.SIGTERM)
        assert web.process.wait(timeout=15) == 0
    assert "网页端（duban web） " in running and f":{web.process.pid}:" in running, running
    assert "网页端 1 个" in running
    assert f":{web.process.pid}:" not in doctor()
    assert "网页端实例" in web.output and "已登记" in web.output

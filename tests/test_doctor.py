"""`duban doctor`: one line per problem, exit 1 when there is any, "检查通过" otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from engine.deadlines.deadline import Deadline, DeadlineKind
from tests.support.plans import small_plan, with_task, write_small_plan
from tests.support.slowpeer import SlowPeer, http_answer
from tests.support.smtp import SmtpServer
from tests.support.wecom import WecomServer, closed_port

NOW = "2021-06-01T09:30:00+08:00"
UNITS = ["市发改局", "市财政局", "市司法局", "市市场监管局", "市商务局"]


def clean_plan():
    """The small plan without its task that lacks a lead and a deadline."""
    plan = small_plan()
    return replace(plan, tasks=[t for t in plan.tasks if t.no != 5])


def write_config(folder: Path, *, units: list[str] = UNITS, email: str | None = None,
                 extra: str = "", unit_extra: dict[str, str] | None = None,
                 contact: str = "file = true") -> Path:
    """A config with a plans folder, a file outbox and a contact for each of `units`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plans").mkdir(exist_ok=True)
    lines = ['[service]', 'plans_dir = "plans"', '[channels.file]', 'dir = "outbox"']
    if email:
        lines += ["[channels.email]", email]
    lines.append(extra)
    for unit in units:
        lines += [f'[units."{unit}"]', contact]
        lines.append((unit_extra or {}).get(unit, ""))
    path = folder / "duban.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def problems(result) -> list[str]:
    return [line for line in result.out.splitlines() if line.startswith("问题：")]


def doctor(duban, config: Path, *args: str):
    return duban("--now", NOW, "--config", str(config), "doctor", *args)


def test_a_clean_config_passes(duban, workdir):
    config = write_config(workdir / "etc")
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config)
    assert problems(result) == []
    assert result.out == "" and "检查通过" in result.err
    assert result.code == 0
    assert not (workdir / "var" / "duban.db").exists()  # doctor does not create the database


def test_a_unit_with_no_contact_is_one_line_naming_unit_and_tasks(duban, workdir):
    config = write_config(workdir / "etc", units=[u for u in UNITS if u != "市商务局"])
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config)
    assert result.code == 1
    [line] = problems(result)
    assert "单位“市商务局”没有联系方式" in line
    assert "计划 trial-plan 任务 2（配合）" in line and "任务 4（牵头）" in line
    assert result.out.splitlines() == [line] and "共发现 1 个问题" in result.err


def test_an_alias_of_the_plan_reaches_the_directory_entry(duban, workdir):
    # Task 2's lead is written 市市场监督管理局; the plan maps it to 市市场监管局 (a known unit).
    config = write_config(workdir / "etc")
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config)
    assert "市场监督" not in result.out and result.code == 0


def test_the_coordinator_needs_a_contact_too(duban, workdir):
    plan = replace(clean_plan(), coordinator="市政府督查室")
    config = write_config(workdir / "etc")
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", plan)
    [line] = problems(doctor(duban, config))
    assert "单位“市政府督查室”没有联系方式" in line and "统筹单位" in line


def test_email_contacts_without_an_email_channel_are_reported(duban, workdir):
    config = write_config(workdir / "etc", units=["市司法局"], contact='email = "a@example.gov.cn"')
    plan = replace(clean_plan(), tasks=[clean_plan().task(3)])
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", plan)
    [line] = problems(doctor(duban, config))
    assert "市司法局" in line and "[channels.email]" in line


def test_without_a_config_no_unit_lacks_a_contact(duban, workdir):
    (workdir / "workflows").mkdir()
    write_small_plan(workdir / "workflows" / "trial.yaml", clean_plan())
    result = duban("--now", NOW, "doctor")
    assert result.code == 0, result.out
    assert "检查通过" in result.err


def test_a_missing_env_variable_is_named_with_its_key(duban, workdir, monkeypatch):
    monkeypatch.delenv("DUBAN_WECOM_SFJ_TEST", raising=False)
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${DUBAN_WECOM_SFJ_TEST}"
    config = write_config(workdir / "etc", unit_extra={"市司法局": f'wecom = "{url}"'})
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config)
    assert result.code == 1
    assert problems(result) == [
        "问题：环境变量 DUBAN_WECOM_SFJ_TEST 未设置（配置键 units.市司法局.wecom 需要它）"
    ]
    monkeypatch.setenv("DUBAN_WECOM_SFJ_TEST", "k")
    assert doctor(duban, config).code == 0


def test_the_smtp_password_variable_must_be_set(duban, workdir, monkeypatch):
    monkeypatch.delenv("DUBAN_SMTP_PW_TEST", raising=False)
    email = ('host = "127.0.0.1"\nport = 587\nsecurity = "starttls"\nusername = "duban"\n'
             'password_env = "DUBAN_SMTP_PW_TEST"\nfrom = "督办 <duban@example.gov.cn>"')
    config = write_config(workdir / "etc", email=email)
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    [line] = problems(doctor(duban, config))
    assert "DUBAN_SMTP_PW_TEST" in line and "channels.email.password_env" in line


def test_a_robot_host_not_allowed_is_reported(duban, workdir):
    url = "https://robot.example.com/cgi-bin/webhook/send?key=abc"
    config = write_config(workdir / "etc", unit_extra={"市财政局": f'wecom = "{url}"'})
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    [line] = problems(doctor(duban, config))
    assert 'units."市财政局".wecom' in line and "robot.example.com" in line
    assert "allowed_hosts" in line


def test_a_year_without_official_holidays_is_reported(duban, workdir):
    plan = with_task(clean_plan(), 1, deadline=Deadline("2099年6月30日前", DeadlineKind.DATE,
                                                          date(2099, 6, 30)))
    config = write_config(workdir / "etc")
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", plan)
    [line] = problems(doctor(duban, config))
    assert "2099 年" in line and "trial-plan" in line


def test_holidays_supplied_in_the_config_cover_the_year(duban, workdir):
    plan = with_task(clean_plan(), 1, deadline=Deadline("2099年6月30日前", DeadlineKind.DATE,
                                                          date(2099, 6, 30)))
    config = write_config(workdir / "etc", extra="[calendar]\nextra_holidays = [2099-10-01]")
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", plan)
    assert doctor(duban, config).code == 0


def test_plans_needing_attention_are_reported(duban, workdir):
    config = write_config(workdir / "etc")
    plan = replace(small_plan(coordinator=""), tasks=small_plan().tasks)  # task 5: no lead, no date
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", plan)
    found = problems(doctor(duban, config))
    assert any("任务 5" in p and "缺少牵头单位" in p and "缺少完成时限" in p for p in found)
    assert any("未填写统筹单位" in p for p in found)


def test_an_invalid_config_is_a_problem_not_a_traceback(duban, workdir):
    config = workdir / "duban.toml"
    config.write_text('[service]\ntick_seconds = "often"\n', encoding="utf-8")
    result = doctor(duban, config)
    assert result.code == 1
    [line] = problems(result)
    assert "service.tick_seconds" in line and "应为整数" in line


def test_a_missing_plans_dir_is_reported(duban, workdir):
    config = write_config(workdir / "etc")
    (workdir / "etc" / "plans").rmdir()
    [line] = problems(doctor(duban, config))
    assert "service.plans_dir" in line and "不存在" in line


def test_a_database_behind_the_newest_schema_is_reported(duban, workdir):
    import sqlite3

    config = write_config(workdir / "etc")
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    (workdir / "var").mkdir()
    sqlite3.connect(workdir / "var" / "duban.db").close()  # exists, never migrated
    [line] = problems(doctor(duban, config))
    assert "结构不是最新版本" in line and "空库" in line


def test_plans_only_in_the_database_are_checked_too(duban, workdir):
    # Loaded once from elsewhere: the service runs it, so its units need contacts.
    plan = replace(clean_plan(), id="older-plan")
    write_small_plan(workdir / "older.yaml", plan)
    config = write_config(workdir / "etc", units=[u for u in UNITS if u != "市发改局"])
    assert duban("--now", NOW, "--config", str(config), "load", "older.yaml").code == 0
    result = doctor(duban, config)
    [line] = problems(result)
    assert "单位“市发改局”" in line and "older-plan" in line
    assert "结构为最新版本" in result.err


# --- --network ------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    """STARTTLS with a login, its certificate trusted through SSL_CERT_FILE."""
    with SmtpServer("starttls", tmp_path, username="duban", password="right-pw") as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cafile))
        yield server


@pytest.fixture
def wecom_server():
    with WecomServer() as server:
        yield server


def email_table(port: int, security: str = "starttls", timeout: float = 5) -> str:
    return (f'host = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nusername = "duban"\n'
            'password_env = "DUBAN_SMTP_PW_TEST"\nfrom = "督办 <duban@example.gov.cn>"\n'
            f"timeout_seconds = {timeout}")


def test_an_unreachable_smtp_server_is_reported_with_network(duban, workdir, monkeypatch):
    monkeypatch.setenv("DUBAN_SMTP_PW_TEST", "right-pw")
    config = write_config(workdir / "etc", email=email_table(closed_port()))
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    assert doctor(duban, config).code == 0  # without --network nothing is dialled
    result = doctor(duban, config, "--network")
    assert result.code == 1
    [line] = problems(result)
    assert "无法连接邮件服务器 127.0.0.1:" in line and "ConnectionRefusedError" in line


def test_network_checks_pass_against_real_servers_and_send_nothing(
    duban, workdir, monkeypatch, smtp_server, wecom_server
):
    monkeypatch.setenv("DUBAN_SMTP_PW_TEST", "right-pw")
    monkeypatch.setenv("DUBAN_WECOM_KEY_TEST", "robot-key")
    url = wecom_server.url("${DUBAN_WECOM_KEY_TEST}")
    config = write_config(
        workdir / "etc", email=email_table(smtp_server.port),
        extra='[channels.wecom]\nallowed_hosts = ["127.0.0.1"]',
        unit_extra={"市司法局": f'wecom = "{url}"'},
    )
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config, "--network")
    assert problems(result) == [] and result.code == 0
    assert "握手成功" in result.err
    assert smtp_server.received == [] and wecom_server.received == []


@pytest.fixture
def strict_smtp_server():
    """A loopback SMTP server that answers a wrong password with 535, as real servers do."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"right-pw"
        return AuthResult(success=ok, handled=False)

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=closed_port(),
                            authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    yield controller
    controller.stop()


def test_a_wrong_smtp_password_is_reported_without_the_password(
    duban, workdir, monkeypatch, strict_smtp_server
):
    monkeypatch.setenv("DUBAN_SMTP_PW_TEST", "wrong-pw-123")
    # a plain server: the login in the clear is a problem of its own
    config = write_config(workdir / "etc", email=email_table(strict_smtp_server.port, "none"))
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config, "--network")
    plaintext, line = problems(result)
    assert "明文" in plaintext
    assert "拒绝登录（用户 duban）：535" in line
    assert "wrong-pw-123" not in result.out + result.err
    monkeypatch.setenv("DUBAN_SMTP_PW_TEST", "right-pw")
    assert problems(doctor(duban, config, "--network")) == [plaintext]


@pytest.fixture
def robot_checking_keys():
    """A loopback robot endpoint that, like WeCom, checks the key before reading the body."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            return

        def do_POST(self):
            bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            key = parse_qs(urlsplit(self.path).query).get("key", [""])[0]
            code = 0 if key == "good-key" else 93000
            data = json.dumps({"errcode": code if code else 40008, "errmsg": "x"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], bodies
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_an_invalid_robot_key_is_reported(duban, workdir, robot_checking_keys):
    port, bodies = robot_checking_keys
    url = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=bad-key"
    config = write_config(workdir / "etc", extra='[channels.wecom]\nallowed_hosts = ["127.0.0.1"]',
                          unit_extra={"市司法局": f'wecom = "{url}"'})
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    [line] = problems(doctor(duban, config, "--network"))
    assert 'units."市司法局"' in line and "93000" in line
    assert bodies == [b""]  # no message: an empty body


def test_an_unreachable_robot_is_reported(duban, workdir):
    url = f"http://127.0.0.1:{closed_port()}/cgi-bin/webhook/send?key=secret-key-1"
    config = write_config(workdir / "etc", extra='[channels.wecom]\nallowed_hosts = ["127.0.0.1"]',
                          unit_extra={"市司法局": f'wecom = "{url}"'})
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config, "--network")
    [line] = problems(result)
    assert "无法连接企业微信机器人 127.0.0.1:" in line
    assert "secret-key-1" not in result.out + result.err


def test_the_shipped_examples_give_every_seed_unit_a_contact(duban, workdir, monkeypatch):
    """The README's install steps with the seed plan: doctor finds only the plan's own warnings."""
    import re

    from tests.conftest import REPO, SEED_PLAN

    etc = workdir / "etc"
    (etc / "workflows").mkdir(parents=True)
    text = (REPO / "config" / "duban.example.toml").read_text("utf-8")
    text = text.replace("/var/lib/duban/", f"{workdir}/state/")  # the service's state directory
    (etc / "duban.toml").write_text(text, encoding="utf-8")
    units = (REPO / "config" / "units.example.toml").read_text("utf-8")
    (etc / "units.toml").write_text(units, encoding="utf-8")
    (etc / "workflows" / SEED_PLAN.name).write_bytes(SEED_PLAN.read_bytes())
    for name in set(re.findall(r"\$\{(\w+)\}", units)) | {"DUBAN_SMTP_PASSWORD"}:
        monkeypatch.setenv(name, "placeholder")
    result = doctor(duban, etc / "duban.toml")
    found = problems(result)
    assert found, "the seed plan carries import warnings"
    assert all(line.startswith("问题：计划 zhuhai-gba-legal-services（") for line in found), found
    assert "数据库" in result.err and "尚不存在" in result.err


def test_a_leader_named_in_the_escalation_chain_needs_a_contact(duban, workdir):
    leader = ('[[policy.escalation]]\nafter_working_days = 0\nnotify = ["lead"]\n'
              '[[policy.escalation]]\nafter_working_days = 15\nnotify = ["leader"]\n'
              'recipients = ["市政府督查室"]')
    config = write_config(workdir / "etc", extra=leader)
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    [line] = problems(doctor(duban, config))
    assert "单位“市政府督查室”没有联系方式" in line
    assert "第 1 级升级通知（配置键 policy.escalation[1].recipients）" in line


# --- issue 15: robot URLs read alike by every parser, allowed hosts only, total deadlines --------

ROBOT_KEY = "3a1f0c9e-77d2-4c55-b1aa-doctorkey99"
LOOPBACK_ONLY = '[channels.wecom]\nallowed_hosts = ["127.0.0.1"]\ntimeout_seconds = 1'


@pytest.fixture
def foreign_robot():
    """A robot on 127.0.0.2: loopback too, but not an allowed host."""
    with WecomServer(host="127.0.0.2") as server:
        yield server


@pytest.mark.parametrize("network", [False, True])
def test_a_robot_url_with_a_backslash_is_one_problem_and_never_dialled(
    duban, workdir, wecom_server, foreign_robot, network
):
    url = (f"http://127.0.0.2:{foreign_robot.port}\\\\@127.0.0.1:{wecom_server.port}"
           f"/cgi-bin/webhook/send?key={ROBOT_KEY}")
    config = write_config(workdir / "etc", extra=LOOPBACK_ONLY,
                          unit_extra={"市司法局": f'wecom = "{url}"'})
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config, *(["--network"] if network else []))
    assert result.code == 1
    [line] = problems(result)
    assert 'units."市司法局".wecom' in line and "反斜杠" in line
    assert ROBOT_KEY not in result.out + result.err
    assert foreign_robot.connections == 0 and wecom_server.connections == 0


def test_a_url_spoilt_by_its_variable_is_reported(duban, workdir, monkeypatch, wecom_server):
    # the configured text is fine; the value brings in a line break (and with it a header)
    monkeypatch.setenv("DUBAN_WECOM_KEY_TEST", ROBOT_KEY + "\r\nX-Injected: 1")
    url = wecom_server.url("${DUBAN_WECOM_KEY_TEST}")
    config = write_config(workdir / "etc", extra=LOOPBACK_ONLY,
                          unit_extra={"市司法局": f'wecom = "{url}"'})
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config, "--network")
    [line] = problems(result)
    assert 'units."市司法局".wecom' in line
    assert "控制字符" in line and "展开环境变量后" in line
    assert ROBOT_KEY not in result.out + result.err
    assert wecom_server.connections == 0


def test_network_checks_contact_only_allowed_hosts(duban, workdir, wecom_server, foreign_robot):
    config = write_config(
        workdir / "etc", extra=LOOPBACK_ONLY,
        unit_extra={"市司法局": f'wecom = "{wecom_server.url(ROBOT_KEY)}"',
                    "市财政局": f'wecom = "{foreign_robot.url(ROBOT_KEY + "-2")}"'},
    )
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config, "--network")
    assert result.code == 1
    [line] = problems(result)
    assert 'units."市财政局".wecom' in line
    assert "127.0.0.2 不在 channels.wecom.allowed_hosts 中" in line
    assert foreign_robot.connections == 0  # not even a connection
    assert wecom_server.connections == 1 and wecom_server.received == []
    assert ROBOT_KEY not in result.out + result.err


def test_a_robot_dribbling_its_answer_is_cut_off(duban, workdir):
    answer = http_answer(pad=100)
    with SlowPeer(answer, interval=0.2) as peer:
        url = f"http://127.0.0.1:{peer.port}/cgi-bin/webhook/send?key={ROBOT_KEY}"
        config = write_config(workdir / "etc", extra=LOOPBACK_ONLY,
                              unit_extra={"市司法局": f'wecom = "{url}"'})
        write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
        result = doctor(duban, config, "--network")
        assert peer.finished.wait(timeout=30)
    [line] = problems(result)
    assert "1 秒内没有完成应答" in line and 'units."市司法局"' in line
    assert ROBOT_KEY not in result.out + result.err
    (written,) = peer.written
    assert written < len(answer) // 4, (written, len(answer))


def test_an_smtp_server_dribbling_its_greeting_is_cut_off(duban, workdir, monkeypatch):
    monkeypatch.setenv("DUBAN_SMTP_PW_TEST", "right-pw")
    greeting = b"220 " + b"x" * 100 + b"\r\n"
    with SlowPeer(greeting, interval=0.2, read_http_request=False) as peer:
        config = write_config(workdir / "etc", email=email_table(peer.port, timeout=1))
        write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
        result = doctor(duban, config, "--network")
        assert peer.finished.wait(timeout=30)
    [line] = problems(result)
    assert "1 秒内未完成握手" in line
    (written,) = peer.written
    assert written < len(greeting) // 4, (written, len(greeting))


def test_a_login_over_a_plain_connection_is_a_problem(duban, workdir, monkeypatch):
    monkeypatch.setenv("DUBAN_SMTP_PW_TEST", "plain-pw-456")
    port = closed_port()
    config = write_config(workdir / "etc", email=email_table(port, "none"))
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    result = doctor(duban, config)
    assert result.code == 1
    assert problems(result) == [
        '问题：邮件通道以明文连接（channels.email.security = "none"）登录邮件服务器 '
        f"127.0.0.1:{port}，密码将不加密传输；请改为 ssl 或 starttls"
    ]
    assert "plain-pw-456" not in result.out + result.err
    # a relay without a login (security = "none", no username) is fine
    relay = ('host = "127.0.0.1"\nport = 25\nsecurity = "none"\n'
             'from = "督办 <duban@example.gov.cn>"')
    config = write_config(workdir / "etc", email=relay)
    assert doctor(duban, config).code == 0

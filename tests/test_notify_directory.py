"""The contact directory: a contact whose secret variable is unset or blank does not reach a unit.

Such a unit takes the missing-contact path when the planner plans: its notice is written to the
file archive and the coordinator is told once (see engine/notify/directory.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from engine.config import Settings
from engine.notify.directory import reach
from engine.planner.snapshot import Contact
from engine.service import contacts
from tests.test_planner import COORDINATOR, Run, at, snap, task

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${DUBAN_TEST_DIR_KEY}"
EMAIL = {
    "host": "127.0.0.1",
    "security": "none",
    "username": "duban@example.gov.cn",
    "password_env": "DUBAN_TEST_DIR_PW",
    "from": "督办系统 <duban@example.gov.cn>",
}


def settings(units: dict[str, dict[str, object]], **channels: object) -> Settings:
    doc = {"channels": channels, "units": units}
    return Settings.model_validate(doc).model_copy(update={"source": Path("duban.toml")})


@pytest.mark.parametrize("value", ["", "   "])
def test_a_robot_url_whose_variable_is_blank_is_no_contact(monkeypatch, value):
    monkeypatch.setenv("DUBAN_TEST_DIR_KEY", value)
    found = reach("市发改局", settings({"市发改局": {"wecom": URL}}))
    assert (found.channels, found.missing) == (("file",), True)
    assert found.reasons == (
        "企业微信：单位“市发改局”的企业微信群机器人地址引用的"
        "环境变量 DUBAN_TEST_DIR_KEY 为空，无法发送",
    )


def test_an_unset_variable_is_no_contact_and_a_set_one_is(monkeypatch):
    config = settings({"市发改局": {"wecom": URL}})
    monkeypatch.delenv("DUBAN_TEST_DIR_KEY", raising=False)
    assert reach("市发改局", config).missing
    assert "DUBAN_TEST_DIR_KEY 未设置" in reach("市发改局", config).reasons[0]
    monkeypatch.setenv("DUBAN_TEST_DIR_KEY", "robot-key-3e7f")
    assert reach("市发改局", config) == reach("市发改局", config).__class__(
        "市发改局", ("wecom",), missing=False
    )


def test_another_usable_channel_still_reaches_the_unit(monkeypatch):
    monkeypatch.setenv("DUBAN_TEST_DIR_KEY", "")
    monkeypatch.setenv("DUBAN_TEST_DIR_PW", "smtp-pw-9911")
    config = settings({"市发改局": {"wecom": URL, "email": "fgj@example.gov.cn"}}, email=EMAIL)
    found = reach("市发改局", config)
    assert (found.channels, found.missing) == (("email",), False)
    assert len(found.reasons) == 1 and "DUBAN_TEST_DIR_KEY" in found.reasons[0]


@pytest.mark.parametrize("value", [None, "", " \t"])
def test_an_smtp_login_without_a_password_is_no_contact(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("DUBAN_TEST_DIR_PW", raising=False)
    else:
        monkeypatch.setenv("DUBAN_TEST_DIR_PW", value)
    found = reach("市发改局", settings({"市发改局": {"email": "fgj@example.gov.cn"}}, email=EMAIL))
    assert (found.channels, found.missing) == (("file",), True)
    assert "DUBAN_TEST_DIR_PW" in found.reasons[0]
    assert "channels.email.password_env" in found.reasons[0]


def test_without_a_login_the_password_variable_is_not_needed(monkeypatch):
    monkeypatch.delenv("DUBAN_TEST_DIR_PW", raising=False)
    email = dict(EMAIL, username=None)
    found = reach("市发改局", settings({"市发改局": {"email": "fgj@example.gov.cn"}}, email=email))
    assert found.channels == ("email",) and not found.missing


def test_the_planner_archives_the_notice_and_tells_the_coordinator_once(monkeypatch):
    monkeypatch.setenv("DUBAN_TEST_DIR_KEY", "")
    config = settings({"市发改局": {"wecom": URL}, COORDINATOR: {"file": True}})
    directory = contacts(["市发改局", COORDINATOR], config)
    assert directory["市发改局"] == Contact(("file",), missing=True)
    run = Run(snap(task(1, date(2021, 6, 30)), task(2, date(2021, 6, 30)), **directory))
    notices = [n for n in run.at(at("2021-06-29")) if n.kind != "digest"]
    assert [(n.kind, n.recipient, n.channel, n.tasks) for n in notices] == [
        ("delivery_failure", COORDINATOR, "file", (1, 2)),  # one report for the day
        ("reminder", "市发改局", "file", (1, 2)),  # nothing is lost: the archive has it
    ]
    assert notices[0].context["missing_contacts"] == ["市发改局"]
    assert [n for n in run.at(at("2021-06-29", 10)) if n.kind != "digest"] == []


def test_doctor_names_the_variable_not_a_missing_contact(duban, workdir, monkeypatch):
    from tests.test_doctor import clean_plan, doctor, problems, write_config, write_small_plan

    monkeypatch.setenv("DUBAN_TEST_DIR_KEY", "")
    config = write_config(
        workdir / "etc", contact="", unit_extra={"市司法局": f'wecom = "{URL}"'}, units=["市司法局"]
    )
    write_small_plan(workdir / "etc" / "plans" / "trial.yaml", clean_plan())
    found = [p for p in problems(doctor(duban, config)) if "市司法局" in p and "DUBAN" in p]
    assert found, problems(doctor(duban, config))
    assert "环境变量 DUBAN_TEST_DIR_KEY 为空" in found[0] and "联系方式不可用" in found[0]
    assert all("没有联系方式" not in p for p in found)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/cgi-bin/webhook/send?key=abc",
        "http://evil.example\\@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
        "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",  # plain http to a public host
    ],
)
def test_a_robot_url_the_channel_would_refuse_is_no_contact(url):
    """Such a notice would only go dead; the unit's notices go to the file archive instead and the
    coordinator hears of the missing contact, as for a unit with no contact at all."""
    found = reach("市发改局", settings({"市发改局": {"wecom": url}}))
    assert (found.channels, found.missing) == (("file",), True)
    assert len(found.reasons) == 1 and found.reasons[0].startswith("企业微信："), found.reasons
    assert "abc" not in found.reasons[0]


def test_a_refused_robot_url_beside_an_email_leaves_the_email():
    config = settings(
        {"市发改局": {"wecom": "https://evil.example/send?key=abc", "email": "fgj@example.gov.cn"}},
        email={**EMAIL, "username": None, "password_env": None},
    )
    found = reach("市发改局", config)
    assert (found.channels, found.missing) == (("email",), False)
    assert "evil.example" in found.reasons[0]

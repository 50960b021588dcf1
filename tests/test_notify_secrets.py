"""Secrets never reach logs or errors: URL keys, the SMTP password and every ${…} value."""

from __future__ import annotations

import io

import pytest
from loguru import logger

from engine.config import Settings
from engine.notify import secrets


@pytest.fixture(autouse=True)
def _reset_logging():
    yield
    logger.remove()
    logger.configure(patcher=None)


def test_webhook_keys_and_url_passwords_are_masked():
    text = "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcd-1234&debug=1 failed"
    assert secrets.mask(text) == (
        "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***&debug=1 failed"
    )
    assert secrets.mask("postgresql://duban:hunter22@db/duban") == "postgresql://duban:***@db/duban"


def test_values_the_config_refers_to_are_masked_anywhere(monkeypatch):
    monkeypatch.setenv("DUBAN_WECOM_X", "robot-key-5f2a")
    monkeypatch.setenv("DUBAN_SMTP_PW", "Pa55-word-9")
    settings = Settings.model_validate(
        {
            "channels": {"email": {"host": "h", "from": "a@b.cn", "password_env": "DUBAN_SMTP_PW"}},
            "units": {"市司法局": {"wecom": "https://qyapi.weixin.qq.com/x?key=${DUBAN_WECOM_X}"}},
        }
    )
    secrets.collect(settings)
    assert secrets.mask("the key robot-key-5f2a and Pa55-word-9") == "the key *** and ***"


def test_log_records_are_masked(monkeypatch):
    monkeypatch.setenv("DUBAN_WECOM_Y", "another-robot-key")
    secrets.expand_secret("https://q/x?key=${DUBAN_WECOM_Y}")
    out = io.StringIO()
    secrets.install_log_masking()
    logger.remove()
    logger.add(out, format="{message} {extra}")
    logger.bind(url="https://q/send?key=zzz-secret").info("sent with another-robot-key")
    line = out.getvalue()
    assert "another-robot-key" not in line and "zzz-secret" not in line
    assert "sent with ***" in line

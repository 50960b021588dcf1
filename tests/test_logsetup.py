"""Service logs: one line per event with task and recipient, level from config, secrets masked."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest
from loguru import logger

from engine.config import load_settings
from engine.logsetup import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    logger.remove()
    logger.configure(patcher=None)
    logging.basicConfig(handlers=[], force=True)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_one_line_per_event_with_task_and_recipient():
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    logger.bind(task=3, recipient="市司法局", channel="email").info("已发送提醒\n共 2 项任务")
    [line] = lines(out)
    assert "已发送提醒 ⏎ 共 2 项任务" in line
    assert "task=3" in line and "recipient=市司法局" in line and "channel=email" in line
    assert "\x1b[" not in line  # no colours when not a terminal


def test_the_level_comes_from_the_config(tmp_path: Path):
    config = tmp_path / "duban.toml"
    config.write_text('[service]\nlog_level = "WARNING"\n', encoding="utf-8")
    out = io.StringIO()
    configure_logging(load_settings(config), stream=out)
    logger.info("常规信息")
    logger.warning("需要注意")
    assert [line.split(" ", 3)[-1] for line in lines(out)] == ["需要注意"]


def test_an_exception_is_one_line_without_variable_values():
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    password = "pw-in-a-local"  # noqa: F841 - a local that diagnose=True would print
    try:
        raise ConnectionRefusedError("连接被拒绝")
    except ConnectionRefusedError:
        logger.exception("投递失败")
    [line] = lines(out)
    assert "投递失败（ConnectionRefusedError: 连接被拒绝）" in line
    assert "pw-in-a-local" not in out.getvalue()


def test_secrets_from_the_config_are_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DUBAN_WECOM_T", "robot-key-0001")
    monkeypatch.setenv("DUBAN_SMTP_T", "smtp-pass-0001")
    config = tmp_path / "duban.toml"
    config.write_text(
        '[channels.email]\nhost = "smtp.example.gov.cn"\nfrom = "a@example.gov.cn"\n'
        'password_env = "DUBAN_SMTP_T"\n'
        '[units."市司法局"]\nwecom = "https://qyapi.weixin.qq.com/x?id=${DUBAN_WECOM_T}"\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    configure_logging(load_settings(config), stream=out)
    logger.bind(url="https://h/x?id=robot-key-0001").error("登录失败：smtp-pass-0001")
    text = out.getvalue()
    assert "robot-key-0001" not in text and "smtp-pass-0001" not in text
    assert "***" in text


def test_library_logs_pass_through_and_scheduler_chatter_is_quiet():
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    logging.getLogger("apscheduler.executors.default").info('Running job "tick"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    assert len(lines(out)) == 1 and "was missed" in lines(out)[0]


def test_under_journald_each_line_carries_its_priority(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    with (tmp_path / "journal").open("w+", encoding="utf-8") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        configure_logging("INFO", stream=stream)
        logger.info("服务已启动")
        logger.warning("日历缺少 2027 年数据")
        stream.seek(0)
        assert stream.read().splitlines() == ["<6>服务已启动", "<4>日历缺少 2027 年数据"]

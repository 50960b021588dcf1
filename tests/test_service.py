"""`duban run --once` and `duban outbox` end to end on the seed plan, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SEED_PLAN

DUE_MID_2021 = {1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13}  # the seed's tasks due 2021-06-30


def load_seed(duban, now: str = "2020-11-20T10:00:00+08:00") -> None:
    r = duban("--now", now, "load", str(SEED_PLAN))
    assert r.code == 0, r.err


def run_once(duban, now: str):
    r = duban("--now", now, "run", "--once")
    assert r.code == 0, r.err
    return r


def outbox(duban, *args: str) -> list[dict]:
    r = duban("outbox", "--json", *args)
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_run_once_sends_task_14_reminder_to_the_file_channel(duban, workdir: Path) -> None:
    load_seed(duban)
    r = run_once(duban, "2020-12-01T09:30:00+08:00")
    assert "生成通知：" in r.out and "发送情况：" in r.out
    rows = [n for n in outbox(duban) if n["kind"] == "reminder"]
    assert [(n["recipient"], n["tasks"], n["status"]) for n in rows] == [
        ("市人社局", [15], "sent"), ("市司法局", [14], "sent"),
    ]
    assert rows[1]["send_at"] == "2020-12-01T09:00:00+08:00"
    assert rows[1]["sent_at"] == "2020-12-01T09:30:00+08:00"
    assert set(rows[1]) == {"id", "kind", "recipient", "channel", "level", "tasks", "status",
                            "attempts", "send_at", "sent_at", "error"}
    written = list((workdir / "var" / "outbox").rglob("*reminder*市司法局*.txt"))
    assert len(written) == 1 and "不断提高法律援助的工作质量" in written[0].read_text("utf-8")


def test_a_second_pass_sends_nothing_new(duban) -> None:
    load_seed(duban)
    run_once(duban, "2020-12-01T09:30:00+08:00")
    before = outbox(duban)
    r = run_once(duban, "2020-12-01T16:00:00+08:00")
    assert "生成通知：0 条" in r.out
    assert outbox(duban) == before


def test_a_pass_before_send_at_or_on_a_holiday_creates_nothing(duban) -> None:
    load_seed(duban)
    run_once(duban, "2020-12-01T08:59:00+08:00")
    run_once(duban, "2021-01-01T10:00:00+08:00")  # New Year's Day
    run_once(duban, "2020-12-06T10:00:00+08:00")  # a Sunday
    assert outbox(duban) == []


def test_three_weeks_of_downtime_give_one_overdue_notice_per_task(duban) -> None:
    load_seed(duban, "2021-06-01T10:00:00+08:00")
    run_once(duban, "2021-07-21T10:00:00+08:00")
    overdue = [n for n in outbox(duban) if n["kind"] == "overdue"]
    recipients = [n["recipient"] for n in overdue]
    assert len(recipients) == len(set(recipients))  # grouped: one notice per unit
    per_task = {no: [n["recipient"] for n in overdue if no in n["tasks"]] for no in DUE_MID_2021}
    for no, units in per_task.items():
        assert len(units) == len(set(units)), f"task {no} notified twice to one unit"
    assert "市发改局" in per_task[1] and per_task[11] == ["市司法局"]
    escalation = [n for n in outbox(duban) if n["kind"] == "escalation"]
    # One escalation to the coordinator listing every overdue task it does not lead itself.
    assert [(n["recipient"], n["level"], n["tasks"]) for n in escalation] == [
        ("市司法局", 1, [1, 2, 3, 5, 7, 9, 12, 13, 15]),
    ]
    assert run_once(duban, "2021-07-21T15:00:00+08:00").out.count("→") == 0


def test_lead_unit_that_reported_is_not_chased(duban) -> None:
    load_seed(duban)
    for no in ("13", "15"):
        r = duban("--now", "2020-11-23T10:00:00+08:00", "progress", no, "--unit", "市人社局",
                  "--text", "已完成调研，正在起草制度文件")
        assert r.code == 0, r.err
    run_once(duban, "2020-11-26T09:05:00+08:00")
    missing = [n for n in outbox(duban) if n["kind"] == "progress_missing"]
    assert "市人社局" not in {n["recipient"] for n in missing}
    summary = next(n for n in missing if n["recipient"] == "市司法局")
    assert 13 not in summary["tasks"] and 15 not in summary["tasks"] and 1 in summary["tasks"]


def test_a_completed_task_gets_nothing(duban) -> None:
    load_seed(duban)
    now = "2020-11-23T10:00:00+08:00"
    assert duban("--now", now, "progress", "14", "--unit", "市司法局", "--text", "已开展").code == 0
    r = duban("--now", now, "request", "14", "--unit", "市司法局", "--to", "completed",
              "--reason", "已完成", "--json")
    assert r.code == 0, r.err
    request_id = str(json.loads(r.out)["id"])
    r = duban("--now", now, "approve", request_id, "--by", "市司法局")
    assert r.code == 0, r.err
    run_once(duban, "2020-12-01T09:30:00+08:00")
    run_once(duban, "2021-01-04T09:30:00+08:00")
    deadline_kinds = {"reminder", "overdue", "escalation"}
    assert [n for n in outbox(duban) if 14 in n["tasks"] and n["kind"] in deadline_kinds] == []
    assert any(15 in n["tasks"] and n["kind"] == "overdue" for n in outbox(duban))


def test_outbox_filters_by_status_and_refuses_an_unknown_one(duban) -> None:
    load_seed(duban)
    run_once(duban, "2020-12-01T09:30:00+08:00")
    assert outbox(duban, "--status", "pending") == []
    assert len(outbox(duban, "--status", "sent")) == len(outbox(duban)) > 0
    r = duban("outbox", "--status", "done")
    assert r.code == 2 and r.err.count("\n") == 1 and "pending" in r.err and "dead" in r.err


def test_outbox_table_for_people(duban) -> None:
    load_seed(duban)
    r = duban("outbox")
    assert r.code == 0 and "没有通知" in r.err
    run_once(duban, "2020-12-01T09:30:00+08:00")
    r = duban("outbox")
    assert r.out.splitlines()[0].split()[:4] == ["编号", "类型", "接收单位", "渠道"]
    assert "到期提醒" in r.out and "已发送" in r.out


def test_a_year_without_official_holidays_is_warned_once_and_still_planned(duban) -> None:
    load_seed(duban)
    r = run_once(duban, "2027-06-01T10:00:00+08:00")
    assert r.err.count("2027 年的法定节假日数据缺失") == 1
    overdue = [n for n in outbox(duban) if n["kind"] == "overdue"]
    assert overdue and all(n["send_at"] == "2027-06-01T09:00:00+08:00" for n in overdue)


def _email_config(folder: Path, security: str) -> Path:
    (folder / "plans").mkdir(parents=True, exist_ok=True)
    path = folder / "duban.toml"
    path.write_text(
        '[service]\nplans_dir = "plans"\n[channels.file]\ndir = "outbox"\n'
        f'[channels.email]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "{security}"\n'
        'username = "duban"\npassword_env = "DUBAN_SMTP_PW_TEST"\n'
        'from = "督办 <duban@example.gov.cn>"\n',
        encoding="utf-8",
    )
    return path


def test_a_login_over_a_plain_connection_is_warned_at_start(duban, workdir, monkeypatch) -> None:
    monkeypatch.setenv("DUBAN_SMTP_PW_TEST", "plain-secret-789")
    config = _email_config(workdir / "etc", "none")
    r = duban("--config", str(config), "--now", "2021-06-01T10:00:00+08:00", "run", "--once")
    assert r.code == 0, r.err
    [line] = [line for line in r.err.splitlines() if "明文" in line]
    assert "WARNING" in line  # a warning, not a note
    assert '以明文连接（channels.email.security = "none"）登录邮件服务器 127.0.0.1:2525' in line
    assert "plain-secret-789" not in r.out + r.err
    config = _email_config(workdir / "etc", "starttls")
    r = duban("--config", str(config), "--now", "2021-06-01T10:00:00+08:00", "run", "--once")
    assert r.code == 0, r.err
    assert "明文" not in r.err

"""Started after today's send_at on a working day, the service says today's notices go out now,
not only the next working day's time (a newcomer saw "next batch: tomorrow" and then dozens of
notices written at once)."""

from pathlib import Path

import pytest

from tests.conftest import SEED_PLAN


@pytest.mark.parametrize(
    ("now", "catch_up"),
    [
        ("2021-06-01T16:00:00+08:00", True),  # a Tuesday, after 09:00
        ("2021-06-01T08:00:00+08:00", False),  # the same day, before 09:00
        ("2021-06-05T16:00:00+08:00", False),  # a Saturday
    ],
)
def test_the_start_lines_say_when_today_is_caught_up(duban, workdir: Path, now: str,
                                                     catch_up: bool):
    (workdir / "workflows").mkdir()
    (workdir / "workflows" / "plan.yaml").write_text(SEED_PLAN.read_text("utf-8"), "utf-8")
    r = duban("--now", now, "run", "--once")
    assert r.code == 0, r.err
    assert "下一批通知发送时间" in r.err
    assert ("今日发送时间 09:00 已过，今日应发的通知现在补发" in r.err) is catch_up

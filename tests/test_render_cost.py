"""What rendering a long WeCom notice costs: each task is rendered a bounded number of times,
whatever the count of tasks, not once for every message before its own (issue 12)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from engine.notify.context import TaskLine
from engine.notify.render import WECOM_LIMIT, environment, render_notice
from engine.notify.samples import SAMPLE_TASKS, sample_context

READS: Counter[int] = Counter()


class CountedLine(TaskLine):
    """A task line that counts how often a template reads its title (once per line written)."""

    def __getattribute__(self, name: str):
        if name == "title":
            READS[object.__getattribute__(self, "no")] += 1
        return object.__getattribute__(self, name)


def _reminder(count: int):
    base = dataclasses.asdict(SAMPLE_TASKS[0])
    tasks = tuple(
        CountedLine(**{**base, "no": n, "title": f"第{n}项任务：完善公共法律服务体系建设"})
        for n in range(1, count + 1)
    )
    return sample_context("reminder", "wecom", tasks=tasks)


def _reads_per_task(count: int) -> float:
    ctx = _reminder(count)
    READS.clear()
    messages = render_notice(ctx, environment(None)).markdown
    assert all(len(body.encode("utf-8")) <= WECOM_LIMIT for body in messages)
    assert len(messages) >= count // 60  # the tasks do need many messages
    assert sorted(READS) == list(range(1, count + 1))  # every task is written
    return sum(READS.values()) / count


@pytest.mark.parametrize("count", [400, 1600])
def test_each_task_of_a_long_wecom_notice_is_rendered_a_bounded_number_of_times(count: int):
    assert _reads_per_task(count) <= 16

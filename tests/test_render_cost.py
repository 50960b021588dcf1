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


def test_templates_hold_their_globals_in_one_dict_that_renders_the_same(tmp_path):
    """Jinja copies a template's globals into each render and compares them at each import: over
    its ChainMap both walk the maps in Python. Each template holds one dict instead, with every
    global of the environment (bundled, and in the sandbox of an override folder)."""
    from engine.notify import kinds
    from engine.notify.render import html_environment
    from engine.notify.samples import sample_context

    (tmp_path / "reminder").mkdir()
    (tmp_path / "reminder" / "subject.txt.j2").write_text(
        '{% import "_macros.j2" as m %}{{ kind_labels[notice.kind] }}：{{ m.role(notice) }}',
        encoding="utf-8",
    )
    for env in (environment(None), environment(str(tmp_path))):
        rendered = render_notice(sample_context("reminder", "email"), env)
        for name in ("reminder/subject.txt.j2", "reminder/body.txt.j2", "_macros.j2"):
            for one in (env, html_environment(env)):
                template = one.get_template(name)
                assert type(template.globals) is dict
                assert template.globals["kind_labels"] is kinds.KIND_LABELS
    assert rendered.subject == f"{kinds.KIND_LABELS['reminder']}：牵头"

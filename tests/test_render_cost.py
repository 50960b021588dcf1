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


def test_a_template_calls_macros_functions_and_built_ins_without_jinjas_lookup(monkeypatch):
    """Jinja's `Context.call` looks for a `pass_context`-like mark on everything a template calls
    (three failed attribute lookups, a hundred calls a notice). The notices' environments call a
    macro, a built-in or an unmarked function at once: only a method (whose function may carry
    the mark) is left to Jinja."""
    from jinja2.runtime import Context

    from engine.notify.render import html_environment

    looked_up: list[object] = []
    jinja_call = Context.call

    def counted(self, obj, *args, **kwargs):
        looked_up.append(obj)
        return jinja_call(self, obj, *args, **kwargs)

    monkeypatch.setattr(Context, "call", counted)
    env = environment(None)
    rendered = render_notice(sample_context("reminder", "email"), env)
    assert rendered.text and rendered.html
    assert html_environment(env).context_class is env.context_class
    assert all(type(obj).__name__ == "method" for obj in looked_up), looked_up


class _Marked:
    """A global whose method asks for the context (Jinja gives it through the method)."""

    from jinja2 import pass_context as _pass_context

    @_pass_context
    def name(self, context, suffix):
        return f"{context['who']}{suffix}"


def test_what_a_template_calls_gets_what_jinja_would_pass_it(tmp_path):
    """Functions marked `pass_context`, `pass_eval_context` or `pass_environment`, a marked
    method, a class, a built-in, a macro given a caller and a function that raises StopIteration
    render as in Jinja's own environments, bundled and sandboxed."""
    from jinja2 import (
        DictLoader,
        Environment,
        StrictUndefined,
        UndefinedError,
        pass_context,
        pass_environment,
        pass_eval_context,
    )
    from jinja2.sandbox import SandboxedEnvironment

    from engine.notify import render

    def stops():
        raise StopIteration

    source = (
        "{% macro box(x) %}[{{ x }}|{{ caller() }}]{% endmacro %}"
        "{{ ctx('!') }} {{ evc() }} {{ envf() }} {{ marked.name('?') }} {{ plain(2) }} "
        "{{ {'a': 1}.get('a') }} {{ kind('x') }} {% call box(3) %}{{ who }}{% endcall %} "
        "{{ 'a b'.split() | join(',') }}"
    )
    functions = {
        "ctx": pass_context(lambda c, s: c["who"] + s),
        "evc": pass_eval_context(lambda e: e.autoescape),
        "envf": pass_environment(lambda e: e.undefined.__name__),
        "marked": _Marked(),
        "plain": lambda n: n * 2,
        "kind": str,
        "stops": stops,
    }
    for ours, theirs in ((render._FlatGlobals, Environment), (render._Sandbox,
                                                               SandboxedEnvironment)):
        outputs = []
        for kind in (ours, theirs):
            env = kind(loader=DictLoader({"t": source, "s": "{{ stops() }}"}),
                       undefined=StrictUndefined)
            env.globals.update(functions)
            outputs.append(env.get_template("t").render(who="甲"))
            with pytest.raises(UndefinedError, match="StopIteration"):
                env.get_template("s").render()
        assert outputs[0] == outputs[1]
        assert outputs[0] == "甲! False StrictUndefined 甲? 4 1 x [3|甲] a,b"


class _Html:
    """An object that says what its HTML is (`__html__`), as markup of a library would."""

    def __html__(self):
        return "<i>已转义</i>"


class _StrSubclass(str):
    """A str subclass: not a plain string, so escaped the way MarkupSafe escapes any object."""


def test_html_escaping_is_markupsafes_for_every_kind_of_value():
    """The HTML environment escapes with its own `_escape`, fast for a plain string, an integer
    and safe markup: for every kind of value it gives what `markupsafe.escape` gives."""
    from enum import StrEnum

    import markupsafe
    from markupsafe import Markup

    from engine.notify.render import _escape

    class Status(StrEnum):
        ODD = "<未启动>"

    class Subclass(Markup):
        pass

    hostile = "<script>alert('x')</script> & \"引号\""
    values = [hostile, "", "普通文字", Markup("<b>安全</b>"), Subclass("<u>子类</u>"), 0, -12,
              2**70, True, None, 3.5, Status.ODD, _Html(), _StrSubclass("<s>"), ["<列表>"]]
    for value in values:
        ours, theirs = _escape(value), markupsafe.escape(value)
        assert (ours, type(ours)) == (theirs, type(theirs)), value
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;引号&#34;"
    assert _escape(hostile) == escaped


def test_an_html_notice_is_escaped_without_markups_python_constructor(monkeypatch, tmp_path):
    """An HTML notice writes about 150 values and 190 macro outputs, each marked safe by `Markup`,
    whose constructor is Python since MarkupSafe 3. The notices' templates (bundled, and in the
    sandbox of an override folder) escape and mark them without it, and a hostile title is
    still escaped."""
    from markupsafe import Markup

    made: list[object] = []
    constructor = Markup.__new__

    def counted(cls, *args, **kwargs):
        made.append(args[0] if args else "")
        return constructor(cls, *args, **kwargs)

    (tmp_path / "reminder").mkdir()
    (tmp_path / "reminder" / "subject.txt.j2").write_text("{{ notice.kind }}", encoding="utf-8")
    hostile = "<script>alert(1)</script>"
    tasks = tuple(
        dataclasses.replace(SAMPLE_TASKS[0], no=n, title=f"{hostile}第{n}项")
        for n in range(1, 21)
    )
    ctx = sample_context("reminder", "email", tasks=tasks)
    for env in (environment(None), environment(str(tmp_path))):
        render_notice(ctx, env)  # compiling a template makes markup of its text: not counted
        monkeypatch.setattr(Markup, "__new__", counted)
        html = render_notice(ctx, env).html
        monkeypatch.undo()
        assert hostile not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 20
        assert len(made) < len(tasks), made
        made.clear()

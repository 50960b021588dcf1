"""Notice templates: every kind on every channel, strict names, escaping, overrides, 4096 bytes."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest
from jinja2.sandbox import SandboxedEnvironment

from engine.config import Settings
from engine.errors import UserError
from engine.notify import kinds
from engine.notify.context import TaskLine
from engine.notify.render import (
    WECOM_LIMIT,
    environment,
    environment_for,
    md_escape,
    render_notice,
)
from engine.notify.samples import SAMPLE_TASKS, missing_contact_extra, sample_context
from engine.paths import templates_dir


@pytest.fixture
def env():
    return environment(None)


def test_every_kind_has_every_template_file():
    for kind in kinds.KINDS:
        for part in kinds.PARTS:
            assert (templates_dir() / kinds.template_name(kind, part)).is_file(), (kind, part)


@pytest.mark.parametrize("kind", kinds.KINDS)
@pytest.mark.parametrize("channel", kinds.CHANNELS)
def test_every_kind_renders_on_every_channel(env, kind, channel):
    ctx = sample_context(kind, channel)
    rendered = render_notice(ctx, env)
    assert rendered.subject and "\n" not in rendered.subject
    if channel in ("wecom", "dingtalk", "feishu"):
        assert rendered.markdown and not rendered.text
        body = "\n".join(rendered.markdown)
    elif channel == "wecom_app":
        assert rendered.card is not None and rendered.text.startswith(f"{ctx.recipient}：")
        assert len(rendered.card.description.encode()) <= 512
        assert len(rendered.card.title.encode()) <= 128 and 1 <= len(rendered.card.button) <= 4
        # the card says to whom, from whom and when; its page shows every task
        assert ctx.recipient in rendered.card.description
        assert "市司法局（督办系统）" in rendered.card.description
        assert "2021年6月23日" in rendered.card.description
        return
    else:
        assert rendered.text.startswith(f"{ctx.recipient}：")
        assert "<!DOCTYPE html>" in rendered.html
        body = rendered.text
    # addressed, signed and dated like a document, and naming every task it concerns
    assert ctx.recipient in body
    assert "市司法局（督办系统）" in body and "2021年6月23日" in body
    for task in ctx.tasks:
        assert str(task.no) in body and task.title[:10] in body


def test_reminder_reads_like_a_notice(env):
    rendered = render_notice(sample_context("reminder", "email"), env)
    assert rendered.subject == (
        "关于“宽视野高标准统筹谋划公共法律服务体系建设”等2项任务即将到期的提醒"
    )
    assert "市发改局：" in rendered.text
    assert "完成时限：2021年6月30日前，距完成时限还有7天" in rendered.text
    assert "督办灯：黄灯" in rendered.text
    # a plan title that holds a book title nests it as 〈〉 inside 《》
    assert "《珠海市人民政府落实〈珠海市人民代表大会常务委员会" in rendered.text
    assert "<th>序号</th><th>任务</th><th>完成时限</th><th>状态</th><th>灯</th>" in rendered.html


def test_copy_notice_is_marked_and_shows_the_lead(env):
    rendered = render_notice(sample_context("overdue", "file", is_copy=True), env)
    assert rendered.subject.startswith("【抄送】")
    assert "配合单位，此件抄送" in rendered.text
    assert "牵头单位：市发改局" in rendered.text


def test_delivery_failure_for_a_unit_without_contact(env):
    ctx = dataclasses.replace(sample_context("delivery_failure"), extra=missing_contact_extra())
    rendered = render_notice(ctx, env)
    assert "珠海仲裁委" in rendered.subject
    assert "缺少联系方式的单位：珠海仲裁委（到期提醒、逾期督办）" in rendered.text, rendered.text
    assert "本周发给其的到期提醒、逾期督办未能直接送达" in rendered.text
    assert "每周至多发送一次" in rendered.text
    assert "缺少联系方式" in rendered.subject


def test_an_undefined_name_is_an_error_naming_the_template(tmp_path: Path):
    (tmp_path / "reminder").mkdir()
    (tmp_path / "reminder" / "subject.txt.j2").write_text("关于{{ notice.no_such_field }}的提醒")
    env = environment(str(tmp_path))
    with pytest.raises(UserError, match=r"reminder/subject\.txt\.j2.*no_such_field"):
        render_notice(sample_context("reminder"), env)


def test_a_missing_extra_key_is_an_error(env):
    ctx = dataclasses.replace(sample_context("approval_request"), extra={})
    with pytest.raises(UserError, match="approval_request"):
        render_notice(ctx, env)


def test_a_config_folder_overrides_one_template_only(tmp_path: Path):
    (tmp_path / "reminder").mkdir()
    (tmp_path / "reminder" / "subject.txt.j2").write_text("【本地模板】{{ notice.recipient }}")
    settings = Settings(templates={"dir": str(tmp_path)})
    env = environment_for(settings)
    rendered = render_notice(sample_context("reminder"), env)
    assert rendered.subject == "【本地模板】市发改局"
    assert "距完成时限还有7天" in rendered.text  # the body still comes from the bundled set
    assert render_notice(sample_context("overdue"), env).subject.startswith("关于")


@pytest.mark.parametrize(
    "payload",
    [
        "{{ cycler.__init__.__globals__.os.popen('touch %(marker)s').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ notice.__class__.__init__.__globals__['os'].system('touch %(marker)s') }}",
        "{{ lipsum.__globals__['os'].popen('touch %(marker)s') }}",
    ],
)
def test_an_override_template_cannot_run_code(tmp_path: Path, payload: str):
    marker = tmp_path / "pwned"
    (tmp_path / "reminder").mkdir()
    (tmp_path / "reminder" / "subject.txt.j2").write_text(payload % {"marker": marker})
    env = environment_for(Settings(templates={"dir": str(tmp_path)}))
    with pytest.raises(UserError, match=r"通知模板 reminder/subject\.txt\.j2 无法渲染"):
        render_notice(sample_context("reminder"), env)
    assert not marker.exists()


@pytest.mark.parametrize("kind", kinds.KINDS)
@pytest.mark.parametrize("channel", kinds.CHANNELS)
def test_the_bundled_templates_read_the_same_in_the_sandbox(env, tmp_path, kind, channel):
    # Without an override folder the bundled templates render outside Jinja's sandbox (they are
    # the package's code, and the sandbox is half the cost of a notice); with a folder, even an
    # empty one, every template renders inside it. Either way a notice is the same text.
    sandboxed = environment(str(tmp_path))
    assert isinstance(sandboxed, SandboxedEnvironment)
    assert not isinstance(env, SandboxedEnvironment)
    ctx = sample_context(kind, channel)
    assert render_notice(ctx, sandboxed) == render_notice(ctx, env)


def test_the_sandbox_keeps_undefined_names_an_error(tmp_path: Path):
    (tmp_path / "reminder").mkdir()
    (tmp_path / "reminder" / "subject.txt.j2").write_text("{{ notice.no_such_field }}")
    env = environment_for(Settings(templates={"dir": str(tmp_path)}))
    with pytest.raises(UserError, match="no_such_field"):
        render_notice(sample_context("reminder"), env)


def without_link(message: str, url: str) -> str:
    """`message` without the link line that ends it, which must be the notice's own link."""
    rest, _, last = message.rpartition("\n\n")
    words, note = r"\[(点击办理|点击审批|进入督办系统)\]", r"(（\d+天内有效，请勿转发）)?"
    pattern = words + r"\(" + re.escape(url) + r"\)" + note
    assert re.fullmatch(pattern, last), last
    return rest


HOSTILE = (
    "[点我](http://evil.example/x) <@zhangsan> @all **粗体** `code` "
    "# 标题 > 引用 _x_ ~删~ |表| &lt;"
)


def _hostile(kind: str, channel: str):
    task = dataclasses.replace(SAMPLE_TASKS[0], title=HOSTILE, progress=HOSTILE, lead=HOSTILE)
    ctx = sample_context(kind, channel, tasks=(task,), recipient=HOSTILE)
    extra = {
        k: (HOSTILE if isinstance(v, str) and k not in ("type", "decision") else v)
        for k, v in ctx.extra.items()
    }
    return dataclasses.replace(ctx, extra=extra, plan_title=HOSTILE, coordinator=HOSTILE)


@pytest.mark.parametrize("kind", kinds.KINDS)
def test_unit_text_cannot_inject_markdown_into_wecom(env, kind):
    ctx = _hostile(kind, "wecom")
    rendered = render_notice(ctx, env)
    assert ctx.link is not None
    # the only link is the notice's own, closing each message
    body = "\n".join(without_link(message, ctx.link.url) for message in rendered.markdown)
    assert "](" not in body and "[" not in body and "http://" not in body
    assert "<@" not in body and "@all" not in body and "`" not in body
    assert "**粗体**" not in body and "_x_" not in body and "&lt;" not in body
    assert "点我" in body  # the text is there, only harmless
    for line in body.splitlines():
        # every heading or quote line is the template's own
        assert not line.startswith("#") or line.startswith("### ")
        assert "<" not in line or re.fullmatch(r'.*<font color="\w+">[^<]*</font>.*', line)


@pytest.mark.parametrize("kind", kinds.KINDS)
def test_html_is_autoescaped(env, kind):
    ctx = _hostile(kind, "email")
    ctx = dataclasses.replace(ctx, recipient="<script>alert(1)</script>")
    rendered = render_notice(ctx, env)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html


def test_md_escape_keeps_the_words():
    assert md_escape("见[附件](x)") == "见［附件］（x）"
    assert md_escape("第一行\n# 第二行") == "第一行 ＃ 第二行"
    assert md_escape("https://a.b") == "https：//a.b"


def _many_tasks(count: int) -> tuple[TaskLine, ...]:
    return tuple(
        dataclasses.replace(
            SAMPLE_TASKS[0],
            no=n,
            title=f"第{n}项任务：推进公共法律服务体系建设的各项工作，确保按期完成",
            progress="已完成调研，正在起草方案，拟于下月提交审议。" * 3,
        )
        for n in range(1, count + 1)
    )


def test_a_long_wecom_notice_is_cut_between_tasks(env):
    tasks = _many_tasks(60)
    ctx = sample_context("digest", "wecom", tasks=tasks)
    messages = render_notice(ctx, env).markdown
    assert len(messages) > 2
    seen: list[int] = []
    for i, body in enumerate(messages):
        assert len(body.encode("utf-8")) <= WECOM_LIMIT
        numbers = [int(n) for n in re.findall(r"^> \*\*(\d+)\. ", body, flags=re.M)]
        assert numbers, "every message lists some tasks"
        seen.extend(numbers)
        left = len(tasks) - len(seen)
        if i < len(messages) - 1:
            assert f"另有 {left} 项，见下一条消息。" in body
            assert "市司法局（督办系统）" not in body
            # the message is full: one more task would not have fitted
            assert len(body.encode("utf-8")) > WECOM_LIMIT - 700
        else:
            assert "另有" not in body and "市司法局（督办系统）" in body
        if i > 0:
            assert body.startswith(f"### 督办任务推进情况周报（续{i}）")
    assert seen == list(range(1, 61))


def test_a_short_notice_is_one_message(env):
    ctx = sample_context("reminder", "wecom")
    assert len(render_notice(ctx, env).markdown) == 1


def test_a_message_too_long_even_for_one_task_goes_on_in_the_next(env):
    ctx = sample_context("reminder", "wecom", tasks=SAMPLE_TASKS[:1])
    ctx = dataclasses.replace(ctx, plan_title="很长的方案名称" * 400)
    messages = render_notice(ctx, env).markdown
    assert len(messages) > 1
    assert all(len(body.encode("utf-8")) <= WECOM_LIMIT for body in messages)
    assert "截断" not in "".join(messages)
    # every character of the title is there, in order, across the messages
    assert ctx.link is not None
    messages = [without_link(body, ctx.link.url) for body in messages]
    bodies = [body.removesuffix("（未完，见下一条消息）") for body in messages]
    bodies = [re.sub(r"^### .*（续\d+）\n+", "", body) for body in bodies]
    assert "".join(bodies).replace("\n", "").count("很长的方案名称") == 400
    assert messages[0].endswith("（未完，见下一条消息）")
    assert messages[1].startswith("### ") and "（续1）" in messages[1].splitlines()[0]
    assert "市司法局（督办系统）" in messages[-1]


def test_cn_date_reads_iso_text():
    from engine.notify.render import cn_date

    assert cn_date(date(2021, 6, 30)) == "2021年6月30日"
    assert cn_date("2021-09-30") == "2021年9月30日"


TASK_14 = dataclasses.replace(SAMPLE_TASKS[0], no=14, title="不断提高法律援助的工作质量。")
QUOTING = ("reminder", "overdue", "escalation", "progress_request", "progress_missing",
           "approval_request", "approval_decision")


@pytest.mark.parametrize("kind", QUOTING)
def test_a_title_is_quoted_without_its_full_stop(env, kind):
    one = {"tasks": (TASK_14,), "recipient": "市发改局"}
    email = render_notice(sample_context(kind, "email", **one), env)
    assert "“不断提高法律援助的工作质量”任务" in email.subject, email.subject
    assert "不断提高法律援助的工作质量。" in email.text  # the title itself is not changed
    two = render_notice(sample_context(kind, "email", tasks=(TASK_14, SAMPLE_TASKS[1])), env)
    assert "“不断提高法律援助的工作质量”等2项任务" in two.subject, two.subject
    wecom = render_notice(sample_context(kind, "wecom", **one), env)
    assert "> **14. 不断提高法律援助的工作质量**" in wecom.markdown[0]


@pytest.mark.parametrize(
    ("title", "quoted"),
    [
        ("不断提高法律援助的工作质量。", "不断提高法律援助的工作质量"),
        ("加强保障；", "加强保障"),
        ("完善体系，", "完善体系"),
        ("仲裁、公证、", "仲裁、公证"),
        ("Improve legal aid.", "Improve legal aid"),
        ("推进建设．；。 ", "推进建设"),
        ("建设“一带一路”", "建设“一带一路”"),
        ("。", "。"),  # nothing but punctuation: kept rather than left empty
    ],
)
def test_bare_strips_only_trailing_punctuation(title, quoted):
    from engine.notify.render import bare

    assert bare(title) == quoted

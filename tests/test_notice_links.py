"""Links in notices: every notice to a unit carries its personal link, signed when it is sent, in
every format; the coordinator's notices carry the console's page; nothing in `[web] base_url` or a
unit's name can turn into markup."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from support.notices import NOW, database_with_plan, queue, rows, settings_for
from support.plans import small_plan

from engine.actions.loading import load_plan
from engine.actions.people import LinkRefused, read_link, revoke_links
from engine.config import Settings, WebSettings
from engine.notify import kinds
from engine.notify.channels.base import Message
from engine.notify.channels.file import FileChannel
from engine.notify.compose import NoticeSpec, StoreView, build_context
from engine.notify.context import NoticeContext, NoticeLink, site_url
from engine.notify.dispatcher import dispatch_due
from engine.notify.render import WECOM_LIMIT, environment, render_notice
from engine.notify.samples import SAMPLE_TASKS, sample_context, sample_extra
from engine.store import Database

UNIT = "市发改局"  # lead unit of task 1 of the small plan
COORDINATOR = "市司法局"
DAYS = 30
FORMATS = ("text", "html", "wecom", "file")


@pytest.fixture(autouse=True)
def stored_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """No secret in the environment: duban makes one and keeps it in the database."""
    monkeypatch.delenv("DUBAN_WEB_SECRET", raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, {})


@pytest.fixture
def db(tmp_path: Path, settings: Settings):
    database = database_with_plan(tmp_path, settings)
    yield database
    database.close()


def with_web(settings: Settings, **web: Any) -> Settings:
    return settings.model_copy(update={"web": WebSettings(**web)})


def context(
    db: Database,
    settings: Settings,
    kind: str,
    channel: str,
    recipient: str = UNIT,
    tasks: tuple[int, ...] = (1,),
    level: int = 0,
) -> NoticeContext:
    spec = NoticeSpec(
        kind=kind,
        recipient=recipient,
        channel=channel,
        plan_id="trial-plan",
        tasks=tasks,
        level=level,
        send_at=NOW,
        context=sample_extra(kind),
    )
    with db.read() as session:
        return build_context(session, spec, settings, NOW)


def rendered_in(db: Database, settings: Settings, kind: str, form: str, tmp_path: Path, **kw):
    """The notice of `kind` as the reader gets it in `form`: the e-mail's text or HTML, the WeCom
    messages, or the file the file channel writes."""
    channel = {"text": "email", "html": "email", "wecom": "wecom", "file": "file"}[form]
    ctx = context(db, settings, kind, channel, **kw)
    rendered = render_notice(ctx, environment(None))
    if form == "text":
        return rendered.text
    if form == "html":
        return rendered.html
    if form == "wecom":
        return "\n".join(rendered.markdown)
    message = Message(
        notice_id=1,
        kind=kind,
        recipient=ctx.recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        send_date=NOW.date(),
    )
    delivery = FileChannel(tmp_path / "files").send(message, NOW)
    assert delivery.ok, delivery.detail
    written = FileChannel(tmp_path / "files").path_for(message, NOW)
    return written.read_text("utf-8") + written.with_suffix(".html").read_text("utf-8")


TOKEN = r"[A-Za-z0-9_.-]+"
UNIT_LINK = {
    "text": rf"办理链接：http://127\.0\.0\.1:8080/u/({TOKEN}) （30天内有效，请勿转发）",
    "html": rf'<a href="http://127\.0\.0\.1:8080/u/({TOKEN})"[^>]*>点击办理</a>',
    "wecom": rf"\[点击办理\]\(http://127\.0\.0\.1:8080/u/({TOKEN})\)（30天内有效，请勿转发）",
    "file": rf"办理链接：http://127\.0\.0\.1:8080/u/({TOKEN}) ",
}


def tokens(body: str, form: str) -> list[str]:
    return re.findall(UNIT_LINK[form], body)


# --- a unit's personal link ------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("kind", kinds.KINDS)
def test_every_notice_to_a_unit_carries_its_own_link(db, settings, tmp_path, kind, form):
    body = rendered_in(db, settings, kind, form, tmp_path)
    found = tokens(body, form)
    assert found, body
    for token in found:
        assert read_link(db, settings, token, NOW).unit == UNIT
        # valid link_days days from the send, by the business clock, and not a moment more
        assert read_link(db, settings, token, NOW + timedelta(days=DAYS, seconds=-1)).unit == UNIT
        with pytest.raises(LinkRefused, match="过期"):
            read_link(db, settings, token, NOW + timedelta(days=DAYS))
    assert "/requests/" not in body and "进入督办系统" not in body


def test_a_co_unit_and_a_unit_named_by_its_alias_get_their_own_links(db, settings, tmp_path):
    copy = rendered_in(db, settings, "reminder", "text", tmp_path, recipient="市财政局")
    (token,) = tokens(copy, "text")
    assert read_link(db, settings, token, NOW).unit == "市财政局"
    alias = rendered_in(
        db, settings, "reminder", "text", tmp_path, recipient="市市场监督管理局", tasks=(2,)
    )
    (token,) = tokens(alias, "text")
    assert read_link(db, settings, token, NOW).unit == "市市场监管局"


def test_the_link_is_signed_when_the_notice_is_sent_not_when_it_was_planned(db, settings):
    later = NOW + timedelta(days=20)
    spec = NoticeSpec(
        kind="reminder",
        recipient=UNIT,
        channel="email",
        plan_id="trial-plan",
        tasks=(1,),
        send_at=NOW,
    )
    with db.read() as session:
        ctx = build_context(session, spec, settings, later)
    assert ctx.link is not None and ctx.link.personal and ctx.link.days == DAYS
    token = ctx.link.url.rsplit("/", 1)[1]
    assert read_link(db, settings, token, later + timedelta(days=DAYS - 1)).unit == UNIT


@pytest.mark.parametrize("channel", ["wecom", "wecom_app", "email"])
def test_a_notice_rendered_again_minutes_later_reads_the_same(db, settings, channel):
    """A retry after a crash between sending and recording renders the row again: the same link
    (signed at the row's send_at), so the same message, which WeCom's duplicate check drops."""
    spec = NoticeSpec(
        kind="reminder",
        recipient=UNIT,
        channel=channel,
        plan_id="trial-plan",
        tasks=(1,),
        send_at=NOW,
        notice_id=5,
    )
    with db.read() as session:
        view = StoreView(session)
        first = render_notice(build_context(view, spec, settings, NOW), environment(None))
        again = build_context(view, spec, settings, NOW + timedelta(minutes=23, seconds=7))
    assert again.link is not None and again.link.personal
    assert render_notice(again, environment(None)) == first


def test_a_notice_sent_days_late_is_valid_link_days_from_its_send_within_the_hour(db, settings):
    spec = NoticeSpec(
        kind="reminder",
        recipient=UNIT,
        channel="email",
        plan_id="trial-plan",
        tasks=(1,),
        send_at=NOW,
    )
    late = NOW + timedelta(days=3, minutes=50)
    with db.read() as session:
        link = build_context(session, spec, settings, late).link
    assert link is not None
    token = link.url.rsplit("/", 1)[1]
    assert read_link(db, settings, token, late + timedelta(days=DAYS, hours=-1)).unit == UNIT


def test_a_link_from_the_environments_secret_is_read_with_it(db, settings, monkeypatch):
    monkeypatch.setenv("DUBAN_WEB_SECRET", "a-secret-from-the-environment-4f1c")
    ctx = context(db, settings, "reminder", "email")
    assert ctx.link is not None
    token = ctx.link.url.rsplit("/", 1)[1]
    assert read_link(db, settings, token, NOW).unit == UNIT
    monkeypatch.setenv("DUBAN_WEB_SECRET", "another-secret-9a0b")
    with pytest.raises(LinkRefused, match="无效"):
        read_link(db, settings, token, NOW)


def test_after_a_revocation_the_next_notice_carries_a_link_that_works(db, settings):
    before = context(db, settings, "reminder", "email").link
    revoke_links(db, UNIT, NOW)
    after = context(db, settings, "reminder", "email").link
    assert before is not None and after is not None
    with pytest.raises(LinkRefused, match="停用"):
        read_link(db, settings, before.url.rsplit("/", 1)[1], NOW)
    assert read_link(db, settings, after.url.rsplit("/", 1)[1], NOW).unit == UNIT


def test_a_render_pass_reads_the_secret_and_the_link_generations_once(db, settings):
    context(db, settings, "reminder", "email")  # the installation's secret is made once, here
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.read() as session:
            view = StoreView(session)
            for unit, no in (("市发改局", 1), ("市财政局", 1), ("市商务局", 4), ("市发改局", 4)):
                spec = NoticeSpec(
                    kind="reminder",
                    recipient=unit,
                    channel="email",
                    plan_id="trial-plan",
                    tasks=(no,),
                    send_at=NOW,
                )
                assert build_context(view, spec, settings, NOW).link is not None
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert sum("app_secret" in s for s in statements) == 1
    assert sum("unit_link" in s for s in statements) == 1


def test_a_render_pass_signs_each_units_link_once_per_moment(db, settings, monkeypatch):
    # The notices of a batch to one unit, signed at one moment, share one signature, which is
    # the one signing it alone gives; another moment is signed anew.
    from engine.actions import people

    context(db, settings, "reminder", "email")  # the installation's secret is made once, here
    signed: list[tuple[int, int]] = []
    sign = people.sign_link

    def counting(secret, unit_id, generation, now):
        signed.append((unit_id, int(now.timestamp())))
        return sign(secret, unit_id, generation, now)

    monkeypatch.setattr(people, "sign_link", counting)
    links: dict[tuple[str, object], set[str]] = {}
    with db.read() as session:
        view = StoreView(session)
        for unit, no, at in [
            (u, n, t) for t in (NOW, NOW + timedelta(hours=1)) for u, n in
            (("市发改局", 1), ("市财政局", 1), ("市发改局", 4), ("市发改局", 1), ("市财政局", 4))
        ]:
            spec = NoticeSpec(kind="reminder", recipient=unit, channel="email",
                              plan_id="trial-plan", tasks=(no,), send_at=at)
            link = build_context(view, spec, settings, at + timedelta(minutes=5)).link
            assert link is not None
            links.setdefault((unit, at), set()).add(link.url)
    assert len(signed) == len(set(signed)) == 4  # two units, two moments
    assert all(len(urls) == 1 for urls in links.values()) and len(links) == 4
    # the shared signature is the one a notice signed alone carries
    alone = context(db, settings, "reminder", "email")
    assert alone.link is not None and alone.link.url in links[("市发改局", NOW)]


def test_a_name_that_is_no_unit_gets_no_link_but_its_notice(db, settings):
    ctx = context(db, settings, "reminder", "email", recipient="未载入的单位")
    assert ctx.link is None
    rendered = render_notice(ctx, environment(None))
    assert "办理链接" not in rendered.text and "<a href" not in rendered.html


# --- the coordinator's console ---------------------------------------------------------------


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("kind", kinds.KINDS)
def test_every_notice_to_the_coordinator_links_to_the_console(db, settings, tmp_path, kind, form):
    body = rendered_in(db, settings, kind, form, tmp_path, recipient=COORDINATOR, tasks=(1, 4))
    page = {"approval_request": "/requests/12", "delivery_failure": "/outbox"}.get(kind, "/")
    url = "http://127.0.0.1:8080" + page
    expected = {
        "text": f"督办系统：{url}\n",
        "html": f'<a href="{url}"',
        "wecom": f"]({url})",
        "file": f"督办系统：{url}\n",
    }[form]
    assert expected in body
    assert "/u/" not in body and "办理链接" not in body and "天内有效" not in body


def test_an_approval_request_opens_the_request_itself(db, settings):
    body = render_notice(
        context(db, settings, "approval_request", "wecom", COORDINATOR), environment(None)
    ).markdown[-1]
    assert body.endswith("\n\n[点击审批](http://127.0.0.1:8080/requests/12)")


def test_a_coordinator_notice_about_one_task_opens_that_task(db, settings):
    ctx = context(db, settings, "escalation", "email", COORDINATOR, tasks=(2,), level=1)
    text = render_notice(ctx, environment(None)).text
    assert "督办系统：http://127.0.0.1:8080/plans/trial-plan/tasks/2\n" in text
    digest = context(db, settings, "digest", "email", COORDINATOR, tasks=(2,))
    assert digest.link == NoticeLink("http://127.0.0.1:8080/")


def test_a_leaders_office_told_of_others_tasks_gets_the_console(db, settings):
    ctx = context(
        db, settings, "escalation", "email", recipient="市政府办公室", level=2, tasks=(1, 4)
    )
    assert ctx.link == NoticeLink("http://127.0.0.1:8080/")


def test_a_base_url_with_a_path_is_kept(db, settings):
    settings = with_web(settings, base_url="HTTPS://Duban.Zhuhai.GOV.cn:8443/duban/")
    unit = context(db, settings, "reminder", "email").link
    coordinator = context(db, settings, "digest", "email", COORDINATOR).link
    assert unit is not None and unit.url.startswith("https://duban.zhuhai.gov.cn:8443/duban/u/")
    assert coordinator == NoticeLink("https://duban.zhuhai.gov.cn:8443/duban/")
    token = unit.url.rsplit("/", 1)[1]
    assert read_link(db, settings, token, NOW).unit == UNIT


# --- nothing becomes markup ------------------------------------------------------------------

HOSTILE_BASES = [
    "http://evil.example/x)[点我](http://evil.example/y",
    'http://evil.example/"><script>alert(1)</script>',
    "http://evil.example/ @all <@zhangsan> **粗**",
    "http://evil.example/x\r\n[a](http://b)\n@all",
    "http://evil.example/`code`|表|~删~",
]
REFUSED_BASES = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://user:pw@evil.example/",
    "http://evil.example/?next=[a](http://b)",
    "http://evil.example/#[a](http://b)",
    "http://evil_host](x)/",
    "http://evil.example:99999/",
    "//evil.example/",
    "http://" + "a" * 300 + ".example/",
    "",
]


def _only_the_links_markup(message: str) -> str:
    """The WeCom message with its one link line checked and taken off."""
    rest, _, last = message.rpartition("\n\n")
    words, note = r"\[(点击办理|进入督办系统)\]", r"(（30天内有效，请勿转发）)?"
    found = re.fullmatch(words + r"\(([^()\s]+)\)" + note, last)
    assert found, last
    assert NoticeLink(found.group(2))  # an address that passes the check, nothing more
    return rest


@pytest.mark.parametrize("base", HOSTILE_BASES)
@pytest.mark.parametrize("recipient", [UNIT, COORDINATOR])
def test_a_hostile_base_url_cannot_inject_markup(db, settings, base, recipient):
    settings = with_web(settings, base_url=base)
    kind = "reminder" if recipient == UNIT else "digest"
    ctx = context(db, settings, kind, "wecom", recipient)
    assert ctx.link is not None and ctx.link.url.startswith("http://evil.example/")
    for message in render_notice(ctx, environment(None)).markdown:
        rest = _only_the_links_markup(message)
        assert "](" not in rest and "http" not in rest and "<script" not in message
        assert "@all" not in message and "<@" not in message and "`" not in message
    email = render_notice(dataclasses.replace(ctx, channel="email"), environment(None))
    assert "<script" not in email.html
    hrefs = re.findall(r'<a href="([^"]*)"', email.html)
    assert hrefs == [ctx.link.url]
    if recipient == UNIT:
        assert read_link(db, settings, ctx.link.url.rsplit("/", 1)[1], NOW).unit == UNIT


@pytest.mark.parametrize("base", REFUSED_BASES)
def test_a_base_url_that_is_no_web_address_gives_no_link_and_the_notice_still_goes(
    db, settings, base
):
    settings = with_web(settings, base_url=base)
    for kind, recipient in (("reminder", UNIT), ("approval_request", COORDINATOR)):
        ctx = context(db, settings, kind, "wecom", recipient)
        assert ctx.link is None
        body = "\n".join(render_notice(ctx, environment(None)).markdown)
        assert "](" not in body and "http" not in body and "<script" not in body
        assert "市司法局（督办系统）" in body


def test_the_link_check_refuses_what_could_end_a_link():
    for url in (
        "javascript:alert(1)",
        "http://a.example/x)y",
        "http://a.example/x y",
        'http://a.example/"',
        "http://a.example/<b>",
        "http://a.example/[x]",
    ):
        with pytest.raises(ValueError):
            NoticeLink(url)
    assert site_url("http://[::1]:8080/") == "http://[::1]:8080"
    assert site_url("http://珠海.example/") == "http://xn--90wr0l.example"


def test_a_hostile_unit_name_cannot_inject_markup(tmp_path, settings):
    hostile = "[点我](http://evil.example/x) <@all> **粗**"
    plan = small_plan()
    plan.tasks[0] = dataclasses.replace(plan.tasks[0], lead=hostile, units_text=hostile)
    db = database_with_plan(tmp_path, settings)
    try:
        load_plan(db, plan, settings, NOW)
        ctx = context(db, settings, "reminder", "wecom", recipient=hostile)
        assert ctx.link is not None and ctx.link.personal
        (message,) = render_notice(ctx, environment(None)).markdown
        rest = _only_the_links_markup(message)
        assert "](" not in rest and "http://" not in rest and "<@all>" not in rest
        assert "点我" in rest  # the name is there, only harmless
        assert read_link(db, settings, ctx.link.url.rsplit("/", 1)[1], NOW).unit == hostile
        html = render_notice(dataclasses.replace(ctx, channel="email"), environment(None)).html
        assert re.findall(r'<a href="([^"]*)"', html) == [ctx.link.url]
        assert "&lt;@all&gt;" in html and "<@all>" not in html
    finally:
        db.close()


# --- WeCom's splitting keeps the link ------------------------------------------------------------


def test_every_message_of_a_long_wecom_notice_ends_with_the_link(db, settings):
    ctx = context(db, settings, "overdue", "wecom")
    many = tuple(
        dataclasses.replace(
            SAMPLE_TASKS[0],
            no=n,
            title=f"第{n}项任务" + "推进建设" * 30,
            progress="已完成调研，正在起草方案。" * 8,
        )
        for n in range(1, 61)
    )
    messages = render_notice(dataclasses.replace(ctx, tasks=many), environment(None)).markdown
    assert len(messages) > 2
    assert ctx.link is not None
    for message in messages:
        assert len(message.encode("utf-8")) <= WECOM_LIMIT
        assert message.endswith(f"\n\n[点击办理]({ctx.link.url})（30天内有效，请勿转发）")
    listed = [int(n) for n in re.findall(r"^> \*\*(\d+)\. ", "\n".join(messages), re.M)]
    assert listed == list(range(1, 61))


def test_a_notice_split_inside_one_long_line_keeps_the_link_whole(db, settings):
    ctx = context(db, settings, "reminder", "wecom")
    ctx = dataclasses.replace(ctx, plan_title="很长的方案名称" * 600)
    messages = render_notice(ctx, environment(None)).markdown
    assert len(messages) > 2 and ctx.link is not None
    for message in messages:
        assert len(message.encode("utf-8")) <= WECOM_LIMIT
        assert message.count(ctx.link.url) == 1
        assert message.endswith(f"[点击办理]({ctx.link.url})（30天内有效，请勿转发）")


def test_an_override_of_the_link_line_that_is_too_long_is_refused(tmp_path, db, settings):
    from engine.errors import UserError

    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "_link.md.j2").write_text("{{ notice.plan_title * 100 }}", "utf-8")
    ctx = context(db, settings, "reminder", "wecom")
    with pytest.raises(UserError, match=r"_link\.md\.j2"):
        render_notice(ctx, environment(str(tmp_path / "own")))


# --- sent for real, and previewed ----------------------------------------------------------------


def test_a_dispatched_file_notice_carries_a_link_the_web_accepts(tmp_path, db, settings):
    (unit_notice,) = queue(db, settings, UNIT)
    (coordinator_notice,) = queue(
        db, settings, COORDINATOR, kind="escalation", tasks=(1,), occurrence="2021-06-30/E1"
    )
    summary = dispatch_due(db, settings, NOW, workers=1)
    assert summary.sent == 2, summary
    assert [r.status for r in rows(db)] == ["sent", "sent"]
    day = tmp_path / "outbox" / "2021-06-23"
    text = (day / f"{unit_notice}-reminder-{UNIT}-file.txt").read_text("utf-8")
    (token,) = tokens(text, "text")
    assert read_link(db, settings, token, NOW).unit == UNIT
    with pytest.raises(LinkRefused):
        read_link(db, settings, token, NOW + timedelta(days=DAYS))
    html = (day / f"{unit_notice}-reminder-{UNIT}-file.html").read_text("utf-8")
    assert f'<a href="http://127.0.0.1:8080/u/{token}"' in html
    report = (day / f"{coordinator_notice}-escalation-{COORDINATOR}-file.txt").read_text("utf-8")
    assert "督办系统：http://127.0.0.1:8080/plans/trial-plan/tasks/1\n" in report


def test_preview_shows_a_sample_link(duban):
    result = duban("preview", "reminder")
    assert result.code == 0, result.err
    line = "办理链接：http://127.0.0.1:8080/u/sample-link-token （30天内有效，请勿转发）"
    assert line in result.out
    result = duban("preview", "approval_request", "--channel", "wecom")
    assert "[点击审批](http://127.0.0.1:8080/requests/12)" in result.out


def test_the_sample_notice_follows_the_web_settings():
    web = WebSettings(base_url="https://duban.example.gov.cn", link_days=14)
    ctx = sample_context("reminder", "email", web=web)
    assert ctx.link == NoticeLink(
        "https://duban.example.gov.cn/u/sample-link-token", personal=True, days=14
    )
    assert "（14天内有效，请勿转发）" in render_notice(ctx, environment(None)).text

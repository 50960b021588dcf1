"""A unit's page behind its personal link, on a real server on loopback over the seed plan.

What the unit sees (its own tasks only, as cards), what it may do (report with evidence, ask for a
change or an extension), how that is recorded (via "link", no person), and every refusal: the
Chinese message, the status code, and the database exactly as it was (a dump before and after).

In the seed plan 市发改局 leads tasks 1, 3, 12 and 17 and works on task 2; 市财政局 works on
task 1 but not on task 3; 市司法局 coordinates the plan but has no part in task 5.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from support.plans import dump
from support.web import COORDINATOR, NOW, PLAN, Browser, WebSite, web_settings

from engine.actions.loading import load_plan
from engine.actions.people import revoke_links
from engine.actions.tasks import decide
from engine.actions.views import pending_request_rows, task_detail
from engine.config import WebSettings
from engine.errors import UserError
from engine.web.uploads import Incoming, check_uploads, clean_filename

LEAD = "市发改局"
CO_UNIT = "市财政局"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Site(WebSite):
    """WebSite that closes the browsers it handed out, and stops its workers first."""

    opened: list[Browser] = field(default_factory=list)

    def browser(self) -> Browser:
        self.opened.append(super().browser())
        return self.opened[-1]

    def __exit__(self, *exc: object) -> None:
        for browser in self.opened:
            browser.close()
        # A worker still finishing a response pulls the trigger when it is done: that must not
        # come after the trigger's pipe is closed, whose number a later site may have reused.
        self._server.task_dispatcher.shutdown()
        super().__exit__(*exc)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Any]:
    """Start a site (`started(max_upload_mb=1)` for other [web] settings), stopped after."""
    sites: list[Site] = []

    def start(**web: Any) -> Site:
        site = Site(tmp_path, settings=web_settings(tmp_path, **web) if web else None)
        sites.append(site.__enter__())
        return site

    yield start
    for site in sites:
        site.__exit__(None, None, None)


@pytest.fixture
def site(started: Any) -> Site:
    return started()


class Unit:
    """A unit's browser on its own page: the link's path and what it posts."""

    def __init__(self, site: Site, name: str) -> None:
        self.site, self.name = site, name
        self.path = site.link_for(name)[len(site.url) :]
        self.browser = site.browser()

    def page(self) -> requests.Response:
        return self.browser.page(self.path)

    def post(self, no: int, action: str, fields: dict[str, Any], **kw: Any) -> requests.Response:
        return self.browser.submit(
            f"{self.path}/plans/{PLAN}/tasks/{no}/{action}", fields, page=self.path, **kw
        )


def _detail(site: Site, no: int) -> Any:
    assert site.db is not None and site.settings is not None
    return task_detail(site.db, plan_id=PLAN, no=no, now=site.clock.now(), settings=site.settings)


def _stored(site: Site) -> list[str]:
    return dump(site.folder / "duban.db")


def _card(page: str, no: int) -> str:
    """The HTML of task `no`'s card."""
    found = re.search(
        rf'<article class="task-card" id="task-{PLAN}-{no}">(.*?)</article>', page, re.S
    )
    assert found, f"no card for task {no}"
    return found.group(1)


def _options(card: str) -> list[str]:
    select = re.search(r'<select name="to"[^>]*>(.*?)</select>', card, re.S)
    if select is None:
        return []
    return [v for v in re.findall(r'<option value="([^"]*)"', select.group(1)) if v]


def _clean(response: requests.Response) -> str:
    assert "Traceback" not in response.text
    return response.text


def _approve(site: Site, *, approve: bool = True, reason: str | None = None) -> None:
    """The coordinator decides the oldest pending request."""
    assert site.db is not None and site.settings is not None
    first = pending_request_rows(site.db)[0]
    decide(
        site.db,
        request_id=first["id"],
        by=COORDINATOR,
        approve=approve,
        reason=reason,
        now=site.clock.now(),
        settings=site.settings,
    )


# --- what the unit sees ------------------------------------------------------------------------


def test_the_page_shows_the_units_own_tasks_as_cards(site: Site):
    response = Unit(site, LEAD).page()
    page = _clean(response)
    assert response.status_code == 200
    assert "市发改局：您好" in page
    assert "30 天内有效" in page
    cards = re.findall(rf'id="task-{PLAN}-(\d+)"', page)
    assert cards == ["1", "2", "3", "12", "17"]
    assert "<table" not in page
    first = _card(page, 1)
    for shown in ("任务 1", "宽视野高标准统筹谋划公共法律服务体系建设", "牵头", "2021年6月30日前"):
        assert shown in first
    assert "黄灯" in first and "未启动" in first and "尚未报送" in first
    assert "配合" in _card(page, 2) and "横琴新区" in _card(page, 2)
    for button in ("提交进展", "申请变更", "申请延期"):
        assert first.count(button) >= 1
    assert first.count('name="csrf_token"') == 3
    assert "<details" in first
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_status_choices_are_the_transitions_the_unit_may_ask_for(site: Site):
    lead, co_unit = Unit(site, LEAD), Unit(site, CO_UNIT)
    assert _options(_card(lead.page().text, 1)) == ["in_progress"]

    lead.post(1, "progress", {"text": "已召开专题会议"})  # the lead's first report starts it
    assert _options(_card(lead.page().text, 1)) == ["completed", "long_term"]

    lead.post(1, "request", {"to": "completed", "reason": "意见已印发"})
    card = _card(co_unit.page().text, 1)
    assert _options(card) == ["long_term"]  # 已完成 is already asked for
    assert "待审批：市发改局申请变更为“已完成”" in card

    _approve(site)
    card = _card(co_unit.page().text, 1)
    assert _options(card) == []  # only the coordinator may reopen a completed task
    assert "不能再申请变更状态" in card and "任务已完成，无需申请延期" in card
    assert "已完成" in card


def test_a_task_without_a_dated_deadline_offers_no_extension(site: Site):
    page = Unit(site, COORDINATOR).page().text  # 市司法局 leads task 10, 长期推进
    card = _card(page, 10)
    assert "长期推进" in card
    assert "不是具体日期，不能申请延期" in card
    assert 'name="until"' not in card


# --- what the unit does ------------------------------------------------------------------------


def test_a_progress_report_with_evidence_is_recorded_through_the_link(site: Site):
    lead = Unit(site, LEAD)
    response = lead.post(
        1,
        "progress",
        {"text": "已形成《关于加快推进公共法律服务体系建设的意见》征求意见稿"},
        files={"evidence": ("征求意见稿.pdf", PDF, "application/pdf")},
    )
    page = _clean(response)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [303]
    assert response.url.endswith(f"{lead.path}?plan={PLAN}&no=1#task-{PLAN}-1")
    assert "提交成功：任务 1 的进展已报送，附佐证材料 1 份；任务已自动转为“推进中”" in page
    assert "征求意见稿.pdf" in page.split("已报送和申请的事项")[1]

    detail = _detail(site, 1)
    assert detail.row["status"] == "in_progress"
    assert detail.row["progress"].startswith("已形成《关于加快推进")
    report, start = detail.history[-2:]
    assert (report["action"], report["actor"], report["person"], report["via"]) == (
        "progress",
        LEAD,
        None,
        "link",
    )
    assert "征求意见稿.pdf" in report["reason"]
    assert (start["action"], start["actor"], start["via"]) == ("status", "system", "system")


def test_the_unit_downloads_its_evidence_as_an_attachment(site: Site):
    lead = Unit(site, LEAD)
    page = lead.post(
        1, "progress", {"text": "附会议纪要"}, files={"evidence": ("会议纪要 第1次.pdf", PDF)}
    ).text
    (href,) = re.findall(r'href="(/u/[^"]+/evidence/\d+)"', page)

    response = lead.browser.get(site.url + href)
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('会议纪要 第1次.pdf', safe='')}" in disposition
    assert 'filename="1.pdf"' in disposition  # the ASCII part of the name, for old clients
    assert response.headers["Cache-Control"] == "no-store"


def test_another_units_evidence_is_not_served(site: Site):
    lead, co_unit = Unit(site, LEAD), Unit(site, CO_UNIT)
    page = lead.post(1, "progress", {"text": "附件"}, files={"evidence": ("内部.pdf", PDF)}).text
    (href,) = re.findall(r'href="/u/[^"]+(/evidence/\d+)"', page)

    response = co_unit.browser.get(site.url + co_unit.path + href)
    assert response.status_code == 404
    assert "未找到该佐证材料" in _clean(response)
    assert b"%PDF" not in response.content
    assert "内部.pdf" not in co_unit.page().text  # nor listed on its page


def test_a_state_change_request_and_its_decision_are_shown(site: Site):
    lead = Unit(site, LEAD)
    lead.post(1, "progress", {"text": "已召开专题会议"})
    response = lead.post(1, "request", {"to": "completed", "reason": "意见已印发实施"})
    page = _clean(response)
    assert "提交成功：任务 1 变更为“已完成”的申请" in page
    assert "待审批" in page.split("已报送和申请的事项")[1]
    (asked,) = pending_request_rows(site.db)  # type: ignore[arg-type]
    assert (asked["unit"], asked["to"], asked["reason"]) == (LEAD, "completed", "意见已印发实施")
    request_entry = _detail(site, 1).history[-1]
    assert (request_entry["action"], request_entry["person"], request_entry["via"]) == (
        "request",
        None,
        "link",
    )

    _approve(site, reason="同意办结")
    mine = lead.page().text.split("已报送和申请的事项")[1]
    assert "已批准" in mine and "市司法局于 2021-06-10 10:00 批准" in mine and "同意办结" in mine


def test_an_extension_request_and_its_rejection_are_shown(site: Site):
    lead = Unit(site, LEAD)
    response = lead.post(3, "extend", {"until": "2021-09-30", "reason": "需与省级标准衔接"})
    assert "提交成功：任务 3 延期至 2021-09-30 的申请" in _clean(response)
    (asked,) = pending_request_rows(site.db)  # type: ignore[arg-type]
    assert (asked["no"], asked["until"], asked["type"]) == (3, "2021-09-30", "extension")
    entry = _detail(site, 3).history[-1]
    assert (entry["action"], entry["actor"], entry["person"], entry["via"]) == (
        "request_extension",
        LEAD,
        None,
        "link",
    )
    assert "已提交延期申请，请等待统筹单位审批" in _card(lead.page().text, 3)

    _approve(site, approve=False, reason="请先报送工作方案")
    mine = lead.page().text.split("已报送和申请的事项")[1]
    assert "申请延期至 2021年9月30日" in mine
    assert "已驳回" in mine and "市司法局于 2021-06-10 10:00 驳回" in mine
    assert "请先报送工作方案" in mine


def test_text_with_html_is_shown_escaped(site: Site):
    lead = Unit(site, LEAD)
    script = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    lead.post(1, "progress", {"text": f"进展{script}"})
    lead.post(1, "request", {"to": "completed", "reason": f"理由{script}"})
    page = _clean(lead.page())
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 3  # card, report, request

    # a refused form shows what was typed again, escaped too
    response = lead.post(3, "extend", {"until": "明天", "reason": f"</textarea>{script}"})
    assert response.status_code == 422
    assert "</textarea><script>" not in response.text
    assert "&lt;/textarea&gt;&lt;script&gt;" in response.text


# --- refusals: message, status, nothing changed ---------------------------------------------


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("progress", {"text": ""}, "进展情况不能为空"),
        ("progress", {"text": " \n\t "}, "进展情况不能为空"),
        ("progress", {"text": "字" * 5001}, "进展情况不能超过 5000 字"),
        ("request", {"to": "", "reason": "已完成"}, "请选择申请变更后的状态"),
        ("request", {"to": "finished", "reason": "已完成"}, "“finished”不是有效的状态"),
        ("request", {"to": "completed", "reason": "已完成"}, "不能变更为“已完成”"),
        ("request", {"to": "in_progress", "reason": "  "}, "申请理由不能为空"),
        ("extend", {"until": "", "reason": "人手不足"}, "请填写新的完成时限"),
        ("extend", {"until": "下个月", "reason": "人手不足"}, "“下个月”不是日期"),
        ("extend", {"until": "2021-02-30", "reason": "人手不足"}, "2021年2月没有30日"),
        ("extend", {"until": "2021-06-01", "reason": "人手不足"}, "应晚于今天（2021-06-10）"),
        ("extend", {"until": "2021-06-10", "reason": "人手不足"}, "应晚于今天（2021-06-10）"),
        ("extend", {"until": "2021-06-20", "reason": "人手不足"}, "应晚于现有完成时限 2021-06-30"),
        ("extend", {"until": "2021-09-30", "reason": ""}, "延期理由不能为空"),
    ],
)
def test_a_bad_value_is_refused_with_a_message_and_changes_nothing(
    site: Site, action: str, fields: dict[str, str], message: str
):
    lead = Unit(site, LEAD)
    before = _stored(site)
    response = lead.post(1, action, fields)
    page = _clean(response)
    assert response.status_code == 422
    assert message in page
    assert "填写有误" in page or "flash-error" in page
    assert _stored(site) == before
    # the page is shown again, with the form that failed open and the message beside it
    assert 'class="task-card"' in page
    if action != "progress":
        assert "<details open>" in _card(page, 1)


def test_a_transition_the_unit_may_not_ask_for_is_403(site: Site):
    lead, co_unit = Unit(site, LEAD), Unit(site, CO_UNIT)
    lead.post(1, "progress", {"text": "已召开专题会议"})
    lead.post(1, "request", {"to": "completed", "reason": "意见已印发"})
    _approve(site)
    before = _stored(site)
    response = co_unit.post(1, "request", {"to": "in_progress", "reason": "需要补充"})
    assert response.status_code == 403
    assert "只能由统筹单位提出" in _clean(response)
    assert _stored(site) == before


@pytest.mark.parametrize("action", ["progress", "request", "extend"])
def test_a_link_cannot_act_on_a_task_its_unit_has_no_part_in(site: Site, action: str):
    co_unit = Unit(site, CO_UNIT)  # 市财政局 has no part in task 3
    fields = {"text": "越权报送", "to": "in_progress", "reason": "越权", "until": "2021-09-30"}
    before = _stored(site)
    response = co_unit.post(3, action, fields, files={"evidence": ("x.pdf", PDF)})
    page = _clean(response)
    assert response.status_code == 403
    assert "任务 3 不是市财政局牵头或配合的任务" in page
    assert _stored(site) == before
    assert f'id="task-{PLAN}-3"' not in page  # and the page still shows only its own tasks


def test_the_coordinators_link_acts_only_on_tasks_it_is_part_of(site: Site):
    coordinator = Unit(site, COORDINATOR)  # 市司法局 coordinates, but has no part in task 5
    before = _stored(site)
    response = coordinator.post(5, "progress", {"text": "代为报送"})
    assert response.status_code == 403
    assert "任务 5 不是市司法局牵头或配合的任务" in _clean(response)
    assert _stored(site) == before


def test_an_unknown_task_is_404(site: Site):
    before = _stored(site)
    response = Unit(site, LEAD).post(99, "progress", {"text": "进展"})
    assert response.status_code == 404
    assert "没有序号为 99 的任务" in _clean(response)
    assert _stored(site) == before


def test_a_post_without_the_csrf_token_is_403(site: Site):
    lead = Unit(site, LEAD)
    before = _stored(site)
    url = f"{site.url}{lead.path}/plans/{PLAN}/tasks/1/progress"
    response = lead.browser.post(url, data={"text": "没有令牌"})
    assert response.status_code == 403
    assert "请刷新页面后重新提交" in _clean(response)
    assert _stored(site) == before


# --- links that are not valid ------------------------------------------------------------------


def _refused_everywhere(site: Site, unit: Unit, path: str, message: str, token: str) -> None:
    """The page, each form (`token`: from when the link was still good) and a download through
    `path` all answer 403 with `message`, showing nothing of the unit and changing nothing."""
    before = _stored(site)
    answers = [unit.browser.get(site.url + path)]
    for action, fields in (
        ("progress", {"text": "过期后报送"}),
        ("request", {"to": "in_progress", "reason": "过期后申请"}),
        ("extend", {"until": "2021-12-31", "reason": "过期后申请"}),
    ):
        answers.append(
            unit.browser.post(
                f"{site.url}{path}/plans/{PLAN}/tasks/1/{action}",
                data={"csrf_token": token, **fields},
                files={"evidence": ("a.pdf", PDF)} if action == "progress" else None,
            )
        )
    answers.append(unit.browser.get(f"{site.url}{path}/evidence/1"))
    for response in answers:
        page = _clean(response)
        assert response.status_code == 403, (response.url, response.status_code)
        assert message in page
        assert unit.name not in page and "task-card" not in page and "%PDF" not in page
    assert _stored(site) == before


def test_a_tampered_link_is_403_and_shows_nothing(site: Site):
    lead = Unit(site, LEAD)
    lead.post(1, "progress", {"text": "附件"}, files={"evidence": ("a.pdf", PDF)})
    token = lead.browser.csrf(lead.path)
    payload, signature = lead.path.rsplit(".", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    _refused_everywhere(site, lead, f"{payload}.{flipped}", "链接无效", token)
    # another unit's id in the payload, under the old signature
    other = lead.path.replace(lead.path.split("/")[2].split(".")[0], "eyJ1IjoxLCJnIjowfQ")
    _refused_everywhere(site, lead, other, "链接无效", token)
    _refused_everywhere(site, lead, "/u/not-a-token", "链接无效", token)


def test_a_link_expires_by_the_business_clock(site: Site):
    lead = Unit(site, LEAD)
    lead.post(1, "progress", {"text": "附件"}, files={"evidence": ("a.pdf", PDF)})
    site.clock.set(NOW + timedelta(days=29, hours=23))
    assert lead.page().status_code == 200
    token = lead.browser.csrf()
    site.clock.set(NOW + timedelta(days=30))
    _refused_everywhere(site, lead, lead.path, "链接已过期（有效期 30 天）", token)


def test_a_revoked_link_is_403(site: Site):
    lead = Unit(site, LEAD)
    lead.post(1, "progress", {"text": "附件"}, files={"evidence": ("a.pdf", PDF)})
    assert site.db is not None
    token = lead.browser.csrf(lead.path)
    revoke_links(site.db, LEAD, NOW)
    _refused_everywhere(site, lead, lead.path, "链接已停用", token)
    fresh = Unit(site, LEAD)  # a link issued after the revocation works
    assert fresh.page().status_code == 200


# --- evidence: size, type, name ------------------------------------------------------------


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("工作方案.exe", b"MZ\x90\x00", "不接受“.exe”格式"),
        ("工作方案.html", b"<html></html>", "不接受“.html”格式"),
        ("工作方案", PDF, "不接受没有扩展名的文件"),
        (
            "报告.pdf",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            "不是真正的PDF 文件",
        ),
        ("报告.pdf", b"<script>fetch('/')</script>", "内容与扩展名不符"),
        ("报告.docx", b"#!/bin/sh\nrm -rf /\n", "不是真正的Word 文档"),
        ("报告.docx", _zip("xl/workbook.xml"), "不是真正的Word 文档"),
        ("表格.xlsx", PDF, "不是真正的Excel 表格"),
        ("旧版.doc", PDF, "不是真正的Word 文档"),
        ("照片.png", b"\xff\xd8\xff\xe0JFIF", "内容与扩展名不符"),
        ("照片.jpg", b"GIF89a", "内容与扩展名不符"),
        ("说明.txt", b"<html><body>hi</body></html>", "内容与扩展名不符"),
        ("说明.txt", b"\x00\x01\x02binary", "内容与扩展名不符"),
        ("空白.pdf", b"", "是空文件"),
    ],
)
def test_evidence_of_a_type_not_allowed_is_refused_and_nothing_is_stored(
    site: Site, filename: str, content: bytes, message: str
):
    lead = Unit(site, LEAD)
    before = _stored(site)
    response = lead.post(
        1, "progress", {"text": "附佐证材料"}, files={"evidence": (filename, content)}
    )
    page = _clean(response)
    assert response.status_code == 422
    assert message in page
    assert "请重新选择佐证材料" in page
    assert _stored(site) == before  # neither the file nor the report


def test_evidence_over_the_limit_is_refused_naming_the_limit(started: Any):
    site = started(max_upload_mb=1)
    lead = Unit(site, LEAD)
    before = _stored(site)
    # over 1 MB but within the body Flask accepts: refused by the check, the page shown again
    response = lead.post(
        1,
        "progress",
        {"text": "附件"},
        files={"evidence": ("大文件.pdf", PDF + b"0" * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "佐证材料“大文件.pdf”过大：每次报送的佐证材料合计不能超过 1 MB" in _clean(response)
    assert _stored(site) == before
    # far over: refused before the body is read
    response = lead.post(
        1,
        "progress",
        {"text": "附件"},
        files={"evidence": ("很大.pdf", PDF + b"0" * 3 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "上传的文件超过 1 MB" in _clean(response)
    assert _stored(site) == before
    # two files together over the limit
    half = PDF + b"0" * 600 * 1024
    response = lead.post(
        1,
        "progress",
        {"text": "附件"},
        files=[("evidence", ("一.pdf", half)), ("evidence", ("二.pdf", half))],
    )
    assert response.status_code == 413
    assert "合计不能超过 1 MB" in _clean(response)
    assert _stored(site) == before
    # and just under the limit is fine
    response = lead.post(
        1, "progress", {"text": "附件"}, files={"evidence": ("刚好.pdf", PDF + b"0" * 1000 * 1024)}
    )
    assert response.status_code == 200 and "提交成功" in _clean(response)


def test_a_file_name_is_cleaned_but_keeps_its_chinese(site: Site):
    lead = Unit(site, LEAD)
    # (a backslash never arrives: Werkzeug reads it as an escape in the quoted header value)
    raw = "../../张三/桌面/关于\u202e公共法律\x07服务<1>.pdf"
    page = lead.post(1, "progress", {"text": "附件"}, files={"evidence": (raw, PDF)}).text
    assert "关于公共法律服务1.pdf" in page
    report = _detail(site, 1).history[-2]
    assert report["reason"].endswith("（佐证材料：关于公共法律服务1.pdf）")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\fakepath\\会议纪要.docx", "会议纪要.docx"),
        ("报告\u202efdp.exe", "报告fdp.exe"),
        ("  多  空格 .pdf ", "多 空格.pdf"),
        ("evil.exe.", "evil.exe"),
        ("...", "佐证材料"),
        (".pdf", "佐证材料.pdf"),
        ("长" * 200 + ".xlsx", "长" * 75 + ".xlsx"),
        ("a\r\nb\x00c.txt", "abc.txt"),
    ],
)
def test_clean_filename(raw: str, clean: str):
    assert clean_filename(raw) == clean
    assert len(clean_filename(raw)) <= 80


@pytest.mark.parametrize(
    ("filename", "content", "content_type"),
    [
        ("方案.pdf", PDF, "application/pdf"),
        ("方案.docx", _zip("[Content_Types].xml", "word/document.xml"), "wordprocessingml"),
        ("台账.xlsx", _zip("[Content_Types].xml", "xl/workbook.xml"), "spreadsheetml"),
        ("材料.zip", _zip("a.txt"), "application/zip"),
        ("旧版.doc", OLE, "application/msword"),
        ("旧版.xls", OLE, "application/vnd.ms-excel"),
        ("金山.wps", OLE, "application/vnd.ms-works"),
        ("照片.PNG", b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "image/png"),
        ("照片.jpeg", b"\xff\xd8\xff\xe0" + b"\0" * 8, "image/jpeg"),
        ("说明.txt", "会议于6月9日召开。".encode("gb18030"), "text/plain"),
        ("公文.ofd", _zip("OFD.xml", "Doc_0/Document.xml"), "application/ofd"),
    ],
)
def test_evidence_of_an_allowed_type_is_accepted(filename: str, content: bytes, content_type: str):
    allowed = WebSettings().upload_types  # the default list
    (upload,) = check_uploads([Incoming(filename, io.BytesIO(content))], max_mb=1, allowed=allowed)
    assert upload.filename == filename and upload.content == content
    assert content_type in upload.content_type


def test_more_than_five_files_at_once_are_refused():
    files = [Incoming(f"{n}.pdf", io.BytesIO(PDF)) for n in range(6)]
    with pytest.raises(UserError, match="一次最多上传 5 个佐证材料"):
        check_uploads(files, max_mb=1, allowed=["pdf"])


def test_a_form_without_a_file_chosen_has_no_evidence(site: Site):
    lead = Unit(site, LEAD)
    response = lead.post(1, "progress", {"text": "无附件"}, files={"evidence": ("", b"")})
    assert response.status_code == 200
    assert "提交成功：任务 1 的进展已报送；" in _clean(response)
    assert "佐证材料" not in _detail(site, 1).history[-2]["reason"]


def test_an_extension_after_an_approved_one_shows_the_new_deadline(site: Site):
    lead = Unit(site, LEAD)
    lead.post(3, "extend", {"until": "2021-09-30", "reason": "需与省级标准衔接"})
    _approve(site, reason="同意")
    card = _card(lead.page().text, 3)
    assert "2021年9月30日前（已延期，原为2021年6月30日）" in card
    assert f'min="{date(2021, 10, 1).isoformat()}"' in card


def test_a_unit_with_many_tasks_gets_them_a_page_at_a_time(site) -> None:
    from support.plans import big_plan

    plan = big_plan(700)  # its units share tasks in turn: each has dozens
    load_plan(site.db, plan, site.settings, NOW)
    busiest = max({t.lead for t in plan.tasks}, key=lambda u: sum(t.lead == u for t in plan.tasks))
    count = sum(busiest in (t.lead, *t.co_units) for t in plan.tasks)
    assert count > 20
    link = site.link_for(busiest)
    first = requests.get(link, timeout=10)
    assert f"共 <strong>{count}</strong> 项" in first.text
    assert first.text.count('class="task-card') == 20 and "下一页" in first.text
    pages = -(-count // 20)
    last = requests.get(link + f"?page={pages}", timeout=10)
    assert last.text.count('class="task-card') == count - 20 * (pages - 1)
    # after a form, the page that holds the task comes back
    no = [t.no for t in plan.tasks if busiest in (t.lead, *t.co_units)][-1]
    back = requests.get(link + f"?plan={plan.id}&no={no}", timeout=10)
    assert f'id="task-{plan.id}-{no}"' in back.text

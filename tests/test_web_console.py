"""The coordinator's console on a real server: log in, the board, the approval queue, a task's page,
evidence downloads, stats and the ledger, the outbox; who may do what, and that nothing a person
typed reaches a page unescaped."""

from __future__ import annotations

import copy
import dataclasses
import io
import re
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from docx import Document
from openpyxl import load_workbook

from engine.actions.loading import load_plan
from engine.actions.people import add_user
from engine.actions.tasks import (
    Upload,
    record_progress,
    request_extension,
    request_transition,
)
from engine.actions.views import pending_request_rows, task_detail
from engine.model.plan import Status
from engine.notify.queue import mark_dead
from engine.planfile import read_plan
from engine.store.outbox import OutboxNotice, list_notices
from tests.support.web import NOW, PASSWORD, PLAN, SEED_PLAN, Browser, WebSite

SCRIPT = '<script>alert("x")</script><b onmouseover="y()">粗</b>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


@dataclasses.dataclass
class ConsoleSite(WebSite):
    """WebSite that closes the browsers it gave out, and lets the server's workers finish the
    response in hand before the server stops (a socket left open fails the run as a warning)."""

    browsers: list[Browser] = dataclasses.field(default_factory=list)

    def browser(self) -> Browser:
        browser = super().browser()
        self.browsers.append(browser)
        return browser

    def __exit__(self, *exc: object) -> None:
        for browser in self.browsers:
            browser.close()
        self._server.task_dispatcher.shutdown()
        super().__exit__(*exc)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[ConsoleSite]:
    with ConsoleSite(tmp_path) as running:
        yield running


def page(browser: Browser, path: str, status: int = 200) -> requests.Response:
    """GET a console page; it must answer `status` and never show a traceback."""
    response = browser.page(path, allow_redirects=False)
    assert response.status_code == status, (path, response.status_code, response.text[:400])
    assert "Traceback" not in response.text
    return response


def post(browser: Browser, path: str, fields: dict[str, Any], *, page: str) -> requests.Response:
    """Submit a form as the browser would (with the CSRF token of `page`), without following."""
    response = browser.submit(path, fields, page=page, allow_redirects=False)
    assert "Traceback" not in response.text
    return response


def ask_start(
    site: WebSite, no: int = 2, unit: str = "横琴新区", reason: str = "已启动立法调研"
) -> int:
    """A unit asks to start a task; returns the request's id."""
    return request_transition(
        site.db,
        plan_id=PLAN,
        no=no,
        unit=unit,
        to=Status.IN_PROGRESS,
        reason=reason,
        now=NOW,
        settings=site.settings,
    )


def detail(site: WebSite, no: int):
    return task_detail(site.db, plan_id=PLAN, no=no, now=NOW, settings=site.settings)


def decisions(site: WebSite, no: int) -> list[dict[str, Any]]:
    return [h for h in detail(site, no).history if h["action"] in ("approve", "reject")]


def pending_ids(site: WebSite) -> list[int]:
    return [r["id"] for r in pending_request_rows(site.db)]


def flashes(text: str, kind: str) -> list[str]:
    return re.findall(rf'class="flash flash-{kind}"[^>]*>([^<]*)<', text)


# --- logging in ----------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_in_chinese_with_401(site: WebSite) -> None:
    browser = site.browser()
    response = post(browser, "/login", {"username": "sfj", "password": "wrong"}, page="/login")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert page(browser, "/", 302).headers["Location"].startswith("/login")


def test_after_five_failures_even_the_right_password_must_wait(site: WebSite) -> None:
    browser = site.browser()
    for _ in range(5):
        post(browser, "/login", {"username": "sfj", "password": "wrong"}, page="/login")
    response = post(browser, "/login", {"username": "sfj", "password": PASSWORD}, page="/login")
    assert response.status_code == 401
    assert re.search(r"请 \d+ 秒后再试", response.text)
    assert page(browser, "/", 302).headers["Location"].startswith("/login")


def test_pages_need_a_login_and_a_decision_without_one_is_refused(site: WebSite) -> None:
    request_id = ask_start(site)
    browser = site.browser()
    for path in (
        "/",
        "/requests",
        f"/requests/{request_id}",
        "/stats",
        "/outbox",
        "/ledger.xlsx",
        f"/plans/{PLAN}/tasks/2",
    ):
        assert page(browser, path, 302).headers["Location"].startswith("/login")
    response = post(browser, f"/requests/{request_id}", {"decision": "approve"}, page="/login")
    assert response.status_code == 401
    assert pending_ids(site) == [request_id]


# --- the board -----------------------------------------------------------------------------------


def test_the_board_shows_every_task_with_its_light_and_counts_per_light(site: WebSite) -> None:
    text = page(site.logged_in(), "/").text
    links = re.findall(rf'href="/plans/{PLAN}/tasks/(\d+)"', text)
    assert sorted(int(n) for n in links) == list(range(1, 19))
    counted = r'class="light light-(\w+)">[^<]+</span> <strong>(\d+)</strong>'
    counts = dict(re.findall(counted, text))
    assert counts == {"red": "2", "yellow": "11", "green": "4", "done": "0", "none": "1"}
    assert "全部 <strong>18</strong> 项" in text
    assert '<span class="light light-red">红灯</span>' in text
    assert '<span class="light light-none">无时限</span>' in text
    assert "需关注：缺少牵头单位；缺少完成时限" in text  # task 18


def shown_tasks(text: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="no" data-label="序号">(\d+)</td>', text)]


def test_the_board_filters_by_light_unit_status_and_plan(site: WebSite) -> None:
    browser = site.logged_in()
    assert shown_tasks(page(browser, "/?light=red").text) == [14, 15]
    assert shown_tasks(page(browser, "/?unit=市人社局").text) == [3, 9, 10, 12, 13, 15]
    assert shown_tasks(page(browser, "/?unit=市人社局&light=red").text) == [15]
    assert shown_tasks(page(browser, f"/?plan={PLAN}&light=none").text) == [18]
    approve_start(site, ask_start(site, no=5, unit="横琴新区"))
    assert shown_tasks(page(browser, "/?status=in_progress").text) == [5]
    assert shown_tasks(page(browser, "/?status=推进中").text) == [5]
    # the counts follow the other filters, and each links to its light with them kept
    text = page(browser, "/?unit=市人社局").text
    assert "全部 <strong>6</strong> 项" in text
    assert 'href="/?light=red&amp;unit=%E5%B8%82%E4%BA%BA%E7%A4%BE%E5%B1%80"' in text


def approve_start(site: WebSite, request_id: int) -> None:
    browser = site.logged_in()
    response = post(
        browser, f"/requests/{request_id}", {"decision": "approve", "reason": ""}, page="/requests"
    )
    assert response.status_code == 302


def test_an_unknown_filter_value_is_named_and_the_rest_still_shown(site: WebSite) -> None:
    browser = site.logged_in()
    text = page(browser, "/?unit=市不存在局&light=purple").text
    assert "没有名为“市不存在局”的单位" in text
    assert "“purple”不是督办灯号" in text
    assert len(shown_tasks(text)) == 18


# --- deciding ------------------------------------------------------------------------------------


def test_approving_from_the_queue_records_the_person_and_the_console(site: WebSite) -> None:
    request_id = ask_start(site)
    browser = site.logged_in()
    queue = page(browser, "/requests").text
    assert f'action="/requests/{request_id}"' in queue
    assert '<button type="submit" name="decision" value="approve" class="approve">批准' in queue
    assert '<button type="submit" name="decision" value="reject" class="reject">驳回' in queue
    response = post(
        browser,
        f"/requests/{request_id}",
        {"decision": "approve", "reason": "同意启动"},
        page="/requests",
    )
    assert response.status_code == 302 and response.headers["Location"] == "/requests"
    after = page(browser, "/requests").text
    assert f"已批准申请 #{request_id}（任务 2：状态变更为“推进中”）" in flashes(after, "success")
    assert "目前没有待审批事项" in after
    task = detail(site, 2)
    assert task.row["status"] == "in_progress"
    [decision] = decisions(site, 2)
    assert decision["actor"] == "市司法局" and decision["person"] == "sfj"
    assert decision["via"] == "web" and decision["reason"] == "同意启动"
    assert task.history[-1]["action"] == "status" and task.history[-1]["via"] == "web"


def test_rejecting_with_a_reason_keeps_the_task_as_it_was(site: WebSite) -> None:
    request_id = request_extension(
        site.db,
        plan_id=PLAN,
        no=14,
        unit="市司法局",
        until=date(2021, 9, 30),
        reason="待省厅文件出台",
        now=NOW,
        settings=site.settings,
    )
    browser = site.logged_in()
    response = post(
        browser,
        f"/requests/{request_id}",
        {"decision": "reject", "reason": "请按原定时限完成"},
        page="/requests",
    )
    assert response.status_code == 302
    text = page(browser, "/requests").text
    done = f"已驳回申请 #{request_id}（任务 14：完成时限延至 2021-09-30）"
    assert done in flashes(text, "success")
    assert detail(site, 14).row["due"] == "2020-12-31"
    [decision] = decisions(site, 14)
    assert decision["action"] == "reject" and decision["person"] == "sfj"
    assert decision["via"] == "web"
    # the request's page now shows the decision instead of the form
    decided = page(browser, f"/requests/{request_id}").text
    assert "已驳回" in decided and "请按原定时限完成" in decided
    assert 'name="decision"' not in decided


def test_an_approved_extension_shows_the_new_and_the_original_deadline(site: WebSite) -> None:
    request_id = request_extension(
        site.db,
        plan_id=PLAN,
        no=14,
        unit="市司法局",
        until=date(2021, 9, 30),
        reason="待省厅文件出台",
        now=NOW,
        settings=site.settings,
    )
    browser = site.logged_in()
    post(browser, f"/requests/{request_id}", {"decision": "approve"}, page="/requests")
    text = page(browser, f"/plans/{PLAN}/tasks/14").text
    assert "2021年9月30日，原定 2020年12月31日，已批准延期" in text
    assert "light-green" in text  # no longer overdue, nor due within 30 days
    assert 14 not in shown_tasks(page(browser, "/?light=red").text)


def test_rejecting_without_a_reason_says_so_and_changes_nothing(site: WebSite) -> None:
    request_id = ask_start(site)
    browser = site.logged_in()
    response = post(
        browser, f"/requests/{request_id}", {"decision": "reject", "reason": "  "}, page="/requests"
    )
    assert response.status_code == 422
    assert "驳回申请须填写驳回理由" in response.text
    assert 'name="decision" value="reject"' in response.text  # the form is there to try again
    assert pending_ids(site) == [request_id]
    assert decisions(site, 2) == []


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_decision_without_a_valid_csrf_token_is_refused(site: WebSite, token: str | None) -> None:
    request_id = ask_start(site)
    browser = site.logged_in()
    page(browser, "/requests")
    fields = {"decision": "approve", "reason": "同意"}
    if token:
        fields["csrf_token"] = token
    response = browser.post(f"{site.url}/requests/{request_id}", data=fields, allow_redirects=False)
    assert response.status_code == 403
    assert "表单校验失败" in response.text and "Traceback" not in response.text
    assert pending_ids(site) == [request_id]
    assert decisions(site, 2) == []


def test_a_viewer_sees_the_queue_but_cannot_decide(site: WebSite) -> None:
    request_id = ask_start(site)
    leader = site.logged_in("leader")
    queue = page(leader, "/requests").text
    assert "已启动立法调研" in queue and 'name="decision"' not in queue
    assert "查看账号仅可查阅" in queue
    response = post(
        leader,
        f"/requests/{request_id}",
        {"decision": "approve", "reason": "同意"},
        page="/requests",
    )
    assert response.status_code == 403
    assert "查看账号只能查阅，不能审批申请" in response.text
    assert pending_ids(site) == [request_id]
    assert decisions(site, 2) == []


def test_the_coordinator_of_another_unit_cannot_decide(site: WebSite) -> None:
    assert site.db is not None
    add_user(site.db, name="fgj", unit="市发改局", role="coordinator", password=PASSWORD, now=NOW)
    request_id = ask_start(site)
    other = site.logged_in("fgj")
    assert 'name="decision"' not in page(other, "/requests").text
    response = post(
        other,
        f"/requests/{request_id}",
        {"decision": "approve", "reason": "同意"},
        page="/requests",
    )
    assert response.status_code == 403
    assert "市发改局不是该计划的统筹单位" in response.text
    assert pending_ids(site) == [request_id]
    assert decisions(site, 2) == []


def test_a_request_page_has_the_form_while_it_waits(site: WebSite) -> None:
    request_id = ask_start(site)
    text = page(site.logged_in(), f"/requests/{request_id}").text
    assert "申请变更状态为 <strong>推进中</strong>" in text and "横琴新区" in text
    assert f'action="/requests/{request_id}"' in text and ">批准</button>" in text
    assert "加强公共法律服务立法" in text  # the task's title
    page(site.logged_in(), "/requests/999", 404)


def test_two_browsers_deciding_at_once_exactly_one_wins(site: WebSite) -> None:
    request_id = ask_start(site)
    first, second = site.logged_in(), site.logged_in()
    tokens = [b.csrf(f"/requests/{request_id}") for b in (first, second)]
    start = threading.Barrier(2)
    answers: list[requests.Response] = []

    def decide(browser: Browser, token: str, choice: str) -> None:
        start.wait()
        answers.append(
            browser.post(
                f"{site.url}/requests/{request_id}",
                data={"csrf_token": token, "decision": choice, "reason": "意见" + choice},
                allow_redirects=False,
            )
        )

    threads = [
        threading.Thread(target=decide, args=(first, tokens[0], "approve")),
        threading.Thread(target=decide, args=(second, tokens[1], "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 302 and codes[1] in (409, 422), codes
    loser = next(a for a in answers if a.status_code != 302)
    assert "不能重复审批" in loser.text and "Traceback" not in loser.text
    assert len(decisions(site, 2)) == 1
    assert pending_ids(site) == []


# --- what people typed ---------------------------------------------------------------------------


def test_html_typed_by_anyone_is_shown_escaped_on_every_page(site: WebSite) -> None:
    assert site.db is not None
    plan = copy.deepcopy(read_plan(SEED_PLAN))
    plan.tasks[0].title = SCRIPT
    load_plan(
        site.db,
        dataclasses.replace(plan, id="second-plan", title="第二" + SCRIPT),
        site.settings,
        NOW,
    )
    record_progress(
        site.db,
        plan_id=PLAN,
        no=3,
        unit="市发改局",
        text=SCRIPT,
        now=NOW,
        settings=site.settings,
        evidence=(Upload(SCRIPT + ".pdf", "application/pdf", b"%PDF-1.4"),),
    )
    request_id = ask_start(site, reason=SCRIPT)
    browser = site.logged_in()
    post(
        browser,
        f"/requests/{request_id}",
        {"decision": "reject", "reason": SCRIPT},
        page="/requests",
    )
    ask_start(site, reason=SCRIPT)
    with site.db.transaction() as session:
        mark_dead(session.get(OutboxNotice, 1), SCRIPT)
    paths = [
        "/",
        "/?plan=second-plan",
        "/?unit=" + SCRIPT,
        "/requests",
        f"/requests/{request_id}",
        f"/plans/{PLAN}/tasks/2",
        f"/plans/{PLAN}/tasks/3",
        "/plans/second-plan/tasks/1",
        "/stats",
        "/outbox",
        "/ledger.docx",
    ]
    for path in paths:
        text = page(browser, path).text
        assert "<script>" not in text and "<b onmouseover" not in text, path
        assert ESCAPED in text, path


# --- a task and its evidence ---------------------------------------------------------------------


def test_a_task_page_shows_its_units_progress_history_and_evidence(site: WebSite) -> None:
    record_progress(
        site.db,
        plan_id=PLAN,
        no=2,
        unit="横琴新区",
        text="已完成立法调研报告",
        now=NOW,
        settings=site.settings,
        evidence=(Upload("调研报告.pdf", "application/pdf", b"%PDF" + b"0" * 2044),),
    )
    request_id = request_transition(
        site.db,
        plan_id=PLAN,
        no=2,
        unit="横琴新区",
        to=Status.COMPLETED,
        reason="已办结",
        now=NOW,
        settings=site.settings,
    )
    text = page(site.logged_in(), f"/plans/{PLAN}/tasks/2").text
    assert "加强公共法律服务立法" in text and "横琴新区" in text and "珠海仲裁委" in text
    assert "2021年6月30日前" in text and "推进中" in text and "light-yellow" in text
    assert "已完成立法调研报告" in text
    assert "经单位链接" not in text  # these came from the command line
    assert "经命令行" in text and "经系统" in text  # the automatic start
    assert f'href="/requests/{request_id}"' in text and ">批准</button>" in text
    assert "调研报告.pdf" in text and "2 KB" in text
    as_leader = page(site.logged_in("leader"), f"/plans/{PLAN}/tasks/2").text
    assert ">批准</button>" not in as_leader


def test_evidence_downloads_as_an_attachment_never_inline(site: WebSite) -> None:
    body = b"<html><script>alert(1)</script></html>"
    record_progress(
        site.db,
        plan_id=PLAN,
        no=2,
        unit="横琴新区",
        text="见附件",
        now=NOW,
        settings=site.settings,
        evidence=(Upload("佐证材料.html", "text/html", body),),
    )
    browser = site.logged_in()
    [link] = re.findall(r'href="(/evidence/\d+)"', page(browser, f"/plans/{PLAN}/tasks/2").text)
    response = page(browser, link)
    assert response.content == body
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E4%BD%90%E8%AF%81%E6%9D%90%E6%96%99.html" in disposition
    assert page(site.browser(), link, 302).headers["Location"].startswith("/login")
    page(browser, "/evidence/999", 404)


def test_unknown_plans_tasks_and_values_are_404_in_chinese(site: WebSite) -> None:
    browser = site.logged_in()
    assert "没有标识为“nope”的计划" in page(browser, "/plans/nope/tasks/1", 404).text
    assert "没有序号为 99 的任务" in page(browser, f"/plans/{PLAN}/tasks/99", 404).text
    page(browser, f"/plans/{PLAN}/tasks/abc", 404)
    page(browser, "/stats?plan=nope", 404)
    page(browser, "/ledger.xlsx?plan=nope", 404)
    page(browser, "/outbox/1/retry", 405)


# --- stats and the ledger ------------------------------------------------------------------------


def test_stats_show_each_units_figures_and_the_totals(site: WebSite) -> None:
    text = page(site.logged_in("leader"), "/stats").text
    row = re.search(r'data-label="单位"><a [^>]*>市司法局</a></td>(.*?)</tr>', text, re.S)
    assert row
    figures = re.findall(r'data-label="([^"]+)">(\d+)</td>', row.group(1))
    # as `duban stats`: 市司法局 leads 4, 6, 10, 11 and 14, and 14 (2020年底前) is overdue
    assert dict(figures) == {
        "牵头": "5",
        "配合": "9",
        "按期完成": "0",
        "逾期完成": "0",
        "当前逾期": "1",
        "未报进展": "0",
    }
    assert 'class="num alarm" data-label="当前逾期">1</td>' in row.group(1)
    assert "共 <strong>18</strong> 项" in text
    assert 'href="/ledger.docx?plan=zhuhai-gba-legal-services"' in text


def test_the_ledger_downloads_open_as_word_and_excel(site: WebSite) -> None:
    browser = site.logged_in("leader")
    word = page(browser, "/ledger.docx")
    assert word.headers["Content-Disposition"].startswith("attachment;")
    cells = {
        c.text for t in Document(io.BytesIO(word.content)).tables for r in t.rows for c in r.cells
    }
    assert any("加强公共法律服务立法" in c for c in cells)
    excel = page(browser, f"/ledger.xlsx?plan={PLAN}")
    sheet = load_workbook(io.BytesIO(excel.content)).active
    assert sheet is not None
    values = [str(v) for r in sheet.iter_rows(values_only=True) for v in r if v]
    assert any("加强公共法律服务立法" in v for v in values)


def test_with_several_plans_the_ledger_asks_which_one(site: WebSite) -> None:
    assert site.db is not None
    plan = read_plan(SEED_PLAN)
    load_plan(
        site.db, dataclasses.replace(plan, id="second-plan", title="第二个计划"), site.settings, NOW
    )
    browser = site.logged_in()
    text = page(browser, "/ledger.xlsx").text
    assert "请选择要导出的计划" in text
    assert 'href="/ledger.xlsx?plan=second-plan"' in text
    assert f'href="/ledger.xlsx?plan={PLAN}"' in text
    one = page(browser, "/ledger.xlsx?plan=second-plan")
    assert load_workbook(io.BytesIO(one.content)).active is not None
    assert "第二个计划" in page(browser, "/stats").text
    assert "第二个计划" in page(browser, "/").text  # the board names the plan of each row


# --- the outbox ----------------------------------------------------------------------------------


def dead_notice(site: WebSite, error: str = "企业微信返回 errcode=93000：webhook 地址无效") -> int:
    """A request queues notices to the coordinator; the first of them goes dead."""
    assert site.db is not None
    ask_start(site)
    with site.db.transaction() as session:
        row = list_notices(session)[0]
        mark_dead(row, error)
        return row.id


def notice(site: WebSite, notice_id: int) -> OutboxNotice:
    assert site.db is not None
    with site.db.read() as session:
        row = session.get(OutboxNotice, notice_id)
        assert row is not None
        return row


def test_the_outbox_shows_dead_letters_with_their_error(site: WebSite) -> None:
    notice_id = dead_notice(site)
    browser = site.logged_in()
    text = page(browser, "/outbox?status=dead").text
    assert f"#{notice_id}" in text and "webhook 地址无效" in text
    assert 'class="notice-dead"' in text
    assert f'action="/outbox/{notice_id}/retry"' in text and "重新发送" in text
    assert page(browser, "/outbox?status=发送失败").text.count('class="notice-dead"') == 1
    assert 'class="notice-dead"' not in page(browser, "/outbox?status=pending").text
    assert "重新发送" not in page(site.logged_in("leader"), "/outbox").text


def test_retrying_a_dead_notice_queues_it_again(site: WebSite) -> None:
    notice_id = dead_notice(site)
    browser = site.logged_in()
    response = post(browser, f"/outbox/{notice_id}/retry", {}, page="/outbox")
    assert response.status_code == 302
    assert "已重新排队" in "".join(flashes(page(browser, "/outbox").text, "success"))
    row = notice(site, notice_id)
    assert row.status == "pending" and row.attempts == 0
    again = post(browser, f"/outbox/{notice_id}/retry", {}, page="/outbox")
    assert again.status_code == 302
    assert "尚在等待发送，无需重发" in "".join(flashes(page(browser, "/outbox").text, "info"))


def test_a_viewer_cannot_retry_and_a_missing_token_changes_nothing(site: WebSite) -> None:
    notice_id = dead_notice(site)
    leader = site.logged_in("leader")
    assert post(leader, f"/outbox/{notice_id}/retry", {}, page="/outbox").status_code == 403
    coordinator = site.logged_in()
    page(coordinator, "/outbox")
    response = coordinator.post(f"{site.url}/outbox/{notice_id}/retry", allow_redirects=False)
    assert response.status_code == 403
    assert notice(site, notice_id).status == "dead"


def test_a_large_board_is_drawn_a_page_at_a_time_and_counted_whole(site: WebSite) -> None:
    from support.plans import big_plan

    assert site.db is not None and site.settings is not None
    load_plan(site.db, big_plan(250), site.settings, NOW)  # a second plan of 250 tasks
    browser = site.logged_in()
    first = page(browser, "/?plan=" + big_plan(1).id)
    assert len(shown_tasks(first.text)) == 100
    assert "全部 <strong>250</strong> 项" in first.text
    assert "第 1 / 3 页" in first.text and "下一页" in first.text and "上一页" not in first.text
    last = page(browser, "/?plan=" + big_plan(1).id + "&page=3")
    assert len(shown_tasks(last.text)) == 50 and "下一页" not in last.text
    beyond = page(browser, "/?plan=" + big_plan(1).id + "&page=99")  # the last page, not empty
    assert shown_tasks(beyond.text) == shown_tasks(last.text)
    # every task is on exactly one page
    seen = [n for p in (1, 2, 3) for n in shown_tasks(
        page(browser, f"/?plan={big_plan(1).id}&page={p}").text)]
    assert sorted(seen) == list(range(1, 251))

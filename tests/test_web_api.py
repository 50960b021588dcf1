"""The API on a real server on loopback: the CLI's JSON shapes, what each token role may do, and
every refusal as {"error": …} with its status code, changing nothing.

The site's two console accounts are hashed with cheap Argon2 parameters here (nobody logs in):
the real ones cost over a second per site on a slow machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from support.plans import dump
from support.web import COORDINATOR, NOW, PLAN, WebSite

from engine.actions.people import add_token, remove_token
from engine.actions.tasks import request_extension

TOKENS = {
    # name: (unit, role)
    "oa": (COORDINATOR, "coordinator"),
    "dashboard": ("市发改局", "viewer"),
    "hengqin": ("横琴新区", "unit"),
    "faxuehui": ("市法学会", "unit"),
    "scjgj": ("市市场监管局", "unit"),
    "fgj-oa": ("市发改局", "coordinator"),  # a coordinator role, but not this plan's coordinator
}


class Api:
    """The running site, its tokens, the two pending requests, and the same database's CLI."""

    def __init__(self, site: WebSite, duban: Any = None) -> None:
        assert site.db is not None and site.settings is not None
        self.site = site
        self._duban = duban
        self.tokens = {
            name: add_token(site.db, name=name, unit=unit, role=role, now=NOW)
            for name, (unit, role) in TOKENS.items()
        }
        self.hengqin_request = request_extension(
            site.db,
            plan_id=PLAN,
            no=2,
            unit="横琴新区",
            until=date(2021, 9, 30),
            reason="需与澳门方面协调",
            now=NOW,
            settings=site.settings,
        )
        self.faxuehui_request = request_extension(
            site.db,
            plan_id=PLAN,
            no=5,
            unit="市法学会",
            until=date(2021, 8, 31),
            reason="配合单位人手不足",
            now=NOW,
            settings=site.settings,
        )

    def call(
        self, method: str, path: str, token: str | None = None, **kw: Any
    ) -> requests.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        return requests.request(method, self.site.url + path, headers=headers, timeout=10, **kw)

    def get(self, path: str, token: str | None = "oa", **kw: Any) -> requests.Response:
        return self.call("GET", path, token, **kw)

    def post(self, path: str, token: str | None = "oa", **kw: Any) -> requests.Response:
        return self.call("POST", path, token, **kw)

    def cli(self, *args: str) -> Any:
        """`duban ARGS… --json` on the site's database at the site's business time."""
        url = f"sqlite:///{self.site.folder / 'duban.db'}"
        result = self._duban("--db", url, "--now", NOW.isoformat(), *args, "--json")
        assert result.code == 0, result.err
        return json.loads(result.out)

    def dump(self) -> list[str]:
        return dump(self.site.folder / "duban.db")


@contextmanager
def running_site(folder: Path) -> Iterator[WebSite]:
    with WebSite(folder) as site:  # cheap password hashing and a clean stop are WebSite's own
        yield site


@pytest.fixture
def api(tmp_path: Path, duban: Any) -> Iterator[Api]:
    with running_site(tmp_path) as site:
        yield Api(site, duban)


@pytest.fixture(scope="module")
def unchanging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One site for every refused call: none of them may change it."""
    with running_site(tmp_path_factory.mktemp("refusals")) as site:
        yield Api(site)


def refused(response: requests.Response, code: int) -> str:
    """The Chinese one-sentence error of a refused call (and nothing else: no traceback)."""
    assert response.status_code == code, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    message: str = body["error"]
    assert any("\u4e00" <= c <= "\u9fff" for c in message), message
    assert "Traceback" not in response.text
    return message


# --- reading, in the CLI's shapes --------------------------------------------------------------


def test_the_board_is_what_duban_tasks_prints(api: Api):
    response = api.get("/api/v1/tasks")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == api.cli("tasks")
    assert len(response.json()) == 18


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ({"plan": PLAN}, ("--plan", PLAN)),
        ({"unit": "横琴新区"}, ("--unit", "横琴新区")),
        ({"status": "not_started"}, ("--status", "not_started")),
        ({"status": "推进中"}, ("--status", "推进中")),
        (
            {"unit": "市市场监督管理局", "status": "未启动"},
            ("--unit", "市市场监督管理局", "--status", "未启动"),
        ),
    ],
)
def test_the_board_takes_the_cli_filters_as_query_parameters(api: Api, query, args):
    response = api.get("/api/v1/tasks", params=query)
    assert response.status_code == 200, response.text
    assert response.json() == api.cli("tasks", *args)


def test_a_unit_token_sees_only_the_tasks_its_unit_leads_or_helps_with(api: Api):
    rows = api.get("/api/v1/tasks", "hengqin").json()
    assert rows == api.cli("tasks", "--unit", "横琴新区")
    assert [r["no"] for r in rows] == [2, 4, 5, 6, 7, 16]
    assert all(r["lead"] == "横琴新区" or "横琴新区" in r["co_units"] for r in rows)
    own = api.get("/api/v1/tasks", "hengqin", params={"unit": "横琴新区", "status": "未启动"})
    assert own.json() == rows


def test_a_unit_token_may_not_ask_for_another_units_board(api: Api):
    message = refused(api.get("/api/v1/tasks", "hengqin", params={"unit": "市发改局"}), 403)
    assert "横琴新区" in message


def test_viewer_and_coordinator_tokens_see_every_task(api: Api):
    assert api.get("/api/v1/tasks", "dashboard").json() == api.cli("tasks")
    assert api.get("/api/v1/tasks", "fgj-oa").json() == api.cli("tasks")


def test_a_task_is_what_duban_show_prints(api: Api):
    response = api.get(f"/api/v1/plans/{PLAN}/tasks/2")
    assert response.status_code == 200
    shown = response.json()
    assert shown == api.cli("show", "2", "--plan", PLAN)
    assert shown["history"][-1]["action"] == "request_extension"
    assert {"person", "via"} <= set(shown["history"][0])


def test_a_unit_token_reads_its_own_task_and_no_other(api: Api):
    own = api.get(f"/api/v1/plans/{PLAN}/tasks/4", "hengqin")  # a co-unit of task 4
    assert own.status_code == 200 and own.json()["no"] == 4
    message = refused(api.get(f"/api/v1/plans/{PLAN}/tasks/1", "hengqin"), 403)
    assert "任务 1" in message


def test_the_requests_are_what_duban_requests_prints(api: Api):
    rows = api.get("/api/v1/requests").json()
    assert rows == api.cli("requests")
    assert [r["id"] for r in rows] == [api.hengqin_request, api.faxuehui_request]
    assert api.get("/api/v1/requests", "dashboard").json() == rows


def test_a_unit_token_sees_only_its_units_requests(api: Api):
    rows = api.get("/api/v1/requests", "hengqin").json()
    assert rows == [r for r in api.cli("requests") if r["unit"] == "横琴新区"]
    assert [r["id"] for r in rows] == [api.hengqin_request]
    assert api.get("/api/v1/requests", "scjgj").json() == []


# --- progress --------------------------------------------------------------------------------


def test_a_lead_units_token_reports_progress_recorded_as_the_api_and_the_token(api: Api):
    response = api.post(
        f"/api/v1/plans/{PLAN}/tasks/2/progress",
        "hengqin",
        json={"unit": "横琴新区", "text": "已完成与澳门方面的首轮对接"},
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"no": 2, "started": True}
    shown = api.get(f"/api/v1/plans/{PLAN}/tasks/2", "hengqin").json()
    assert shown == api.cli("show", "2", "--plan", PLAN)
    assert shown["status"] == "in_progress"
    assert shown["progress"] == "已完成与澳门方面的首轮对接"
    report, start = shown["history"][-2:]
    assert report["action"] == "progress" and report["actor"] == "横琴新区"
    assert (report["person"], report["via"]) == ("hengqin", "api")
    assert report["at"] == NOW.isoformat()
    assert start["action"] == "status" and (start["person"], start["via"]) == (None, "system")


def test_a_co_units_token_reports_under_an_alias_of_its_unit(api: Api):
    response = api.post(
        f"/api/v1/plans/{PLAN}/tasks/3/progress",
        "scjgj",
        json={"unit": "市市场监督管理局", "text": "已梳理涉外企业名单"},
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"no": 3, "started": False}
    last = api.get(f"/api/v1/plans/{PLAN}/tasks/3").json()["history"][-1]
    assert (last["actor"], last["person"], last["via"]) == ("市市场监管局", "scjgj", "api")


def test_a_coordinator_token_reports_for_its_own_unit(api: Api):
    response = api.post(
        f"/api/v1/plans/{PLAN}/tasks/4/progress", json={"unit": COORDINATOR, "text": "已召开会议"}
    )
    assert response.status_code == 201 and response.json() == {"no": 4, "started": True}
    # the plan's coordinator may report on a task it neither leads nor helps with, as from the CLI
    response = api.post(
        f"/api/v1/plans/{PLAN}/tasks/5/progress", json={"unit": COORDINATOR, "text": "已督促"}
    )
    assert response.status_code == 201 and response.json() == {"no": 5, "started": False}
    assert api.get("/api/v1/tasks").json() == api.cli("tasks")


# --- decisions -------------------------------------------------------------------------------


def test_a_coordinator_token_approves_an_extension(api: Api):
    response = api.post(
        f"/api/v1/requests/{api.hengqin_request}/approve", json={"reason": "同意延期"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": api.hengqin_request,
        "state": "approved",
        "plan": PLAN,
        "no": 2,
        "type": "extension",
        "to": "2021-09-30",
    }
    shown = api.get(f"/api/v1/plans/{PLAN}/tasks/2").json()
    assert shown["due"] == "2021-09-30"
    approval, extension = shown["history"][-2:]
    assert approval["action"] == "approve" and extension["action"] == "extension"
    assert (approval["actor"], approval["person"], approval["via"]) == (COORDINATOR, "oa", "api")
    assert [r["id"] for r in api.get("/api/v1/requests").json()] == [api.faxuehui_request]


def test_approving_needs_no_body_and_rejecting_needs_a_reason(api: Api):
    approved = api.post(f"/api/v1/requests/{api.faxuehui_request}/approve")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    rejected = api.post(
        f"/api/v1/requests/{api.hengqin_request}/reject", json={"reason": "理由不充分"}
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    last = api.get(f"/api/v1/plans/{PLAN}/tasks/2").json()["history"][-1]
    assert (last["action"], last["reason"], last["via"]) == ("reject", "理由不充分", "api")
    assert api.get("/api/v1/requests").json() == []


def test_a_request_decided_already_is_a_bad_value(api: Api):
    assert api.post(f"/api/v1/requests/{api.hengqin_request}/approve").status_code == 200
    before = api.dump()
    message = refused(
        api.post(f"/api/v1/requests/{api.hengqin_request}/reject", json={"reason": "改主意"}), 422
    )
    assert "不能重复审批" in message
    assert api.dump() == before


# --- every refusal: its code, its message, and nothing changed -------------------------------

PROGRESS = f"/api/v1/plans/{PLAN}/tasks/2/progress"
REPORT = {"unit": "横琴新区", "text": "进展"}
REFUSALS = [
    # (what, method, path, token, request keywords, code)
    ("no Authorization header", "GET", "/api/v1/tasks", None, {}, 401),
    ("no token on a POST", "POST", PROGRESS, None, {"json": REPORT}, 401),
    (
        "basic, not bearer",
        "GET",
        "/api/v1/requests",
        None,
        {"headers": {"Authorization": "Basic b2E6b2E="}},
        401,
    ),
    (
        "bearer without a token",
        "GET",
        "/api/v1/requests",
        None,
        {"headers": {"Authorization": "Bearer "}},
        401,
    ),
    ("an unknown token", "POST", PROGRESS, "dbn_not-a-token", {"json": REPORT}, 401),
    ("a token of another form", "GET", "/api/v1/tasks", "abc", {}, 401),
    (
        "a viewer reports",
        "POST",
        f"/api/v1/plans/{PLAN}/tasks/1/progress",
        "dashboard",
        {"json": {"unit": "市发改局", "text": "进展"}},
        403,
    ),
    (
        "a unit reports for another",
        "POST",
        PROGRESS,
        "hengqin",
        {"json": {"unit": "市发改局", "text": "进展"}},
        403,
    ),
    (
        "a unit reports for a unit nobody knows",
        "POST",
        PROGRESS,
        "hengqin",
        {"json": {"unit": "火星局", "text": "进展"}},
        403,
    ),
    (
        "a unit reports on a task not its own",
        "POST",
        PROGRESS,
        "faxuehui",
        {"json": {"unit": "市法学会", "text": "进展"}},
        403,
    ),
    ("a coordinator reports for another unit", "POST", PROGRESS, "oa", {"json": REPORT}, 403),
    (
        "a coordinator of no plan reports on a stranger's task",
        "POST",
        f"/api/v1/plans/{PLAN}/tasks/5/progress",
        "fgj-oa",
        {"json": {"unit": "市发改局", "text": "进展"}},
        403,
    ),
    ("a unit approves", "POST", "/api/v1/requests/1/approve", "hengqin", {}, 403),
    (
        "a viewer rejects",
        "POST",
        "/api/v1/requests/1/reject",
        "dashboard",
        {"json": {"reason": "不同意"}},
        403,
    ),
    (
        "a coordinator of another unit approves",
        "POST",
        "/api/v1/requests/1/approve",
        "fgj-oa",
        {},
        403,
    ),
    ("an unknown plan", "GET", "/api/v1/plans/no-such-plan/tasks/1", "oa", {}, 404),
    ("an unknown task", "GET", f"/api/v1/plans/{PLAN}/tasks/99", "oa", {}, 404),
    (
        "a task number past any integer",
        "GET",
        f"/api/v1/plans/{PLAN}/tasks/{10**30}",
        "oa",
        {},
        404,
    ),
    ("a task number that is not a number", "GET", f"/api/v1/plans/{PLAN}/tasks/abc", "oa", {}, 404),
    (
        "progress on an unknown task",
        "POST",
        f"/api/v1/plans/{PLAN}/tasks/99/progress",
        "hengqin",
        {"json": REPORT},
        404,
    ),
    (
        "an unknown plan in the filter",
        "GET",
        "/api/v1/tasks",
        "oa",
        {"params": {"plan": "no-such-plan"}},
        404,
    ),
    ("an unknown request", "POST", "/api/v1/requests/999/approve", "oa", {}, 404),
    ("an unknown path", "GET", "/api/v1/nothing", "oa", {}, 404),
    (
        "malformed JSON",
        "POST",
        PROGRESS,
        "hengqin",
        {"data": b'{"unit": "\xe6\xa8\xaa', "headers": {"Content-Type": "application/json"}},
        422,
    ),
    ("a body that is a list", "POST", PROGRESS, "hengqin", {"json": ["横琴新区", "进展"]}, 422),
    (
        "text not a string",
        "POST",
        PROGRESS,
        "hengqin",
        {"json": {"unit": "横琴新区", "text": 42}},
        422,
    ),
    (
        "unit not a string",
        "POST",
        PROGRESS,
        "hengqin",
        {"json": {"unit": ["横琴新区"], "text": "进展"}},
        422,
    ),
    ("no text", "POST", PROGRESS, "hengqin", {"json": {"unit": "横琴新区"}}, 422),
    ("blank text", "POST", PROGRESS, "hengqin", {"json": {"unit": "横琴新区", "text": "  "}}, 422),
    ("an empty body", "POST", PROGRESS, "hengqin", {}, 422),
    (
        "an unknown field",
        "POST",
        PROGRESS,
        "hengqin",
        {"json": {"unit": "横琴新区", "txt": "进展"}},
        422,
    ),
    ("a rejection without a reason", "POST", "/api/v1/requests/1/reject", "oa", {"json": {}}, 422),
    (
        "a reason not a string",
        "POST",
        "/api/v1/requests/1/approve",
        "oa",
        {"json": {"reason": True}},
        422,
    ),
    ("a bad status filter", "GET", "/api/v1/tasks", "oa", {"params": {"status": "done"}}, 422),
    ("an unknown unit filter", "GET", "/api/v1/tasks", "oa", {"params": {"unit": "火星局"}}, 422),
    ("an unknown query parameter", "GET", "/api/v1/tasks", "oa", {"params": {"staus": "x"}}, 422),
    ("GET on progress", "GET", PROGRESS, "hengqin", {}, 405),
    ("DELETE on the board", "DELETE", "/api/v1/tasks", "oa", {}, 405),
    ("PUT on a decision", "PUT", "/api/v1/requests/1/approve", "oa", {}, 405),
]


@pytest.mark.parametrize(
    ("method", "path", "token", "kw", "code"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_a_refused_call_says_why_in_chinese_and_changes_nothing(
    unchanging: Api, method, path, token, kw, code
):
    assert unchanging.hengqin_request == 1  # the paths above name it
    before = unchanging.dump()
    refused(unchanging.call(method, path, token, **kw), code)
    assert unchanging.dump() == before


def test_a_refusal_without_a_valid_token_asks_for_a_bearer_token(api: Api):
    missing = api.get("/api/v1/tasks", None)
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="duban"'
    assert "Authorization: Bearer" in refused(missing, 401)
    wrong = api.get("/api/v1/tasks", "dbn_wrong")
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="duban", error="invalid_token"'


def test_a_removed_token_is_refused_from_then_on(api: Api):
    assert api.site.db is not None
    assert api.get("/api/v1/tasks", "hengqin").status_code == 200
    remove_token(api.site.db, "hengqin")
    refused(api.get("/api/v1/tasks", "hengqin"), 401)
    before = api.dump()
    refused(api.post(PROGRESS, "hengqin", json=REPORT), 401)
    assert api.dump() == before


def test_the_bearer_scheme_is_case_insensitive(api: Api):
    response = api.get(
        "/api/v1/requests", None, headers={"Authorization": f"bearer {api.tokens['oa']}"}
    )
    assert response.status_code == 200


def test_a_body_sent_as_form_content_type_is_still_read_as_json(api: Api):
    response = api.post(
        PROGRESS,
        "hengqin",
        data=json.dumps(REPORT).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text

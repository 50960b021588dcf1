"""The coordinating office's console: log in, the board, the approval queue, a task's page, stats,
the ledger download and the outbox. Coordinators decide for the plans their unit coordinates;
viewers read everything and decide nothing.

Every page reads through the use cases (`engine.actions`, `engine.ledger`, `engine.notify.queue`);
what this module adds is the choice of page, the form checks a person needs in words of the page
(not of the command line), and the answer: a redirect with a flash message, or the page again with
the refusal on it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from loguru import logger
from sqlalchemy import select

from engine.actions.board import board_rows
from engine.actions.people import Account, LoginRefused, check_login
from engine.actions.tasks import Decision, decide
from engine.actions.views import pending_request_rows, task_detail
from engine.errors import NotAllowed, UserError
from engine.store.board import responsible_units
from engine.web.guard import (
    LIGHT_TEXT,
    STATUS_TEXT,
    cn_time,
    ctx,
    current_account,
    download,
    login_required,
    refuse,
    web_via,
)

blueprint = Blueprint("console", __name__)
BOARD_PAGE = 100
"""Tasks per page of the board."""

LIGHTS = ("red", "yellow", "green", "done", "none")
"""Light codes in the order the board counts them."""
# The outbox's delivery states as `duban outbox` names them.
OUTBOX_STATUS_TEXT = {"pending": "待发送", "sent": "已发送", "failed": "待重试", "dead": "发送失败",
                      "dropped": "不再发送"}
OUTBOX_LIMIT = 300
"""Notices listed at most on one outbox page, newest first."""
_LEDGER_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an address elsewhere (an open redirect)."""
    if not target:
        return url_for("console.board")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("console.board")
    return target


def _me() -> Account:
    """The logged-in account, on a page behind `login_required`."""
    who = current_account()
    assert who is not None
    return who


# --- log in ------------------------------------------------------------------------------------


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    try:
        who = check_login(ctx().db, name, password, ctx().real_now())
    except LoginRefused as exc:
        logger.warning("控制台登录失败", user=name[:100])
        return render_template("login.html", error=str(exc), username=name, next=target), 401
    session.clear()
    session["user"] = who.name
    session.permanent = True
    logger.info("控制台登录", user=who.name)
    return redirect(_safe_next(target))


@blueprint.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("console.login"))


# --- plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInfo:
    id: str
    title: str
    coordinator: str | None


def _plans() -> list[PlanInfo]:
    """Every loaded plan, with its title and coordinating office."""
    from engine.store.repository import choose_plan, plan_ids

    with ctx().db.read() as db_session:
        plans = [choose_plan(db_session, pid) for pid in plan_ids(db_session)]
        return [
            PlanInfo(p.id, p.title or p.id, p.coordinator.name if p.coordinator else None)
            for p in plans
        ]


def _may_decide(who: Account, coordinator: str | None) -> bool:
    """Whether `who` decides for a plan coordinated by `coordinator` (the use case checks again)."""
    return who.role == "coordinator" and coordinator is not None and coordinator == who.unit


# --- the board -----------------------------------------------------------------------------------


@blueprint.get("/")
@login_required
def board() -> Any:
    """督办台账: every task of every plan, filtered by plan, unit, status and light."""
    plans = _plans()
    now, settings, db = ctx().now(), ctx().settings, ctx().db
    wanted = {key: request.args.get(key, "").strip() for key in ("plan", "unit", "status", "light")}
    problems: list[str] = []
    if wanted["plan"] and wanted["plan"] not in {p.id for p in plans}:
        problems.append(f"没有标识为“{wanted['plan']}”的计划，已显示全部计划")
        wanted["plan"] = ""
    by_label = {label: code for code, label in STATUS_TEXT.items()}
    wanted["status"] = by_label.get(wanted["status"], wanted["status"])
    if wanted["status"] and wanted["status"] not in STATUS_TEXT:
        problems.append(f"“{wanted['status']}”不是任务状态，已显示全部状态")
        wanted["status"] = ""
    if wanted["light"] and wanted["light"] not in LIGHT_TEXT:
        problems.append(f"“{wanted['light']}”不是督办灯号，已显示全部灯号")
        wanted["light"] = ""

    with db.connect() as conn:
        units = responsible_units(conn)
    try:
        rows = board_rows(
            db,
            plan_id=wanted["plan"] or None,
            unit=wanted["unit"] or None,
            status=wanted["status"] or None,
            now=now,
            settings=settings,
        )
    except UserError:  # the only value not checked above: a unit name typed into the URL
        problems.append(f"没有名为“{wanted['unit']}”的单位，已显示全部单位")
        wanted["unit"] = ""
        rows = board_rows(
            db,
            plan_id=wanted["plan"] or None,
            unit=None,
            status=wanted["status"] or None,
            now=now,
            settings=settings,
        )
    counts = Counter(r["light"] for r in rows)
    shown = [r for r in rows if r["light"] == wanted["light"]] if wanted["light"] else rows
    # a page at a time: a province's 10,000 tasks are counted, not all drawn
    pages = max(1, -(-len(shown) // BOARD_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    return render_template(
        "board.html",
        rows=shown[(page - 1) * BOARD_PAGE : page * BOARD_PAGE],
        matching=len(shown),
        page=page,
        pages=pages,
        first=(page - 1) * BOARD_PAGE + 1,
        total=len(rows),
        counts=[(code, counts[code]) for code in LIGHTS],
        plans=plans,
        plan_titles={p.id: p.title for p in plans},
        units=units,
        wanted=wanted,
        kept={k: v for k, v in wanted.items() if v and k != "light"},
        problems=problems,
        several_plans=len(plans) > 1,
        today=now,
    )


# --- requests and decisions ----------------------------------------------------------------------


def _tasks_by_key() -> dict[tuple[str, int], dict[str, Any]]:
    rows = board_rows(
        ctx().db, plan_id=None, unit=None, status=None, now=ctx().now(), settings=ctx().settings
    )
    return {(r["plan"], r["no"]): r for r in rows}


@blueprint.get("/requests")
@login_required
def requests_page() -> Any:
    """待审批事项: pending requests, oldest first, each with its decision form."""
    who = _me()
    plans = {p.id: p for p in _plans()}
    tasks = _tasks_by_key()
    pending = [
        {
            **row,
            "task": tasks.get((row["plan"], row["no"])),
            "plan_title": plans[row["plan"]].title if row["plan"] in plans else row["plan"],
            "may_decide": _may_decide(
                who, plans[row["plan"]].coordinator if row["plan"] in plans else None
            ),
        }
        for row in pending_request_rows(ctx().db)
    ]
    return render_template(
        "requests.html",
        pending=pending,
        viewer=who.role != "coordinator",
        several_plans=len(plans) > 1,
    )


def _request_facts(request_id: int) -> dict[str, Any] | None:
    """One request, pending or decided, as its page shows it; None when there is none."""
    from engine.store.repository import get_request

    with ctx().db.read() as db_session:
        try:
            found = get_request(db_session, request_id)
        except UserError:
            return None
        plan = found.task.plan
        return {
            "id": found.id,
            "plan": plan.id,
            "plan_title": plan.title or plan.id,
            "coordinator": plan.coordinator.name if plan.coordinator else None,
            "no": found.task.no,
            "unit": found.unit.name,
            "type": found.type,
            "to": found.to_status,
            "until": found.until.isoformat() if found.until else None,
            "reason": found.reason,
            "at": found.created_at,
            "state": found.state,
            "decided_by": found.decided_by,
            "decided_at": found.decided_at,
            "decision_reason": found.decision_reason,
        }


def _request_page(
    request_id: int, *, error: str | None = None, reason: str = "", code: int = 200
) -> Any:
    facts = _request_facts(request_id)
    if facts is None:
        return refuse(404, f"申请 #{request_id} 不存在，可能已被删除；请返回待审批事项查看")
    detail = task_detail(
        ctx().db, plan_id=facts["plan"], no=facts["no"], now=ctx().now(), settings=ctx().settings
    )
    who = _me()
    page = render_template(
        "request.html",
        req=facts,
        task=detail.row,
        content=detail.content,
        original_due=detail.original_due,
        may_decide=facts["state"] == "pending" and _may_decide(who, facts["coordinator"]),
        viewer=who.role != "coordinator",
        error=error,
        reason=reason,
    )
    return page, code


@blueprint.get("/requests/<int:request_id>")
@login_required
def request_page(request_id: int) -> Any:
    """One request with its task: the form while it waits, the decision once it is made."""
    return _request_page(request_id)


def _decision_words(decision: Decision) -> str:
    if decision.type == "extension":
        change = f"完成时限延至 {decision.to}"
    else:
        change = f"状态变更为“{STATUS_TEXT.get(decision.to or '', decision.to)}”"
    verb = "已批准" if decision.state == "approved" else "已驳回"
    return f"{verb}申请 #{decision.request_id}（任务 {decision.no}：{change}）"


@blueprint.post("/requests/<int:request_id>")
@login_required
def decide_request(request_id: int) -> Any:
    """批准 or 驳回 one request, then back to the queue with what was done."""
    who = _me()
    if who.role != "coordinator":
        return refuse(403, "查看账号只能查阅，不能审批申请")
    choice = request.form.get("decision", "")
    reason = request.form.get("reason", "")
    if choice not in ("approve", "reject"):
        return _request_page(
            request_id, error="请点击“批准”或“驳回”提交审批意见", reason=reason, code=422
        )
    if _request_facts(request_id) is None:
        return refuse(404, f"申请 #{request_id} 不存在，可能已被删除；请返回待审批事项查看")
    if choice == "reject" and not reason.strip():
        # the use case refuses too, in the command line's words (--reason); say it as the page does
        return _request_page(
            request_id, error="驳回申请须填写驳回理由，请在“审批意见”中写明后再提交", code=422
        )
    try:
        decision = decide(
            ctx().db,
            request_id=request_id,
            by=who.unit,
            approve=choice == "approve",
            reason=reason,
            now=ctx().now(),
            settings=ctx().settings,
            via=web_via(who),
        )
    except NotAllowed:  # not this unit's plan: the app answers 403
        raise
    except UserError as exc:  # decided meanwhile, or no longer applicable: the page says why
        facts = _request_facts(request_id)
        decided = facts is not None and facts["state"] != "pending"
        code = 409 if decided else 422
        return _request_page(request_id, error=str(exc), reason=reason, code=code)
    logger.info("控制台审批", user=who.name, request=request_id, decision=decision.state)
    flash(_decision_words(decision), "success")
    return redirect(url_for("console.requests_page"))


# --- a task --------------------------------------------------------------------------------------


def _evidence_of(plan_id: str, no: int) -> list[dict[str, Any]]:
    """The evidence files attached to a task's progress reports, oldest first (not their bytes)."""
    from engine.store.models import Evidence
    from engine.store.repository import choose_plan, get_task

    with ctx().db.read() as db_session:
        task = get_task(db_session, choose_plan(db_session, plan_id), no)
        files = db_session.scalars(
            select(Evidence).where(Evidence.task_id == task.id).order_by(Evidence.at, Evidence.id)
        )
        return [
            {"id": f.id, "filename": f.filename, "size": f.size, "unit": f.unit.name, "at": f.at}
            for f in files
        ]


@blueprint.get("/plans/<plan_id>/tasks/<int:no>")
@login_required
def task_page(plan_id: str, no: int) -> Any:
    """One task: content, units, deadline, progress, history, requests and evidence."""
    plans = {p.id: p for p in _plans()}
    if plan_id not in plans:
        return refuse(404, f"没有标识为“{plan_id}”的计划")
    try:
        detail = task_detail(
            ctx().db, plan_id=plan_id, no=no, now=ctx().now(), settings=ctx().settings
        )
    except UserError:
        return refuse(404, f"计划“{plans[plan_id].title}”中没有序号为 {no} 的任务")
    who = _me()
    return render_template(
        "task.html",
        task=detail.row,
        plan_title=plans[plan_id].title,
        content=detail.content,
        section=detail.section,
        original_due=detail.original_due,
        history=list(reversed(detail.history)),
        reports=list(reversed(detail.reports)),
        pending=detail.pending,
        evidence=_evidence_of(plan_id, no),
        may_decide=_may_decide(who, plans[plan_id].coordinator),
    )


@blueprint.get("/evidence/<int:evidence_id>")
@login_required
def evidence_file(evidence_id: int) -> Any:
    """An evidence file, always as a download: never shown inline, whatever it claims to be."""
    from engine.store.models import Evidence

    with ctx().db.read() as db_session:
        found = db_session.get(Evidence, evidence_id)
        if found is None:
            return refuse(404, f"佐证材料 #{evidence_id} 不存在")
        filename, content = found.filename, bytes(found.content)
    response = download(filename, content, fallback=f"evidence-{evidence_id}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- stats and the ledger ------------------------------------------------------------------------


@blueprint.get("/stats")
@login_required
def stats_page() -> Any:
    """Per-unit figures as `duban stats`, one section per plan, with the ledger downloads."""
    from engine.ledger.query import read_snapshot
    from engine.ledger.stats import report_period, stats_document

    plans = _plans()
    wanted = request.args.get("plan", "").strip()
    if wanted and wanted not in {p.id for p in plans}:
        return refuse(404, f"没有标识为“{wanted}”的计划")
    sections = []
    for plan in plans:
        if wanted and plan.id != wanted:
            continue
        snapshot = read_snapshot(
            ctx().db, plan_id=plan.id, now=ctx().now(), settings=ctx().settings
        )
        document = stats_document(snapshot)
        sections.append(
            {
                "plan": plan,
                "today": snapshot.today,
                "units": document["units"],
                "totals": [(code, document["totals"].get(code, 0)) for code in LIGHTS],
                "period": report_period(snapshot.today, snapshot.report_every, snapshot.report_day),
            }
        )
    return render_template(
        "stats.html", sections=sections, plans=plans, wanted=wanted, several_plans=len(plans) > 1
    )


def _ledger(fmt: str) -> Any:
    from engine.ledger import render
    from engine.ledger.query import read_ledger

    plans = _plans()
    wanted = request.args.get("plan", "").strip()
    if not plans:
        return refuse(404, "系统中还没有载入任何计划，无法导出台账")
    if not wanted:
        if len(plans) > 1:
            return render_template("ledger.html", plans=plans, fmt=fmt)
        wanted = plans[0].id
    chosen = next((p for p in plans if p.id == wanted), None)
    if chosen is None:
        return refuse(404, f"没有标识为“{wanted}”的计划")
    ledger = read_ledger(
        ctx().db, plan_id=chosen.id, unit=None, now=ctx().now(), settings=ctx().settings
    )
    content = render(ledger, fmt)
    # a plan's title may run to a hundred characters: too long for a file name on most disks
    name = chosen.title if len(chosen.title) <= 30 else f"推进情况汇总表-{chosen.id}"
    filename = f"{name}（{ledger.as_of.isoformat()}）.{fmt}"
    response = download(
        filename,
        content,
        fallback=f"ledger-{chosen.id}-{ledger.as_of.isoformat()}",
        mimetype=_LEDGER_TYPES[fmt],
    )
    response.headers["Cache-Control"] = "private, no-store"
    logger.info("控制台导出台账", user=_me().name, plan=chosen.id, format=fmt)
    return response


@blueprint.get("/ledger.docx")
@login_required
def ledger_docx() -> Any:
    return _ledger("docx")


@blueprint.get("/ledger.xlsx")
@login_required
def ledger_xlsx() -> Any:
    return _ledger("xlsx")


# --- the outbox ----------------------------------------------------------------------------------


@blueprint.get("/outbox")
@login_required
def outbox_page() -> Any:
    """通知发送情况: notices newest first, dead letters with their error and a retry button."""
    from engine.notify.kinds import KIND_LABELS
    from engine.notify.queue import CHANNEL_LABELS
    from engine.store.outbox import list_notices

    wanted = request.args.get("status", "").strip()
    by_label = {label: code for code, label in OUTBOX_STATUS_TEXT.items()}
    wanted = by_label.get(wanted, wanted)
    problem = None
    if wanted and wanted not in OUTBOX_STATUS_TEXT:
        problem = f"“{wanted}”不是通知发送状态，已显示全部通知"
        wanted = ""
    with ctx().db.read() as db_session:
        notices = list_notices(db_session, wanted or None)
        counts = Counter(n.status for n in list_notices(db_session))
        rows = [
            {
                "id": n.id,
                "plan": n.plan_id,
                "kind": KIND_LABELS.get(n.kind, n.kind),
                "recipient": n.recipient,
                "channel": CHANNEL_LABELS.get(n.channel, n.channel),
                "level": n.level,
                "tasks": list(n.tasks or ()),
                "status": n.status,
                "attempts": n.attempts,
                "send_at": n.send_at,
                "sent_at": n.sent_at,
                "error": n.error,
            }
            for n in reversed(notices)
        ]
    who = _me()
    return render_template(
        "outbox.html",
        rows=rows[:OUTBOX_LIMIT],
        more=max(0, len(rows) - OUTBOX_LIMIT),
        counts=[(code, counts[code]) for code in OUTBOX_STATUS_TEXT],
        total=sum(counts.values()),
        wanted=wanted,
        problem=problem,
        status_text=OUTBOX_STATUS_TEXT,
        may_retry=who.role == "coordinator",
    )


@blueprint.post("/outbox/<int:notice_id>/retry")
@login_required
def retry_notice(notice_id: int) -> Any:
    """Put a failed or dead notice back in the queue, as `duban retry ID` does."""
    from engine.notify.queue import requeue
    from engine.store.models import Plan
    from engine.store.outbox import PENDING, SENT, OutboxNotice

    who = _me()
    if who.role != "coordinator":
        return refuse(403, "查看账号只能查阅，不能重发通知")
    back = url_for("console.outbox_page", status=request.form.get("status") or None)
    with ctx().db.transaction() as db_session:
        row = db_session.get(OutboxNotice, notice_id)
        if row is None:
            return refuse(404, f"通知 #{notice_id} 不存在")
        plan = db_session.get(Plan, row.plan_id) if row.plan_id else None
        if plan is not None and plan.coordinator is not None and plan.coordinator.name != who.unit:
            raise NotAllowed(
                f"通知 #{notice_id} 属于{plan.coordinator.name}统筹的计划，{who.unit}无权重发"
            )
        if row.status == SENT:
            flash(f"通知 #{notice_id} 已于 {cn_time(row.sent_at)} 发送成功，无需重发", "info")
            return redirect(back)
        if row.status == PENDING:
            flash(
                f"通知 #{notice_id} 尚在等待发送，无需重发；只有发送失败或等待重试的通知可以重发",
                "info",
            )
            return redirect(back)
        previous = OUTBOX_STATUS_TEXT.get(row.status, row.status)
        requeue(db_session, notice_id, ctx().now())
    logger.info("控制台重发通知", user=who.name, notice=notice_id)
    flash(f"通知 #{notice_id}（原状态：{previous}）已重新排队，将在下一次发送时送出", "success")
    return redirect(back)


@blueprint.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """1.2 MB, 34 KB, 512 字节."""
    if size is None:
        return "—"
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} 字节"

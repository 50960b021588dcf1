"""A unit's page behind its personal link: its own tasks, progress with evidence, requests.

The link is the unit's only credential, so every request reads it again (`read_link`: tampered,
expired by the business clock, or revoked → 403 before anything of the unit is read). A link
acts only on the tasks its unit leads or works on (the coordinator's wider powers belong to the
console, behind a login), and only through the same use cases as the command line, recorded
with `via="link"` and no person. A refused form re-renders the page with the message beside the
form and what was typed kept; a form that worked redirects (303) with a flash message.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from loguru import logger
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from engine.actions.board import board_row
from engine.actions.people import LinkHolder, read_link
from engine.actions.tasks import (
    Via,
    parse_date,
    record_progress,
    request_extension,
    request_transition,
)
from engine.deadlines.deadline import DeadlineKind
from engine.errors import NotAllowed, UserError
from engine.model.plan import Status
from engine.model.states import parse_status, roles_of, transitions_from
from engine.store.board import BoardTask
from engine.store.models import Evidence, Plan, ProgressReport, Request, Task, TaskUnit
from engine.store.repository import co_units_of, lead_of
from engine.web.guard import ctx, download, refuse
from engine.web.uploads import BIDI_CONTROLS, Incoming, UploadTooLarge, check_uploads

blueprint = Blueprint("unit", __name__, url_prefix="/u")

LINK = Via("link")
TEXT_LIMIT = 5000
"""Characters of one progress report (a long report goes in an attached file)."""
REASON_LIMIT = 2000
SHOWN = 50
"""Latest reports and requests listed under 已报送和申请的事项."""
_EXTENDABLE = (DeadlineKind.DATE, DeadlineKind.MILESTONES)


# --- what the page shows ---------------------------------------------------------------------


@dataclass
class Card:
    """One of the unit's tasks, with what the unit may do to it now."""

    plan_id: str
    plan_title: str
    no: int
    title: str
    role: str
    row: dict[str, Any]
    timezone: str
    latest: dict[str, Any] | None = None
    pending: list[Request] = field(default_factory=list)
    targets: list[Status] = field(default_factory=list)
    no_targets: str = ""
    no_extension: str = ""
    original_due: date | None = None
    """The deadline before an approved extension (None: never extended)."""
    countdown: str = ""
    """剩余 20 天 / 今天到期 / 已超期 5 天, for a dated task not yet done."""
    until_min: str = ""
    """The earliest new deadline the extension form offers (the day after today and the due)."""

    @property
    def anchor(self) -> str:
        return f"task-{self.plan_id}-{self.no}"


@dataclass
class Item:
    """A report or a request the unit made, for 已报送和申请的事项."""

    at: datetime
    plan_id: str
    no: int
    title: str
    kind: str
    text: str
    files: list[Any] = field(default_factory=list)
    request: Request | None = None


UNIT_PAGE = 20
"""Task cards per page of a unit's page."""


@dataclass
class Problem:
    """A form that was refused: where, why, and what was typed (to fill the form again)."""

    message: str
    plan_id: str | None = None
    no: int | None = None
    form: str = ""
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Cards:
    """The unit's tasks on this page as cards, and what the greeting counts over all of them."""

    shown: list[Card]
    total: int
    leads: int
    reds: int
    yellows: int
    page: int
    pages: int


def _cards(
    session: Session, holder: LinkHolder, now: datetime, page: int, focus: tuple[str, int] | None
) -> Cards:
    """The cards of `page` (the page holding task `focus`, when one is given)."""
    settings = ctx().settings
    tasks = session.scalars(
        select(Task)
        .where(
            Task.id.in_(select(TaskUnit.task_id).where(TaskUnit.unit_id == holder.unit_id)),
            Task.in_plan.is_(True),
        )
        .options(
            selectinload(Task.units).selectinload(TaskUnit.unit),
            selectinload(Task.plan).selectinload(Plan.coordinator),
        )
        .order_by(Task.plan_id, Task.position, Task.no)
    ).all()
    rows = []
    for task in tasks:
        lead, co_units = lead_of(task), co_units_of(task)
        row = board_row(BoardTask.of(task, lead, co_units), now, settings, task.plan.timezone)
        rows.append((task, lead, co_units, row))
    lights = [row["light"] for *_, row in rows]
    pages = max(1, -(-len(rows) // UNIT_PAGE))
    if focus is not None:
        for index, (task, *_) in enumerate(rows):
            if (task.plan_id, task.no) == focus:
                page = index // UNIT_PAGE + 1
    page = min(max(1, page), pages)
    on_page = rows[(page - 1) * UNIT_PAGE : page * UNIT_PAGE]
    ids = [task.id for task, *_ in on_page]
    latest = _latest_reports(session, ids)
    pending: dict[int, list[Request]] = {}
    for waiting in session.scalars(
        select(Request)
        .where(Request.task_id.in_(ids), Request.state == "pending")
        .options(selectinload(Request.unit))
        .order_by(Request.created_at, Request.id)
    ):
        pending.setdefault(waiting.task_id, []).append(waiting)
    cards = []
    for task, lead, co_units, row in on_page:
        coordinator = task.plan.coordinator.name if task.plan.coordinator else None
        card = Card(
            plan_id=task.plan_id,
            plan_title=task.plan.title,
            no=task.no,
            title=task.title,
            role="牵头" if lead == holder.unit else "配合",
            row=row,
            timezone=task.plan.timezone,
            latest=latest.get(task.id),
            pending=pending.get(task.id, []),
        )
        roles = roles_of(holder.unit, lead=lead, co_units=co_units, coordinator=coordinator)
        asked = {r.to_status for r in card.pending if r.type == "transition"}
        possible = [t for t in transitions_from(Status(task.status)) if roles & t.requesters]
        card.targets = [t.target for t in possible if str(t.target) not in asked]
        if not card.targets:
            card.no_targets = (
                "已提交变更申请，请等待统筹单位审批"
                if possible
                else f"任务当前为“{Status(task.status).label}”，不能再申请变更状态"
            )
        card.no_extension = _why_no_extension(task, card.pending)
        today = now.astimezone(ZoneInfo(task.plan.timezone)).date()
        card.original_due = task.original_due
        card.countdown = _countdown(task, today)
        card.until_min = (max(today, task.due or today) + timedelta(days=1)).isoformat()
        cards.append(card)
    return Cards(
        shown=cards,
        total=len(rows),
        leads=sum(lead == holder.unit for _, lead, _, _ in rows),
        reds=lights.count("red"),
        yellows=lights.count("yellow"),
        page=page,
        pages=pages,
    )


def _why_no_extension(task: Task, pending: list[Request]) -> str:
    """Why the extension form is not offered ("" when it is); the use case decides in the end."""
    if task.status == Status.COMPLETED:
        return "任务已完成，无需申请延期"
    if task.due is None or task.deadline_kind not in _EXTENDABLE:
        return f"完成时限“{task.deadline_text or '无'}”不是具体日期，不能申请延期"
    if any(r.type == "extension" for r in pending):
        return "已提交延期申请，请等待统筹单位审批"
    return ""


def _countdown(task: Task, today: date) -> str:
    finished = task.status in (Status.COMPLETED, Status.LONG_TERM)
    if task.due is None or finished or task.deadline_kind not in _EXTENDABLE:
        return ""
    days = (task.due - today).days
    if days > 0:
        return f"剩余 {days} 天"
    return "今天到期" if days == 0 else f"已超期 {-days} 天"


def _latest_reports(session: Session, task_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each task's last progress report: what, when, and which unit sent it."""
    ranked = (
        select(
            ProgressReport.id,
            func.row_number()
            .over(
                partition_by=ProgressReport.task_id,
                order_by=(ProgressReport.at.desc(), ProgressReport.id.desc()),
            )
            .label("rank"),
        )
        .where(ProgressReport.task_id.in_(task_ids))
        .subquery()
    )
    reports = session.scalars(
        select(ProgressReport)
        .join(ranked, ranked.c.id == ProgressReport.id)
        .where(ranked.c.rank == 1)
        .options(selectinload(ProgressReport.unit))
    )
    return {r.task_id: {"text": r.text, "at": r.at, "unit": r.unit.name} for r in reports}


def size_text(size: int) -> str:
    """86 KB, 1.2 MB: a file's size as an office reads it."""
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _items(session: Session, unit_id: int) -> list[Item]:
    """The unit's latest reports and requests, newest first, with the decisions taken."""
    reports = session.execute(
        select(ProgressReport, Task.plan_id, Task.no, Task.title)
        .join(Task, Task.id == ProgressReport.task_id)
        .where(ProgressReport.unit_id == unit_id)
        .order_by(ProgressReport.at.desc(), ProgressReport.id.desc())
        .limit(SHOWN)
    ).all()
    files: dict[int | None, list[Any]] = {}
    for row in session.execute(
        select(Evidence.id, Evidence.progress_id, Evidence.filename, Evidence.size)
        .where(Evidence.progress_id.in_([r.id for r, *_ in reports]))
        .order_by(Evidence.id)
    ):
        files.setdefault(row.progress_id, []).append(row)
    items = [
        Item(r.at, plan_id, no, title, "progress", r.text, files.get(r.id, []))
        for r, plan_id, no, title in reports
    ]
    asked = session.execute(
        select(Request, Task.plan_id, Task.no, Task.title)
        .join(Task, Task.id == Request.task_id)
        .where(Request.unit_id == unit_id)
        .order_by(Request.created_at.desc(), Request.id.desc())
        .limit(SHOWN)
    ).all()
    items += [
        Item(r.created_at, plan_id, no, title, r.type, r.reason, request=r)
        for r, plan_id, no, title in asked
    ]
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:SHOWN]


def _render(
    token: str, holder: LinkHolder, *, problem: Problem | None = None, code: int = 200
) -> Any:
    now = ctx().now()
    page = request.args.get("page", 1, type=int) or 1
    focus = (problem.plan_id, problem.no) if problem and problem.plan_id and problem.no else None
    asked_plan, asked_no = request.args.get("plan"), request.args.get("no", type=int)
    if focus is None and asked_plan and asked_no:  # back from a form: the page with that task
        focus = (asked_plan, asked_no)
    with ctx().db.read() as session:
        cards = _cards(session, holder, now, page, focus)
        items = _items(session, holder.unit_id)
    return render_template(
        "unit.html",
        token=token,
        unit=holder.unit,
        cards=cards.shown,
        total=cards.total,
        page=cards.page,
        pages=cards.pages,
        leads=cards.leads,
        reds=cards.reds,
        yellows=cards.yellows,
        items=items,
        problem=problem,
        link_days=ctx().settings.web.link_days,
        max_upload_mb=ctx().settings.web.max_upload_mb,
        upload_types=ctx().settings.web.upload_types,
        size_text=size_text,
        text_limit=TEXT_LIMIT,
        reason_limit=REASON_LIMIT,
    ), code


# --- the link and the task -------------------------------------------------------------------


def _holder(token: str) -> LinkHolder:
    """The unit the link names, or LinkRefused (403, before anything of the unit is read)."""
    return read_link(ctx().db, ctx().settings, token, ctx().now())


@dataclass(frozen=True)
class OwnTask:
    """One of the unit's tasks, as a form about it needs it checked."""

    due: date | None
    timezone: str


def _own_task(holder: LinkHolder, plan_id: str, no: int) -> OwnTask | None:
    """The task, if it exists (None) and is the unit's own (else NotAllowed)."""
    with ctx().db.read() as session:
        found = session.execute(
            select(Task.id, Task.due, Plan.timezone)
            .join(Plan, Plan.id == Task.plan_id)
            .where(Task.plan_id == plan_id, Task.no == no)
        ).first()
        if found is None:
            return None
        member = session.scalar(
            select(TaskUnit.role).where(
                TaskUnit.task_id == found.id, TaskUnit.unit_id == holder.unit_id
            )
        )
    if member is None:
        raise NotAllowed(
            f"任务 {no} 不是{holder.unit}牵头或配合的任务，不能通过本单位的链接办理；"
            "如有疑问请联系统筹单位"
        )
    return OwnTask(found.due, found.timezone)


def _clean(value: str | None) -> str:
    """Typed text without control characters (PostgreSQL refuses NUL) or direction overrides
    (which make a text read otherwise in the console); line breaks and private-use characters
    (rare characters in some names) are kept."""
    text = (value or "").replace("\r\n", "\n")
    return "".join(c for c in text if c in "\n\t" or not _hidden(c)).strip()


def _hidden(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS


def _required(value: str, what: str, limit: int) -> str:
    if not value:
        raise UserError(f"{what}不能为空，请填写后再提交")
    if len(value) > limit:
        raise UserError(
            f"{what}不能超过 {limit} 字（现为 {len(value)} 字），请精简，详细材料可作为佐证材料上传"
        )
    return value


def _task_form(
    token: str, plan_id: str, no: int, form: str, act: Any, fields: tuple[str, ...]
) -> Any:
    """Run one task form: check the link and the task, then `act(holder, own)` → flash text."""
    holder = _holder(token)
    values = {name: request.form.get(name, "") for name in fields}
    try:
        own = _own_task(holder, plan_id, no)
        if own is None:
            return refuse(404, f"计划 {plan_id} 中没有序号为 {no} 的任务")
        done = act(holder, own)
    except NotAllowed as exc:
        logger.warning("单位链接操作被拒绝：{}", exc, unit=holder.unit, plan=plan_id, no=no)
        return _render(token, holder, problem=Problem(str(exc)), code=403)
    except UserError as exc:
        code = 413 if isinstance(exc, UploadTooLarge) else 422
        problem = Problem(str(exc), plan_id, no, form, values)
        return _render(token, holder, problem=problem, code=code)
    flash(done, "success")
    target = url_for("unit.page", token=token, plan=plan_id, no=no, _anchor=f"task-{plan_id}-{no}")
    return redirect(target, code=303)


# --- the pages -------------------------------------------------------------------------------


@blueprint.get("/<token>")
def page(token: str) -> Any:
    return _render(token, _holder(token))


@blueprint.post("/<token>/plans/<plan_id>/tasks/<int:no>/progress")
def report_progress(token: str, plan_id: str, no: int) -> Any:
    def act(holder: LinkHolder, own: OwnTask) -> str:
        text = _required(_clean(request.form.get("text")), "进展情况", TEXT_LIMIT)
        settings = ctx().settings
        evidence = check_uploads(
            [Incoming(f.filename or "", f.stream) for f in request.files.getlist("evidence")],
            max_mb=settings.web.max_upload_mb,
            allowed=settings.web.upload_types,
        )
        result = record_progress(
            ctx().db,
            plan_id=plan_id,
            no=no,
            unit=holder.unit,
            text=text,
            now=ctx().now(),
            settings=settings,
            via=LINK,
            evidence=evidence,
        )
        logger.info("单位链接报送进展", unit=holder.unit, plan=plan_id, no=no, files=len(evidence))
        done = f"提交成功：任务 {no} 的进展已报送"
        if evidence:
            done += f"，附佐证材料 {len(evidence)} 份"
        if result.started:
            done += "；任务已自动转为“推进中”"
        return done

    return _task_form(token, plan_id, no, "progress", act, ("text",))


@blueprint.post("/<token>/plans/<plan_id>/tasks/<int:no>/request")
def ask_transition(token: str, plan_id: str, no: int) -> Any:
    def act(holder: LinkHolder, own: OwnTask) -> str:
        wanted = request.form.get("to", "").strip()
        if not wanted:
            raise UserError("请选择申请变更后的状态")
        to = parse_status(wanted, where="变更后的状态")
        reason = _required(_clean(request.form.get("reason")), "申请理由", REASON_LIMIT)
        number = request_transition(
            ctx().db,
            plan_id=plan_id,
            no=no,
            unit=holder.unit,
            to=to,
            reason=reason,
            now=ctx().now(),
            settings=ctx().settings,
            via=LINK,
        )
        logger.info("单位链接申请变更", unit=holder.unit, plan=plan_id, no=no, to=str(to))
        return (
            f"提交成功：任务 {no} 变更为“{to.label}”的申请（编号 #{number}）已报统筹单位审批，"
            "审批结果将另行通知"
        )

    return _task_form(token, plan_id, no, "request", act, ("to", "reason"))


@blueprint.post("/<token>/plans/<plan_id>/tasks/<int:no>/extend")
def ask_extension(token: str, plan_id: str, no: int) -> Any:
    def act(holder: LinkHolder, own: OwnTask) -> str:
        typed = request.form.get("until", "").strip()
        if not typed:
            raise UserError("请填写新的完成时限，格式为 YYYY-MM-DD，例如 2021-09-30")
        until = parse_date(typed, where="新的完成时限")
        # checked here too, only to say it without the command line's option names
        today = ctx().now().astimezone(ZoneInfo(own.timezone)).date()
        if until <= today:
            raise UserError(f"新的完成时限 {until} 应晚于今天（{today}）")
        if own.due is not None and until <= own.due:
            raise UserError(f"新的完成时限 {until} 应晚于现有完成时限 {own.due}")
        reason = _required(_clean(request.form.get("reason")), "延期理由", REASON_LIMIT)
        number = request_extension(
            ctx().db,
            plan_id=plan_id,
            no=no,
            unit=holder.unit,
            until=until,
            reason=reason,
            now=ctx().now(),
            settings=ctx().settings,
            via=LINK,
        )
        logger.info("单位链接申请延期", unit=holder.unit, plan=plan_id, no=no, until=str(until))
        return (
            f"提交成功：任务 {no} 延期至 {until} 的申请（编号 #{number}）已报统筹单位审批，"
            "审批结果将另行通知"
        )

    return _task_form(token, plan_id, no, "extend", act, ("until", "reason"))


@blueprint.get("/<token>/evidence/<int:evidence_id>")
def evidence(token: str, evidence_id: int) -> Any:
    """A file the unit attached, as a download: never shown inline, whatever it holds."""
    holder = _holder(token)
    with ctx().db.read() as session:
        found = session.execute(
            select(Evidence.filename, Evidence.content).where(
                Evidence.id == evidence_id, Evidence.unit_id == holder.unit_id
            )
        ).first()
    if found is None:
        return refuse(404, "未找到该佐证材料，或该材料不是本单位报送的")
    return download(found.filename, found.content, fallback=f"evidence-{evidence_id}")



"""The API for other systems: `/api/v1/…` in the CLI's JSON shapes, with bearer tokens.

Every call carries `Authorization: Bearer TOKEN` (`duban token add`). What a token may do follows
its role:

- `viewer` reads everything and changes nothing;
- `unit` reads and reports only on its own unit's tasks (as lead or co-unit), and sees only the
  requests its unit made;
- `coordinator` reads everything, reports progress for its own unit, and approves or rejects the
  requests of the plans its unit coordinates (the use case checks which those are).

A refusal is `{"error": …}` in Chinese: 401 without a valid token, 403 not allowed, 404 an unknown
plan, task or request, 422 a bad value. The use cases word an unknown plan or task for the command
line, as a user's mistake (422); so this module looks them up first and answers 404 itself.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from flask import Blueprint, Response, g, request
from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.actions.board import board_rows
from engine.actions.people import ROLE_LABELS, TokenHolder, read_token
from engine.actions.tasks import Via, decide, record_progress
from engine.actions.views import pending_request_rows, task_detail
from engine.errors import NotAllowed, UserError
from engine.model.states import parse_status
from engine.store.board import unit_id
from engine.store.models import Plan, Task, TaskUnit
from engine.store.models import Request as StoredRequest
from engine.web.guard import ctx, refuse

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

_LARGEST_ID = 2**63 - 1  # SQLite's INTEGER: a larger number cannot name anything stored
_TASK_FILTERS = ("plan", "unit", "status")


class _Unknown(Exception):
    """A plan, task or request that does not exist: 404."""


class _Unauthorized(Exception):
    """No valid bearer token: 401."""

    def __init__(self, message: str, *, invalid: bool) -> None:
        super().__init__(message)
        self.invalid = invalid


@blueprint.errorhandler(_Unknown)
def _unknown(exc: _Unknown) -> Any:
    return refuse(404, str(exc))


@blueprint.errorhandler(_Unauthorized)
def _unauthorized(exc: _Unauthorized) -> Any:
    body, code = refuse(401, str(exc))
    challenge = 'Bearer realm="duban"'
    if exc.invalid:
        challenge += ', error="invalid_token"'
    body.headers["WWW-Authenticate"] = challenge
    return body, code


# --- who is asking -------------------------------------------------------------------------------


@blueprint.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise _Unauthorized(
            "缺少访问令牌：请在请求头中提供 Authorization: Bearer 令牌", invalid=False
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Unauthorized(
            "访问令牌格式不正确：请求头应为 Authorization: Bearer 令牌", invalid=True
        )
    holder = read_token(ctx().db, token.strip())
    if holder is None:
        # never log the token itself: a near miss may be a real one mistyped
        logger.warning("接口访问令牌无效", path=request.path, remote=request.remote_addr)
        raise _Unauthorized(
            "访问令牌无效或已删除；请联系管理员重新发放（duban token add）", invalid=True
        )
    g.token = holder


def _holder() -> TokenHolder:
    holder: TokenHolder = g.token
    return holder


def _own_unit(holder: TokenHolder) -> str:
    return f"本令牌属于{holder.unit}（{ROLE_LABELS.get(holder.role, holder.role)}）"


# --- answers and request bodies ------------------------------------------------------------------


def _json(document: Any, code: int = 200) -> Response:
    # Chinese as it is, like the command line's --json, not as \uXXXX escapes
    return Response(
        json.dumps(document, ensure_ascii=False), status=code, mimetype="application/json"
    )


def _body(fields: tuple[str, ...]) -> dict[str, Any]:
    """The request's JSON object, holding no field but `fields`; an empty body is `{}`."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise UserError("请求内容不是有效的 JSON（应为 UTF-8 编码的 JSON 对象）") from None
    if not isinstance(document, dict):
        example = "、".join(f'"{f}"' for f in fields)
        raise UserError(f"请求内容应为 JSON 对象，含字段 {example}")
    for key in document:
        if key not in fields:
            near = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"，您是否想写“{near[0]}”？" if near else f"；可用的字段：{'、'.join(fields)}"
            raise UserError(f"未知的字段“{key}”{hint}")
    return document


def _text(document: dict[str, Any], field: str, *, required: bool) -> str | None:
    """A string field; a required one must not be blank."""
    value = document.get(field)
    if value is None:
        if required:
            raise UserError(f"缺少字段 {field}")
        return None
    if not isinstance(value, str):
        raise UserError(f"字段 {field} 应为字符串")
    if required and not value.strip():
        raise UserError(f"字段 {field} 不能为空")
    return value


# --- lookups that answer 404 ---------------------------------------------------------------------


def _known_plan(session: Session, plan_id: str) -> None:
    if session.get(Plan, plan_id) is None:
        ids = list(session.scalars(select(Plan.id).order_by(Plan.id)))
        raise _Unknown(f"计划“{plan_id}”不存在；已载入的计划：{'、'.join(ids) or '无'}")


def _task_units(plan_id: str, no: int) -> set[str]:
    """The lead and co-units of task `no` of `plan_id`; 404 when there is no such task."""
    with ctx().db.read() as session:
        _known_plan(session, plan_id)
        found = None
        if 1 <= no <= _LARGEST_ID:
            found = session.scalar(
                select(Task)
                .where(Task.plan_id == plan_id, Task.no == no)
                .options(selectinload(Task.units).selectinload(TaskUnit.unit))
            )
        if found is None:
            raise _Unknown(f"计划 {plan_id} 中没有序号为 {no} 的任务")
        return {tu.unit.name for tu in found.units}


def _known_request(request_id: int) -> None:
    found = None
    if 1 <= request_id <= _LARGEST_ID:
        with ctx().db.read() as session:
            found = session.get(StoredRequest, request_id)
    if found is None:
        raise _Unknown(f"申请 #{request_id} 不存在")


def _same_unit(name: str, unit: str) -> bool:
    """Whether `name` is `unit` itself or one of its aliases."""
    with ctx().db.connect() as conn:
        try:
            return unit_id(conn, name) == unit_id(conn, unit)
        except UserError:  # a name nobody knows is not the token's unit
            return False


# --- reading -------------------------------------------------------------------------------------


@blueprint.get("/tasks")
def tasks() -> Any:
    """The board, as `duban tasks --json`; filters `plan`, `unit`, `status` as query parameters."""
    holder = _holder()
    for key in request.args:
        if key not in _TASK_FILTERS:
            raise UserError(f"未知的查询参数“{key}”；可用的参数：{'、'.join(_TASK_FILTERS)}")
    plan_id = request.args.get("plan", "").strip() or None
    unit = request.args.get("unit", "").strip() or None
    status = request.args.get("status", "").strip() or None
    if plan_id is not None:
        with ctx().db.read() as session:
            _known_plan(session, plan_id)
    if status is not None:
        parse_status(status, where="查询参数 status")
    if unit is not None:
        with ctx().db.connect() as conn:
            unit_id(conn, unit, where="查询参数 unit")
    if holder.role == "unit":
        if unit is not None and not _same_unit(unit, holder.unit):
            raise NotAllowed(f"{_own_unit(holder)}，只能查看本单位的任务，不能查看{unit}的任务")
        unit = holder.unit
    rows = board_rows(
        ctx().db,
        plan_id=plan_id,
        unit=unit,
        status=status,
        now=ctx().now(),
        settings=ctx().settings,
    )
    return _json(rows)


@blueprint.get("/plans/<plan>/tasks/<int:no>")
def task(plan: str, no: int) -> Any:
    """One task with its history, as `duban show --json`."""
    holder = _holder()
    units = _task_units(plan, no)
    if holder.role == "unit" and holder.unit not in units:
        raise NotAllowed(f"{_own_unit(holder)}，不是任务 {no} 的牵头单位或配合单位，无权查看")
    detail = task_detail(ctx().db, plan_id=plan, no=no, now=ctx().now(), settings=ctx().settings)
    return _json(detail.json())


@blueprint.get("/requests")
def requests() -> Any:
    """Pending requests, as `duban requests --json`; a unit's token sees only its unit's own."""
    holder = _holder()
    rows = pending_request_rows(ctx().db)
    if holder.role == "unit":
        rows = [r for r in rows if r["unit"] == holder.unit]
    return _json(rows)


# --- changing ------------------------------------------------------------------------------------


@blueprint.post("/plans/<plan>/tasks/<int:no>/progress")
def progress(plan: str, no: int) -> Any:
    """Report progress `{"unit", "text"}` for the token's own unit; answers `{"no", "started"}`."""
    holder = _holder()
    if holder.role == "viewer":
        raise NotAllowed(f"{_own_unit(holder)}，只能查看，不能报送进展")
    units = _task_units(plan, no)
    document = _body(("unit", "text"))
    unit = _text(document, "unit", required=True)
    text = _text(document, "text", required=True)
    assert unit is not None and text is not None
    if not _same_unit(unit, holder.unit):
        raise NotAllowed(f"{_own_unit(holder)}，只能以{holder.unit}的名义报送，不能代{unit}报送")
    if holder.role == "unit" and holder.unit not in units:
        # the use case lets the plan's coordinator report too; a unit's token only its own tasks
        raise NotAllowed(f"{_own_unit(holder)}，不是任务 {no} 的牵头单位或配合单位，不能报送进展")
    result = record_progress(
        ctx().db,
        plan_id=plan,
        no=no,
        unit=holder.unit,
        text=text,
        now=ctx().now(),
        settings=ctx().settings,
        via=Via("api", holder.name),
    )
    logger.info("接口报送进展", token=holder.name, plan=plan, no=no)
    return _json({"no": result.no, "started": result.started}, 201)


@blueprint.post("/requests/<int:request_id>/approve")
def approve(request_id: int) -> Any:
    """Approve a pending request `{"reason"}` (optional); coordinator tokens only."""
    return _decide(request_id, approve=True)


@blueprint.post("/requests/<int:request_id>/reject")
def reject(request_id: int) -> Any:
    """Reject a pending request `{"reason"}` (required); coordinator tokens only."""
    return _decide(request_id, approve=False)


def _decide(request_id: int, *, approve: bool) -> Any:
    holder = _holder()
    if holder.role != "coordinator":
        raise NotAllowed(f"{_own_unit(holder)}，无权审批；审批须使用统筹单位的令牌")
    _known_request(request_id)
    reason = _text(_body(("reason",)), "reason", required=False)
    if not approve and not (reason and reason.strip()):
        raise UserError("驳回须写明理由：请在字段 reason 中填写")
    decision = decide(
        ctx().db,
        request_id=request_id,
        by=holder.unit,
        approve=approve,
        reason=reason,
        now=ctx().now(),
        settings=ctx().settings,
        via=Via("api", holder.name),
    )
    logger.info("接口审批申请", token=holder.name, request=request_id, state=decision.state)
    return _json(
        {
            "id": decision.request_id,
            "state": decision.state,
            "plan": decision.plan_id,
            "no": decision.no,
            "type": decision.type,
            "to": decision.to,
        }
    )

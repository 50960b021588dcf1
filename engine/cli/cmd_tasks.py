"""Commands on plans and tasks: load, the board, a task, progress, requests and decisions.

Heavy modules (SQLAlchemy, the store, the use cases) are imported inside the commands, so that
`duban --help` and commands that do not touch the database start fast.
"""

from __future__ import annotations

import functools
import shutil
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli.context import AppContext
from engine.cli.main import cli, settled
from engine.cli.output import NUMBER, emit_json, info, json_option
from engine.model.plan import STATUS_LABELS, Status

if TYPE_CHECKING:
    from engine.actions.loading import LoadReport
    from engine.readahead import ReadAhead

_LIGHTS = {
    "red": ("红灯", "red"),
    "yellow": ("黄灯", "yellow"),
    "green": ("绿灯", "green"),
    "done": ("已完成", "blue"),
    "none": ("无时限", None),
}

plan_option = click.option(
    "--plan", "plan_id", metavar="ID", help="计划标识（库中只有一个计划时可省略）"
)


# --- table rendering -------------------------------------------------------------------------


@functools.cache
def _char_width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def width(text: str) -> int:
    """Columns a string takes in a terminal: wide (CJK) characters count as two."""
    if text.isascii():
        return len(text)
    return sum(map(_char_width, text))


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` columns with an ellipsis."""
    flat = " ".join(text[: limit * 2].split())
    if len(flat) * 2 <= limit or width(flat) <= limit:
        return flat if len(text) <= limit * 2 else clip(flat + "……", limit)
    out, used = [], 0
    for char in flat:
        w = _char_width(char)
        if used + w > limit - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def render_table(
    headers: list[str],
    rows: list[list[str]],
    *,
    styles: list[list[dict[str, Any] | None]] | None = None,
) -> str:
    """An aligned table; `styles` (per cell, for click.style) apply only when colour is on."""
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str], cell_styles: list[dict[str, Any] | None] | None) -> str:
        parts = []
        for i, cell in enumerate(cells):
            padded = cell + " " * (widths[i] - width(cell))
            style = cell_styles[i] if cell_styles else None
            parts.append(click.style(padded, **style) if style else padded)
        return "  ".join(parts).rstrip()

    out = [line(headers, [{"bold": True}] * len(headers) if styles is not None else None)]
    out.append("  ".join("─" * w for w in widths))
    for index, row in enumerate(rows):
        out.append(line(row, styles[index] if styles is not None else None))
    return "\n".join(out)


def _colour() -> bool:
    return sys.stdout.isatty()


def status_label(code: str | None) -> str:
    return STATUS_LABELS[Status(code)] if code else ""


def board_table(rows: list[dict[str, Any]], *, colour: bool) -> str:
    several = len({r["plan"] for r in rows}) > 1
    total = shutil.get_terminal_size((120, 24)).columns
    # 序号, 牵头单位, 完成时限, 状态, 灯 and the gaps take about 60 columns; the title and the
    # latest progress share what is left, never less than 16 each.
    spare = max(32, total - 60 - (max(width(r["plan"]) for r in rows) + 2 if several else 0))
    title_w = max(16, min(40, spare * 9 // 20))
    progress_w = max(16, spare - title_w)
    headers = (["计划"] if several else []) + [
        "序号",
        "任务",
        "牵头单位",
        "完成时限",
        "状态",
        "灯",
        "最新进展",
    ]
    cells, styles = [], []
    for r in rows:
        light_text, fg = _LIGHTS[r["light"]]
        due = r["due"] or r["deadline_text"] or "—"
        cells.append(
            ([r["plan"]] if several else [])
            + [
                str(r["no"]),
                clip(r["title"], title_w),
                clip(r["lead"] or "（缺）", 16),
                clip(due, 16),
                status_label(r["status"]),
                light_text,
                clip(r["progress"], progress_w) or "—",
            ]
        )
        row_style: list[dict[str, Any] | None] = [None] * len(headers)
        if fg:
            row_style[-2] = {"fg": fg, "bold": True} if r["light"] == "red" else {"fg": fg}
        styles.append(row_style)
    return render_table(headers, cells, styles=styles if colour else None)


# --- commands --------------------------------------------------------------------------------


@cli.command("load")
@click.argument(
    "plan_files", metavar="PLAN.yaml...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@json_option
@click.pass_obj
def load_command(app: AppContext, plan_files: tuple[Path, ...], as_json: bool) -> None:
    """载入或更新计划文件（保留状态、进展、历史与已批准的延期），可一次载入多个。"""
    from engine.readahead import ReadAhead

    # each file read in a child (engine.readahead): the first while the storing's modules are
    # imported, each next one while the one before is stored
    with ReadAhead(plan_files) as plans:
        _load_files(app, plans, len(plan_files), as_json)


def _load_files(app: AppContext, plans: ReadAhead, count: int, as_json: bool) -> None:
    # imported while the child reads the first file
    from engine.actions.loading import load_plan
    from engine.errors import DubanError, UserError

    # …and the database opened (made or migrated on first use) while the child still reads: a
    # fresh database's schema costs ~0.04 s. A file then refused leaves no new SQLite file
    # behind (AppContext.close removes it when untouched), as when the file was read first.
    if plans.reading_elsewhere:
        app.database.dialect  # noqa: B018 - the access opens it
        # …and the ORM's mappers set up (~0.02 s), which the store's first query would do
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
    # what all that made lives as long as the command: out of every later collection, before
    # the plan arrives (a collection then walks the plan's objects, not these again)
    settled()

    # One file after another, each read, then stored in a transaction of its own, so that a
    # province's 200 plans pay the start-up once and hold at most two plans in memory (the one
    # stored and the next, read meanwhile). A file refused stops the command there; the message
    # names the files already loaded before it.
    loaded: dict[str, Path] = {}
    reports: list[dict[str, Any]] = []
    for plan_file, plan_of in plans:
        try:
            plan = plan_of()
            if plan.id in loaded:
                raise UserError(
                    f"计划文件 {plan_file} 与 {loaded[plan.id]} 的计划标识相同（{plan.id}），"
                    "同一计划只能载入一次"
                )
            report = load_plan(app.database, plan, app.settings, app.now(), path=str(plan_file))
        except DubanError as exc:
            if not loaded:
                raise
            # the same kind of error (a user's mistake, or the database failing), saying what
            # of this command stands: each earlier file was loaded in its own transaction
            where = "" if str(plan_file) in str(exc) else f"计划文件 {plan_file}："
            done = "、".join(str(path) for path in loaded.values())
            raise type(exc)(f"{where}{exc}（此前的 {done} 已载入，其后的文件未载入）") from None
        loaded[plan.id] = plan_file
        # what a person must check is said on stderr, with --json too
        named = f"计划文件 {plan_file} " if count > 1 else "计划文件"
        if not plan.coordinator:
            info(f"注意：{named}未填写统筹单位（plan.coordinator），状态变更和延期申请将无法审批")
        if plan.warnings:
            info(f"注意：{named}含 {len(plan.warnings)} 条导入警告，请核对（见文件末尾 warnings）")
        reports.append(
            {
                "plan": report.plan_id,
                "created": report.created,
                "updated": report.updated,
                "deadline_changed": report.deadline_changed,
                "unchanged": report.unchanged,
                "missing": report.missing,
            }
        )
        if not as_json:
            _say_loaded(report, plan.title)
    if as_json:
        # one file: its object, as before; several: a list of them, in the order given
        emit_json(reports[0] if count == 1 else reports)


def _say_loaded(report: LoadReport, title: str | None) -> None:
    verb = "新建" if report.plan_created else "更新"
    click.echo(f"已{verb}计划 {report.plan_id}（{title or '无标题'}）")
    for label, numbers in (
        ("新增任务", report.created),
        ("更新任务", report.updated),
        ("其中完成时限有变", report.deadline_changed),
        ("未变任务", report.unchanged),
    ):
        if numbers:
            click.echo(f"  {label} {len(numbers)} 项：{_numbers(numbers)}")
    if report.missing:
        click.echo(
            f"  计划文件中已无以下任务，已保留未删除（{len(report.missing)} 项）："
            f"{_numbers(report.missing)}"
        )


def _numbers(numbers: list[int], most: int = 30) -> str:
    """Task numbers for a person: runs as ranges (1—20000), and at most `most` pieces."""
    pieces: list[str] = []
    run: list[int] = []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            pieces.append(_run(run))
        run = [n]
    if run:
        pieces.append(_run(run))
    if len(pieces) > most:
        return "、".join(pieces[:most]) + f" 等（共 {len(numbers)} 项，--json 列出全部）"
    return "、".join(pieces)


def _run(run: list[int]) -> str:
    if len(run) == 1:
        return str(run[0])
    if len(run) == 2:
        return f"{run[0]}、{run[1]}"
    return f"{run[0]}—{run[-1]}"


@cli.command("tasks")
@plan_option
@click.option("--unit", metavar="U", help="只看该单位牵头或配合的任务")
@click.option("--status", metavar="S", help="只看该状态的任务（英文代码或中文，如 推进中）")
@json_option
@click.pass_obj
def tasks_command(
    app: AppContext, plan_id: str | None, unit: str | None, status: str | None, as_json: bool
) -> None:
    """督办看板：序号、任务、牵头单位、完成时限、状态、灯、最新进展。"""
    from engine.actions.board import board_rows

    rows = board_rows(
        app.database,
        plan_id=plan_id,
        unit=unit,
        status=status,
        now=app.now(),
        settings=app.settings,
    )
    if as_json:
        emit_json(rows)
        return
    if not rows:
        info("没有符合条件的任务（如尚未载入计划，请先运行 duban load 计划文件）")
        return
    click.echo(board_table(rows, colour=_colour()))
    for r in rows:
        if r["attention"]:
            click.echo(f"需关注：任务 {r['no']}：{'、'.join(r['attention'])}")


@cli.command("show")
@click.argument("no", type=NUMBER)
@plan_option
@json_option
@click.pass_obj
def show_command(app: AppContext, no: int, plan_id: str | None, as_json: bool) -> None:
    """查看一项任务及其全部历史记录。"""
    from engine.actions.views import task_detail

    detail = task_detail(app.database, plan_id=plan_id, no=no, now=app.now(), settings=app.settings)
    if as_json:
        emit_json(detail.json())
        return
    click.echo(_detail_text(detail))


_ACTIONS = {
    "created": "载入",
    "units_changed": "责任单位变更",
    "deadline_changed": "完成时限变更",
    "missing_from_plan": "移出计划文件",
    "back_in_plan": "重新列入计划文件",
    "progress": "报送进展",
    "status": "状态变更",
    "request": "申请变更状态",
    "request_extension": "申请延期",
    "approve": "批准",
    "reject": "驳回",
    "extension": "延期",
}


def _value(value: str | None) -> str:
    if value in {s.value for s in Status}:
        return status_label(value)
    return value or ""


def _detail_text(detail: Any) -> str:
    r = detail.row
    light_text, _ = _LIGHTS[r["light"]]
    due = r["due"] or "—"
    if detail.original_due:
        due += f"（已延期，原时限 {detail.original_due}）"
    lines = [
        f"任务 {r['no']}（计划 {r['plan']}）：{r['title']}",
        f"牵头单位：{r['lead'] or '（缺）'}",
        f"配合单位：{'、'.join(r['co_units']) or '无'}",
        f"完成时限：{r['deadline_text'] or '（缺）'}；到期日：{due}",
        f"状态：{status_label(r['status'])}　灯：{light_text}",
    ]
    if r["attention"]:
        lines.append(f"需关注：{'、'.join(r['attention'])}")
    if detail.content:
        lines += ["具体内容：", *("  " + line for line in detail.content.splitlines())]
    lines.append(f"最新进展：{r['progress'] or '（无）'}")
    for p in detail.pending:
        lines.append(f"待审批申请 #{p['id']}：{p['unit']} {_request_text(p)}，理由：{p['reason']}")
    lines.append("历史记录：")
    for h in detail.history:
        change = ""
        if h["from"] or h["to"]:
            change = f" {_value(h['from']) or '—'} → {_value(h['to']) or '—'}"
        reason = f"（{clip(h['reason'], 60)}）" if h["reason"] else ""
        when = h["at"][:16].replace("T", " ")
        lines.append(
            f"  {when}  {h['actor']}  {_ACTIONS.get(h['action'], h['action'])}{change}{reason}"
        )
    return "\n".join(lines)


def _request_text(row: dict[str, Any]) -> str:
    if row["type"] == "extension":
        return f"申请延期至 {row['until']}"
    return f"申请变更为“{status_label(row['to'])}”"


@cli.command("progress")
@click.argument("no", type=NUMBER)
@click.option("--unit", required=True, metavar="U", help="报送单位")
@click.option("--text", "text", required=True, metavar="T", help="进展情况")
@plan_option
@click.pass_obj
def progress_command(app: AppContext, no: int, unit: str, text: str, plan_id: str | None) -> None:
    """报送一项任务的进展。"""
    from engine.actions.tasks import record_progress

    result = record_progress(
        app.database,
        plan_id=plan_id,
        no=no,
        unit=unit,
        text=text,
        now=app.now(),
        settings=app.settings,
    )
    click.echo(f"已记录任务 {result.no} 的进展")
    if result.started:
        click.echo(f"任务 {result.no} 已由牵头单位首次报送进展而自动启动：未启动 → 推进中")


@cli.command("request")
@click.argument("no", type=NUMBER)
@click.option("--unit", required=True, metavar="U", help="申请单位")
@click.option(
    "--to", "to", required=True, metavar="STATUS", help="目标状态（如 completed 或 已完成）"
)
@click.option("--reason", required=True, metavar="T", help="理由或佐证")
@plan_option
@json_option
@click.pass_obj
def request_command(
    app: AppContext, no: int, unit: str, to: str, reason: str, plan_id: str | None, as_json: bool
) -> None:
    """申请变更任务状态，由统筹单位审批；输出申请编号。"""
    from engine.actions.tasks import request_transition
    from engine.model.states import parse_status

    target = parse_status(to, where="--to")
    request_id = request_transition(
        app.database,
        plan_id=plan_id,
        no=no,
        unit=unit,
        to=target,
        reason=reason,
        now=app.now(),
        settings=app.settings,
    )
    _created(request_id, as_json, f"任务 {no} 申请变更为“{target.label}”")


@cli.command("extend")
@click.argument("no", type=NUMBER)
@click.option("--unit", required=True, metavar="U", help="申请单位")
@click.option("--until", required=True, metavar="DATE", help="新的完成时限（YYYY-MM-DD）")
@click.option("--reason", required=True, metavar="T", help="延期理由")
@plan_option
@json_option
@click.pass_obj
def extend_command(
    app: AppContext,
    no: int,
    unit: str,
    until: str,
    reason: str,
    plan_id: str | None,
    as_json: bool,
) -> None:
    """申请延期（新的完成时限须晚于今天），由统筹单位审批；输出申请编号。"""
    from engine.actions.tasks import parse_date, request_extension

    new_due = parse_date(until, where="--until")
    request_id = request_extension(
        app.database,
        plan_id=plan_id,
        no=no,
        unit=unit,
        until=new_due,
        reason=reason,
        now=app.now(),
        settings=app.settings,
    )
    _created(request_id, as_json, f"任务 {no} 申请延期至 {new_due.isoformat()}")


def _created(request_id: int, as_json: bool, what: str) -> None:
    if as_json:
        emit_json({"id": request_id})
        return
    click.echo(request_id)
    info(f"已提交申请 #{request_id}：{what}，待统筹单位审批")


@cli.command("approve")
@click.argument("request_id", metavar="REQ", type=NUMBER)
@click.option("--by", "by", required=True, metavar="UNIT", help="审批单位（计划的统筹单位）")
@click.option("--reason", metavar="T", help="审批意见")
@click.pass_obj
def approve_command(app: AppContext, request_id: int, by: str, reason: str | None) -> None:
    """批准申请（仅限计划的统筹单位）。"""
    _decide(app, request_id, by, reason, approve=True)


@cli.command("reject")
@click.argument("request_id", metavar="REQ", type=NUMBER)
@click.option("--by", "by", required=True, metavar="UNIT", help="审批单位（计划的统筹单位）")
@click.option("--reason", required=True, metavar="T", help="驳回理由")
@click.pass_obj
def reject_command(app: AppContext, request_id: int, by: str, reason: str) -> None:
    """驳回申请（仅限计划的统筹单位），须写明理由。"""
    _decide(app, request_id, by, reason, approve=False)


def _decide(
    app: AppContext, request_id: int, by: str, reason: str | None, *, approve: bool
) -> None:
    from engine.actions.tasks import decide

    decision = decide(
        app.database,
        request_id=request_id,
        by=by,
        approve=approve,
        reason=reason,
        now=app.now(),
        settings=app.settings,
    )
    verb = "批准" if approve else "驳回"
    if decision.type == "extension":
        what = f"延期至 {decision.to}"
    else:
        what = f"变更为“{status_label(decision.to)}”"
    click.echo(
        f"已{verb}申请 #{decision.request_id}：任务 {decision.no}（计划 {decision.plan_id}）{what}"
    )


@cli.command("requests")
@json_option
@click.pass_obj
def requests_command(app: AppContext, as_json: bool) -> None:
    """待审批的申请。"""
    from engine.actions.views import pending_request_rows

    rows = pending_request_rows(app.database)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        info("没有待审批的申请")
        return
    several = len({r["plan"] for r in rows}) > 1
    headers = [
        "编号",
        *(["计划"] if several else []),
        "序号",
        "申请单位",
        "申请内容",
        "理由",
        "提交时间",
    ]
    cells = [
        [
            str(r["id"]),
            *([r["plan"]] if several else []),
            str(r["no"]),
            r["unit"],
            _request_text(r),
            clip(r["reason"], 30),
            r["at"][:16].replace("T", " "),
        ]
        for r in rows
    ]
    click.echo(
        render_table(
            headers, cells, styles=[[None] * len(headers)] * len(cells) if _colour() else None
        )
    )

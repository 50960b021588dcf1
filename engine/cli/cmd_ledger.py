"""Commands on the ledger: export the 推进情况汇总表, and the per-unit figures.

The format is checked before anything is opened: a wrong format or output path is one line and
exit 2, and neither the database nor any file is touched.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from engine.cli.context import AppContext
from engine.cli.main import cli
from engine.cli.output import emit_json, info, json_option
from engine.errors import UserError

_plan_option = click.option(
    "--plan", "plan_id", metavar="ID", help="计划标识（库中只有一个计划时可省略）"
)


def _format_for(fmt: str | None, output: Path) -> str:
    """The format asked for, or read from the output's suffix; checked against that suffix."""
    from engine.ledger import FORMATS, writer_for

    suffix = output.suffix.lower()
    if fmt is None:
        fmt = suffix.lstrip(".")
        if fmt not in FORMATS:
            raise UserError(
                f"无法从输出文件名 {output} 判断导出格式，"
                f"请用 --format 指定 {' / '.join(FORMATS)} 之一"
            )
    writer = writer_for(fmt)
    if suffix and suffix != writer.SUFFIX:
        raise UserError(
            f"输出文件 {output} 的扩展名 {suffix} 与导出格式 {fmt} 不符，"
            f"应为 {output.with_suffix(writer.SUFFIX).name}"
        )
    return fmt.lower()


def _check_output(output: Path) -> None:
    if output.is_dir():
        raise UserError(f"输出路径 {output} 是一个目录，应为文件名，例如 {output / '汇总表.xlsx'}")
    parent = output.parent if str(output.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UserError(f"无法写入 {output}：{parent} 不是目录")
    if not parent.exists() and not parent.parent.is_dir():
        # one new folder is made for the file; a longer missing path is a typo
        raise UserError(f"无法写入 {output}：目录 {parent.parent} 不存在")


@cli.command("export")
@click.option(
    "--format", "fmt", metavar="FORMAT", help="导出格式：xlsx / docx / md / csv（默认按扩展名）"
)
@click.option(
    "-o", "--output", required=True, metavar="FILE", type=click.Path(path_type=Path),
    help="输出文件",
)
@_plan_option
@click.option("--unit", metavar="U", help="只导出该单位牵头或配合的任务")
@click.pass_obj
def export_command(
    app: AppContext, fmt: str | None, output: Path, plan_id: str | None, unit: str | None
) -> None:
    """导出推进情况汇总表（按原表列序，含推进情况和督办灯号）。"""
    from engine.ledger import export
    from engine.ledger.model import LIGHT_WORDS, LIGHTS
    from engine.ledger.query import read_ledger

    fmt = _format_for(fmt, output)
    _check_output(output)
    ledger = read_ledger(
        app.database, plan_id=plan_id, unit=unit, now=app.now(), settings=app.settings
    )
    export(ledger, fmt, output)
    counts = Counter(row.light for row in ledger.rows)
    summary = "、".join(f"{LIGHT_WORDS[c]} {counts[c]} 项" for c in LIGHTS if counts[c])
    info(f"已导出 {len(ledger.rows)} 项任务至 {output}（{summary or '无任务'}）")


_HEADERS = ["单位", "牵头", "配合", "按期完成", "逾期完成", "当前逾期", "未报进展"]
_KEYS = ["led", "co", "completed_on_time", "completed_late", "overdue", "reports_missing"]


@cli.command("stats")
@_plan_option
@json_option
@click.pass_obj
def stats_command(app: AppContext, plan_id: str | None, as_json: bool) -> None:
    """各单位任务统计：牵头、配合、按期完成、逾期完成、当前逾期、未报进展；各色灯合计。"""
    from engine.cli.cmd_tasks import render_table
    from engine.ledger.model import LIGHT_WORDS, format_day
    from engine.ledger.query import read_snapshot
    from engine.ledger.stats import report_period, stats_document

    snapshot = read_snapshot(app.database, plan_id=plan_id, now=app.now(), settings=app.settings)
    document = stats_document(snapshot)
    if as_json:
        emit_json(document)
        return
    rows = [[u["unit"], *(str(u[k]) for k in _KEYS)] for u in document["units"]]
    colour = sys.stdout.isatty()
    styles = [
        [None, *({"fg": "red", "bold": True} if k == "overdue" and u[k] else None for k in _KEYS)]
        for u in document["units"]
    ]
    click.echo(f"{snapshot.title or snapshot.plan_id}（截至{format_day(snapshot.today)}）")
    click.echo(render_table(_HEADERS, rows, styles=styles if colour else None))
    totals = document["totals"]
    click.echo(
        f"共 {sum(totals.values())} 项任务："
        + "、".join(f"{LIGHT_WORDS[code]} {n} 项" for code, n in totals.items())
    )
    period = report_period(snapshot.today, snapshot.report_every, snapshot.report_day)
    if period:
        start, end = period
        click.echo(
            f"未报进展：{format_day(start)}之后牵头单位未报送推进情况的未完成任务"
            f"（报送截止日{format_day(end)}）"
        )

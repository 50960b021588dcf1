"""`duban import`: read a plan — a table or prose; Word, Excel, a web page, a PDF, text — into a
plan file for review."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from engine.cli.main import cli
from engine.cli.output import emit_json, info, json_option
from engine.clock import FIRST_YEAR, LAST_YEAR
from engine.errors import UserError
from engine.model.plan import ImportWarning


def parse_aliases(values: tuple[str, ...]) -> dict[str, str]:
    """`--alias 别名=正式名` options as {other name: the name the unit directory uses}."""
    aliases: dict[str, str] = {}
    for value in values:
        other, sep, name = value.partition("=")
        other, name = other.strip(), name.strip()
        if not sep or not other or not name or "=" in name or other == name:
            raise UserError(
                f"--alias “{value}” 应写作 别名=正式名，例如 市市场监督管理局=市市场监管局"
            )
        aliases[other] = name
    return aliases


def parse_issued(value: str | None) -> date | None:
    """`--issued 2019-03-05`: the day the plan was issued, from which 5年内 and 印发之日起30日内
    count."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(
            f"--issued “{value}” 应为印发日期 YYYY-MM-DD，例如 --issued 2019-03-05"
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UserError(
            f"--issued “{value}” 超出可用范围（应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间）"
        )
    return day


def check_output(output: Path, source: Path) -> None:
    """Refuse an output that would overwrite the table or is not a plan file, before reading."""
    if output.suffix.lower() not in (".yaml", ".yml"):
        raise UserError(f"输出文件 {output} 应为计划文件（扩展名 .yaml）")
    if output.is_dir():
        raise UserError(f"无法写入 {output}：这是一个文件夹，应为计划文件路径")
    if not output.parent.exists() and not output.parent.parent.is_dir():
        # one new folder is made for the file; a longer missing path is a typo
        raise UserError(f"无法写入 {output}：目录 {output.parent.parent} 不存在")
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise UserError(f"输出文件 {output} 与源文件相同，不能覆盖源文件")


def warning_line(warning: ImportWarning) -> str:
    if warning.task is None:
        return warning.message
    return f"任务 {warning.task}：{warning.message}"


@cli.command("import")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=True))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="写入的计划文件（.yaml）"
)
@click.option("--plan-id", metavar="ID", help="计划标识（默认取自文件名）")
@click.option("--coordinator", metavar="UNIT", help="统筹（督办）单位，例如 市司法局")
@click.option(
    "--alias", "aliases", metavar="别名=正式名", multiple=True, help="同一单位的另一个名称，可重复"
)
@click.option(
    "--issued", metavar="YYYY-MM-DD", help="印发日期：“5年内”“印发之日起30日内”等时限从此日起算"
)
@json_option
def import_command(
    source: Path,
    output: Path,
    plan_id: str | None,
    coordinator: str | None,
    aliases: tuple[str, ...],
    issued: str | None,
    as_json: bool,
) -> None:
    """把分工表或分工文件导入为计划文件。

    读取表格，或各条以“（××牵头，××参与）”结尾的正文；格式为 .docx、.xlsx、.txt、.html、.pdf，
    .doc、.xls、.rtf、.odt、.ods、.wps 经 LibreOffice 转换。
    """
    from engine.importers.build import import_plan
    from engine.planfile import write_plan

    check_output(output, source)
    day = parse_issued(issued)
    plan = import_plan(
        source,
        plan_id=plan_id,
        coordinator=coordinator,
        aliases=parse_aliases(aliases),
        issued=day,
    )
    write_plan(plan, output)
    for warning in plan.warnings:
        info(warning_line(warning))
    info(
        f"已导入 {len(plan.tasks)} 项任务（{len(plan.sections)} 个部分），"
        f"{len(plan.warnings)} 条警告，写入 {output}"
    )
    if as_json:
        emit_json(
            {
                "tasks": len(plan.tasks),
                "warnings": [{"task": w.task, "message": w.message} for w in plan.warnings],
            }
        )

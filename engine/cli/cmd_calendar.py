"""`duban calendar import FILE` and `duban calendar show YEAR [--json]`: the State Council's
holiday notice into the working-day calendar, and a year's holidays and make-up days with their
sources.

An import reads the whole notice before it writes: a notice it cannot read is refused in one line
(file, line, what was expected) and nothing stored changes. Importing a year again replaces that
year's days.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import click

from engine.cli.context import AppContext
from engine.cli.main import cli
from engine.cli.output import emit_json, info, json_option
from engine.clock import FIRST_YEAR, LAST_YEAR
from engine.errors import UserError

# A notice is a page of text (about 2 KB); a saved web page with its pictures stays well below.
MAX_NOTICE_BYTES = 5 * 1024 * 1024
SUFFIXES = (
    ".txt",
    ".docx",
    ".html",
    ".htm",
    ".mht",
    ".mhtml",
    ".pdf",
    ".doc",
    ".wps",
    ".odt",
    ".rtf",
)
SOURCE_LABELS = {
    "package": "chinesecalendar 软件包",
    "notice": "国务院通知",
    "config": "配置 [calendar]",
}
_WEEKDAYS = "一二三四五六日"


def notice_file_name(year: int) -> str:
    """The file name the State Council's notice for `year` is saved under, for hints."""
    return f"国务院办公厅关于{year}年部分节假日安排的通知.txt"


@cli.group("calendar")
def calendar_group() -> None:
    """法定节假日日历：导入国务院办公厅的节假日安排通知，查看某一年的安排。"""


def read_notice_file(path: Path) -> tuple[Any, str]:
    """The notice read from `path` (engine.deadlines.official), and the file's sha256."""
    from engine.deadlines.official import read_notice
    from engine.importers.base import read_document

    if not path.exists():
        raise UserError(f"文件 {path} 不存在")
    if path.is_dir():
        raise UserError(f"{path} 是文件夹，应为节假日安排通知文件（.txt、.docx 或 .html）")
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(
            f"{path}：不支持 {path.suffix or '（无扩展名）'} 格式，节假日安排通知应为 "
            ".txt、.docx 或 .html（网页另存的文件）"
        )
    if not path.is_file():
        raise UserError(f"{path} 不是普通文件，应为节假日安排通知文件")
    try:
        with path.open("rb") as source:
            data = source.read(MAX_NOTICE_BYTES + 1)
    except OSError as exc:
        raise UserError(f"无法读取文件 {path}：{exc.strerror or exc}") from None
    if len(data) > MAX_NOTICE_BYTES:
        raise UserError(
            f"{path}：文件超过 {MAX_NOTICE_BYTES // (1024 * 1024)} MB，不像是节假日安排通知"
        )
    if not data.strip():
        raise UserError(f"{path}：文件是空的")
    document = read_document(path)
    try:
        paragraphs = [(p.text, p.ref) for p in document.paragraphs]
    finally:
        document.close()
    return read_notice(paragraphs, str(path)), hashlib.sha256(data).hexdigest()


def _span(days: list[date]) -> str:
    first, last = min(days), max(days)
    return first.isoformat() if first == last else f"{first.isoformat()} 至 {last.isoformat()}"


@calendar_group.command("import")
@click.argument("source", metavar="FILE", type=click.Path(path_type=Path))
@json_option
@click.pass_obj
def import_command(app: AppContext, source: Path, as_json: bool) -> None:
    """导入国务院办公厅的节假日安排通知（.txt、.docx 或 .html）；再次导入同一年则替换该年。"""
    from engine.store.calendar_days import replace_notices

    reading, sha256 = read_notice_file(source)
    with app.database.transaction() as session:
        replaced = replace_notices(session, reading.years, source.name, sha256, app.now())
    for warning in reading.warnings:
        info(f"警告：{warning}")
    if as_json:
        emit_json(
            {
                "years": [
                    {
                        "year": year.year,
                        "holidays": sum(1 for k, _ in year.days().values() if k == "holiday"),
                        "workdays": sum(1 for k, _ in year.days().values() if k == "workday"),
                        "replaced": year.year in replaced,
                        "periods": [
                            {
                                "name": h.name,
                                "holidays": sorted(set(h.days)),
                                "workdays": sorted(set(h.workdays)),
                            }
                            for h in year.holidays
                        ],
                    }
                    for year in reading.years
                ],
                "warnings": reading.warnings,
            }
        )
        return
    for year in reading.years:
        days = year.days()
        holidays = sum(1 for kind, _ in days.values() if kind == "holiday")
        workdays = len(days) - holidays
        again = "（替换此前导入的该年安排）" if year.year in replaced else ""
        click.echo(
            f"已导入 {year.year} 年节假日安排{again}：放假 {holidays} 天，"
            f"调休上班 {workdays} 天（{source.name}）"
        )
        for holiday in year.holidays:
            line = f"  {holiday.name}：{_span(holiday.days)}，放假 {len(set(holiday.days))} 天"
            if holiday.workdays:
                shown = "、".join(d.isoformat() for d in sorted(set(holiday.workdays)))
                line += f"；调休上班 {shown}"
            click.echo(line)


def _year(value: str) -> int:
    try:
        year = int(value.strip())
    except ValueError:
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UserError(
            f"年份“{value}”无效，应为 {FIRST_YEAR} 至 {LAST_YEAR} 之间的四位数字，例如 2027"
        )
    return year


@calendar_group.command("show")
@click.argument("year_text", metavar="YEAR")
@json_option
@click.pass_obj
def show_command(app: AppContext, year_text: str, as_json: bool) -> None:
    """列出某一年的法定节假日和调休上班日，以及各自的来源（软件包、通知、配置）。"""
    from engine.deadlines.calendar import MarkedDay
    from engine.store.calendar_days import calendar_for, notices_in, official_in

    year = _year(year_text)
    settings = app.settings
    with app.database.read() as session:
        calendar = calendar_for(session, settings)
        stored = notices_in(session)
        official = official_in(session)
    marked = calendar.marked_days(year)
    basis = calendar.source_of(year)
    notice_years = sorted(
        y
        for y, (holidays, workdays) in official.items()
        if any(d.year == year for d in [*holidays, *workdays])
    )
    sources: list[dict[str, Any]] = []
    if basis == "package":
        from importlib.metadata import version

        sources.append(
            {"source": "package", "name": "chinesecalendar", "version": version("chinesecalendar")}
        )
    for y in notice_years:
        notice = stored[y]
        sources.append(
            {
                "source": "notice",
                "year": y,
                "file": notice.source,
                "sha256": notice.sha256,
                "imported_at": notice.imported_at.isoformat(),
            }
        )
    if any(m.source == "config" for m in marked):
        sources.append(
            {"source": "config", "file": str(settings.source) if settings.configured else None}
        )
    if as_json:
        emit_json(
            {
                "year": year,
                "covered": calendar.covers(year),
                "basis": basis,
                "holidays": [m.day.isoformat() for m in marked if not m.working],
                "workdays": [m.day.isoformat() for m in marked if m.working],
                "sources": sources,
                "days": [
                    {
                        "date": m.day.isoformat(),
                        "kind": "workday" if m.working else "holiday",
                        "name": m.name,
                        "source": m.source,
                    }
                    for m in marked
                ],
            }
        )
        return
    if basis == "notice":
        notice = stored[year]
        click.echo(
            f"{year} 年工作日历：依据国务院办公厅通知（{notice.source}，"
            f"{notice.imported_at.astimezone(app.timezone):%Y-%m-%d} 导入）"
        )
    elif basis == "package":
        click.echo(f"{year} 年工作日历：依据 {SOURCE_LABELS['package']}（{sources[0]['version']}）")
    else:
        click.echo(
            f"{year} 年没有官方节假日数据（{SOURCE_LABELS['package']}和已导入的通知都不含"
            f"该年），除下列配置外只按周末计算休息日；请导入该年的通知：duban calendar "
            f"import {notice_file_name(year)}"
        )
    rest = [m for m in marked if not m.working]
    work = [m for m in marked if m.working]
    click.echo(f"放假（{len(rest)} 天）：" if rest else "放假：无")
    runs: list[list[MarkedDay]] = []
    for m in rest:
        last = runs[-1][-1] if runs else None
        if last and (m.day - last.day).days == 1 and (m.name, m.source) == (last.name, last.source):
            runs[-1].append(m)
        else:
            runs.append([m])
    for run in runs:
        name = run[0].name or "（未注明节日）"
        click.echo(
            f"  {name}  {_span([m.day for m in run])}（{len(run)} 天）  "
            f"来源：{SOURCE_LABELS[run[0].source]}"
        )
    click.echo(f"调休上班（{len(work)} 天）：" if work else "调休上班：无")
    for m in work:
        named = f"，{m.name}" if m.name else ""
        click.echo(
            f"  {m.day.isoformat()}（星期{_WEEKDAYS[m.day.weekday()]}{named}）  "
            f"来源：{SOURCE_LABELS[m.source]}"
        )

"""Import a plan file into a `Plan`: read, find the table (or the prose items), read units and
deadlines, warn.

Nothing here writes a file: the caller writes the plan file only once the whole import succeeded.
Every problem with the input that stops the import is a `UserError` naming the file (and the row
and column where there is one); every problem that does not stop it is an `ImportWarning` naming
the task, so that a person reviewing the plan file sees it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from engine.clock import FIRST_YEAR, LAST_YEAR
from engine.deadlines.deadline import Deadline, DeadlineKind
from engine.deadlines.grammar import counts_working_days, is_relative, parse_deadline
from engine.errors import UserError
from engine.importers.base import CONVERTED, Document, read_document, reader_for, text_of
from engine.importers.header import NoTable
from engine.importers.limits import MAX_SOURCE_BYTES, MAX_TASKS, too_large_file
from engine.importers.table import PlanTable, TaskRow, read_table
from engine.importers.units import parse_units
from engine.model.plan import ImportWarning, Plan, Source, Status, Task
from engine.planfile import MAX_UNIT
from engine.values import control_character

PLAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
COORDINATOR_MISSING = (
    "未指定统筹（督办）单位：请在导入时用 --coordinator 指定，或在计划文件 plan.coordinator 中填写"
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc/.xls, and password-protected Office files
_ATTACHMENT = re.compile(r"^附\s*件\s*[0-9０-９一二三四五六七八九十]*\s*[:：]?$")
_NOT_TITLE = re.compile(
    r"^(填报|填表|制表|报送|单位[:：]|时间[:：]|日期[:：]|统筹(?:（督办）)?单位)"
)
# What an exported ledger adds to a task's progress: 【推进中】2022年3月1日：… (the status and
# the day of the report) and （完成时限经批准延至…）; the plan file keeps the text as reported.
_LEDGER_PROGRESS = re.compile(
    r"^\s*【(?:未启动|推进中|已完成|长期推进)】\s*(?:\d{4}年\d{1,2}月\d{1,2}日[:：])?\s*"
    r"(?P<text>.*?)\s*(?:（完成时限经批准延至\d{4}年\d{1,2}月\d{1,2}日）)?\s*$",
    re.S,
)
_TITLE_END = re.compile(r"(表|方案|清单|台账|计划|安排|分工|分解)$")
_YEAR = re.compile(r"((?:19|20|21)\d{2})\s*年")
_ANY_YEAR = re.compile(r"(?<!\d)((?:19|20|21)\d{2})(?!\d)")
# How a deadline that leaves out its year begins: 6月底前 · 年底前 · 上半年 · 三季度 · 第三季度.
_YEARLESS_START = re.compile(
    r"^(?:[0-9０-９]{1,2}|[一二三四五六七八九十]{1,3})月|^年[底末内]|^[上下]半年"
    r"|^第?[1-4一二三四]季度"
)


def read_source(path: Path) -> bytes:
    """The file's bytes, after the checks every format shares."""
    if not path.exists():
        raise UserError(f"文件 {path} 不存在")
    if path.is_dir():
        raise UserError(f"{path} 是文件夹，应为分工表文件（.docx、.xlsx 或 .txt）")
    reader_for(path)  # an unsupported format is reported before anything is read
    if not path.is_file():  # a pipe or a device would be read without end
        raise UserError(f"{path} 不是普通文件，应为分工表文件（.docx、.xlsx 或 .txt）")
    try:
        if (size := path.stat().st_size) > MAX_SOURCE_BYTES:
            raise too_large_file(path, size)
        with path.open("rb") as source:
            data = source.read(MAX_SOURCE_BYTES + 1)  # a file growing while it is read
    except OSError as exc:
        raise UserError(f"无法读取文件 {path}：{exc.strerror or exc}") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise too_large_file(path, len(data))
    if not data or data.isspace():
        raise UserError(f"{path}：文件是空的")
    if data.startswith(_OLE_MAGIC) and path.suffix.lower() not in CONVERTED:
        hint = {".docx": "请用 Word 另存为 .docx", ".xlsx": "请用 Excel 另存为 .xlsx"}.get(
            path.suffix.lower(), "请用 Word 或 Excel 另存为 .docx 或 .xlsx"
        )
        raise UserError(f"{path}：文件是旧版 Office 格式或设置了打开密码，{hint}（不设密码）")
    return data


def plan_id_for(path: Path) -> str:
    """A plan id from the file name: an ASCII slug, or a stable "plan-…" for a Chinese name."""
    stem = path.stem
    if stem.isascii():
        slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
        if slug:
            return slug
    return "plan-" + hashlib.sha256(stem.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def shown_name(name: str) -> str:
    """A file name as text: on Linux a name saved in GBK (a zip unpacked from Windows) is not
    UTF-8, and Python holds its bytes as lone surrogates, which no plan file can store."""
    raw = name.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", "replace")


def plan_title(lines: list[str]) -> str:
    """The table's title from the lines above it.

    A title split over lines is joined; an "附件1" line and filler lines (填报单位：…) are
    skipped; a preamble after the title (a line not ending in 表/方案/清单…) is dropped.
    """
    kept = [ln.strip() for ln in lines if not _ATTACHMENT.match(ln.strip())]
    kept = [ln for ln in kept if ln and not _NOT_TITLE.match(ln)]
    ends = [i for i, ln in enumerate(kept) if _TITLE_END.search(ln)]
    if ends:
        kept = kept[: ends[-1] + 1]
    return "".join(kept)


def _deadline_warning(deadline: Deadline, label: str) -> str | None:
    if deadline.kind is not DeadlineKind.UNKNOWN:
        return None
    if not deadline.text.strip():
        return f"缺少{label}"
    return f"{label}“{deadline.text.strip()}”无法识别，已记为待定，请人工确认"


def plan_year(table: PlanTable) -> tuple[int, str] | None:
    """The one year a plan is for, and where it says so: the deadline column's note
    (完成时限（2022年）) or else the title (2022年工作要点); None when neither names exactly one."""
    header = next((c for c in table.columns if table.labels["deadline"] in c), "")
    for text, where in ((header, "表头"), ("".join(table.title_lines), "标题")):
        years = set(_ANY_YEAR.findall(text))  # 2021—2023年 names two years
        if len(years) == 1 and _YEAR.search(text):
            return int(years.pop()), where
    return None


def _in_year(deadline: Deadline, year: int | None) -> Deadline | None:
    """A cell that leaves out the year (6月底前, 年底前, 三季度) read in the plan's year, when
    that reads it; the text stays as written."""
    text = deadline.text.strip()
    if year is None or deadline.kind is not DeadlineKind.UNKNOWN or not text:
        return None
    if _YEAR.search(text) or not _YEARLESS_START.match(text):
        return None
    prefix = f"{year}年"
    read = parse_deadline(prefix + text)
    if read.kind is DeadlineKind.UNKNOWN:
        return None
    milestones = tuple(
        replace(m, text=m.text.removeprefix(prefix)) if i == 0 else m
        for i, m in enumerate(read.milestones)
    )
    return replace(read, text=deadline.text, milestones=milestones)


def _reported(progress: str) -> str:
    """The progress as reported, from a cell of a ledger duban exported; other text as written."""
    found = _LEDGER_PROGRESS.fullmatch(progress)
    return found.group("text") if found else progress


def _out_of_range(deadline: Deadline) -> bool:
    """Whether a deadline names a day outside the years duban keeps (1970–2199)."""
    days = [deadline.due, deadline.start, *(m.due for m in deadline.milestones)]
    return any(d is not None and not FIRST_YEAR <= d.year <= LAST_YEAR for d in days)


def _task(
    row: TaskRow,
    no: int,
    table: PlanTable,
    warnings: list[ImportWarning],
    year: int | None = None,
    in_year: list[int] | None = None,
    issued: date | None = None,
    counted: list[int] | None = None,
) -> Task:
    units_label, deadline_label = table.labels["units"], table.labels["deadline"]
    units = row.units if row.units is not None else parse_units(row.units_text)
    if any(len(name) > MAX_UNIT for name in [units.lead or "", *units.co_units]):
        # no unit's name: a sentence written in the units cell (the store holds 200 characters)
        warnings.append(
            ImportWarning(
                no,
                f"{units_label}中有超过 {MAX_UNIT} 字的一段文字，不像单位名称，未作为责任单位"
                "（原文保留在 units_text 中），请核对",
            )
        )
        lead = units.lead if units.lead and len(units.lead) <= MAX_UNIT else None
        units = replace(
            units, lead=lead, co_units=[n for n in units.co_units if len(n) <= MAX_UNIT]
        )
    cell = row.deadline
    value = cell if isinstance(cell, str | date | None) else text_of(cell)
    deadline = parse_deadline(value, issued=issued)
    relative = isinstance(value, str) and is_relative(value)
    if relative and counted is not None and deadline.kind is not DeadlineKind.UNKNOWN:
        counted.append(no)
    read_in_year = _in_year(deadline, year)
    if read_in_year is not None:
        deadline = read_in_year
        if in_year is not None:
            in_year.append(no)
    if row.cut_off:
        cut = f"该行（源文件{row.ref}起）不完整：原表在此处截断，请对照原件补全"
        warnings.append(ImportWarning(no, cut))
    if not row.title:
        warnings.append(ImportWarning(no, f"缺少{table.labels['task']}名称"))
    if _out_of_range(deadline):
        warnings.append(
            ImportWarning(
                no,
                f"{deadline_label}“{deadline.text.strip()}”超出可用范围（应在 {FIRST_YEAR} 年至 "
                f"{LAST_YEAR} 年之间），已记为待定，请人工确认",
            )
        )
        deadline = Deadline(text=deadline.text, kind=DeadlineKind.UNKNOWN)
        missing_deadline = None
    elif isinstance(value, str) and counts_working_days(value):
        missing_deadline = (
            f"{deadline_label}“{deadline.text.strip()}”按工作日计算，duban 不推算，已记为待定；"
            "请在计划文件中填写具体日期"
        )
    elif relative and issued is None and deadline.kind is DeadlineKind.UNKNOWN:
        missing_deadline = (
            f"{deadline_label}“{deadline.text.strip()}”从印发之日起算，但源文件中未找到印发日期，"
            "已记为待定；请用 --issued 指定印发日期（如 --issued 2019-03-05）后重新导入"
        )
    else:
        missing_deadline = _deadline_warning(deadline, deadline_label)
    if units.lead is None and missing_deadline == f"缺少{deadline_label}":
        warnings.append(ImportWarning(no, f"缺少{units_label}和{deadline_label}"))
    else:
        if units.lead is None:
            warnings.append(ImportWarning(no, f"缺少{units_label}"))
        if missing_deadline:
            warnings.append(ImportWarning(no, missing_deadline))
    if row.lead_missing and units.lead is not None:
        warnings.append(ImportWarning(no, f"{units_label}为空，暂以{units.lead}为牵头单位，请核对"))
    for name in units.repeated:
        warnings.append(ImportWarning(no, f"{units_label}中“{name}”重复出现，已合并"))
    warnings.extend(ImportWarning(no, note) for note in row.notes)
    return Task(
        no=no,
        label=row.label,
        section=row.section,
        title=row.title,
        content=row.content,
        lead=units.lead,
        co_units=units.co_units,
        units_text=row.units_text,
        deadline=deadline,
        status=Status.NOT_STARTED,
        progress=_reported(row.progress),
    )


def _numbers(table: PlanTable) -> list[tuple[int, str | None]]:
    """Each row's task number, with why it was changed: unnumbered tables are numbered 1..N; a
    missing or repeated number gets the next free one, so that every task keeps one identity."""
    if not table.numbered:
        return [(i, None) for i in range(1, len(table.tasks) + 1)]
    used = {t.no for t in table.tasks if t.no is not None}
    next_free = max(used) + 1
    seen: set[int] = set()
    out: list[tuple[int, str | None]] = []
    for row in table.tasks:
        if row.no is not None and row.no not in seen:
            seen.add(row.no)
            out.append((row.no, None))
            continue
        why = (
            f"任务序号 {row.no} 的单元格合并了多行，{row.ref}另编为任务 {next_free}"
            if row.no is not None and row.merged_number
            else f"任务序号 {row.no} 与前面的任务重复，已改编为 {next_free}"
            if row.no is not None
            else f"{row.ref}的序号“{row.number_text}”不是任务序号，已编为 {next_free}"
            if row.number_text
            else f"{row.ref}没有任务序号，已编为 {next_free}"
        )
        out.append((next_free, why))
        next_free += 1
    return out


def read_plan_document(document: Document, path: Path) -> PlanTable:
    """The plan in a document: its plan table; else, when it has none, its prose items."""
    try:
        return read_table(document.grids, path)
    except NoTable:
        if not document.paragraphs:
            raise
    from engine.importers.prose import read_prose

    return read_prose(document, path)


def import_plan(
    path: Path,
    *,
    plan_id: str | None = None,
    coordinator: str | None = None,
    aliases: dict[str, str] | None = None,
    issued: date | None = None,
) -> Plan:
    """Read a plan file (a table, or a prose plan: .txt, .docx, .xlsx, …) into a plan, with its
    warnings. `issued` is the day the plan was issued (--issued), from which relative deadlines
    (5年内) count; without it, the date the document writes, if any."""
    path = Path(path)
    if plan_id is not None and not PLAN_ID.fullmatch(plan_id):
        raise UserError(
            f"计划标识“{plan_id}”无效：应由字母、数字和连字符组成，例如 zhuhai-gba-legal-services"
        )
    for option, name in [("--coordinator", coordinator or ""), *_alias_names(aliases or {})]:
        if len(name.strip()) > MAX_UNIT or control_character(name.strip()):
            shown = " ".join(name.split())
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            raise UserError(f"{option} “{shown}” 应为一行单位名称（不超过 {MAX_UNIT} 字）")
    data = read_source(path)
    document = read_document(path)
    try:
        table = read_plan_document(document, path)
    finally:
        document.close()
    if not table.tasks:
        raise UserError(f"{path}：表头之下没有任何任务行")
    if len(table.tasks) > MAX_TASKS:
        raise UserError(
            f"{path}：分工表有 {len(table.tasks):,} 项任务，超过一个计划文件 {MAX_TASKS:,} 项的"
            "导入上限；请把表格拆成几个文件，分别导入为几个计划"
        )
    if len(table.coordinator) > MAX_UNIT:
        table.coordinator = ""  # a run of text after 统筹单位：, not a unit's name
    warnings: list[ImportWarning] = []
    coordinator = (coordinator or "").strip()
    if coordinator and table.coordinator and table.coordinator != coordinator:
        warnings.append(
            ImportWarning(
                None,
                f"源文件写明统筹单位为“{table.coordinator}”，已按 --coordinator 指定的"
                f"“{coordinator}”导入",
            )
        )
    coordinator = coordinator or table.coordinator
    if not coordinator:
        warnings.append(ImportWarning(None, COORDINATOR_MISSING))
    if issued and table.issued and issued != table.issued:
        warnings.append(
            ImportWarning(
                None,
                f"源文件{table.issued_ref}写明印发日期为 {_chinese_day(table.issued)}，"
                f"已按 --issued 指定的 {_chinese_day(issued)} 导入",
            )
        )
    issued_from = "--issued 指定" if issued else f"源文件{table.issued_ref}"
    issued = issued or table.issued
    warnings.extend(ImportWarning(None, note) for note in table.notes)
    plan_notes = len(warnings)
    tasks = []
    year = plan_year(table)
    in_year: list[int] = []
    counted: list[int] = []
    for row, (no, renumbered) in zip(table.tasks, _numbers(table), strict=True):
        if renumbered:
            warnings.append(ImportWarning(no, renumbered))
        tasks.append(
            _task(row, no, table, warnings, year[0] if year else None, in_year, issued, counted)
        )
    if issued and counted:
        numbers = "、".join(str(no) for no in counted)
        warnings.insert(
            plan_notes,
            ImportWarning(
                None,
                f"任务 {numbers} 的{table.labels['deadline']}从印发日期 {_chinese_day(issued)}"
                f"（{issued_from}）起算，请核对",
            ),
        )
    if year and in_year:
        numbers = "、".join(str(no) for no in in_year)
        warnings.insert(
            plan_notes,
            ImportWarning(
                None,
                f"任务 {numbers} 的{table.labels['deadline']}未写年份，"
                f"已按{year[1]}中的 {year[0]} 年读取，请核对",
            ),
        )
    # A warning is one line of the plan file, whatever cell text it quotes.
    warnings = [replace(w, message=" ".join(w.message.split())) for w in warnings]
    name = shown_name(path.name)
    return Plan(
        id=plan_id or plan_id_for(path),
        # a table with no title line above it is named by its file
        title=plan_title(table.title_lines) or Path(name).stem,
        coordinator=coordinator,
        source=Source(file=name, sha256=hashlib.sha256(data).hexdigest()),
        sections=table.sections,
        tasks=tasks,
        aliases=dict(aliases or {}),
        warnings=warnings,
        columns=table.columns,
        issued=issued,
    )


def _chinese_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _alias_names(aliases: dict[str, str]) -> list[tuple[str, str]]:
    return [("--alias", name) for pair in aliases.items() for name in pair]

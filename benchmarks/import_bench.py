"""How long `duban import` takes to read a plan: the seed, a 5,000-row workbook, a 1,000-item
prose plan, 200-page PDFs.

Prints the median of several runs for each and its ratio to the target (≤ 1.00 meets it):
the seed text table within 20 ms, a 5,000-row .xlsx (merged section rows, a merged 项目 column,
real date cells) within 5 s, a 1,000-item prose plan (.txt) within 1 s, in-process and as the
`duban import` command, and a 200-page PDF within 20 s, both a ruled table continued over
its pages and a prose plan, each read by the PDF reader alone and imported end to end by
`duban import` as a process (start-up, reading, the plan file written).
Run: .venv/bin/python benchmarks/import_bench.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import openpyxl  # noqa: E402
from support.pdfs import write_prose_pdf, write_table_pdf  # noqa: E402
from support.tables import TableSpec  # noqa: E402

from engine.importers import pdf  # noqa: E402
from engine.importers.build import import_plan  # noqa: E402

SEED = REPO / "workflows" / "sources" / "zhuhai-gba-legal-services.txt"
SEED_TARGET, XLSX_TARGET, PDF_TARGET, PROSE_TARGET = 0.020, 5.0, 20.0, 1.0
PROSE_ITEMS = 1000
XLSX_ROWS = 5000
PDF_PAGES = 200
_SCRIPT = Path(sys.executable).with_name("duban")
# The console script is what a person runs; fall back to the module in a bare checkout.
DUBAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "engine"]


def write_large_xlsx(path: Path, rows: int = XLSX_ROWS) -> Path:
    """A 分工表 with `rows` task rows: title rows, a 任务 header over two columns, a section
    row merged across every 50 tasks, the 项目 column merged down over them, date deadlines."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["附件"])
    sheet.append(["某市重点工作任务分工推进情况汇总表"])
    sheet.merge_cells("A2:G2")
    sheet.append(["项目", "任务", None, "具体内容", "责任部门", "推进情况", "完成时限"])
    sheet.merge_cells("B3:C3")
    content = "整合律师、公证、司法鉴定、仲裁、调解、法律援助等公共法律服务资源，" * 4
    for no in range(1, rows + 1):
        if no % 50 == 1:
            section = f"第{no // 50 + 1}部分、推进第{no // 50 + 1}批重点工作"
            sheet.append([section])
            sheet.merge_cells(
                start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=7
            )
            first = sheet.max_row + 1
        deadline = date(2024, 1, 31) + timedelta(days=no % 700)
        deadline_cell = deadline if no % 3 else f"{deadline.year}年{deadline.month}月底前"
        sheet.append(
            [
                section if no % 50 == 1 else None,
                no,
                f"任务{no}",
                content,
                "市司法局、市财政局（牵头）、各区政府",
                "" if no % 4 else "已启动",
                deadline_cell,
            ]
        )
        if no % 50 == 0:
            sheet.merge_cells(start_row=first, start_column=1, end_row=sheet.max_row, end_column=1)
    book.save(path)
    return path


def write_table_pdf_pages(path: Path, pages: int = PDF_PAGES) -> tuple[Path, int]:
    """A 分工表 as a ruled PDF table continued over `pages` landscape pages (the header repeated
    on each, a section row every 50 tasks), and how many tasks it holds."""
    content = "整合律师、公证、司法鉴定、仲裁、调解、法律援助等公共法律服务资源，" * 3
    rows: list[list[object]] = []
    tasks = pages * 4  # four tasks of this size fill a page
    for no in range(1, tasks + 1):
        if no % 50 == 1:
            rows.append([f"第{no // 50 + 1}部分、推进第{no // 50 + 1}批法治政府建设"])
        rows.append(
            [no, f"任务{no}", content, "市司法局牵头，市财政局、各区政府配合", "2024年6月底前"]
        )
    spec = TableSpec(
        title_lines=["附件", "某市法治政府建设任务分工表"],
        header=["序号", "工作任务", "工作措施", "责任单位", "完成时限"],
        rows=rows,
    )
    return write_table_pdf(spec, path, font_size=10.5), tasks


def write_prose_pdf_pages(path: Path, pages: int = PDF_PAGES) -> tuple[Path, int]:
    """A prose plan (实施意见) of numbered items, each ending in its units bracket, laid out with
    a running header and page numbers over about `pages` portrait pages; and its item count."""
    item = (
        "（{n}）推进公共法律服务平台建设。推进实体平台、热线平台、网络平台融合发展，整合律师、"
        "公证、司法鉴定、仲裁、调解等法律服务资源，2020年6月底前实现三大平台互联互通"
        "（市司法局牵头，市财政局、市政务服务数据管理局参与）。"
    )
    items = pages * 20 // 3  # twenty items of this size fill three pages
    paragraphs = ["某市人民政府关于加快推进公共法律服务体系建设的实施意见"]
    for no in range(1, items + 1):
        if no % 30 == 1:
            paragraphs.append(f"第{no // 30 + 1}部分 公共法律服务第{no // 30 + 1}批重点任务")
        paragraphs.append(item.format(n=no))
    return write_prose_pdf(paragraphs, path), items


_WORDINGS = [
    "2019年6月底前完成",
    "到2020年基本建成",
    "从2019年起每年2月底前报送进展情况",
    "本意见印发之日起30日内制定实施细则",
    "5年内全面推开",
    "长期坚持",
]
_BRACKETS = [
    "（市司法局牵头，市财政局、市政务服务数据管理局参与）",
    "（牵头单位：市发展改革委，配合单位：市委组织部，各区、县级市）",
    "（市人力资源社会保障局、市财政局负责。列第一位者为牵头单位，下同）",
    "（市教育局会同市科技局负责）",
]


def write_prose_text(path: Path, items: int = PROSE_ITEMS) -> Path:
    """A prose plan (实施意见) as text: headings, then numbered items each closed by a units
    bracket, in the wordings the prose reader knows, signed and dated at the end."""
    lines = ["某市人民政府关于加快推进公共法律服务体系建设的实施意见", ""]
    for no in range(1, items + 1):
        if no % 25 == 1:
            lines.append(f"{_chinese(no // 25 + 1)}、第{no // 25 + 1}批重点任务")
        wording = _WORDINGS[no % len(_WORDINGS)]
        lines.append(
            f"（{_chinese(no % 25 or 25)}）推进第{no}项公共法律服务工作。整合律师、公证、调解等"
            f"法律服务资源，{wording}{_BRACKETS[no % len(_BRACKETS)]}。"
        )
    lines += ["", "某市人民政府", "2019年3月5日"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _chinese(n: int) -> str:
    from engine.importers.table import chinese_numeral

    return chinese_numeral(n)


def cold_import(source: Path, output: Path) -> float:
    """`duban import SOURCE -o OUTPUT` as a process, timed from start to exit."""
    started = time.perf_counter()
    subprocess.run(
        [*DUBAN, "import", str(source), "-o", str(output), "--coordinator", "市司法局"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=output.parent,
    )
    return time.perf_counter() - started


def pages_of(path: Path) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        return len(document)
    finally:
        document.close()


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, seconds: float, target: float) -> None:
    verdict = "ok" if seconds <= target else "SLOW"
    print(
        f"{name:<34} {seconds * 1000:10.1f} ms   target {target * 1000:8.0f} ms   "
        f"ratio {seconds / target:5.2f}  {verdict}"
    )


def main() -> None:
    import_plan(SEED)  # import the modules once, outside the measurement
    seed = median_seconds(lambda: import_plan(SEED), repeat=21)
    with tempfile.TemporaryDirectory() as folder:
        workbook = write_large_xlsx(Path(folder) / "large.xlsx")
        plan = import_plan(workbook)
        # A benchmark of a wrong reading measures nothing: check the reading first.
        assert len(plan.tasks) == XLSX_ROWS, len(plan.tasks)
        assert len(plan.sections) == XLSX_ROWS // 50, len(plan.sections)
        assert plan.task(XLSX_ROWS).section == plan.sections[-1].no
        large = median_seconds(lambda: import_plan(workbook), repeat=3)
        folder_path = Path(folder)
        prose_text = write_prose_text(folder_path / "prose.txt")
        plan = import_plan(prose_text)
        assert len(plan.tasks) == PROSE_ITEMS, len(plan.tasks)
        assert plan.task(PROSE_ITEMS).lead is not None, plan.task(PROSE_ITEMS)
        text_read = median_seconds(lambda: import_plan(prose_text), repeat=5)
        text_cold = statistics.median(
            cold_import(prose_text, folder_path / "prose-text.yaml") for _ in range(3)
        )
        table_pdf, table_tasks = write_table_pdf_pages(folder_path / "table.pdf")
        table_pages = pages_of(table_pdf)
        plan = import_plan(table_pdf)
        assert len(plan.tasks) == table_tasks, len(plan.tasks)
        assert plan.task(table_tasks).lead == "市司法局", plan.task(table_tasks)
        table_read = median_seconds(lambda: pdf.document(table_pdf), repeat=3)
        table_cold = statistics.median(
            cold_import(table_pdf, folder_path / "table.yaml") for _ in range(3)
        )
        prose_pdf, items = write_prose_pdf_pages(folder_path / "prose.pdf")
        prose_pages = pages_of(prose_pdf)
        read = pdf.document(prose_pdf)
        numbered = [p for p in read.paragraphs if p.text.startswith("（")]
        assert len(numbered) == items, len(numbered)
        assert numbered[-1].text.endswith("参与）。"), numbered[-1]
        prose_read = median_seconds(lambda: pdf.document(prose_pdf), repeat=3)
        prose_cold = statistics.median(
            cold_import(prose_pdf, folder_path / "prose.yaml") for _ in range(3)
        )
    report("seed table (18 tasks, .txt)", seed, SEED_TARGET)
    report(f"generated .xlsx ({XLSX_ROWS} tasks)", large, XLSX_TARGET)
    report(f"prose .txt ({PROSE_ITEMS} items): import", text_read, PROSE_TARGET)
    report(f"prose .txt ({PROSE_ITEMS} items): duban", text_cold, PROSE_TARGET)
    report(f"PDF table, {table_pages} pages: reader", table_read, PDF_TARGET)
    report(f"PDF table, {table_pages} pages: duban import", table_cold, PDF_TARGET)
    report(f"PDF prose, {prose_pages} pages: reader", prose_read, PDF_TARGET)
    report(f"PDF prose, {prose_pages} pages: duban import", prose_cold, PDF_TARGET)


if __name__ == "__main__":
    main()

"""How long `duban import` takes to read a table: the seed, and a generated 5,000-row workbook.

Prints the median of several runs for each and its ratio to the target (≤ 1.00 meets it):
the seed text table within 20 ms, a 5,000-row .xlsx (merged section rows, a merged 项目 column,
real date cells) within 5 s. Run: .venv/bin/python benchmarks/import_bench.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import openpyxl  # noqa: E402

from engine.importers.build import import_plan  # noqa: E402

SEED = REPO / "workflows" / "sources" / "zhuhai-gba-legal-services.txt"
SEED_TARGET, XLSX_TARGET = 0.020, 5.0
XLSX_ROWS = 5000


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
    report("seed table (18 tasks, .txt)", seed, SEED_TARGET)
    report(f"generated .xlsx ({XLSX_ROWS} tasks)", large, XLSX_TARGET)


if __name__ == "__main__":
    main()

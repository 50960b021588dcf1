"""How much work an import may take, whatever the file: the limits and the checks that keep them.

A plan table is small: the Zhuhai plan is 16 KB of text, and a table of 420 tasks is a 50 KB .docx
whose document.xml is 570 KB. A hostile or broken file can be anything: a 1 MB .xlsx whose
worksheet inflates to 1 GiB, a .docx whose one cell spans a billion columns, a sheet with a cell
on row 999,999,999. Each limit below is far above any real plan and low enough that an import
stays within about 300 MB of memory and a few seconds; a file beyond one is refused with one
line that names the file and the limit, before the work is done.

- `MAX_SOURCE_BYTES`: the file on disk (20 MB; plan tables are well under 1 MB, pictures and all).
- `MAX_PACKAGE_PARTS`, `MAX_PART_BYTES`, `MAX_PACKAGE_BYTES`: a .docx/.xlsx is a zip package;
  at most 1,000 parts, each at most 32 MB and all together at most 64 MB once inflated, by what
  the package declares and by what its data really inflates to.
- `MAX_MARKUP`: at most 500,000 tags in the package's XML parts (what python-docx and openpyxl
  build objects from; a 420-task Word table has about 30,000).
- `MAX_CELLS`, `MAX_TEXT`: at most 400,000 table cells and 5,000,000 characters of cell text in
  the tables a file holds (about 15 MB of Chinese text).
- `MAX_TASKS`: at most 10,000 tasks in one imported table (a province's plan runs to thousands;
  a larger one is imported in parts, one plan file each).
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import UserError

MB = 1024 * 1024
MAX_SOURCE_BYTES = 20 * MB
MAX_PACKAGE_PARTS = 1_000
MAX_PART_BYTES = 32 * MB
MAX_PACKAGE_BYTES = 64 * MB
MAX_MARKUP = 500_000
MAX_CELLS = 400_000
MAX_TEXT = 5_000_000
MAX_TASKS = 10_000
# Excel's last row (1,048,576): a worksheet row beyond it is no row Excel or WPS could show.
EXCEL_ROWS = 1_048_576


def megabytes(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0") + " MB"


def too_large_file(path: Path, size: int) -> UserError:
    return UserError(
        f"{path}：文件大小 {megabytes(size)}，超过导入上限 {megabytes(MAX_SOURCE_BYTES)}"
        "（分工表文件通常不到 1 MB）；请删除图片等表格以外的内容后另存再导入"
    )


class Budget:
    """Cells and characters a reader may still build for one file; it refuses the file, with a
    line naming the limit, as soon as a table would go past one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cells = 0
        self.text = 0

    def add_cells(self, count: int) -> None:
        self.cells += count
        if self.cells > MAX_CELLS:
            raise self.too_many_cells()

    def too_many_cells(self) -> UserError:
        return UserError(
            f"{self.path}：表格超过 {MAX_CELLS:,} 个单元格的导入上限；"
            "请只保留分工表（删除多余的行、列和工作表）后再导入"
        )

    def add_text(self, text: str) -> None:
        self.text += len(text)
        if self.text > MAX_TEXT:
            raise UserError(
                f"{self.path}：表格文字超过 {MAX_TEXT:,} 字的导入上限；"
                "请只保留分工表，或把它拆成几个文件分别导入"
            )

"""The limits an import keeps whatever the file (engine.importers.limits): each refused with one
line naming the file and the limit, exit 2, no plan file touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.refusal import refuser

from engine.importers.header import column_role
from engine.importers.limits import MAX_CELLS, MAX_SOURCE_BYTES, MAX_TASKS, MAX_TEXT

MB = 1024 * 1024
HEADER = "\t序号\t任务\t责任单位\t完成时限\n\n"


@pytest.fixture
def refuse(duban, workdir):
    return refuser(duban, workdir)


@pytest.fixture
def elsewhere(tmp_path_factory) -> Path:
    """A folder for a big source, outside the working directory the refusal compares."""
    return tmp_path_factory.mktemp("sources")


def task_rows(count: int, content: str = "") -> str:
    row = "\t{n}\t任务{n}{content}\t市司法局\t2022年底前\n\n"
    return "".join(row.format(n=n, content=content) for n in range(1, count + 1))


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".xlsx"])
def test_a_50_mb_file_is_refused_before_it_is_read(refuse, elsewhere, suffix):
    source = elsewhere / f"big{suffix}"
    with source.open("wb") as out:
        out.write(HEADER.encode() + task_rows(20).encode())
        out.truncate(50 * MB)  # sparse: no 50 MB written
    err = refuse(source, f"big{suffix}", "50 MB", "超过导入上限 20 MB")
    assert MAX_SOURCE_BYTES == 20 * MB, err


def test_a_file_at_the_limit_is_read_within_bounds(duban, workdir):
    """Just under 20 MB of a real table layout: refused for its size of table, not read whole
    into rows (which took 1.8 GB and 22 s for 50 MB)."""
    source = workdir / "long.txt"
    rows = task_rows(2_000)
    source.write_text(HEADER + rows * ((MAX_SOURCE_BYTES - MB) // len(rows.encode())))
    result = duban("import", "long.txt", "-o", "plan.yaml")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "long.txt" in result.err and "上限" in result.err


def test_more_tasks_than_a_plan_file_takes(refuse, workdir):
    (workdir / "many.txt").write_text(HEADER + task_rows(MAX_TASKS + 1), encoding="utf-8")
    refuse("many.txt", "many.txt", f"{MAX_TASKS + 1:,} 项任务", f"{MAX_TASKS:,} 项")


def test_as_many_tasks_as_a_plan_file_takes(duban, workdir):
    (workdir / "full.txt").write_text(HEADER + task_rows(MAX_TASKS), encoding="utf-8")
    result = duban("import", "full.txt", "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    assert f"已导入 {MAX_TASKS} 项任务" in result.err


def test_more_cells_than_a_table_takes(refuse, workdir):
    row = "\t".join(["x"] * 1_000)
    lines = [f"\t序号\t任务\t责任单位\t{row}"] + [f"\t1\t任务\t市司法局\t{row}"] * (
        MAX_CELLS // 1_000
    )
    (workdir / "wide.txt").write_text("\n".join(lines), encoding="utf-8")
    refuse("wide.txt", "wide.txt", f"{MAX_CELLS:,} 个单元格")


def test_more_text_than_a_table_takes(refuse, workdir):
    content = "内容" * 5_000
    (workdir / "long.txt").write_text(HEADER + task_rows(MAX_TEXT // 9_000, content))
    refuse("long.txt", "long.txt", f"{MAX_TEXT:,} 字")


def test_one_cell_continued_over_a_million_lines(refuse, workdir):
    """A cell whose text goes on line after line grew by copying itself: quadratic."""
    text = HEADER + "\t1\t任务\t市司法局\t2022年底前" + "\n续" * 2_000_000
    (workdir / "on.txt").write_text(text, encoding="utf-8")
    refuse("on.txt", "on.txt", "上限")


def test_a_long_cell_of_open_brackets_is_no_header():
    """A header cell's bracketed note was removed by a regex quadratic in unclosed brackets:
    200,000 of them took a quarter of an hour. The timeout is a safety net, not a benchmark."""
    code = "from engine.importers.header import column_role; print(column_role('（' * 200_000))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "None"
    assert column_role("完成时限（" + "注" * 50 + "）") == "deadline"

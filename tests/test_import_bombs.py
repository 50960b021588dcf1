"""Hostile files given to `duban import` as a separate process, whose peak memory is measured:
each is refused with one line (exit 2) within 300 MB, whatever it would inflate to.

Before the limits, a 1.7 MB .xlsx inflating to 1 GiB imported at 2.9 GB in almost five minutes,
the same as a .docx took 3.2 GB, a .docx with a forged header 2.1 GB, a 4 KB sheet with a cell on
row 999,999,999 ran for hours, and a 6 KB sheet with a cell in column ZZZ of 200 rows took 600 MB.
The packages are made by tests/support/bombs.py in about a second each; the subprocess timeout is
a safety net, not a benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from support.bombs import (
    DOCUMENT,
    GIB,
    HEADER,
    MIB,
    SHEET,
    document_xml,
    docx_bomb,
    forged,
    office_parts,
    package,
    sheet_xml,
    xlsx_bomb,
)

PEAK_MB = 300

# Runs the command given as its arguments and reports, as JSON, how it ended and the peak
# resident memory of its child (the import and nothing else: this wrapper has no other child).
MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr, "peak": peak}))
"""


def run_import(workdir: Path, source: str) -> tuple[int, str, float]:
    """`duban import SOURCE -o plan.yaml` in its own process: exit code, stderr, peak MB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "engine", "import", source, "-o", "plan.yaml"]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout)
    peak_kb = report["peak"] / (1024 if sys.platform == "darwin" else 1)  # macOS: bytes
    return report["code"], report["err"], peak_kb / 1024


def refused_within_bounds(workdir: Path, name: str, data: bytes | None, *expected: str) -> float:
    """Import `data` (None: the file is there) as `name`: refused, in one line, within bounds."""
    if data is not None:
        (workdir / name).write_bytes(data)
    code, err, peak = run_import(workdir, name)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for part in (name, *expected):
        assert part in err, err
    assert peak < PEAK_MB, f"{name}: peak {peak:.0f} MB"
    assert not (workdir / "plan.yaml").exists()
    return peak


def test_the_seed_imports_well_within_bounds(workdir, seed_copy):
    code, err, peak = run_import(workdir, seed_copy.name)
    assert code == 0, err
    assert peak < PEAK_MB / 2


@pytest.mark.parametrize(
    ("name", "make", "part"),
    [
        ("bomb.xlsx", lambda: xlsx_bomb(GIB), SHEET),
        ("bomb.docx", lambda: docx_bomb(GIB), DOCUMENT),
    ],
)
def test_a_part_inflating_to_1_gib(workdir, name, make, part):
    data = make()
    assert len(data) < 3 * MIB
    refused_within_bounds(workdir, name, data, part, "32 MB", "上限")


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("forged.docx", DOCUMENT),
        ("forged.xlsx", SHEET),
        ("forged-styles.xlsx", "xl/styles.xml"),
        ("forged-types.docx", "[Content_Types].xml"),
    ],
)
def test_a_header_declaring_4_kb_of_a_part_inflating_to_1_gib(workdir, name, part):
    """zipfile stops at the declared size only after inflating what the data holds."""
    kind = name.rpartition(".")[2]
    refused_within_bounds(workdir, name, forged(kind, part), "损坏")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        # 20 MB of paragraphs or rows: under the part's size limit, over its tags
        ("dense.docx", lambda: docx_bomb(30 * MIB, padding=0, text="a")),
        ("dense.xlsx", lambda: xlsx_bomb(20 * MIB, padding=0)),
    ],
)
def test_dense_xml_under_the_size_limit(workdir, name, make):
    refused_within_bounds(workdir, name, make(), "XML 标记", "上限")


def _header_row() -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{t}</t></is></c>' for i, t in enumerate(HEADER)
    )
    return f'<row r="1">{cells}</row>'


def _sheet(rows: str, **around: str) -> bytes:
    return package(office_parts("xlsx", {SHEET: sheet_xml(_header_row() + rows, **around)}))


def _wide_rows(count: int) -> str:
    return "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="ZZZ{r}"><v>1</v></c></row>'
        for r in range(2, count + 2)
    )


def _document(rows: str) -> bytes:
    header = "".join(f"<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>" for t in HEADER)
    body = f"<w:tbl><w:tr>{header}</w:tr>{rows}</w:tbl>"
    return package(office_parts("docx", {DOCUMENT: document_xml(body)}))


TINY = {
    # a cell on row 999,999,999: openpyxl lays out every row before it
    "far-row.xlsx": lambda: _sheet('<row r="999999999"><c r="A999999999"><v>1</v></c></row>'),
    # a cell in column ZZZ of each row: every column before it is laid out
    "wide.xlsx": lambda: _sheet(_wide_rows(300)),
    # one merged area over 2,000 rows and 18,278 columns
    "merged.xlsx": lambda: _sheet(
        '<row r="2000"><c r="A2000"><v>1</v></c></row>',
        after='<mergeCells count="1"><mergeCell ref="A2:ZZZ2000"/></mergeCells>',
    ),
    # every column hidden, and a row at Excel's last: 16,384 columns looked at in a million rows
    "hidden.xlsx": lambda: _sheet(
        '<row r="1048576"><c r="A1048576"><v>1</v></c></row>',
        before='<cols><col min="1" max="16384" hidden="1"/></cols>',
    ),
    # a cell spanning a billion grid columns, and a row starting a billion columns in
    "span.docx": lambda: _document(
        '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="1000000000"/></w:tcPr><w:p/></w:tc></w:tr>'
    ),
    "before.docx": lambda: _document(
        '<w:tr><w:trPr><w:gridBefore w:val="1000000000"/></w:trPr><w:tc><w:p/></w:tc></w:tr>'
    ),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_tiny_file_that_lays_out_a_huge_table(workdir, name):
    data = TINY[name]()
    assert len(data) < 64 * 1024
    refused_within_bounds(workdir, name, data)


def test_a_50_mb_text_table(workdir):
    row = "\t1\t建立联络机制\t市司法局\t2022年底前\n\n".encode()
    with (workdir / "big.txt").open("wb") as out:
        out.write("\t序号\t任务\t责任单位\t完成时限\n\n".encode())
        out.write(row * (50 * MIB // len(row)))
    refused_within_bounds(workdir, "big.txt", None, "20 MB")

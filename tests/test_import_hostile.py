"""Broken and hostile .docx/.xlsx files: each a one-line user error (exit 2) naming the file,
nothing written; and the Word table reader, which lays out merged cells itself, agreeing with
python-docx on the tables it can read."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.table import Table
from hypothesis import given, settings
from hypothesis import strategies as st
from support.bombs import (
    DOCUMENT,
    HEADER,
    MIB,
    SHEET,
    Part,
    W,
    document_xml,
    inflating,
    office_parts,
    package,
    part,
    real_member,
    sheet_xml,
)
from support.refusal import refuser

from engine.importers.build import import_plan
from engine.importers.docx import _grid, paragraph_text
from engine.importers.limits import MAX_PACKAGE_PARTS, Budget


@pytest.fixture
def refuse(duban, workdir):
    return refuser(duban, workdir)


def write(workdir, name: str, kind: str, replace: dict[str, Part | None]) -> str:
    (workdir / name).write_bytes(package(office_parts(kind, replace)))
    return name


TABLE = "".join(f"<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>" for t in HEADER)


@pytest.mark.parametrize(
    ("name", "xml"),
    [
        ("x.docx", b"<x/>"),  # was AttributeError, exit 1
        ("no-body.docx", b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
                         b'wordprocessingml/2006/main"/>'),
        ("cut.docx", b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
                     b'wordprocessingml/2006/main"><w:body><w:tbl><w:tr>'),
        ("nothing.docx", b""),
    ],
)  # fmt: skip
def test_a_document_part_that_is_no_word_document(refuse, workdir, name, xml):
    write(workdir, name, "docx", {DOCUMENT: part(DOCUMENT, xml)})
    refuse(name, name, "损坏")


def test_a_docx_without_its_document_part(refuse, workdir):
    write(workdir, "gone.docx", "docx", {DOCUMENT: None})
    refuse("gone.docx", "gone.docx", "损坏")


def test_a_text_file_named_docx(refuse, workdir):
    (workdir / "table.docx").write_text("任务\t责任单位\n建立机制\t市司法局\n", encoding="utf-8")
    refuse("table.docx", "table.docx", "损坏")


@pytest.mark.parametrize("cut", [100, 1_000, 5_000, -22])
def test_a_truncated_docx(refuse, workdir, cut):
    whole = package(office_parts("docx"))
    (workdir / "cut.docx").write_bytes(whole[:cut])
    refuse("cut.docx", "cut.docx", "损坏")


@pytest.mark.parametrize(
    ("name", "replace", "expected"),
    [
        ("no-sheets.xlsx", {"xl/workbook.xml": part("xl/workbook.xml", (
            b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheets/></workbook>"))}, "没有可读取的工作表"),
        ("sheet-gone.xlsx", {SHEET: None}, "没有可读取的工作表"),
        ("book-x.xlsx", {"xl/workbook.xml": part("xl/workbook.xml", b"<x/>")}, "工作表"),
        ("sheet-cut.xlsx", {SHEET: part(SHEET, b"<worksheet><sheetData><row>")}, "损坏"),
        ("sheet-junk.xlsx", {SHEET: part(SHEET, b"\x00\x01junk")}, "损坏"),
        ("styles-cut.xlsx", {"xl/styles.xml": part("xl/styles.xml", b"<styleSheet")}, "损坏"),
    ],
)  # fmt: skip
def test_a_damaged_workbook(refuse, workdir, name, replace, expected):
    write(workdir, name, "xlsx", replace)
    refuse(name, name, expected)


def test_a_row_beyond_excel_s_last(refuse, workdir):
    rows = '<row r="1"><c r="A1" t="inlineStr"><is><t>任务</t></is></c></row>'
    rows += '<row r="1048577"><c r="A1048577"><v>1</v></c></row>'
    write(workdir, "far.xlsx", "xlsx", {SHEET: sheet_xml(rows)})
    refuse("far.xlsx", "far.xlsx", "1,048,576")


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_a_package_of_too_many_parts(refuse, workdir, kind):
    extra = {f"customXml/item{i}.xml": part(f"customXml/item{i}.xml", b"<a/>") for i in range(1001)}
    name = write(workdir, f"many.{kind}", kind, extra)  # type: ignore[arg-type]
    refuse(name, name, "个部件", f"{MAX_PACKAGE_PARTS:,} 个")


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_parts_inflating_to_more_than_64_mb_together(refuse, workdir, kind):
    parts = {
        f"media/blob{i}.bin": inflating(f"media/blob{i}.bin", b"", b"\0" * MIB, 30 * MIB, b"")
        for i in range(3)
    }
    name = write(workdir, f"blobs.{kind}", kind, parts)  # type: ignore[arg-type]
    refuse(name, name, "64 MB")


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_a_part_whose_data_does_not_match_its_crc(refuse, workdir, kind):
    name = DOCUMENT if kind == "docx" else SHEET
    good = part(name, real_member(kind, name))
    bad = Part(good.name, good.data, good.crc ^ 1, good.size)
    write(workdir, f"crc.{kind}", kind, {name: bad})
    refuse(f"crc.{kind}", f"crc.{kind}", "损坏")


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_a_part_compressed_by_an_unknown_method(refuse, workdir, kind):
    name = DOCUMENT if kind == "docx" else SHEET
    good = part(name, real_member(kind, name))
    write(workdir, f"method.{kind}", kind, {name: Part(name, good.data, good.crc, good.size, 99)})
    refuse(f"method.{kind}", f"method.{kind}", "损坏")


def test_a_docx_continuing_a_merge_with_nothing_above(refuse, workdir):
    rows = "<w:tr><w:tc><w:p/></w:tc><w:tc><w:tcPr><w:gridSpan w:val='3'/></w:tcPr><w:p/></w:tc>"
    rows += "</w:tr><w:tr><w:tc><w:p/></w:tc><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>"
    rows += "<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc></w:tr>"
    body = f"<w:tbl><w:tr>{TABLE}</w:tr>{rows}</w:tbl>"
    write(workdir, "merge.docx", "docx", {DOCUMENT: document_xml(body)})
    refuse("merge.docx", "merge.docx", "合并单元格")


@pytest.mark.parametrize("span", ["x", "99999999999999999999999", ""])
def test_a_docx_span_that_is_no_number(refuse, workdir, span):
    rows = f"<w:tr><w:tc><w:tcPr><w:gridSpan w:val='{span}'/></w:tcPr><w:p/></w:tc></w:tr>"
    body = f"<w:tbl><w:tr>{TABLE}</w:tr>{rows}</w:tbl>"
    write(workdir, "span.docx", "docx", {DOCUMENT: document_xml(body)})
    refuse("span.docx", "span.docx")


def test_a_long_vertical_merge_is_read(tmp_path):
    """python-docx finds the top of a vertical merge by recursion, row by row: 1,500 rows of one
    项目 cell failed (RecursionError), and the walk was quadratic."""
    cells = "<w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>"
    header = "".join(cells.format(t) for t in ["项目", "序号", "任务", "责任单位"])
    first = "<w:tc><w:tcPr><w:vMerge w:val='restart'/></w:tcPr><w:p><w:r><w:t>一、法治</w:t>"
    first += "</w:r></w:p></w:tc>"
    more = "<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>"
    rows = "".join(
        "<w:tr>"
        + (first if n == 1 else more)
        + "".join(cells.format(t) for t in [n, f"任务{n}", "市司法局"])
        + "</w:tr>"
        for n in range(1, 1_501)
    )
    body = f"<w:tbl><w:tr>{header}</w:tr>{rows}</w:tbl>"
    source = tmp_path / "long.docx"
    source.write_bytes(package(office_parts("docx", {DOCUMENT: document_xml(body)})))
    plan = import_plan(source, coordinator="市司法局")
    assert len(plan.tasks) == 1_500
    assert {t.section for t in plan.tasks} == {"一"}


# --- the Word table reader against python-docx's own layout ------------------------------------

MERGES = st.sampled_from(["", "", "", "restart", "continue"])


@st.composite
def word_tables(draw):
    """Tables as Word may write them: cells spanning columns, merged down, rows starting late
    or ending early, text with tabs and breaks."""
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        before = draw(st.integers(0, 2))
        after = draw(st.integers(0, 2))
        pr = f"<w:trPr><w:gridBefore w:val='{before}'/><w:gridAfter w:val='{after}'/></w:trPr>"
        cells = []
        for _ in range(draw(st.integers(1, 4))):
            span = draw(st.integers(1, 3))
            merge = draw(MERGES)
            props = f"<w:gridSpan w:val='{span}'/>" if span > 1 else ""
            if merge:
                props += "<w:vMerge/>" if merge == "continue" else "<w:vMerge w:val='restart'/>"
            text = draw(st.sampled_from(["", "甲", "乙 丙", "a<w:tab/>b", "1<w:br/>2"]))
            runs = "".join(f"<w:r><w:t>{t}</w:t></w:r>" for t in text.split("<w:tab/>"))
            if "<w:br/>" in text:
                runs = "<w:r><w:t>1</w:t><w:br/><w:t>2</w:t></w:r>"
            link = (
                "<w:hyperlink><w:r><w:t>链</w:t></w:r></w:hyperlink>" if draw(st.booleans()) else ""
            )
            paragraphs = f"<w:p>{runs}{link}</w:p>" * draw(st.integers(1, 2))
            cells.append(f"<w:tc><w:tcPr>{props}</w:tcPr>{paragraphs}</w:tc>")
        rows.append(f"<w:tr>{pr}{''.join(cells)}</w:tr>")
    return f"<w:tbl>{''.join(rows)}</w:tbl>"


def python_docx_layout(table) -> list[list[tuple[str, tuple[int, int]]]]:
    """The grid as engine/importers/docx.py read it through python-docx's `_Row.cells`."""
    origins: dict = {}
    out = []
    for r, row in enumerate(table.rows):
        cells = [(None, (r, c)) for c in range(row.grid_cols_before)]
        for cell in row.cells:
            origin = origins.setdefault(cell._tc, (r, len(cells)))
            cells.append((cell.text.strip(), origin))
        for _ in range(row.grid_cols_after):
            cells.append((None, (r, len(cells))))
        out.append(cells)
    return out


@settings(max_examples=150, deadline=None)
@given(word_tables())
def test_the_word_table_reader_lays_out_cells_as_python_docx(body):
    document = parse_xml(f"<w:document {W}><w:body>{body}</w:body></w:document>")
    table = Table(document.body.tbl_lst[0], None)
    try:
        expected = python_docx_layout(table)
    except (ValueError, RecursionError):
        with pytest.raises(ValueError):
            _grid(table._tbl, "", [], Budget(Path("t.docx")))
        return
    grid = _grid(table._tbl, "", [], Budget(Path("t.docx")))
    assert [[(c.value, c.origin) for c in row.cells] for row in grid.rows] == expected
    for p in table._tbl.iter(docx.oxml.ns.qn("w:p")):
        assert paragraph_text(p) == p.text


def test_zip_writer_of_the_tests_makes_real_packages():
    with zipfile.ZipFile(io.BytesIO(package(office_parts("docx")))) as archive:
        assert archive.testzip() is None
        assert archive.read(DOCUMENT) == real_member("docx", DOCUMENT)

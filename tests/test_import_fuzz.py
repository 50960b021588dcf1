"""Fuzzing `duban import`: the seed table as text, Word and Excel, mutated (lines added, dropped
and garbled; bytes flipped in the package and in its XML; packages cut short; document.xml and
sheet1.xml replaced by random XML of Word's and Excel's own elements), each run through the
command in-process. Whatever the input, the import either writes a plan file that reads back, or
is refused as a user's mistake: exit 2, one line naming the file, no traceback, nothing written.
Never an internal error (exit 1)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.bombs import DOCUMENT, SHEET, package, part
from support.tables import SEED, seed_spec, write_table

from engine.cli.main import main
from engine.planfile import read_plan

# 60 examples a test on CI; DUBAN_FUZZ_EXAMPLES=5000 for a long run on one's own machine.
FUZZ = settings(
    max_examples=int(os.environ.get("DUBAN_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@cache
def seed_file(suffix: str) -> bytes:
    """The seed table, in Word's text layout, as .docx or as .xlsx."""
    if suffix == ".txt":
        return SEED.read_bytes()
    with tempfile.TemporaryDirectory(prefix="duban-fuzz-seed-") as folder:
        return write_table(seed_spec(), Path(folder) / f"seed{suffix}").read_bytes()


@cache
def seed_parts(suffix: str) -> tuple[tuple[str, bytes], ...]:
    with zipfile.ZipFile(io.BytesIO(seed_file(suffix))) as archive:
        return tuple((i.filename, archive.read(i.filename)) for i in archive.infolist())


def repack(suffix: str, name: str, data: bytes) -> bytes:
    """The seed package with part `name` holding `data`."""
    return package(part(n, data if n == name else d) for n, d in seed_parts(suffix))


def check_import(data: bytes, suffix: str) -> None:
    """Import `data` as a file: a plan that reads back, or one clear line and exit 2."""
    # each example's folder is removed afterwards: a run of thousands must not fill /tmp
    with tempfile.TemporaryDirectory(prefix="duban-fuzz-") as folder:
        _check_import(data, Path(folder) / f"表{suffix}", Path(folder) / "plan.yaml")


def _check_import(data: bytes, source: Path, target: Path) -> None:
    source.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["import", str(source), "-o", str(target), "--coordinator", "市司法局"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    message = err.getvalue()
    if code == 0:
        plan = read_plan(target)
        assert plan.tasks, message
        return
    assert code == 2, message  # 1 is an internal error: a crash the importer let through
    assert message.count("\n") == 1 and "Traceback" not in message, message
    assert source.name in message, message
    assert not target.exists()


# --- text --------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    ["\t", "\t\t", "", " ", "\u3000", "项目", "任务", "具体内容", "责任部门", "完成时限",
     "推进情况", "序号", "一、", "（一）", "1", "18", "市司法局", "、", "（牵头）", "牵头单位：",
     "2021年6月30日前", "2023年底前", "每月25日前", "长期推进", "注：", "合计", "（", "）",
     "\r", "\x0b", "\u2028", "\x00", "\ufeff"]
)  # fmt: skip
LINE = st.one_of(st.lists(FRAGMENTS, max_size=8).map("".join), st.text(max_size=20))


@st.composite
def mutated_lines(draw) -> str:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for _ in range(draw(st.integers(1, 12))):
        at = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["insert", "drop", "replace", "repeat", "cut", "tab"]))
        if action == "insert":
            lines.insert(at, draw(LINE))
        elif lines and at < len(lines):
            if action == "drop":
                del lines[at]
            elif action == "replace":
                lines[at] = draw(LINE)
            elif action == "repeat":
                lines[at:at] = lines[at : at + draw(st.integers(1, 30))]
            elif action == "cut":
                del lines[at:]
            else:
                line = lines[at]
                where = draw(st.integers(0, len(line)))
                lines[at] = (
                    line[:where] + draw(st.sampled_from(["\t", "", "\n", "（"])) + line[where:]
                )
    return "\n".join(lines)


@FUZZ
@given(mutated_lines(), st.sampled_from(["utf-8", "gb18030", "utf-16"]))
def test_text_tables_with_lines_changed(text, encoding):
    check_import(text.encode(encoding, errors="replace"), ".txt")


@FUZZ
@given(st.binary(max_size=2_000))
def test_text_of_any_bytes(data):
    check_import(data, ".txt")


# --- the packages, bytes -------------------------------------------------------------------------

FLIPS = st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), min_size=1, max_size=16)


def flipped(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for at, value in flips:
        out[at % len(out)] = value
    return bytes(out)


@FUZZ
@given(st.sampled_from([".docx", ".xlsx"]), FLIPS)
def test_packages_with_bytes_flipped(suffix, flips):
    check_import(flipped(seed_file(suffix), flips), suffix)


@FUZZ
@given(st.sampled_from([".docx", ".xlsx"]), st.floats(0, 1, exclude_max=True))
def test_packages_cut_short(suffix, fraction):
    data = seed_file(suffix)
    check_import(data[: int(len(data) * fraction)], suffix)


def _part_names(suffix: str) -> list[str]:
    return [n for n, _ in seed_parts(suffix) if n.endswith((".xml", ".rels"))]


@FUZZ
@given(st.sampled_from([".docx", ".xlsx"]), st.data())
def test_parts_with_bytes_flipped(suffix, data):
    """Flips in the XML itself (the package stays sound): what the parsers and readers see."""
    name = data.draw(st.sampled_from(_part_names(suffix)))
    xml = dict(seed_parts(suffix))[name]
    check_import(repack(suffix, name, flipped(xml, data.draw(FLIPS))), suffix)


# --- the parts, structure ------------------------------------------------------------------------

VALUES = st.one_of(
    st.sampled_from(
        ["0", "1", "2", "3", "-1", "1000000000", "99999999999999999999", "", "x", "1.5",
         "restart", "continue", "true", "false", "textWrapping", "page", "A1", "B2:C3",
         "A1:ZZZ9", "XFD1048576", "A0", "AAAA1", "inlineStr", "s", "str", "b", "e", "n", "d",
         "2021-06-30", "44742", "31", "57", "164"]
    ),
    st.text(max_size=6),
)  # fmt: skip


def _tree(tags: list[str], attributes: list[str]) -> st.SearchStrategy[str]:
    element = st.tuples(
        st.sampled_from(tags),
        st.dictionaries(st.sampled_from(attributes), VALUES, max_size=3),
    )
    leaf = st.one_of(
        st.text(max_size=8).map(escape),
        element.map(lambda e: f"<{e[0]}{_attrs(e[1])}/>"),
    )
    return st.recursive(
        leaf,
        lambda inner: st.tuples(element, st.lists(inner, max_size=5)).map(
            lambda t: f"<{t[0][0]}{_attrs(t[0][1])}>{''.join(t[1])}</{t[0][0]}>"
        ),
        max_leaves=40,
    )


def _attrs(attributes: dict[str, str]) -> str:
    return "".join(f" {k}={quoteattr(v)}" for k, v in attributes.items())


WORD_TAGS = ["w:tbl", "w:tr", "w:tc", "w:tcPr", "w:gridSpan", "w:vMerge", "w:trPr", "w:gridBefore",
             "w:gridAfter", "w:p", "w:r", "w:t", "w:tab", "w:br", "w:cr", "w:ptab",
             "w:noBreakHyphen", "w:hyperlink", "w:tblGrid", "w:gridCol", "w:sdt", "w:sdtContent",
             "w:pPr", "w:rPr", "w:sectPr", "w:body", "x"]  # fmt: skip
WORD_ATTRIBUTES = ["w:val", "w:type", "w:w", "w:id"]
SHEET_TAGS = ["row", "c", "v", "is", "t", "f", "r", "mergeCells", "mergeCell", "cols", "col",
              "dimension", "sheetData", "sheetPr", "sheetFormatPr", "x"]  # fmt: skip
SHEET_ATTRIBUTES = ["r", "t", "s", "ref", "min", "max", "hidden", "count", "spans", "ht"]
WORD = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CELLS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


@FUZZ
@given(st.lists(_tree(WORD_TAGS, WORD_ATTRIBUTES), max_size=6), st.booleans())
def test_document_xml_of_random_word_elements(body, with_table):
    table = dict(seed_parts(".docx"))[DOCUMENT]
    start = table.find(b"<w:tbl>")
    seed_table = table[start : table.rfind(b"</w:tbl>") + 8].decode() if with_table else ""
    xml = f"<w:document {WORD}><w:body>{seed_table}{''.join(body)}</w:body></w:document>"
    check_import(repack(".docx", DOCUMENT, xml.encode()), ".docx")


@FUZZ
@given(
    st.lists(_tree(SHEET_TAGS, SHEET_ATTRIBUTES), max_size=6),
    st.lists(_tree(SHEET_TAGS, SHEET_ATTRIBUTES), max_size=3),
)
def test_sheet_xml_of_random_cells(rows, after):
    seed = dict(seed_parts(".xlsx"))[SHEET].decode()
    data = seed[seed.find("<sheetData>") + 11 : seed.find("</sheetData>")]
    xml = f"<worksheet {CELLS}><sheetData>{data}{''.join(rows)}</sheetData>"
    xml += f"{''.join(after)}</worksheet>"
    check_import(repack(".xlsx", SHEET, xml.encode()), ".xlsx")


@st.composite
def attribute_changes(draw, suffix: str) -> bytes:
    """The seed's own XML with attribute values replaced: spans, merges, refs, types, styles."""
    name = DOCUMENT if suffix == ".docx" else SHEET
    xml = dict(seed_parts(suffix))[name]
    pieces = xml.split(b'="')
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(1, len(pieces) - 1))
        rest = pieces[at].split(b'"', 1)
        value = escape(draw(VALUES), {'"': "&quot;"}).encode()
        pieces[at] = value + b'"' + (rest[1] if len(rest) > 1 else b"")
    return repack(suffix, name, b'="'.join(pieces))


@FUZZ
@given(
    st.sampled_from([".docx", ".xlsx"]).flatmap(
        lambda s: st.tuples(st.just(s), attribute_changes(s))
    )
)
def test_seed_parts_with_attribute_values_changed(changed):
    suffix, data = changed
    check_import(data, suffix)

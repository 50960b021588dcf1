"""A PDF whose Chinese text is in a font the file does not embed. PDFium needs a Chinese font of
the machine's to lay such text out and loses characters without one; so on a machine without
one (fontconfig knows none) those pages are read by pdfminer, and come out as PDFium reads them
with the font: the same paragraphs, tables and notes for every kind of page the PDF tests make.
When pdfminer cannot read such a page either, a note names the pages and the font. With a
Chinese font installed (scripts/fonts.sh), PDFium reads every page. `doctor` notes the missing
font too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from support.pdfs import write_prose_pdf, write_table_pdf, write_table_pieces_pdf
from support.tables import TableSpec, seed_spec
from test_import_pdf import FIRST_HALF, LAYOUTS, PIECE_HEADER, PROSE, SECOND_HALF, TASK_1

from engine.importers import pdf
from engine.importers.fonts import chinese_font_installed
from engine.planfile import read_plan

# The seed's columns on landscape A4 (as tests/test_import_pdf.py lays them out).
WIDTHS = [80.0, 22.0, 100.0, 345.0, 113.0, 51.0, 45.0]
NOTE = "页的中文使用了未嵌入文件的字体（STSong-Light），本机没有可替代的中文字体"
BROKEN = [2, "整合法律服务资源", FIRST_HALF, "市司法局、", "2022年6月"]
REST = ["", "", SECOND_HALF, "市财政局", "底前"]


def _import(source: Path, target: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "import", str(source), "-o", str(target),
         "--coordinator", "市司法局"],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=target.parent,
    )  # fmt: skip


def _no_fonts(folder: Path) -> dict[str, str]:
    """fontconfig set up to know no font at all (an empty folder), as on a bare server."""
    (folder / "no-fonts").mkdir()
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <dir>{folder / 'no-fonts'}</dir>\n  <cachedir>{folder / 'cache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return {"FONTCONFIG_FILE": str(config)}


def _documents(folder: Path) -> dict[str, Path]:
    """A PDF of each kind the PDF tests make, all in reportlab's STSong-Light (not embedded)."""
    spec = seed_spec()
    made = {
        "the seed as a ruled table": write_table_pdf(
            spec, folder / "seed.pdf", column_widths=WIDTHS, font_size=7
        ),
        "a row broken across pages": write_table_pieces_pdf(
            [TableSpec(PIECE_HEADER, [TASK_1, BROKEN]), TableSpec(PIECE_HEADER, [REST])],
            folder / "pieces.pdf",
        ),
    }
    for name, layout in LAYOUTS.items():
        made[f"prose, {name}"] = write_prose_pdf(
            PROSE * 3, folder / f"prose-{len(made)}.pdf", layout
        )
    made["prose, cropped"] = _cropped(made["prose, rotated page"], folder / "cropped.pdf")
    return made


def _cropped(source: Path, target: Path) -> Path:
    """`source` with each page's crop box inside its media box, off its corner (PDFium shows the
    crop box; pdfminer works from the media box)."""
    document = pdfium.PdfDocument(str(source))
    for page in document:
        left, bottom, right, top = page.get_mediabox()
        page.set_cropbox(left + 12, bottom + 20, right - 8, top - 30)
    document.save(str(target))
    document.close()
    return target


def _reading(source: Path) -> tuple[list[Any], list[Any], list[str]]:
    """What the importer gets of `source`: its paragraphs, its grids (every cell, its origin and
    row reference) and its notes."""
    document = pdf.document(source)
    return list(document.paragraphs), list(document.grids), list(document.notes)


@pytest.fixture
def no_chinese_font(monkeypatch):
    """This process believes the machine has no Chinese font (fontconfig knows none)."""
    monkeypatch.setattr(pdf, "chinese_font_installed", lambda: False)


def test_without_a_chinese_font_pdfminer_reads_those_pages_as_pdfium_reads_them(
    tmp_path, monkeypatch
):
    assert chinese_font_installed(), "scripts/fonts.sh installs one"
    documents = _documents(tmp_path)
    assert len(documents) >= 6
    with_font = {name: _reading(path) for name, path in documents.items()}
    monkeypatch.setattr(pdf, "chinese_font_installed", lambda: False)
    for name, path in documents.items():
        pages = pdf._pages(path, [])
        assert pages and all(page.mined for page in pages), name  # pdfminer read each page
        assert _reading(path) == with_font[name], name
        assert not [n for n in with_font[name][2] if "未嵌入" in n], name


def test_a_page_pdfminer_cannot_read_keeps_pdfiums_characters_and_is_named(
    tmp_path, no_chinese_font, monkeypatch
):
    monkeypatch.setattr(pdf._Miner, "chars", lambda self, index, view: None)
    source = write_table_pdf(seed_spec(), tmp_path / "plan.pdf", column_widths=WIDTHS, font_size=7)
    notes = [n for n in pdf.document(source).notes if NOTE in n]
    assert len(notes) == 1, notes
    assert notes[0].startswith("第 1–") and "fonts-noto-cjk" in notes[0]


def test_a_machine_without_a_chinese_font_imports_the_seed_pdf_whole(tmp_path):
    # as a person runs it, fontconfig set up to know no font: the pages go to pdfminer
    source = write_table_pdf(seed_spec(), tmp_path / "plan.pdf", column_widths=WIDTHS, font_size=7)
    done = _import(source, tmp_path / "bare.yaml", _no_fonts(tmp_path))
    assert done.returncode == 0, done.stderr
    bare = read_plan(tmp_path / "bare.yaml")
    assert not [w for w in bare.warnings if "未嵌入" in w.message], bare.warnings
    assert _import(source, tmp_path / "fonts.yaml", {}).returncode == 0
    assert bare.tasks == read_plan(tmp_path / "fonts.yaml").tasks
    assert len(bare.tasks) == 18


def test_with_a_chinese_font_there_is_no_such_note(tmp_path):
    assert chinese_font_installed(), "scripts/fonts.sh installs one"
    source = write_table_pdf(seed_spec(), tmp_path / "plan.pdf", column_widths=WIDTHS, font_size=7)
    done = _import(source, tmp_path / "plan.yaml", {})
    assert done.returncode == 0, done.stderr
    warnings = [w.message for w in read_plan(tmp_path / "plan.yaml").warnings]
    assert not [w for w in warnings if "未嵌入" in w], warnings
    assert len(read_plan(tmp_path / "plan.yaml").tasks) == 18


def _doctor_notes(folder: Path, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "--db", f"sqlite:///{folder / 'duban.db'}", "doctor",
         "--json"],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=folder,
    )  # fmt: skip
    return json.loads(done.stdout)["notes"]


def test_doctor_notes_a_machine_without_a_chinese_font(tmp_path):
    fonts = [n for n in _doctor_notes(tmp_path, _no_fonts(tmp_path)) if "中文的字体" in n]
    assert fonts == [
        "本机没有覆盖中文的字体：未嵌入字体的 PDF 页面将改用较慢的方式读取，"
        "建议安装中文字体（如 apt install fonts-noto-cjk）"
    ]
    assert not [n for n in _doctor_notes(tmp_path, {}) if "中文的字体" in n]


def test_the_font_is_named_with_printable_characters_only(tmp_path, no_chinese_font, monkeypatch):
    # The name is the file's own bytes: a control character in it (here a BEL, as #07 in the
    # PDF name, the same length so that the file's offsets hold) is left out of the warning.
    monkeypatch.setattr(pdf._Miner, "chars", lambda self, index, view: None)
    source = write_table_pdf(seed_spec(), tmp_path / "plan.pdf", column_widths=WIDTHS, font_size=7)
    data = source.read_bytes()
    assert b"/STSong-Light" in data
    source.write_bytes(data.replace(b"/STSong-Light", b"/STSong#07Lit"))
    notes = pdf.document(source).notes
    assert [n for n in notes if "未嵌入文件的字体（STSongLit）" in n], notes
    assert not [n for n in notes if "\x07" in n]

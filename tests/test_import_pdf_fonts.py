"""A PDF whose Chinese text is in a font the file does not embed: imported with a note that names
the pages and the font when the machine has no Chinese font to lay it out with, since PDFium then
loses characters; with one installed (scripts/fonts.sh), no such note. `doctor` notes the missing
font too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.pdfs import write_table_pdf
from support.tables import seed_spec

from engine.importers.fonts import chinese_font_installed
from engine.planfile import read_plan

# The seed's columns on landscape A4 (as tests/test_import_pdf.py lays them out).
WIDTHS = [80.0, 22.0, 100.0, 345.0, 113.0, 51.0, 45.0]
NOTE = "页的中文使用了未嵌入文件的字体（STSong-Light），本机没有可替代的中文字体"


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


def test_a_machine_without_a_chinese_font_is_named_in_a_note(tmp_path):
    source = write_table_pdf(seed_spec(), tmp_path / "plan.pdf", column_widths=WIDTHS, font_size=7)
    done = _import(source, tmp_path / "plan.yaml", _no_fonts(tmp_path))
    assert done.returncode == 0, done.stderr
    warnings = [w.message for w in read_plan(tmp_path / "plan.yaml").warnings]
    notes = [w for w in warnings if NOTE in w]
    assert len(notes) == 1, warnings
    assert notes[0].startswith("第 1–") and "fonts-noto-cjk" in notes[0]
    assert NOTE in done.stderr  # and the person importing is told at once


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
        "本机没有覆盖中文的字体：导入未嵌入字体的 PDF 时个别文字可能缺失，"
        "请安装中文字体（如 apt install fonts-noto-cjk）"
    ]
    assert not [n for n in _doctor_notes(tmp_path, {}) if "中文的字体" in n]


def test_the_font_is_named_with_printable_characters_only(tmp_path):
    # The name is the file's own bytes: a control character in it (here a BEL, as #07 in the
    # PDF name, the same length so that the file's offsets hold) is left out of the warning.
    source = write_table_pdf(seed_spec(), tmp_path / "plan.pdf", column_widths=WIDTHS, font_size=7)
    data = source.read_bytes()
    assert b"/STSong-Light" in data
    source.write_bytes(data.replace(b"/STSong-Light", b"/STSong#07Lit"))
    done = _import(source, tmp_path / "plan.yaml", _no_fonts(tmp_path))
    assert done.returncode == 0, done.stderr
    warnings = [w.message for w in read_plan(tmp_path / "plan.yaml").warnings]
    assert [w for w in warnings if "未嵌入文件的字体（STSongLit）" in w], warnings
    assert not [w for w in warnings if "\x07" in w]

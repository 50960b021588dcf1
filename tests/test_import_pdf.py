"""PDF plans: a ruled table over pages gives the plan its Word text gives; running text comes back
as its paragraphs; a scan, a password and a damaged file are each refused with one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from conftest import SEED
from support.pdfs import (
    ProseLayout,
    write_encrypted_pdf,
    write_inflating_pdf,
    write_prose_pdf,
    write_scanned_pdf,
    write_table_pdf,
    write_table_pieces_pdf,
)
from support.refusal import refuser
from support.tables import TableSpec, seed_spec, write_table

from engine.errors import UserError
from engine.importers import pdf, pdfbounds
from engine.importers.build import import_plan
from engine.importers.fonts import chinese_font_installed
from engine.importers.table import read_table
from engine.planfile import read_plan


@pytest.fixture(autouse=True)
def chinese_font():
    """The test PDFs do not embed their font: PDFium lays them out with one of the machine's, and
    loses characters without a Chinese one (scripts/fonts.sh installs it; CI must have it)."""
    if not chinese_font_installed():
        why = "no font covering Chinese on this machine (scripts/fonts.sh installs one)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}; on CI the PDF tests must run")
        pytest.skip(why)


# The seed's columns on landscape A4, narrow enough that each section fits one page.
SEED_WIDTHS = [80.0, 22.0, 100.0, 345.0, 113.0, 51.0, 45.0]


@pytest.fixture
def refuse(duban, workdir):
    return refuser(duban, workdir)


def page_texts(path: Path) -> list[str]:
    """Each page's text as PDFium reads it, for checking what a test file really holds."""
    document = pdfium.PdfDocument(str(path))
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def seed_pdf(folder: Path) -> Path:
    return write_table_pdf(
        seed_spec(), folder / "zhuhai.pdf", column_widths=SEED_WIDTHS, font_size=7
    )


# --- tables ---------------------------------------------------------------------------------


def test_the_seed_as_a_ruled_pdf_table_imports_as_its_text_does(duban, workdir):
    source = seed_pdf(workdir)
    assert len(page_texts(source)) >= 3  # the table really runs over pages
    result = duban("import", str(source), "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    plan = read_plan(workdir / "plan.yaml")
    text = import_plan(SEED, coordinator="市司法局")
    assert [t.no for t in plan.tasks] == list(range(1, 19))
    assert [(t.no, t.section, t.title, t.lead, t.co_units, t.units_text) for t in plan.tasks] == [
        (t.no, t.section, t.title, t.lead, t.co_units, t.units_text) for t in text.tasks
    ]
    assert [(t.deadline.kind, t.deadline.due, t.deadline.text) for t in plan.tasks] == [
        (t.deadline.kind, t.deadline.due, t.deadline.text) for t in text.tasks
    ]
    # Wrapped cell lines are joined back: the long 具体内容 cells read as written.
    assert [t.content for t in plan.tasks] == [t.content for t in text.tasks]
    assert plan.sections == text.sections
    assert plan.title == text.title
    assert plan.columns == text.columns


def test_pages_drawn_as_scaled_forms_read_as_the_pages_themselves(tmp_path):
    # Some producers (imposition, "print to PDF" of a PDF) place each page as a form XObject
    # under a transformation: the ruling lines then sit inside the form, in its coordinates.
    source = pdfium.PdfDocument(str(seed_pdf(tmp_path)))
    wrapped = pdfium.PdfDocument.new()
    for index in range(len(source)):
        width, height = source[index].get_size()
        form = source.page_as_xobject(index, wrapped).as_pageobject()
        form.transform(pdfium.PdfMatrix().scale(0.9, 0.9).translate(20, 30))
        page = wrapped.new_page(width, height)
        page.insert_obj(form)
        page.gen_content()
    wrapped.save(str(tmp_path / "wrapped.pdf"))
    wrapped.close()
    source.close()
    plan = import_plan(tmp_path / "wrapped.pdf", coordinator="市司法局")
    text = import_plan(SEED, coordinator="市司法局")
    assert [(t.no, t.title, t.lead, t.co_units, t.deadline) for t in plan.tasks] == [
        (t.no, t.title, t.lead, t.co_units, t.deadline) for t in text.tasks
    ]


def test_merged_cells_repeat_their_text_with_their_origin(tmp_path):
    grids = list(pdf.read(seed_pdf(tmp_path)))
    header, first, second = grids[0].rows[0], grids[0].rows[1], grids[0].rows[2]
    # 任务 spans the number and the title columns.
    assert header.cells[1].value == header.cells[2].value == "任 务"
    assert header.cells[1].origin == header.cells[2].origin == (0, 1)
    # 项目 is merged down over the section's tasks: each row repeats it, with one origin.
    assert first.cells[0].value == second.cells[0].value
    assert str(first.cells[0].value).startswith("一、以粤港澳大湾区最优质为目标")
    assert first.cells[0].origin == second.cells[0].origin == (1, 0)
    # Different cells keep their own origins.
    assert first.cells[1].origin != second.cells[1].origin


def test_a_table_over_pages_gives_one_grid_per_page_in_order(tmp_path):
    rows = [
        [n, f"任务{n}", "整合公共法律服务资源，" * 6, "市司法局", "2022年底前"]
        for n in range(1, 61)
    ]
    spec = TableSpec(header=["序号", "工作任务", "工作措施", "责任单位", "时间节点"], rows=rows)
    source = write_table_pdf(spec, tmp_path / "long.pdf", font_size=10)
    grids = list(pdf.read(source))
    assert len(grids) == len(page_texts(source)) > 1
    assert [g.name for g in grids] == [f"第 {n} 页的表格" for n in range(1, len(grids) + 1)]
    table = read_table(iter(grids), source)
    assert [t.no for t in table.tasks] == list(range(1, 61))
    assert table.tasks[-1].ref.startswith(f"第 {len(grids)} 页的表格第 ")


def test_a_table_over_pages_without_its_header_repeated_reads_on(tmp_path):
    rows = [
        [n, f"任务{n}", "整合公共法律服务资源，" * 6, "市司法局", "2022年底前"]
        for n in range(1, 61)
    ]
    spec = TableSpec(header=["序号", "工作任务", "工作措施", "责任单位", "时间节点"], rows=rows)
    source = write_table_pdf(spec, tmp_path / "long.pdf", font_size=10, repeat_header=False)
    assert "工作措施" not in page_texts(source)[1]
    plan = import_plan(source)
    assert [t.no for t in plan.tasks] == list(range(1, 61))
    assert all(t.lead == "市司法局" for t in plan.tasks)


PIECE_HEADER = ["序号", "工作任务", "工作措施", "责任单位", "完成时限"]
FIRST_HALF = "整合律师、公证、司法鉴定、仲裁、调解、法律援助等公共法律服务资源，"
SECOND_HALF = "在劳动争议、知识产权、环境保护等领域创新公共法律服务内容和供给模式。"
TASK_1 = [1, "推进一网通办", "整合政务服务事项。", "市政数局", "2022年底前"]


@pytest.mark.parametrize("header_on_each", [False, True], ids=["header-once", "header-repeated"])
def test_a_row_broken_across_a_page_break_is_one_task(tmp_path, header_on_each):
    broken = [2, "整合法律服务资源", FIRST_HALF, "市司法局、", "2022年6月"]
    rest = ["", "", SECOND_HALF, "市财政局", "底前"]  # the rest of task 2, over the page break
    task_3 = [3, "优化公证服务", "推行证明材料清单制度。", "市司法局", "长期"]
    pieces = [TableSpec(PIECE_HEADER, [TASK_1, broken]), TableSpec(PIECE_HEADER, [rest, task_3])]
    source = write_table_pieces_pdf(pieces, tmp_path / "broken.pdf", header_on_each=header_on_each)
    assert len(page_texts(source)) == 2
    plan = import_plan(source)
    assert [t.no for t in plan.tasks] == [1, 2, 3]
    assert plan.task(2).content == FIRST_HALF + SECOND_HALF
    assert plan.task(2).lead == "市司法局"
    assert plan.task(2).co_units == ["市财政局"]
    assert plan.task(2).deadline.due == date(2022, 6, 30)
    assert "表格在第 2 页开头的行是上一页末行跨页断开的后半部分，已与该行合并，请核对" in [
        w.message for w in plan.warnings
    ]


def test_a_numbered_row_opening_a_page_is_a_row_of_its_own(tmp_path):
    pieces = [
        TableSpec(PIECE_HEADER, [TASK_1]),
        TableSpec(PIECE_HEADER, [[2, "", SECOND_HALF, "市财政局", "2023年底前"]]),
    ]  # fmt: skip
    plan = import_plan(write_table_pieces_pdf(pieces, tmp_path / "two.pdf"))
    assert [t.no for t in plan.tasks] == [1, 2]
    assert plan.task(1).content == "整合政务服务事项。"
    assert not any("跨页断开" in w.message for w in plan.warnings)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_the_seed_saved_as_pdf_by_an_office_program_imports_as_its_text_does(tmp_path):
    # LibreOffice lays the Word table out as an office's PDF printer would: rows broken across
    # pages, the header on the first page only, its own fonts (the text kept as Unicode).
    import docx

    # Task 18 is given a unit: it may stand alone on the last page, and engine.importers.table
    # reads a piece without a header as the table continued only if its tasks name units.
    spec = seed_spec().with_cell(18, 4, "市司法局")
    document = docx.Document(str(write_table(spec, tmp_path / "zhuhai.docx")))
    for table in document.tables:
        table.style = "Table Grid"  # ruled, as plan tables are
    document.save(str(tmp_path / "ruled.docx"))
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(tmp_path / "ruled.docx")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    plan = import_plan(tmp_path / "ruled.pdf", coordinator="市司法局")
    text = import_plan(write_table(spec, tmp_path / "zhuhai.txt"), coordinator="市司法局")
    assert len(page_texts(tmp_path / "ruled.pdf")) >= 3  # rows broken over pages
    assert [(t.no, t.section, t.title, t.lead, t.co_units) for t in plan.tasks] == [
        (t.no, t.section, t.title, t.lead, t.co_units) for t in text.tasks
    ]
    assert [t.deadline for t in plan.tasks] == [t.deadline for t in text.tasks]
    assert plan.title == text.title


def test_text_beside_a_table_is_its_title_not_a_paragraph_of_the_table(tmp_path):
    spec = TableSpec(
        title_lines=["附件1", "某市优化营商环境工作任务分工表"],
        header=["序号", "工作任务", "责任单位", "完成时限"],
        rows=[[1, "推进一网通办", "市政数局", "2022年底前"], [2, "优化公证服务", "市司法局", ""]],
    )
    document = pdf.document(write_table_pdf(spec, tmp_path / "small.pdf"))
    grids = list(document.grids)
    assert grids[0].title_lines == ["附件1", "某市优化营商环境工作任务分工表"]
    assert [p.text for p in document.paragraphs] == ["附件1", "某市优化营商环境工作任务分工表"]
    assert not any("推进一网通办" in p.text or "市政数局" in p.text for p in document.paragraphs)


# --- running text ---------------------------------------------------------------------------

PROSE = [
    "某市人民政府关于加快推进公共法律服务体系建设的实施意见",
    "各区人民政府，市政府各部门、各直属机构：",
    "为贯彻落实党中央、国务院关于加快推进公共法律服务体系建设的决策部署，结合本市实际，现提出如下"
    "实施意见。",
    "一、总体要求",
    "（一）指导思想。坚持以人民为中心的发展思想，推进基本公共法律服务均衡发展，到2022年基本形成覆盖"
    "城乡、便捷高效、均等普惠的现代公共法律服务体系。",
    "（二）加强公共法律服务平台建设。推进实体平台、热线平台、网络平台融合发展，2019年6月底前实现三大"
    "平台互联互通（市司法局牵头，市财政局、市政务服务数据管理局参与）。",
    "1.完善法律援助制度。扩大法律援助覆盖面，降低法律援助门槛，将经济困难标准调整为最低生活保障标准"
    "的2倍（市司法局、市财政局负责。列第一位者为牵头单位，下同）。",
    "2.推进公证体制改革。2019年1月1日至12月31日开展公证机构体制改革试点，从2019年起每年2月底前报送"
    "上一年度改革情况（市司法局负责）。",
    "（1）健全调解组织网络。5年内实现村（社区）人民调解委员会全覆盖（各区人民政府负责）。",
    "二、保障措施",
    "加强组织领导。各区、各部门要把公共法律服务体系建设纳入重要议事日程，自本意见印发之日起30日内"
    "制定具体实施方案。加强经费保障，将基本公共法律服务经费纳入财政预算（市财政局负责）。",
    "某市人民政府",
    "2019年3月5日",
]

LAYOUTS = {
    "indented, header, — 3 —": ProseLayout(centred={0}),
    "flush, 第 3 页 共 5 页": ProseLayout(
        indent=0, header=None, page_number="第 {n} 页 共 {total} 页"
    ),
    "larger, - 3 -": ProseLayout(font_size=16, leading=28, page_number="- {n} -", centred={0}),
    "第3页": ProseLayout(header="某市司法局", page_number="第{n}页", centred={0}),
    "rotated page": ProseLayout(centred={0}, rotated=True),
}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_prose_lines_are_joined_into_their_paragraphs_across_pages(tmp_path, layout):
    paragraphs = PROSE * 4  # several pages
    source = write_prose_pdf(paragraphs, tmp_path / "prose.pdf", layout)
    pages = page_texts(source)
    assert len(pages) >= 3
    document = pdf.document(source)
    assert [p.text for p in document.paragraphs] == paragraphs
    assert not list(document.grids)
    # a paragraph really runs over a page break: some page opens in the middle of one
    openings = [
        next(ln for ln in page.splitlines() if ln.strip() and ln.strip() != layout.header)
        for page in pages[1:]
    ]
    assert not all(any(p.startswith(line.strip()) for p in paragraphs) for line in openings)
    # where each paragraph starts
    refs = [p.ref for p in document.paragraphs]
    assert refs[0] == "第 1 页"
    assert refs[-1] == f"第 {len(pages)} 页"
    assert refs == sorted(refs, key=lambda r: int(r.split()[1]))


def test_running_header_and_page_numbers_are_left_out_and_named(tmp_path):
    source = write_prose_pdf(PROSE * 4, tmp_path / "prose.pdf", ProseLayout(centred={0}))
    assert "某市人民政府文件" in page_texts(source)[2] and "— 3 —" in page_texts(source)[2]
    document = pdf.document(source)
    texts = [p.text for p in document.paragraphs]
    assert not any("某市人民政府文件" in t or "—" in t for t in texts)
    assert document.notes == ["PDF 各页的页眉或页脚“某市人民政府文件”未作为正文导入"]


def test_bold_faked_by_overprinting_reads_once(tmp_path):
    from reportlab.pdfgen import canvas

    out = canvas.Canvas(str(tmp_path / "bold.pdf"))
    out.setFont("STSong-Light", 16)
    for offset in (0, 0.4):  # WPS and some printers draw bold text twice, a little apart
        out.drawString(80 + offset, 700, "一、总体要求")
    out.setFont("STSong-Light", 14)
    out.drawString(80, 670, "人人享有公共法律服务（市司法局负责）。")
    out.save()
    document = pdf.document(tmp_path / "bold.pdf")
    assert [p.text for p in document.paragraphs] == [
        "一、总体要求",
        "人人享有公共法律服务（市司法局负责）。",
    ]


def test_a_page_without_text_among_pages_with_text_is_named(tmp_path):
    text = write_prose_pdf(PROSE * 2, tmp_path / "text.pdf", ProseLayout(centred={0}))
    scan = write_scanned_pdf(tmp_path / "scan.pdf", pages=1)
    merged = pdfium.PdfDocument.new()
    for part in (text, scan):
        source = pdfium.PdfDocument(str(part))
        merged.import_pages(source)
        source.close()
    merged.save(str(tmp_path / "mixed.pdf"))
    merged.close()
    document = pdf.document(tmp_path / "mixed.pdf")
    pages = len(page_texts(tmp_path / "mixed.pdf"))
    assert [p.text for p in document.paragraphs] == PROSE * 2
    assert f"第 {pages} 页没有文字层（可能是扫描页），其内容未能导入，请对照原件补录" in (
        document.notes
    )


# --- refused --------------------------------------------------------------------------------


def test_a_scanned_pdf_is_refused_with_what_to_do(refuse, workdir):
    write_scanned_pdf(workdir / "scan.pdf")
    refuse("scan.pdf", "scan.pdf", "没有文字层", "扫描件", "Word/WPS", "OCR")


def test_a_pdf_with_a_password_is_refused(refuse, workdir):
    write_encrypted_pdf(workdir / "locked.pdf")
    refuse("locked.pdf", "locked.pdf", "密码")


def test_a_pdf_cut_short_is_refused(refuse, workdir):
    whole = write_prose_pdf(PROSE, workdir / "whole.pdf").read_bytes()
    (workdir / "cut.pdf").write_bytes(whole[: len(whole) // 2])
    refuse("cut.pdf", "cut.pdf", "损坏")


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n" + bytes(range(256)) * 20 + b"\n%%EOF\n",
        b"<html><body>not a PDF</body></html>",
    ],
    ids=["garbage", "not-a-pdf"],
)
def test_a_damaged_pdf_is_refused(refuse, workdir, content):
    (workdir / "damaged.pdf").write_bytes(content)
    refuse("damaged.pdf", "damaged.pdf", "损坏")


def test_a_pdf_whose_objects_are_overwritten_is_refused(refuse, workdir):
    whole = write_prose_pdf(PROSE, workdir / "whole.pdf").read_bytes()
    (workdir / "broken.pdf").write_bytes(whole[:2000] + b"\x00garbage" * 500 + whole[6000:])
    refuse("broken.pdf", "broken.pdf", "损坏")


def test_more_pages_than_the_limit_are_refused(refuse, workdir, monkeypatch):
    monkeypatch.setattr(pdf, "MAX_PAGES", 2)
    write_prose_pdf(PROSE * 4, workdir / "long.pdf")
    refuse("long.pdf", "long.pdf", "页", "上限")


@pytest.mark.parametrize("ascii85", [False, True], ids=["flate", "ascii85-flate"])
def test_a_content_stream_inflating_past_the_limit_is_refused_before_it_is_laid_out(
    refuse, workdir, ascii85
):
    source = write_inflating_pdf(
        workdir / "bomb.pdf", pdfbounds.MAX_STREAM_BYTES + 1, ascii85=ascii85
    )
    assert source.stat().st_size < 100_000
    refuse("bomb.pdf", "bomb.pdf", "解压后超过 8 MB")


def test_a_content_stream_within_the_limit_is_read(tmp_path):
    source = write_inflating_pdf(tmp_path / "lines.pdf", 100_000)
    with pytest.raises(UserError, match="没有可读取的文字"):  # read through, and no text in it
        pdf.document(source)


def test_a_page_with_too_many_lines_for_the_table_finder_is_read_as_text(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "MAX_PAGE_EDGES", 5)
    spec = TableSpec(
        header=["序号", "工作任务", "责任单位"], rows=[[1, "推进一网通办", "市政数局"]]
    )
    document = pdf.document(write_table_pdf(spec, tmp_path / "lines.pdf"))
    assert not list(document.grids)
    assert "推进一网通办" in " ".join(p.text for p in document.paragraphs)
    assert document.notes == ["第 1 页绘有大量线条，未在其中识别表格，该页文字按正文导入，请核对"]


def test_a_prose_pdf_imports_as_a_prose_plan(duban, workdir):
    layout = ProseLayout(centred={0}, header=None)  # (one page: no header repeats to tell one)
    source = write_prose_pdf(PROSE, workdir / "prose.pdf", layout)
    result = duban("import", str(source), "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    plan = read_plan(workdir / "plan.yaml")
    assert plan.title == "某市人民政府关于加快推进公共法律服务体系建设的实施意见"
    by_lead = [(t.lead, t.co_units) for t in plan.tasks if t.lead]
    assert by_lead == [
        ("市司法局", ["市财政局", "市政务服务数据管理局"]),
        ("市司法局", ["市财政局"]),
        ("市司法局", []),
        ("各区人民政府", []),
        ("市财政局", []),
    ]
    assert "第 1 页" in result.err  # warnings name the page an item stands on


def test_a_pdf_that_opens_without_a_password_but_restricts_copying_is_read(tmp_path):
    source = write_encrypted_pdf(tmp_path / "restricted.pdf", user_password="")
    assert b"/Encrypt" in source.read_bytes()
    assert [p.text for p in pdf.document(source).paragraphs] == [
        "一、推进公共法律服务体系建设（市司法局负责）。"
    ]


def test_an_encrypted_content_stream_inflating_past_the_limit_is_refused(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    out = canvas.Canvas(str(tmp_path / "bomb.pdf"), encrypt=StandardEncryption("", "owner"))
    for _ in range(pdfbounds.MAX_STREAM_BYTES // 14 + 1):  # "0 0 m\n1 1 l\nS\n"
        out.line(0, 0, 1, 1)
    out.save()
    assert (tmp_path / "bomb.pdf").stat().st_size < 1_000_000
    with pytest.raises(UserError, match="解压后超过 8 MB"):
        pdf.document(tmp_path / "bomb.pdf")

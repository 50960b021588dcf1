"""Every input a user can get wrong: one line on stderr naming the file, exit 2, no file touched."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import SEED
from hypothesis import given, settings
from hypothesis import strategies as st
from support.tables import TableSpec, write_table

from engine.errors import UserError
from engine.importers.base import CONVERSIONS, CONVERTED
from engine.importers.build import import_plan

PREVIOUS = "plan:\n  id: previous\n"  # what a plan file held before a failed import


@pytest.fixture
def existing_plan(workdir: Path) -> Path:
    """A plan file from an earlier import, which a failed import must leave as it was."""
    target = workdir / "plan.yaml"
    target.write_text(PREVIOUS, encoding="utf-8")
    return target


def files_in(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


@pytest.fixture
def refuse(duban, workdir, existing_plan):
    """Run an import that must fail: exit 2, one line naming `expected` parts, nothing changed."""

    def run(source: Path | str, *expected: str, args: tuple[str, ...] = ()) -> str:
        before = files_in(workdir)
        output = args[args.index("-o") + 1] if "-o" in args else "plan.yaml"
        extra = () if "-o" in args else ("-o", "plan.yaml")
        result = duban("import", str(source), *extra, *args)
        assert result.code == 2, result.err
        assert result.err.count("\n") == 1, result.err
        assert "Traceback" not in result.err
        for part in expected:
            assert part in result.err, result.err
        assert result.out == ""
        assert files_in(workdir) == before, f"files changed by a failed import to {output}"
        assert existing_plan.read_text(encoding="utf-8") == PREVIOUS
        return result.err

    return run


def test_missing_file(refuse):
    refuse("nowhere.docx", "nowhere.docx", "不存在")


def test_a_folder_is_not_a_table(refuse, workdir):
    (workdir / "tables.docx").mkdir()
    refuse("tables.docx", "tables.docx", "文件夹")


@pytest.mark.parametrize("name", ["empty.txt", "empty.docx", "empty.xlsx"])
def test_empty_file(refuse, workdir, name):
    (workdir / name).write_bytes(b"")
    refuse(name, name, "空")


def test_blank_text_file(refuse, workdir):
    (workdir / "blank.txt").write_text("\n  \n\t\n", encoding="utf-8")
    refuse("blank.txt", "blank.txt")


@pytest.mark.parametrize("name", ["damaged.docx", "damaged.xlsx"])
def test_random_bytes(refuse, workdir, name):
    (workdir / name).write_bytes(os.urandom(4096))
    refuse(name, name, "损坏")


@pytest.mark.parametrize("name", ["parts-missing.docx", "parts-missing.xlsx"])
def test_a_zip_without_the_office_parts(refuse, workdir, name):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not an office document")
    (workdir / name).write_bytes(buffer.getvalue())
    refuse(name, name, "损坏")


def test_a_truncated_xlsx(refuse, workdir):
    whole = write_table(
        TableSpec(header=["任务", "责任单位"], rows=[["甲", "市司法局"]]), workdir / "whole.xlsx"
    )
    (workdir / "cut.xlsx").write_bytes(whole.read_bytes()[:600])
    refuse("cut.xlsx", "cut.xlsx", "损坏")


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("plan.csv", "请用 Excel 打开后另存为 .xlsx"),
        ("plan", "支持的格式"),
        ("plan.key", "支持的格式"),
    ],
)
def test_unsupported_formats_say_how_to_convert(refuse, workdir, name, hint):
    (workdir / name).write_bytes(b"\xd0\xcf\x11\xe0 some old office file")
    refuse(name, name, "不支持", hint)


@pytest.mark.parametrize("suffix", sorted(CONVERTED))
def test_old_formats_without_libreoffice_say_how_to_convert(
    refuse, workdir, tmp_path_factory, monkeypatch, suffix
):
    # .doc, .xls and the rest are read through LibreOffice (tests/test_import_convert.py); where it
    # is not installed, the message says how to save the file in a format read without it.
    monkeypatch.setenv("DUBAN_SOFFICE", str(tmp_path_factory.mktemp("bin") / "soffice"))
    name = f"plan{suffix}"
    (workdir / name).write_bytes(b"\xd0\xcf\x11\xe0 some old office file")
    package = (
        "libreoffice-writer-nogui" if CONVERTED[suffix] == "docx" else "libreoffice-calc-nogui"
    )
    refuse(name, name, "未安装 LibreOffice", CONVERSIONS[suffix], f"apt install {package}")


SOFFICE = os.environ.get("DUBAN_TEST_SOFFICE") or shutil.which("soffice")


@pytest.mark.parametrize("suffix", sorted(CONVERTED))
def test_old_formats_that_libreoffice_cannot_read(refuse, workdir, monkeypatch, suffix):
    # LibreOffice reads the bytes as it can (as text, when it finds no format in them) and the
    # result goes through the readers; either way the import stops with one line.
    if not SOFFICE:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs LibreOffice (scripts/libreoffice.sh)")
        pytest.skip("LibreOffice is not installed")
    monkeypatch.setenv("DUBAN_SOFFICE", SOFFICE)
    monkeypatch.delenv("DUBAN_SOFFICE_TIMEOUT", raising=False)
    name = f"damaged{suffix}"
    (workdir / name).write_bytes(b"\xd0\xcf\x11\xe0 some old office file")
    refuse(name, name)


@pytest.mark.parametrize(
    ("name", "hint"), [("old.docx", "Word"), ("old.xlsx", "Excel"), ("old.txt", ".docx 或 .xlsx")]
)
def test_an_old_office_file_renamed(refuse, workdir, name, hint):
    (workdir / name).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)
    refuse(name, name, "旧版", hint)


def test_a_binary_txt(refuse, workdir):
    (workdir / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    refuse("binary.txt", "binary.txt", "文本")


def test_text_without_a_table(refuse, workdir):
    (workdir / "letter.txt").write_text("关于报送工作进展的通知\n\n各单位：请于月底前报送。\n")
    refuse("letter.txt", "letter.txt", "未找到分工表")


def test_docx_without_a_table(refuse, workdir):
    import docx

    document = docx.Document()
    document.add_paragraph("关于报送工作进展的通知")
    document.save(str(workdir / "notice.docx"))
    refuse("notice.docx", "notice.docx", "未找到分工表")


def test_xlsx_without_a_table(refuse, workdir):
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话"])
    book.active.append(["张三", 13800000000])
    book.save(workdir / "contacts.xlsx")
    refuse("contacts.xlsx", "contacts.xlsx", "未找到分工表")


def test_table_missing_its_task_column(refuse, workdir):
    spec = TableSpec(
        title_lines=["分工表"],
        header=["序号", "具体内容", "责任单位", "完成时限"],
        rows=[[1, "整合资源。", "市司法局", "2022年底前"]],
    )
    write_table(spec, workdir / "no-task.xlsx")
    refuse("no-task.xlsx", "no-task.xlsx", "第 2 行", "缺少“任务”列", "工作任务")


def test_table_missing_its_units_column(refuse, workdir):
    spec = TableSpec(
        header=["序号", "工作任务", "具体内容", "完成时限"],
        rows=[[1, "整合资源", "整合资源。", "2022年底前"]],
    )
    write_table(spec, workdir / "no-units.docx")
    refuse("no-units.docx", "no-units.docx", "第 1 行", "缺少“责任部门”列")


def test_table_missing_both(refuse, workdir):
    spec = TableSpec(
        header=["序号", "具体内容", "完成时限"], rows=[[1, "整合资源。", "2022年底前"]]
    )
    write_table(spec, workdir / "neither.txt")
    refuse("neither.txt", "neither.txt", "缺少“任务”和“责任部门”列")


def test_header_without_any_task_row(refuse, workdir):
    spec = TableSpec(header=["序号", "任务", "责任单位", "完成时限"], rows=[])
    write_table(spec, workdir / "header-only.xlsx")
    refuse("header-only.xlsx", "header-only.xlsx", "没有任何任务")


def test_output_is_a_folder(refuse, workdir):
    (workdir / "out.yaml").mkdir()
    refuse(SEED, "out.yaml", args=("-o", "out.yaml"))


def test_output_under_a_file(refuse, workdir):
    (workdir / "notes").write_text("a file, not a folder")
    refuse(SEED, "notes/plan.yaml", "无法写入", args=("-o", "notes/plan.yaml"))


def test_output_must_be_a_plan_file(refuse, workdir):
    refuse(SEED, "plan.docx", ".yaml", args=("-o", "plan.docx"))


def test_bad_alias(refuse):
    refuse(SEED, "--alias", "别名=正式名", args=("--alias", "市市场监督管理局"))


def test_bad_plan_id(refuse):
    refuse(SEED, "计划标识", args=("--plan-id", "珠海 计划"))


def test_a_failed_import_leaves_no_temporary_file(duban, workdir):
    (workdir / "notes").write_text("x")
    duban("import", str(SEED), "-o", "notes/plan.yaml")
    assert sorted(p.name for p in workdir.iterdir()) == ["notes"]


def test_docx_whose_merges_contradict_its_grid(refuse, workdir):
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    for c, name in enumerate(["任务", "责任单位", "完成时限"]):
        table.cell(0, c).text = name
    # "merged with the cell above" on the first row: there is no cell above.
    merge = OxmlElement("w:vMerge")
    merge.set(qn("w:val"), "continue")
    table.rows[0]._tr.tc_lst[0].get_or_add_tcPr().append(merge)
    document.save(str(workdir / "bad-merge.docx"))
    refuse("bad-merge.docx", "bad-merge.docx", "第 1 个表格", "合并单元格")


TABLE_TEXT = st.lists(
    st.sampled_from(
        ["\t", "\n", "\n\n", " ", "项目", "任务", "责任部门", "完成时限", "推进情况", "序号",
         "一、", "（一）", "1", "2", "市司法局", "、", "（牵头）", "2021年6月30日前", "长期推进",
         "附件"]
    ),
    max_size=60,
).map("".join)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(TABLE_TEXT)
def test_any_text_table_gives_a_plan_or_one_clear_error(tmp_path_factory, text):
    source = tmp_path_factory.mktemp("fuzz") / "table.txt"
    source.write_text(text, encoding="utf-8")
    try:
        plan = import_plan(source, coordinator="市司法局")
    except UserError as error:
        assert "\n" not in str(error) and "table.txt" in str(error)
    else:
        numbers = [t.no for t in plan.tasks]
        assert plan.tasks and len(numbers) == len(set(numbers))

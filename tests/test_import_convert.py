"""Plans in old and other office formats (.doc, .wps, .rtf, .odt, .xls, .et, .ods), read through
LibreOffice (`soffice --headless --convert-to`).

The inputs are real files of each format: the seed plan rendered as .docx and .xlsx
(tests/support/tables.py) and converted by LibreOffice, once for the module. scripts/libreoffice.sh
installs LibreOffice; without it the tests that need it are skipped, except on CI, where they
fail. What happens when LibreOffice is missing, fails or hangs is tested everywhere, with small
`soffice` scripts standing in for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
from docx import Document
from support.refusal import files_in, refuser
from support.tables import seed_spec, write_table

from engine.importers.base import CONVERSIONS, CONVERTED
from engine.importers.build import import_plan
from engine.model.plan import Plan
from engine.planfile import read_plan
from tests.support.plans import essentials

SOFFICE = os.environ.get("DUBAN_TEST_SOFFICE") or shutil.which("soffice")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WRITER = [s for s, to in CONVERTED.items() if to == "docx"]
CALC = [s for s, to in CONVERTED.items() if to == "xlsx"]
# A prose plan in the genre (实施方案): numbered items, each ending in its units bracket.
PROSE = [
    "关于加快推进公共法律服务体系建设的实施方案",
    "一、总体要求",
    "到2022年，基本建成覆盖城乡、便捷高效的公共法律服务体系。",
    "二、重点任务",
    "（一）整合法律服务资源。建立公共法律服务平台，2021年底前实现市、区、镇街三级全覆盖。"
    "（市司法局牵头，市财政局、各区政府配合）",
    "（二）完善法律援助制度。修订法律援助经济困难标准，2022年6月底前出台。"
    "（市司法局、市财政局负责）",
    "（三）加强法治宣传教育。每年3月底前制定年度普法计划。（市委宣传部牵头，市司法局参与）",
    "三、保障措施",
    "各单位要加强组织领导，确保各项任务落到实处。",
]


@pytest.fixture(scope="module")
def soffice() -> str:
    if not SOFFICE:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs LibreOffice (scripts/libreoffice.sh)")
        pytest.skip("LibreOffice is not installed")
    return SOFFICE



@pytest.fixture(scope="module")
def inputs(soffice, tmp_path_factory) -> dict[str, Path]:
    """The seed plan in every format LibreOffice is asked to read, the .docx/.xlsx each came
    from (under the keys "docx" and "xlsx"), and a prose plan as .docx and .doc."""
    base = tmp_path_factory.mktemp("convert-inputs")
    docx = write_table(seed_spec(), base / "zhuhai.docx")
    xlsx = write_table(seed_spec(), base / "zhuhai.xlsx")
    prose = Document()
    for line in PROSE:
        prose.add_paragraph(line)
    prose.save(str(base / "prose.docx"))
    profile = (base / "profile").as_uri()

    def convert(to: str, *sources: Path) -> list[Path]:
        subprocess.run(
            [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
             "--convert-to", to, "--outdir", str(base), *map(str, sources)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        outs = [base / f"{source.stem}.{to}" for source in sources]
        for out in outs:
            assert out.is_file() and out.stat().st_size > 0, f"LibreOffice wrote no {out.name}"
        return outs

    # LibreOffice's Word 97 export leaves python-docx's table out; saved as .odt first, it keeps it.
    odt, prose_odt = convert("odt", docx, base / "prose.docx")
    doc, prose_doc = convert("doc", odt, prose_odt)
    [rtf], [xls], [ods] = convert("rtf", odt), convert("xls", xlsx), convert("ods", xlsx)
    made = {".odt": odt, ".doc": doc, ".rtf": rtf, ".xls": xls, ".ods": ods}
    # WPS Office's .wps and .et are Word's and Excel's binary formats under WPS's own names.
    made[".wps"] = Path(shutil.copy(made[".doc"], base / "zhuhai.wps"))
    made[".et"] = Path(shutil.copy(made[".xls"], base / "zhuhai.et"))
    for suffix in (".doc", ".wps", ".xls", ".et"):
        assert made[suffix].read_bytes().startswith(OLE), suffix
    assert prose_doc.read_bytes().startswith(OLE)
    assert made[".rtf"].read_bytes().startswith(b"{\\rtf")
    for suffix, kind in ((".odt", "text"), (".ods", "spreadsheet")):
        mimetype = zipfile.ZipFile(made[suffix]).read("mimetype").decode()
        assert mimetype == f"application/vnd.oasis.opendocument.{kind}"
    return {**made, "docx": docx, "xlsx": xlsx, "prose.docx": base / "prose.docx",
            "prose.doc": prose_doc}  # fmt: skip


@pytest.fixture(scope="module")
def origins(inputs) -> dict[str, Plan]:
    """The plans imported from the .docx and .xlsx the converted inputs came from."""
    return {to: import_plan(inputs[to], coordinator="市司法局") for to in ("docx", "xlsx")}


@pytest.fixture
def temp(tmp_path_factory, monkeypatch) -> Path:
    """Where the importer makes its temporary directories, to see that none is left."""
    directory = tmp_path_factory.mktemp("tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def home(tmp_path_factory, monkeypatch) -> Path:
    """A home directory of the user's own, to see that LibreOffice keeps out of its profile."""
    directory = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(directory))
    return directory


@pytest.fixture
def real_soffice(soffice, monkeypatch) -> str:
    monkeypatch.setenv("DUBAN_SOFFICE", soffice)
    monkeypatch.delenv("DUBAN_SOFFICE_TIMEOUT", raising=False)
    return soffice


@pytest.mark.parametrize("suffix", [*WRITER, *CALC])
def test_each_format_gives_the_seed_plan(
    duban, workdir, inputs, origins, real_soffice, temp, home, suffix
):
    name = f"珠海 分工表{suffix}"  # a Chinese name with a space, as offices name files
    shutil.copy(inputs[suffix], workdir / name)
    result = duban("import", name, "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    plan = read_plan(workdir / "plan.yaml")
    origin = origins[CONVERTED[suffix]]
    assert [t.no for t in plan.tasks] == list(range(1, 19))
    assert essentials(plan) == essentials(origin)
    assert plan.title == origin.title and plan.sections == origin.sections
    assert [(w.task, w.message) for w in plan.warnings] == [
        (w.task, w.message) for w in origin.warnings
    ]
    assert plan.source.file == name
    lead, co_units, due = plan.task(1).lead, plan.task(1).co_units, plan.task(1).deadline.due
    assert (lead, co_units, str(due)) == ("市发改局", ["市财政局", "市司法局"], "2021-06-30")
    # Nothing next to the user's file (no lock file, no converted copy), no temporary directory
    # left, and the user's LibreOffice profile untouched.
    assert sorted(files_in(workdir)) == sorted([name, "plan.yaml"])
    assert list(temp.iterdir()) == []
    assert not (home / ".config" / "libreoffice").exists()


def test_a_prose_plan_in_an_old_format(duban, workdir, inputs, real_soffice, temp):
    # The running text comes through the conversion as paragraphs, for the prose reader.
    origin = import_plan(inputs["prose.docx"], coordinator="市司法局")
    shutil.copy(inputs["prose.doc"], workdir / "方案.doc")
    result = duban("import", "方案.doc", "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    plan = read_plan(workdir / "plan.yaml")
    assert len(plan.tasks) == 3 and plan.task(1).lead == "市司法局"
    assert essentials(plan) == essentials(origin)
    assert plan.title == origin.title and plan.sections == origin.sections
    assert [(w.task, w.message) for w in plan.warnings] == [
        (w.task, w.message) for w in origin.warnings
    ]
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "origin"),
    [("web-export.xls", "html"), ("saved-as.doc", "docx"), ("saved-as.xls", "xlsx")],
)
def test_a_file_under_an_old_name_is_read_by_its_content(
    duban, workdir, inputs, real_soffice, temp, name, origin
):
    # Web systems export "Excel" files that are HTML tables; Word files are renamed by hand.
    if origin == "html":
        (workdir / name).write_text(
            "<html><head><meta charset='utf-8'></head><body><p>重点任务分工表</p><table>"
            "<tr><td>序号</td><td>任务</td><td>责任单位</td><td>完成时限</td></tr>"
            "<tr><td>1</td><td>整合资源</td><td>市司法局、市财政局</td><td>2022年底前</td></tr>"
            "</table></body></html>",
            encoding="utf-8",
        )
    else:
        shutil.copy(inputs[origin], workdir / name)
    result = duban("import", name, "-o", "plan.yaml", "--coordinator", "市司法局")
    assert result.code == 0, result.err
    plan = read_plan(workdir / "plan.yaml")
    first = plan.tasks[0]
    if origin == "html":
        assert (first.title, first.lead, first.co_units) == ("整合资源", "市司法局", ["市财政局"])
        assert str(first.deadline.due) == "2022-12-31"
    else:
        assert len(plan.tasks) == 18 and first.lead == "市发改局"
    assert list(temp.iterdir()) == []


# LibreOffice missing, failing or hanging: stand-ins for it, run as LibreOffice would be.


@pytest.fixture
def refuse(duban, workdir):
    return refuser(duban, workdir)


@pytest.fixture
def fake(tmp_path_factory, monkeypatch):
    """`fake(script)`: an executable `soffice` made of a shell script, used as LibreOffice."""
    directory = tmp_path_factory.mktemp("fake-soffice")

    def make(body: str) -> Path:
        program = directory / "soffice"
        program.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        program.chmod(0o755)
        monkeypatch.setenv("DUBAN_SOFFICE", str(program))
        return program

    return make


def alive(pid: int) -> bool:
    """Whether a process is still running (a zombie is not: it waits only to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_without_libreoffice_on_path_the_message_says_how_to_convert(
    refuse, workdir, tmp_path_factory, monkeypatch
):
    monkeypatch.delenv("DUBAN_SOFFICE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("empty-path")))
    for name in ("plan.doc", "plan.xls"):
        (workdir / name).write_bytes(OLE + b"\x00" * 512)
    refuse("plan.doc", "plan.doc", "未安装 LibreOffice", CONVERSIONS[".doc"],
           "apt install libreoffice-writer-nogui")  # fmt: skip
    refuse("plan.xls", "plan.xls", "未安装 LibreOffice", CONVERSIONS[".xls"],
           "apt install libreoffice-calc-nogui")  # fmt: skip


def test_duban_soffice_naming_no_program(refuse, workdir, tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_SOFFICE", str(tmp_path / "no-such" / "soffice"))
    (workdir / "plan.odt").write_bytes(b"PK\x03\x04" + b"\x00" * 512)
    refuse("plan.odt", "plan.odt", "未安装 LibreOffice", "DUBAN_SOFFICE", CONVERSIONS[".odt"])


@pytest.mark.parametrize(
    "script",
    [
        "exit 1\n",
        "exit 0\n",  # says nothing and writes nothing
        # writes an empty file where the converted one belongs
        'for a; do case "$prev" in --outdir) out="$a";; esac; prev="$a"; last="$a"; done\n'
        'base=$(basename "$last"); mkdir -p "$out"; : > "$out/${base%.*}.docx"\n',
    ],
    ids=["exit-1", "no-output", "empty-output"],
)
def test_a_failing_conversion(refuse, workdir, fake, temp, script):
    fake(script)
    (workdir / "plan.doc").write_bytes(OLE + b"\x00" * 512)
    error = refuse("plan.doc", "plan.doc", "LibreOffice 无法转换", "损坏", "请用 Word 另存为 .docx")
    assert "source" not in error and "duban-convert" not in error
    assert list(temp.iterdir()) == []


def test_a_damaged_conversion_is_reported_under_the_users_file(refuse, workdir, fake, temp):
    fake(
        'for a; do case "$prev" in --outdir) out="$a";; esac; prev="$a"; last="$a"; done\n'
        'base=$(basename "$last"); mkdir -p "$out"; echo damaged > "$out/${base%.*}.xlsx"\n'
    )
    (workdir / "plan.xls").write_bytes(OLE + b"\x00" * 512)
    error = refuse("plan.xls", "plan.xls", "损坏")
    assert str(temp) not in error and "source" not in error
    assert list(temp.iterdir()) == []


def test_a_hanging_conversion_is_killed(refuse, workdir, fake, temp, tmp_path_factory, monkeypatch):
    pids = tmp_path_factory.mktemp("pids") / "pids"
    monkeypatch.setenv("FAKE_SOFFICE_PIDS", str(pids))
    monkeypatch.setenv("DUBAN_SOFFICE_TIMEOUT", "2")
    # As LibreOffice does: a script that starts the program that does the work, and waits on it.
    fake('echo $$ >> "$FAKE_SOFFICE_PIDS"\nsleep 600 &\necho $! >> "$FAKE_SOFFICE_PIDS"\nwait\n')
    (workdir / "plan.wps").write_bytes(OLE + b"\x00" * 512)
    refuse("plan.wps", "plan.wps", "LibreOffice 转换超时（2 秒）", "DUBAN_SOFFICE_TIMEOUT")
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 2
    assert [pid for pid in started if alive(pid)] == []
    assert list(temp.iterdir()) == []


def test_a_time_limit_that_is_no_number(refuse, workdir, fake, monkeypatch):
    fake("exit 1\n")
    monkeypatch.setenv("DUBAN_SOFFICE_TIMEOUT", "two minutes")
    (workdir / "plan.et").write_bytes(OLE + b"\x00" * 512)
    refuse("plan.et", "DUBAN_SOFFICE_TIMEOUT", "two minutes", "秒")


def test_a_hanging_libreoffice_is_killed_with_its_helpers(
    refuse, workdir, fake, soffice, temp, monkeypatch
):
    # Real LibreOffice that never finishes: started in the conversion's profile without a file to
    # convert, it runs as a server (the shell script, oosplash and soffice.bin) until it is killed.
    monkeypatch.setenv("REAL_SOFFICE", soffice)
    monkeypatch.setenv("DUBAN_SOFFICE_TIMEOUT", "3")
    fake(
        'for a; do case "$a" in -env:*) profile="$a";; esac; done\n'
        '"$REAL_SOFFICE" "$profile" --headless --norestore --nologo &\nwait\n'
    )
    (workdir / "plan.doc").write_bytes(OLE + b"\x00" * 512)
    refuse("plan.doc", "plan.doc", "LibreOffice 转换超时（3 秒）")
    left = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if str(temp) in command and alive(int(entry.name)):
            left.append(command.replace("\0", " "))
    assert left == []
    assert list(temp.iterdir()) == []

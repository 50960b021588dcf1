"""With several plans loaded, the `simulate` table says which plan each notice's task numbers
belong to (the --json rows keep the contract's fields)."""

from pathlib import Path

from tests.conftest import SEED_PLAN

NOW = ("--now", "2021-06-01T10:00:00+08:00")


def test_each_simulated_notice_names_its_plan(duban, workdir: Path):
    text = SEED_PLAN.read_text("utf-8")
    (workdir / "a.yaml").write_text(text, "utf-8")
    (workdir / "b.yaml").write_text(
        text.replace("id: zhuhai-gba-legal-services", "id: second-plan", 1), "utf-8")
    assert duban(*NOW, "load", "a.yaml").code == 0
    assert duban(*NOW, "load", "b.yaml").code == 0
    table = duban(*NOW, "simulate", "--from", "2021-06-01", "--to", "2021-06-04")
    assert table.code == 0, table.err
    header, _, *rows = table.out.splitlines()
    assert header.split()[0] == "计划"
    assert {row.split()[0] for row in rows} == {"zhuhai-gba-legal-services", "second-plan"}


def test_one_plan_keeps_the_table_without_a_plan_column(duban, workdir: Path):
    (workdir / "a.yaml").write_text(SEED_PLAN.read_text("utf-8"), "utf-8")
    assert duban(*NOW, "load", "a.yaml").code == 0
    table = duban(*NOW, "simulate", "--from", "2021-06-01", "--to", "2021-06-04")
    assert table.code == 0 and table.out.split()[0] == "发送时间"

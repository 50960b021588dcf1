"""The first run: a fresh clone installed with `pip install .` sends notices with no config at all.

Also: which plans the service loads at start and what it says about them, and that a broken
config stops `duban run` with one clear line before anything stored is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import replace
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.config import Settings, load_settings
from engine.errors import UserError
from engine.paths import bundled_plans_dir
from engine.plans import (
    BUNDLED,
    FROM_CONFIG,
    FROM_CWD,
    NONE,
    plans_folder,
    summary_lines,
    sync_plans,
)
from engine.store import open_database
from tests.conftest import REPO, SEED_PLAN
from tests.support.plans import small_plan, write_small_plan

NOW = "2021-06-01T09:30:00+08:00"
MOMENT = datetime(2021, 6, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


# --- a fresh clone, installed as a user would --------------------------------------------------


def fresh_copy(target: Path) -> Path:
    """The repository as committed (git archive of HEAD), or the working tree without a .git."""
    if (REPO / ".git").exists():
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", "HEAD"],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                tar.extractall(target, filter="data")
            else:
                tar.extractall(target)  # our own repository's archive
    else:
        shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(
            ".venv", "var", "__pycache__", ".pytest_cache", "*.egg-info"))
    return target


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("DUBAN_", "VIRTUAL_ENV", "PYTHON"))}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(clone, duban executable): `python -m venv` and `pip install .`, nothing else."""
    root = tmp_path_factory.mktemp("first-run")
    clone = fresh_copy(root / "duban")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    result = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(clone)],
                            capture_output=True, text=True, env=clean_env(), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return clone, venv / "bin" / "duban"


def run(duban: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(duban), *args], cwd=cwd, env=clean_env(), capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
def test_a_fresh_install_runs_once_with_no_config_and_writes_notices(installed, tmp_path):
    _clone, duban = installed
    elsewhere = tmp_path / "anywhere"  # not the clone: the wheel must carry plans and templates
    elsewhere.mkdir()
    result = run(duban, elsewhere, "--now", NOW, "run", "--once")
    assert result.returncode == 0, result.stderr
    notices = sorted((elsewhere / "var" / "outbox").rglob("*.txt"))
    assert notices, result.stdout + result.stderr
    assert any("市司法局" in p.name for p in notices)
    assert (elsewhere / "var" / "duban.db").exists()
    # It said what it loaded, where it writes and when the next notices go out.
    assert "随 duban 安装的计划目录" in result.stderr
    assert "zhuhai-gba-legal-services" in result.stderr
    assert "sqlite:///var/duban.db" in result.stderr
    assert "var/outbox" in result.stderr
    assert "下一批通知发送时间：2021-06-02T09:00" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_in_the_clone_the_plans_of_its_workflows_folder_are_loaded(installed):
    clone, duban = installed
    result = run(duban, clone, "--now", NOW, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert f"工作目录下的计划目录 {clone / 'workflows'}" in result.stderr
    assert list((clone / "var" / "outbox").rglob("*.txt"))
    again = run(duban, clone, "--now", NOW, "run", "--once")
    assert "生成通知：0 条" in again.stdout  # the second pass finds everything already sent
    assert "文件自上次载入后未改动" in again.stderr  # and not parsed again


@pytest.mark.slow
def test_the_installed_doctor_and_a_bad_config_speak_one_line(installed, tmp_path):
    _clone, duban = installed
    config = tmp_path / "duban.toml"
    config.write_text("[service\n", encoding="utf-8")
    result = run(duban, tmp_path, "--config", str(config), "run", "--once")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "不是有效的 TOML" in result.stderr


# --- a broken config stops `run` before anything is touched --------------------------------------


def outbox_state(workdir: Path) -> list[tuple[str, bytes]]:
    files = sorted((workdir / "var" / "outbox").rglob("*"))
    return [(str(p.relative_to(workdir)), p.read_bytes()) for p in files if p.is_file()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[service]\ntick_seconds = "often"\n', "键 service.tick_seconds 的值 'often' 无效"),
        ("[policy]\nsend_at = 9\n", "键 policy.send_at"),
        ("service:\n  tick_seconds: 60\n", "不是有效的 TOML"),
        ("[service]\ntick_secnds = 5\n", "您是否想写“tick_seconds”"),
    ],
)
def test_a_bad_config_is_one_line_exit_2_and_changes_nothing(duban, workdir, text, expected):
    assert duban("--now", NOW, "run", "--once").code == 0
    database = (workdir / "var" / "duban.db").read_bytes()
    before = outbox_state(workdir)
    config = workdir / "duban.toml"
    config.write_text(text, encoding="utf-8")
    result = duban("--now", "2021-06-02T09:30:00+08:00", "--config", str(config), "run", "--once")
    assert result.code == 2
    assert result.err.count("\n") == 1 and str(config) in result.err and expected in result.err
    assert "Traceback" not in result.err
    assert (workdir / "var" / "duban.db").read_bytes() == database
    assert outbox_state(workdir) == before


def test_a_missing_config_file_is_one_line_exit_2(duban, workdir):
    result = duban("--config", str(workdir / "nowhere.toml"), "run", "--once")
    assert result.code == 2 and result.err.count("\n") == 1 and "不存在" in result.err
    assert not (workdir / "var").exists()


# --- which plans the service loads ------------------------------------------------------------


def test_without_config_or_local_plans_the_bundled_plans_are_used(tmp_path):
    folder = plans_folder(Settings(), cwd=tmp_path)
    assert folder.origin == BUNDLED and folder.path == bundled_plans_dir()
    assert (folder.path / SEED_PLAN.name).exists()


def test_a_workflows_folder_in_the_working_directory_wins(tmp_path):
    write_small_plan(tmp_path / "workflows" / "trial.yaml")
    folder = plans_folder(Settings(), cwd=tmp_path)
    assert (folder.origin, folder.path) == (FROM_CWD, tmp_path / "workflows")


def test_plans_dir_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "etc" / "plans").mkdir(parents=True)
    config = tmp_path / "etc" / "duban.toml"
    config.write_text('[service]\nplans_dir = "plans"\n', encoding="utf-8")
    write_small_plan(tmp_path / "workflows" / "trial.yaml")  # in the cwd: not used
    folder = plans_folder(load_settings(config), cwd=tmp_path)
    assert (folder.origin, folder.path) == (FROM_CONFIG, tmp_path / "etc" / "plans")


def test_a_configured_plans_dir_that_does_not_exist_is_a_user_error(tmp_path):
    config = tmp_path / "duban.toml"
    config.write_text('[service]\nplans_dir = "nowhere"\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"service\.plans_dir"):
        plans_folder(load_settings(config), cwd=tmp_path)


def test_a_config_without_plans_dir_never_loads_the_bundled_plans(tmp_path):
    config = tmp_path / "duban.toml"
    config.write_text("", encoding="utf-8")
    settings = load_settings(config)
    folder = plans_folder(settings, cwd=tmp_path)
    assert folder.origin == NONE
    database = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        sync = sync_plans(database, settings, MOMENT, folder)
    finally:
        database.close()
    assert sync.loaded == [] and "service.plans_dir" in summary_lines(sync)[0]


def test_sync_loads_every_plan_and_one_broken_file_does_not_stop_the_others(tmp_path):
    plans = tmp_path / "workflows"
    write_small_plan(plans / "a.yaml", small_plan("plan-a"))
    write_small_plan(plans / "b.yaml", replace(small_plan("plan-b"), title="第二个方案"))
    (plans / "c.yaml").write_text("plan: [unclosed\n", encoding="utf-8")
    (plans / "notes.txt").write_text("not a plan", encoding="utf-8")
    database = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        folder = plans_folder(Settings(), cwd=tmp_path)
        sync = sync_plans(database, Settings(), MOMENT, folder)
        assert [item.plan.id for item in sync.loaded] == ["plan-a", "plan-b"]
        assert len(sync.errors) == 1 and "c.yaml" in sync.errors[0]
        lines = summary_lines(sync)
        assert lines[0] == f"已从工作目录下的计划目录 {plans} 载入 2 个计划、10 项任务"
        assert "新建" in lines[1]
        again = sync_plans(database, Settings(), MOMENT, folder)
        assert all("未改动" in line for line in summary_lines(again)[1:])
        assert summary_lines(again)[0] == lines[0]  # the same plans and tasks, read from the store
    finally:
        database.close()


def test_an_unchanged_plan_file_is_not_parsed_again_at_start(tmp_path):
    """What the store holds is what the file says: reading 20 MiB of YAML again at every start
    took 35 s. A changed byte, or a changed alias in the config, loads the file again."""
    from engine.config import UnitContact

    plans = tmp_path / "workflows"
    write_small_plan(plans / "a.yaml", small_plan("plan-a"))
    folder = plans_folder(Settings(), cwd=tmp_path)
    database = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        first = sync_plans(database, Settings(), MOMENT, folder)
        assert first.loaded[0].plan is not None
        # A file that would no longer parse, but whose digest is the stored one, cannot exist;
        # so the proof of "not parsed" is that the result carries no plan read from the file.
        same = sync_plans(database, Settings(), MOMENT, folder)
        assert (same.loaded[0].plan, same.loaded[0].plan_id, same.loaded[0].tasks) == (
            None, "plan-a", 5,
        )
        text = (plans / "a.yaml").read_text(encoding="utf-8")
        (plans / "a.yaml").write_text(text.replace("title:", "title: 改", 1), encoding="utf-8")
        edited = sync_plans(database, Settings(), MOMENT, folder)
        assert edited.loaded[0].plan is not None and edited.loaded[0].plan.title.startswith("改")
        assert sync_plans(database, Settings(), MOMENT, folder).loaded[0].plan is None
        aliased = Settings(units={"市发改局": UnitContact(file=True, aliases=["发改局"])})
        assert sync_plans(database, aliased, MOMENT, folder).loaded[0].plan is not None
        # an edit that breaks the file is reported, and the stored plan stays as it was
        (plans / "a.yaml").write_text("plan: [unclosed\n", encoding="utf-8")
        broken = sync_plans(database, aliased, MOMENT, folder)
        assert broken.loaded == [] and "a.yaml" in broken.errors[0]
    finally:
        database.close()


def test_an_empty_plan_folder_says_how_to_add_a_plan(tmp_path):
    (tmp_path / "plans").mkdir()
    config = tmp_path / "duban.toml"
    config.write_text('[service]\nplans_dir = "plans"\n', encoding="utf-8")
    settings = load_settings(config)
    database = open_database(f"sqlite:///{tmp_path / 'duban.db'}")
    try:
        sync = sync_plans(database, settings, MOMENT)
    finally:
        database.close()
    [line] = summary_lines(sync)
    assert "没有计划文件" in line and "duban import" in line

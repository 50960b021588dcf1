"""The README's recipe for trying the example config from a clone, run as written.

It must work from the clone's root and leave nothing git would list as untracked: every folder it
makes is one `.gitignore` names.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def recipe() -> str:
    """The shell block of the README that copies the example configuration."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    [block] = [b for b in blocks if "cp config/duban.example.toml" in b]
    return block


def ignored(name: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "-q", "--no-index", name], check=False
    )
    return result.returncode == 0


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_recipe_runs_in_a_clone_and_makes_only_ignored_folders(tmp_path: Path):
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("config", "workflows"):
        shutil.copytree(REPO / name, clone / name)
    (clone / ".venv").symlink_to(REPO / ".venv")
    before = set(os.listdir(clone))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    result = subprocess.run(
        ["bash", "-c", recipe()], cwd=clone, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )
    # doctor's findings until the environment is filled in: the secrets, nothing about paths
    assert "问题：环境变量 DUBAN_SMTP_PASSWORD 未设置" in result.stdout, result.stderr
    assert "Traceback" not in result.stderr and "不存在" not in result.stdout
    made = set(os.listdir(clone)) - before
    assert "local" in made
    assert [name for name in sorted(made) if not ignored(f"{name}/")] == []
    # the database and the outbox in the clone, not in the service's /var/lib/duban
    settings = (clone / "local" / "duban.toml").read_text(encoding="utf-8").splitlines()
    assert [line for line in settings if "/var/lib/duban" in line.partition("#")[0]] == []

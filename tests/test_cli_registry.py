"""The command map the CLI imports from: each command's module, and nothing imported for others."""

import shutil
import subprocess
import sys
import textwrap
from importlib import import_module

import click
from support.plans import small_plan, write_small_plan

from engine.cli import main as cli_main
from tests.conftest import SEED_PLAN


def _registered() -> dict[str, str]:
    for module in cli_main.COMMAND_MODULES:
        import_module(module)
    return {
        name: command.callback.__module__
        for name, command in cli_main.cli.commands.items()
        if command.callback is not None
    }


def test_the_map_names_the_module_that_registers_each_command():
    assert _registered() == cli_main.COMMANDS


def test_help_lists_every_command(duban):
    result = duban("--help")
    assert result.code == 0
    listed = {line.split()[0] for line in result.out.splitlines() if line.startswith("  ")}
    assert set(cli_main.COMMANDS) <= listed


def test_a_command_imports_only_its_own_module():
    # In a fresh interpreter: `load --help` registers load's module, and neither the channels'
    # HTTP client nor the service's scheduler comes with it.
    probe = (
        "import sys\n"
        "from engine.cli.main import main\n"
        "try:\n"
        "    main(['load', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('engine.cli.cmd_'))))\n"
        "print('requests' in sys.modules, 'apscheduler' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-2] == "engine.cli.cmd_tasks"
    assert out[-1] == "False False"


def test_an_unknown_command_still_gets_a_suggestion(duban):
    result = duban("lod")
    assert result.code == 2
    assert "load" in result.err


def test_every_mapped_command_is_a_click_command():
    _registered()
    for name in cli_main.COMMANDS:
        assert isinstance(cli_main.cli.commands[name], click.Command)


def _pass_imports(folder, modules: tuple[str, ...], *args: str) -> list[str]:
    """`run --once` in a process of its own in `folder`, with `args` before the command: its exit
    status and, for each of `modules`, whether it was imported."""
    probe = (
        "import sys\n"
        "from engine.cli.main import main\n"
        f"code = main([*{list(args)!r}, 'run', '--once'])\n"
        f"print(code or 0, *(m in sys.modules for m in {modules!r}))\n"
    )
    return _probe(probe, folder).split()


def _probe(code: str, cwd=None) -> str:
    """The last line `code` prints, run in a Python process of its own in `cwd`."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd
    ).stdout.splitlines()[-1]


def _spied_load(tmp_path, spy: str, *, entry: bool = False, also: str = "") -> list[str]:
    """`duban load` of a small plan file in a fresh interpreter, once `spy` has run (code that
    patches `readahead` and appends to `seen`): the exit code, then `seen`, then `also` (more
    expressions, evaluated at the end). `entry`: started as the console script starts it (whose
    start-up freezes), else by calling `main`."""
    plan = write_small_plan(tmp_path / "plan.yaml", small_plan("p"))
    argv = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "load", str(plan)]
    run = (
        f"sys.argv = ['duban', *{argv!r}]\ncode = 0\ntry:\n    m.entry()\n"
        "except SystemExit as exc:\n    code = exc.code or 0\n"
        if entry else f"code = m.main({argv!r}) or 0\n"
    )
    probe = (
        "import gc, sys\nfrom engine import readahead\nseen = []\n" + textwrap.dedent(spy)
        + "import engine.cli.main as m\n" + run + f"print(code, *seen{also})\n"
    )
    return _probe(probe, tmp_path).split()


def test_duban_load_forks_its_reader_before_it_imports_the_config_models(tmp_path):
    # The child reading the plan file (engine.readahead) starts while the command imports
    # pydantic and the config's models, and everything storing needs: nothing the reading needs
    # waits for them. In a fresh interpreter, as `duban load` starts; the plan is loaded all the
    # same.
    spy = """
        made = readahead.ReadAhead.__init__
        def spy(self, *args, **kwargs):
            seen.append('pydantic' in sys.modules)
            made(self, *args, **kwargs)
        readahead.ReadAhead.__init__ = spy
    """
    also = ", 'pydantic' in sys.modules"
    assert _spied_load(tmp_path, spy, also=also) == ["0", "False", "True"]


def test_reading_a_plan_file_imports_neither_the_config_models_nor_the_store(tmp_path):
    # What the forked reader runs: with only what `duban load` imported before the fork, reading
    # a file imports nothing heavy of its own (pydantic and the config's models cost it ~0.06 s,
    # through engine.plans). The plan is read all the same.
    plan = write_small_plan(tmp_path / "plan.yaml", small_plan("p"))
    probe = (
        "import sys\n"
        "import engine.cli.main, engine.readahead\n"
        "from engine.planfile import read_plan\n"
        f"tasks = len(read_plan({str(plan)!r}).tasks)\n"
        "print(tasks, *(name in sys.modules for name in ('pydantic', 'sqlalchemy', "
        "'engine.config', 'engine.plans')))\n"
    )
    assert _probe(probe).split() == [str(len(small_plan("p").tasks)), *["False"] * 4]


def test_the_version_needs_no_config_models():
    probe = (
        "import sys\n"
        "from engine.cli.main import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pydantic' in sys.modules)\n"
    )
    assert _probe(probe) == "False"


def test_a_pass_without_mail_imports_no_mail_library(tmp_path):
    # `run --once` with no [channels.email]: neither the SMTP client nor the IMAP reader is
    # imported (each start pays for what it imports)
    url = f"sqlite:///{tmp_path / 'duban.db'}"
    now = "2026-12-01T10:00:00+08:00"
    assert _pass_imports(tmp_path, ("smtplib", "imaplib"), "--db", url, "--now", now) == [
        "0", "False", "False"
    ]


def test_a_pass_imports_only_what_its_notices_need(tmp_path):
    # Each channel is made, and the templates' environment, when a notice first needs it: a
    # pass with nothing to send imports neither Jinja nor requests; one that writes files only
    # imports Jinja. On SQLite the PostgreSQL dialect is not imported once the database exists
    # (creating it runs Alembic, which imports every dialect's migration support). The YAML
    # parser is imported for a plan file that changed, not for one the database already holds.
    (tmp_path / "plans").mkdir()
    config = '[service]\nplans_dir = "plans"\n\n[database]\nurl = "sqlite:///duban.db"\n'
    (tmp_path / "duban.toml").write_text(config, encoding="utf-8")
    modules = ("jinja2", "requests", "sqlalchemy.dialects.postgresql", "yaml")
    args = ("--config", "duban.toml", "--now", "2026-12-01T10:00:00+08:00")
    _pass_imports(tmp_path, modules, *args)  # creates the database
    assert _pass_imports(tmp_path, modules, *args) == ["0", "False", "False", "False", "False"]
    shutil.copy(SEED_PLAN, tmp_path / "plans")  # every task years overdue: chased at once
    assert _pass_imports(tmp_path, modules, *args) == ["0", "True", "False", "False", "True"]
    assert _pass_imports(tmp_path, modules, *args) == ["0", "False", "False", "False", "False"]
    assert list((tmp_path / "var" / "outbox").rglob("*.txt"))


def _freezes(launch: str, cwd=None) -> list[int]:
    """The objects frozen by each gc.freeze() while `launch` runs, in a process of its own."""
    probe = (
        "import gc\n"
        "import engine.cli.main as m\n"
        "frozen, real = [], gc.freeze\n"
        "def freeze():\n"
        "    before = gc.get_freeze_count()\n"
        "    real()\n"
        "    frozen.append(gc.get_freeze_count() - before)\n"
        "gc.freeze = freeze\n"
        "try:\n"
        f"{textwrap.indent(launch, '    ')}\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(*frozen)\n"
    )
    return [int(n) for n in _probe(probe, cwd).split()]


def test_the_duban_process_freezes_its_start_up(tmp_path):
    # The console script and `python -m engine` leave what the start-up made out of every later
    # collection (engine.cli.main.entry), and `load` and `run` what their own imports made, once
    # imported (settled); a test calling `main` keeps its collector as it is.
    console = (
        "from importlib.metadata import entry_points\n"
        "(script,) = entry_points(group='console_scripts', name='duban')\n"
        "script.load()()"
    )
    module = "import runpy\nrunpy.run_module('engine', run_name='__main__')"
    for launch in (console, module):
        frozen = _freezes(f"import sys\nsys.argv = ['duban', '--version']\n{launch}")
        assert len(frozen) == 1 and frozen[0] > 10_000, (launch, frozen)
    url = f"sqlite:///{tmp_path / 'duban.db'}"
    for command in (["load", str(SEED_PLAN)], ["run", "--once"]):
        argv = ["--db", url, "--now", "2026-12-01T10:00:00+08:00", *command]
        frozen = _freezes(f"import sys\nsys.argv = ['duban', *{argv!r}]\nm.entry()", tmp_path)
        assert len(frozen) == 2 and min(frozen) > 1_000, (command, frozen)
        assert _freezes(f"m.main({argv!r})", tmp_path) == []


def test_the_start_up_runs_no_collection_and_every_command_does(tmp_path, monkeypatch):
    # entry keeps the collector off until the start-up is over: in `load` no collection runs
    # before the command has imported what storing needs (settled; some 200 ran there before),
    # and the collector is on again after it, in the command and in the child reading the file.
    spy = """
        readahead.child_helps = lambda: True
        import engine.cli.main as m
        counts = {'before': 0, 'after': 0}
        over = m.settled
        def settled():
            seen.append(counts['before'])
            over()
            seen.append(gc.isenabled())
        m.settled = settled
        gc.callbacks.append(
            lambda phase, info: phase == 'stop' and counts.__setitem__(
                'after' if seen else 'before', counts['after' if seen else 'before'] + 1
            )
        )
        read = readahead.read_plan
        def child_read(path):
            import os
            with open(os.environ['CHILD_GC'], 'w') as out:
                out.write(str(gc.isenabled()))
            return read(path)
        readahead.read_plan = child_read
    """
    (tmp_path / "child").write_text("", encoding="utf-8")
    monkeypatch.setenv("CHILD_GC", str(tmp_path / "child"))
    found = _spied_load(tmp_path, spy, entry=True, also=", gc.isenabled()")
    assert found == ["0", "0", "True", "True"], found
    assert (tmp_path / "child").read_text(encoding="utf-8") == "True"
    # every other command: on again as the command starts, and to its end
    url = f"sqlite:///{tmp_path / 'd.db'}"
    probe = (
        "import gc, sys\nimport engine.cli.main as m, engine.cli.cmd_tasks\nseen = []\n"
        "command = m.cli.commands['tasks']\ninner = command.callback\n"
        "def callback(**params):\n    seen.append(gc.isenabled())\n    return inner(**params)\n"
        "command.callback = callback\n"
        f"sys.argv = ['duban', '--db', {url!r}, 'tasks']\n"
        "try:\n    m.entry()\nexcept SystemExit:\n    pass\n"
        "print(*seen, gc.isenabled())\n"
    )
    assert _probe(probe, tmp_path).split() == ["True", "True"]


def test_duban_load_sets_up_the_orm_while_its_reader_reads(tmp_path):
    # While the child reads the first file, the command opens the database and sets up the ORM's
    # mappers (which the store's first query would do, with the plan already in memory), then
    # freezes what that made: when it takes the plan, every mapper is configured, and frozen.
    spy = """
        readahead.child_helps = lambda: True
        take = readahead._plan
        def spy(future, path):
            from engine.store.models import Base
            mappers = list(Base.registry.mappers)
            seen.append(all(m.configured for m in mappers) and len(mappers) > 10)
            frozen = gc.get_freeze_count()
            gc.freeze()
            seen.append(gc.get_freeze_count() - frozen)
            return take(future, path)
        readahead._plan = spy
    """
    code, configured, made_since = _spied_load(tmp_path, spy, entry=True)
    assert code == "0"
    assert configured == "True"
    # next to nothing was made between the freeze and the plan: the database and the mappers
    # were set up before the command froze (frozen before them, some 5,600 objects)
    assert int(made_since) < 1_000, made_since

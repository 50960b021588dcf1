"""The `duban` command: global options, command registration and the one error path.

A user's mistake is one line on stderr and exit status 2; a failure that is not the user's is one
line and exit status 1. A traceback is shown only with DUBAN_DEBUG=1.
"""

from __future__ import annotations

import gc
import os
import sys
from importlib import import_module

import click

from engine import __version__
from engine.cli.context import AppContext
from engine.errors import DubanError

# Each module registers its commands on `cli` when imported; one module per group of commands.
# A command's module is imported only when that command runs (or when all are listed, as for
# --help), so that a command pays for its own imports and not for every other's: `load` does
# not import the channels' HTTP client, `run` not the importers. tests/test_cli_registry.py
# checks this map against what the modules register.
COMMANDS = {
    "import": "engine.cli.cmd_import",
    **dict.fromkeys(
        ["load", "tasks", "show", "progress", "request", "requests", "approve", "reject", "extend"],
        "engine.cli.cmd_tasks",
    ),
    **dict.fromkeys(["run", "outbox", "simulate"], "engine.cli.cmd_service"),
    **dict.fromkeys(["preview", "retry", "send-test"], "engine.cli.cmd_notify"),
    **dict.fromkeys(["export", "stats"], "engine.cli.cmd_ledger"),
    "doctor": "engine.cli.cmd_doctor",
    **dict.fromkeys(["link", "token", "user", "web"], "engine.cli.cmd_people"),
    "calendar": "engine.cli.cmd_calendar",
}
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))
SETTLES_LATER = frozenset({"load", "run"})
"""Commands whose start-up goes on past their start (imports made by the command itself): each
calls `settled` once it is over; every other command's start-up ends as it starts."""


class _CommandsOnUse(click.Group):
    """The top-level group, importing a command's module when the command is looked up."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            import_module(module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register_commands()
        return super().list_commands(ctx)


@click.group(cls=_CommandsOnUse, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", "db_url", envvar="DUBAN_DATABASE_URL", help="数据库地址（默认 ./var/duban.db）"
)
@click.option("--config", "config_path", envvar="DUBAN_CONFIG", help="配置文件（TOML）")
@click.option(
    "--now", "now_text", envvar="DUBAN_NOW", help="当前时间（ISO 格式），用于试运行和测试"
)
@click.version_option(__version__, "--version", prog_name="duban", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context, db_url: str | None, config_path: str | None, now_text: str | None
) -> None:
    """duban（督办）：分工方案任务督办系统。"""
    from engine.logsetup import configure_logging

    # Commands other than `run` log only what a person must see; `run` sets the configured level.
    configure_logging("WARNING")
    ctx.obj = AppContext(db_url=db_url, config_path=config_path, now_text=now_text)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand not in SETTLES_LATER:
        settled()


def _register_commands() -> None:
    """Every command module, for a listing of all the commands (--help, a suggestion)."""
    for name in COMMAND_MODULES:
        import_module(name)


def _fail(message: str, code: int) -> None:
    from engine.notify.secrets import mask

    # The contract is one line on stderr, whatever a message (or a driver's detail) holds, and
    # never a secret (a database password, a robot key) even in an unexpected error.
    line = " ".join(part.strip() for part in mask(message).splitlines() if part.strip())
    click.echo(f"duban: {line}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    debug = os.environ.get("DUBAN_DEBUG") == "1"
    try:
        cli.main(args=argv, prog_name="duban", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("已中止", 1)
    except click.UsageError as exc:
        from engine.cli.usage import usage_message

        _fail(usage_message(exc), 2)
    except click.ClickException as exc:
        _fail(exc.format_message(), 2)
    except DubanError as exc:
        if debug:
            raise
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("已中断", 130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        _fail(f"内部错误：{type(exc).__name__}: {exc}（设置 DUBAN_DEBUG=1 可查看详细信息）", 1)


def entry() -> None:
    """The `duban` process (the console script, `python -m engine`): `main`, the start-up so far
    frozen, and no automatic collection until the start-up is over (see `settled`)."""
    gc.freeze()
    gc.disable()
    main()


def settled() -> None:
    """The start-up so far is over: what it made is left out of every later collection.

    What a start-up makes (modules, classes, functions, SQLAlchemy's and pydantic's machinery)
    lives as long as the process, and there is no garbage among it. Without this each full
    collection walks it all again, to free nothing: a short command (a pass, a load) spent a
    fifth to a third of its time so (benchmarks/scale_bench.py, load_bench.py). `entry` freezes
    first; a command calls this once it has imported what it needs (`load`, `run`: SETTLES_LATER),
    every other command as it starts (`cli`). Objects frozen are still freed when their last
    reference goes.

    Until then `entry` keeps the collector from running by itself: the imports make next to no
    garbage, yet allocate enough for some two hundred collections, each walking the young part of
    what was imported so far, and one full collection walking all of it (in `load`, 45–50 ms of a
    0.7 s command, to free a few dozen objects). It runs again from here on. Only a process
    whose entry froze (its freeze count) freezes and re-enables: in-process callers of `main`
    (tests) keep their collector as it is.
    """
    if gc.get_freeze_count():
        gc.freeze()
        gc.enable()


if __name__ == "__main__":
    entry()

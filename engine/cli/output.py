"""Output for people and for scripts: with `--json`, stdout holds only the JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The `--json` flag every listing command takes."""
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（供脚本使用）")(func)


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=_default))


def info(message: str) -> None:
    """A line meant for a person: on stderr, so that stdout stays clean for `--json`."""
    click.echo(message, err=True)


class Number(click.ParamType):
    """A task, request or notice number: a positive integer the database can hold.

    click.INT lets 99999999999999999999999 through to SQLite, which fails with an OverflowError.
    """

    name = "number"
    LARGEST = 2**63 - 1  # SQLite's INTEGER

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number: int | None = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                number = None
        if number is None or not 1 <= number <= self.LARGEST:
            self.fail(f"“{value}”不是有效的编号，应为正整数，例如 1", param, ctx)
        return number


NUMBER = Number()

"""A mistake on the command line (unknown command or option, missing or bad value), in Chinese.

Click words these in English and, for a bare `duban`, answers with the whole help text; a user of
duban reads Chinese, and the contract is one sentence on stderr with exit status 2.
"""

from __future__ import annotations

import re

import click
from click import exceptions as ce

_NOT_INTEGER = re.compile(r"^'(?P<value>.*)' is not a valid integer", re.S)
_EXTRA = re.compile(r"^Got unexpected extra arguments? \((?P<args>.*)\)$", re.S)
_NEEDS_VALUE = re.compile(r"^Option '(?P<name>[^']+)' requires an argument")


def _command(exc: click.UsageError) -> str:
    return exc.ctx.command_path if exc.ctx is not None else "duban"


def _help_hint(exc: click.UsageError) -> str:
    return f"（用法见 {_command(exc)} --help）"


def _param_name(param: click.Parameter | None) -> str:
    if param is None:
        return "参数"
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    return param.human_readable_name


def _suggest(possibilities: list[str] | None) -> str:
    return f"，是否想用 {'、'.join(sorted(possibilities))}" if possibilities else ""


def usage_message(exc: click.UsageError) -> str:
    """The Chinese sentence for a usage mistake Click detected."""
    if isinstance(exc, ce.NoArgsIsHelpError) or exc.message == "Missing command.":
        if exc.ctx is not None and exc.ctx.parent is not None:
            return f"{_command(exc)} 缺少参数{_help_hint(exc)}"
        return "缺少命令，例如 duban tasks；duban --help 列出全部命令"
    if isinstance(exc, ce.NoSuchCommand):
        return (
            f"没有名为“{exc.command_name}”的命令{_suggest(exc.possibilities)}；"
            "duban --help 列出全部命令"
        )
    if isinstance(exc, ce.NoSuchOption):
        return (
            f"{_command(exc)} 没有选项 {exc.option_name}{_suggest(exc.possibilities)}"
            f"{_help_hint(exc)}"
        )
    if isinstance(exc, ce.MissingParameter):
        param = exc.param
        what = "选项" if isinstance(param, click.Option) else "参数"
        return f"{_command(exc)} 缺少{what} {_param_name(param)}{_help_hint(exc)}"
    if isinstance(exc, ce.BadParameter):
        name = _param_name(exc.param) if exc.param is not None else (exc.param_hint or "参数")
        if isinstance(exc.param, click.Argument):
            name = f"参数 {name}"
        found = _NOT_INTEGER.match(exc.message)
        if found:
            return f"{name} 的值“{found['value']}”不是整数，应为数字，例如 1"
        if not exc.message.isascii():  # duban's own parameter types word it already
            return f"{name} 的值{exc.message}"
        return f"{name} 的值无效：{exc.message}"
    needs_value = _NEEDS_VALUE.match(exc.message)
    if needs_value:
        return f"选项 {needs_value['name']} 缺少取值{_help_hint(exc)}"
    extra = _EXTRA.match(exc.message)
    if extra:
        return f"{_command(exc)} 多余的参数：{extra['args']}{_help_hint(exc)}"
    return exc.format_message()

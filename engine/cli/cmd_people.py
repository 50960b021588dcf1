"""Commands for the people who use duban through the web: accounts, units' links, API tokens, and
`duban web` itself."""

from __future__ import annotations

import sys
from typing import Any

import click

from engine.cli.context import AppContext
from engine.cli.main import cli
from engine.cli.output import emit_json, info, json_option
from engine.errors import UserError


def _password_from_stdin(command: str) -> str:
    password = ""
    if sys.stdin is not None and not sys.stdin.closed:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError(
            f"--password-stdin：标准输入中没有密码，请用 echo '密码' | duban user {command} …"
        )
    return password


def _role_option(roles: tuple[str, ...], help: str) -> Any:
    """`--role`, refused in Chinese (click.Choice words its refusal in English).

    The roles are engine.actions.people's ROLES and TOKEN_ROLES, written out: importing that
    module here would load SQLAlchemy for `duban --help`.
    """

    def check(ctx: click.Context, param: click.Parameter, value: str) -> str:
        if value not in roles:
            raise click.BadParameter(f"“{value}”无效，应为 {'、'.join(roles)} 之一")
        return value

    return click.option("--role", required=True, metavar="|".join(roles), callback=check, help=help)


def _known_unit(app: AppContext, unit: str) -> None:
    """Refuse a unit nobody knows as the argument UNIT (the use cases word it for the web)."""
    from engine.store.board import unit_id

    with app.database.connect() as conn:
        unit_id(conn, unit, where="参数 UNIT")


@cli.group("user")
def user_group() -> None:
    """网页控制台的账号（统筹单位和查看人员）。"""


@user_group.command("add")
@click.argument("name")
@click.option("--unit", required=True, metavar="U", help="所属单位")
@_role_option(("coordinator", "viewer"), "coordinator：统筹单位，可审批；viewer：只能查看")
@click.option("--password-stdin", "from_stdin", is_flag=True, help="从标准输入读取密码（必需）")
@click.pass_obj
def user_add(app: AppContext, name: str, unit: str, role: str, from_stdin: bool) -> None:
    """新建控制台账号，密码从标准输入读取。"""
    from engine.actions.people import add_user

    if not from_stdin:
        raise UserError("请用 --password-stdin 从标准输入提供密码（密码不应出现在命令行中）")
    made = add_user(
        app.database,
        name=name,
        unit=unit,
        role=role,
        password=_password_from_stdin("add"),
        now=app.now(),
    )
    role_label = "统筹单位（可审批）" if made.role == "coordinator" else "查看"
    click.echo(f"已新建账号 {made.name}：{made.unit}，{role_label}")


@user_group.command("list")
@json_option
@click.pass_obj
def user_list(app: AppContext, as_json: bool) -> None:
    """列出控制台账号。"""
    from engine.actions.people import list_users

    users = list_users(app.database)
    if as_json:
        emit_json([u.json() for u in users])
        return
    if not users:
        info("还没有账号；用 duban user add 新建")
    for u in users:
        click.echo(f"{u.name}\t{u.unit}\t{u.role}")


@user_group.command("remove")
@click.argument("name")
@click.pass_obj
def user_remove(app: AppContext, name: str) -> None:
    """删除控制台账号（其登录随即失效）。"""
    from engine.actions.people import remove_user

    remove_user(app.database, name)
    click.echo(f"已删除账号 {name}")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", "from_stdin", is_flag=True, help="从标准输入读取新密码（必需）")
@click.pass_obj
def user_passwd(app: AppContext, name: str, from_stdin: bool) -> None:
    """修改控制台账号的密码。"""
    from engine.actions.people import set_password

    if not from_stdin:
        raise UserError("请用 --password-stdin 从标准输入提供新密码（密码不应出现在命令行中）")
    set_password(app.database, name, _password_from_stdin("passwd"))
    click.echo(f"已修改账号 {name} 的密码")


@cli.command("link")
@click.argument("unit")
@click.option("--revoke", is_flag=True, help="停用该单位此前获得的全部链接")
@click.pass_obj
def link_command(app: AppContext, unit: str, revoke: bool) -> None:
    """输出一个单位的专属链接（最后一行），或用 --revoke 停用其全部链接。"""
    from engine.actions.people import link_token, link_url, revoke_links

    _known_unit(app, unit)
    if revoke:
        name = revoke_links(app.database, unit, app.now())
        click.echo(f"已停用{name}此前的全部链接；此后的通知将带新的链接")
        return
    token = link_token(app.database, app.settings, unit, app.now())
    info(f"{unit}的专属链接，{app.settings.web.link_days} 天内有效：")
    click.echo(link_url(app.settings, token))


@cli.group("token")
def token_group() -> None:
    """对外接口（API）的访问令牌。"""


@token_group.command("add")
@click.argument("name")
@click.option("--unit", required=True, metavar="U", help="令牌代表的单位")
@_role_option(
    ("coordinator", "viewer", "unit"), "coordinator：可审批；viewer：只读；unit：以该单位身份报送"
)
@click.pass_obj
def token_add(app: AppContext, name: str, unit: str, role: str) -> None:
    """新建令牌；令牌只显示这一次（最后一行）。"""
    from engine.actions.people import add_token

    token = add_token(app.database, name=name, unit=unit, role=role, now=app.now())
    info(f"已新建令牌 {name}（{unit}，{role}）；请妥善保存，它不会再次显示：")
    click.echo(token)


@token_group.command("list")
@json_option
@click.pass_obj
def token_list(app: AppContext, as_json: bool) -> None:
    """列出令牌（不显示令牌本身）。"""
    from engine.actions.people import list_tokens

    tokens = list_tokens(app.database, app.timezone)
    if as_json:
        emit_json([t.json() for t in tokens])
        return
    if not tokens:
        info("还没有令牌；用 duban token add 新建")
    for t in tokens:
        click.echo(f"{t.name}\t{t.unit}\t{t.role}\t{t.created[:16].replace('T', ' ')}")


@token_group.command("remove")
@click.argument("name")
@click.pass_obj
def token_remove(app: AppContext, name: str) -> None:
    """删除令牌（随即失效）。"""
    from engine.actions.people import remove_token

    remove_token(app.database, name)
    click.echo(f"已删除令牌 {name}")


@cli.command("web")
@click.option("--host", default=None, metavar="H", help="监听地址（默认取配置 [web] host）")
@click.option("--port", default=None, type=click.IntRange(1, 65535), metavar="P", help="端口")
@click.pass_obj
def web_command(app: AppContext, host: str | None, port: int | None) -> None:
    """运行网页端：督办控制台、各单位的专属页面和对外接口。"""
    from engine.logsetup import configure_logging
    from engine.web.server import serve

    configure_logging(app.settings)
    raise SystemExit(
        serve(
            app.settings,
            app.database,
            app.clock,
            host=host or app.settings.web.host,
            port=port or app.settings.web.port,
        )
    )

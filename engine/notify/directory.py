"""The contact directory: which channels reach a unit, from `[units."…"]` in the config.

With no config at all every unit is reached through the `file` channel and none counts as lacking
a contact. With a config, a unit without a usable email or WeCom contact is `missing`: its notices
still go to the `file` channel (nothing is dropped) and the planner tells the plan's coordinator
(a `delivery_failure` notice, reason `missing_contact`, once per notice day, grouped).

A contact whose secret is missing is not usable. A WeCom URL referring to `${NAME}` where NAME is
unset, empty or only spaces (the URL would end in `key=`), or an email channel with a login whose
`password_env` variable is unset or blank, does not count as a way to reach the unit. The choice,
made for the coordinating office:

- decided here, when the planner plans (the service reads the same environment when it sends), so
  that such a notice takes the missing-contact path: it is written to the file archive instead of
  going dead, and the coordinator hears of it once, in the day's grouped report, not once per
  notice and channel; a unit with another usable channel simply gets its notices there;
- `reasons` says why a configured channel was left out, naming the variable but never its value,
  for `doctor` and the log;
- the channels check again when they send: a variable emptied after the notice was planned makes
  the delivery fail permanently with a message naming it, so the notice goes dead, stays in the
  outbox for `duban retry`, and the coordinator gets a `delivery_failure` about it.

The messenger channels take the same path (`messenger_problems`): a `dingtalk` or `feishu` robot
whose URL refers to a blank variable, whose host is not in its channel's `allowed_hosts`, or whose
`*_secret_env` is unset; `wecom_users` without `[channels.wecom_app]` or with its Secret unset.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import EmailSettings, Settings, UnitContact
from engine.errors import UserError
from engine.notify.secrets import blank_variable

FILE = "file"
EMAIL = "email"
WECOM = "wecom"
WECOM_APP = "wecom_app"
DINGTALK = "dingtalk"
FEISHU = "feishu"


@dataclass(frozen=True)
class Reach:
    unit: str
    channels: tuple[str, ...]
    missing: bool
    """True when the config names no usable contact for this unit (it falls back to `file`)."""
    reasons: tuple[str, ...] = ()
    """Why configured channels were left out (a variable unset or empty), in Chinese."""


def canonical_unit(name: str, settings: Settings) -> str:
    """The unit's directory name, resolving the config's aliases."""
    if name in settings.units:
        return name
    for unit, contact in settings.units.items():
        if name in contact.aliases:
            return unit
    return name


def contact_of(name: str, settings: Settings) -> UnitContact | None:
    return settings.units.get(canonical_unit(name, settings))


def email_login_problem(email: EmailSettings) -> str | None:
    """Why the email channel cannot log in (its password variable unset or blank), or None."""
    if not email.username or not email.password_env:
        return None
    why = blank_variable("${" + email.password_env + "}")
    return f"{why}（channels.email.password_env），无法登录邮件服务器" if why else None


def wecom_url_problem(unit: str, url: str) -> str | None:
    """Why this unit's robot URL cannot be expanded into a usable one, or None."""
    why = blank_variable(url)
    return f"单位“{unit}”的企业微信群机器人地址引用的{why}，无法发送" if why else None


def secret_problem(unit: str, key: str, variable: str) -> str | None:
    """Why the signing secret a unit's `key` names cannot be read (unset or blank), or None."""
    why = blank_variable("${" + variable + "}")
    return f'单位“{unit}”的{why}（units."{unit}".{key}），无法签名发送' if why else None


def messenger_problems(unit: str, contact: UnitContact, settings: Settings) -> dict[str, str]:
    """For each messenger channel this unit lists, why it cannot reach the unit, or "" if it can:
    a URL whose `${NAME}` is blank or whose host is not allowed, a secret variable unset, the
    `wecom_app` channel not configured. Such a channel is left out, never tried."""
    from engine.notify.channels.hosts import checked_url  # it imports this package

    out: dict[str, str] = {}
    robots = (
        (
            DINGTALK,
            "钉钉机器人地址",
            contact.dingtalk,
            contact.dingtalk_secret_env,
            settings.channels.dingtalk.allowed_hosts,
        ),
        (
            FEISHU,
            "飞书机器人地址",
            contact.feishu,
            contact.feishu_secret_env,
            settings.channels.feishu.allowed_hosts,
        ),
    )
    for name, label, url, secret_env, allowed in robots:
        if not url:
            continue
        why = blank_variable(url)
        if why:
            out[name] = f"单位“{unit}”的{label}引用的{why}，无法发送"
            continue
        try:
            checked_url(
                url,
                allowed,
                label=label,
                section=f"channels.{name}",
                where=f'units."{unit}".{name}',
            )
        except UserError as exc:
            out[name] = str(exc)
            continue
        if secret_env:
            out[name] = secret_problem(unit, f"{name}_secret_env", secret_env) or ""
        else:
            out[name] = ""
    if contact.wecom_users:
        app = settings.channels.wecom_app
        if app is None:
            out[WECOM_APP] = "未配置 [channels.wecom_app]，无法发送企业微信应用消息"
        else:
            why = blank_variable("${" + app.secret_env + "}")
            out[WECOM_APP] = f"{why}（channels.wecom_app.secret_env）" if why else ""
    return out


_MESSENGER_LABELS = {WECOM_APP: "企业微信应用消息", DINGTALK: "钉钉", FEISHU: "飞书"}


def _refused_robot(unit: str, url: str, settings: Settings) -> str | None:
    """Why the wecom channel would refuse this robot URL (a host not allowed, …), or None: such
    a contact reaches nobody, so the unit takes the missing-contact path, not the dead letters."""
    from engine.notify.channels.wecom import checked_robot_url  # it imports this module

    try:
        checked_robot_url(
            url, settings.channels.wecom.allowed_hosts, where=f"单位“{unit}”的企业微信地址"
        )
    except UserError as exc:
        return str(exc)
    return None


def reach(name: str, settings: Settings) -> Reach:
    """The channels a notice to this unit goes out on, one notice per channel."""
    unit = canonical_unit(name, settings)
    if not settings.configured:
        return Reach(unit, (FILE,), missing=False)
    contact = settings.units.get(unit)
    channels: list[str] = []
    reasons: list[str] = []
    if contact:
        email = settings.channels.email
        if contact.email and email:
            problem = email_login_problem(email)
            if problem:
                reasons.append(f"电子邮件：{problem}")
            else:
                channels.append(EMAIL)
        if contact.wecom:
            problem = wecom_url_problem(unit, contact.wecom) or _refused_robot(
                unit, contact.wecom, settings
            )
            if problem:
                reasons.append(f"企业微信：{problem}")
            else:
                channels.append(WECOM)
        for name, problem in messenger_problems(unit, contact, settings).items():
            if problem:
                reasons.append(f"{_MESSENGER_LABELS[name]}：{problem}")
            else:
                channels.append(name)
        if contact.file:
            channels.append(FILE)
    if not channels:
        return Reach(unit, (FILE,), missing=True, reasons=tuple(reasons))
    return Reach(unit, tuple(channels), missing=False, reasons=tuple(reasons))

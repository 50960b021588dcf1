"""`duban doctor` for the messenger channels (wecom_app, dingtalk, feishu).

Without the network: every unit's robot URLs and secret variables usable, `wecom_users` only with
`[channels.wecom_app]`, the application's Secret set. With `--network`, a probe that sends nothing
to anyone, and only to hosts that passed the checks, each within its own total deadline:

- wecom_app: `gettoken` (it checks the corp id and the Secret, and writes to no one);
- dingtalk: a signed POST of `{}` (no `msgtype`): DingTalk checks the token and the signature,
  then refuses the empty message;
- feishu: a signed POST without `msg_type`: the same.

Each problem is one line, naming the key to correct; secrets never appear.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from engine.config import Settings
from engine.errors import UserError
from engine.notify.channels.common import Sessions, post_json
from engine.notify.directory import DINGTALK, FEISHU, WECOM_APP, messenger_problems
from engine.notify.secrets import blank_variable, mask

Problem = Callable[[str], None]
_KEYS = {DINGTALK: "dingtalk", FEISHU: "feishu", WECOM_APP: "wecom_users"}


def check_messengers(settings: Settings, problem: Problem) -> None:
    """The configuration of the messenger channels, without contacting anyone."""
    app = settings.channels.wecom_app
    if app is not None:
        why = blank_variable("${" + app.secret_env + "}")
        if why:
            problem(f"channels.wecom_app.secret_env：{why}，无法发送企业微信应用消息")
    for unit, contact in settings.units.items():
        for name, why in messenger_problems(unit, contact, settings).items():
            if not why or (name == WECOM_APP and app is not None):
                continue  # a missing application Secret is reported once, above
            if name != WECOM_APP and blank_variable(getattr(contact, name)):
                continue  # an unset `${NAME}` in the URL: doctor's check_env names it
            if f'units."{unit}".' in why:
                problem(why)
            else:
                problem(f'units."{unit}".{_KEYS[name]}：{why}')


def probe_messengers(settings: Settings, problem: Problem, timeout: float) -> None:
    """Reach each messenger peer that passed the checks, sending nothing to anyone."""
    sessions = Sessions()
    try:
        _probe_wecom_app(settings, problem, timeout, sessions)
        _probe_robots(settings, problem, timeout, sessions)
    finally:
        sessions.close()


def _probe_wecom_app(settings: Settings, problem: Problem, timeout: float, sessions: Sessions):
    from engine.notify.channels.wecom_app import WecomAppChannel

    if settings.channels.wecom_app is None:
        return
    try:
        channel = WecomAppChannel(settings)
    except UserError:
        return  # reported by check_messengers
    channel.sessions = sessions
    channel.config = channel.config.model_copy(
        update={"timeout_seconds": min(timeout, channel.config.timeout_seconds)}
    )
    token = channel.token()
    if not isinstance(token, str):
        problem(
            mask(
                f"企业微信应用（channels.wecom_app）：{token.detail}，请核对 corp_id 与 secret_env"
            )
        )


def _probe_robots(settings: Settings, problem: Problem, timeout: float, sessions: Sessions):
    from engine.notify.channels import dingtalk, feishu
    from engine.notify.channels.hosts import checked_url

    tried: set[str] = set()
    now = datetime.now(UTC)  # a signature carries real time, never the business clock
    for unit, contact in settings.units.items():
        usable = messenger_problems(unit, contact, settings)
        for name, url_template, secret_env in (
            (DINGTALK, contact.dingtalk, contact.dingtalk_secret_env),
            (FEISHU, contact.feishu, contact.feishu_secret_env),
        ):
            if not url_template or usable.get(name):
                continue  # not configured, or already reported and never dialled
            config = settings.channels.dingtalk if name == DINGTALK else settings.channels.feishu
            label = dingtalk.LABEL if name == DINGTALK else feishu.LABEL
            try:
                url = checked_url(
                    url_template,
                    config.allowed_hosts,
                    label=label,
                    section=f"channels.{name}",
                    where=f'units."{unit}".{name}',
                )
            except UserError:
                continue
            if url in tried:
                continue
            tried.add(url)
            secret = os.environ.get(secret_env) if secret_env else None
            seconds = min(timeout, config.timeout_seconds)
            if name == DINGTALK:
                answer = _probe_dingtalk(url, secret, now, seconds, sessions)
            else:
                answer = _probe_feishu(url, secret, now, seconds, sessions)
            if answer:
                problem(mask(f'units."{unit}".{name}：{answer}'))


def _probe_dingtalk(
    url: str, secret: str | None, now: datetime, seconds: float, sessions: Sessions
):
    from engine.notify.channels.dingtalk import sign

    if secret:
        stamp = str(int(now.timestamp() * 1000))
        from urllib.parse import quote_plus

        url = f"{url}&timestamp={stamp}&sign={quote_plus(sign(secret, stamp))}"
    answer = post_json(sessions.get(), url, {}, seconds, "钉钉")
    if not isinstance(answer, dict):
        return answer.detail
    code, msg = answer.get("errcode"), str(answer.get("errmsg", ""))
    if code in (300001, 400101, 400102, 400106):
        return f"钉钉机器人不存在或已停用（errcode {code} {msg}），请核对 access_token"
    if code == 310000 and "keyword" not in msg:
        return f"钉钉机器人拒绝了签名或来源（errcode 310000 {msg}），请核对 dingtalk_secret_env"
    return None


def _probe_feishu(url: str, secret: str | None, now: datetime, seconds: float, sessions: Sessions):
    from engine.notify.channels.feishu import sign

    body: dict[str, object] = {}
    if secret:
        stamp = str(int(now.timestamp()))
        body = {"timestamp": stamp, "sign": sign(secret, stamp)}
    answer = post_json(sessions.get(), url, body, seconds, "飞书", code_key="code")
    if not isinstance(answer, dict):
        return answer.detail
    code, msg = answer.get("code"), str(answer.get("msg", ""))
    if code == 19021:
        return f"飞书机器人拒绝了签名（code 19021 {msg}），请核对 feishu_secret_env"
    if code in (19001, 19002) and "token" in msg.lower():
        return f"飞书机器人地址无效（code {code} {msg}），请核对地址"
    return None

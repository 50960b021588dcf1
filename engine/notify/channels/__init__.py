"""Delivery channels, one module per kind behind `base.Channel`: email, wecom, file, and the
messengers wecom_app (企业微信应用消息), dingtalk (钉钉) and feishu (飞书)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.notify.channels.base import Channel
    from engine.notify.ratelimit import RealClock
    from engine.store import Database


def messenger_channels(
    settings: Settings, db: Database | None = None, real_clock: RealClock | None = None
) -> dict[str, Callable[[], Channel]]:
    """How to make each messenger channel, for the dispatcher (each module is imported when its
    channel is first made). Their rate limits count in the database with `db` (across
    instances), else in this process, in the real time `real_clock` reads; their signatures
    always carry the wall clock's time, which the providers check."""

    def dingtalk() -> Channel:
        from engine.notify.channels.dingtalk import DingtalkChannel
        from engine.notify.channels.pacing import pacer_for

        return DingtalkChannel(settings, pacer_for("dingtalk", db, real_clock))

    def feishu() -> Channel:
        from engine.notify.channels.feishu import FeishuChannel
        from engine.notify.channels.pacing import pacer_for

        return FeishuChannel(settings, pacer_for("feishu", db, real_clock))

    def wecom_app() -> Channel:
        from engine.notify.channels.pacing import pacer_for
        from engine.notify.channels.wecom_app import WecomAppChannel

        return WecomAppChannel(settings, pacer_for("wecom_app", db, real_clock))

    makers: dict[str, Callable[[], Channel]] = {"dingtalk": dingtalk, "feishu": feishu}
    if settings.channels.wecom_app is not None:
        makers["wecom_app"] = wecom_app
    return makers

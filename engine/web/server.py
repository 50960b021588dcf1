"""`duban web`: the application on waitress, a production WSGI server, until SIGTERM or SIGINT.

waitress is pure Python, needs no compiler, and runs the same on every host we support; it serves
from a fixed pool of threads (`[web] threads`), which matches the synchronous store. A reverse
proxy (nginx) in front of it terminates HTTPS and is the address in `[web] base_url`.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from loguru import logger

from engine.clock import Clock
from engine.config import Settings
from engine.errors import ServiceError
from engine.store import Database


def serve(settings: Settings, db: Database, clock: Clock, *, host: str, port: int) -> int:
    from waitress.server import create_server

    from engine.actions.people import secret_is_stored
    from engine.sdnotify import notify
    from engine.web.app import create_app

    app = create_app(settings, db, clock)
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=settings.web.threads,
            ident="duban",
            clear_untrusted_proxy_headers=True,
            channel_timeout=60,
        )
    except OSError as exc:
        raise ServiceError(f"网页端无法监听 {host}:{port}：{exc.strerror or exc}") from None
    if secret_is_stored(settings):
        logger.warning(
            "未设置环境变量 {}，链接和登录使用系统自动生成并保存在数据库中的密钥；"
            "正式运行请设置该变量（多台主机时各实例须相同）",
            settings.web.secret_env,
        )
    logger.info(
        "网页端已启动：监听 http://{}:{}，对外地址 {}（SIGTERM 或 Ctrl-C 停止）",
        host,
        port,
        settings.web.base_url,
    )
    notify("READY=1", f"STATUS=网页端监听 {host}:{port}")
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        notify("STOPPING=1")
        # waitress' loop stops on KeyboardInterrupt and lets the requests in progress finish
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    heart = Heartbeat(db)
    try:
        heart.start()
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        heart.stop()
    logger.info("网页端已停止")
    return 0


class Heartbeat:
    """`duban web` in the instance table (engine.store.instances), beating once a minute from a
    thread of its own, so that `doctor` lists the consoles beside the services. A beat that
    fails (the database away for a while) is logged and tried again at the next one."""

    INTERVAL = 60

    def __init__(self, db: Database) -> None:
        self.db = db
        self.ident: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="duban-web-heartbeat", daemon=True)

    def start(self) -> None:
        from engine.store.instances import WEB, register

        self.ident = register(self.db, self.INTERVAL, kind=WEB)
        logger.info("网页端实例 {} 已登记", self.ident)
        self._thread.start()

    def _run(self) -> None:
        from engine.store.instances import beat

        while not self._stop.wait(self.INTERVAL):
            try:
                assert self.ident
                beat(self.db, self.ident)
            except Exception as exc:  # the console must outlive one failed beat
                logger.warning("网页端实例心跳写入失败，将在下一次重试：{}", exc)

    def stop(self) -> None:
        from engine.store.instances import leave

        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self.ident:
            try:
                leave(self.db, self.ident)
            except Exception as exc:  # its beat goes stale and doctor shows it as stopped
                logger.warning("网页端实例 {} 未能注销：{}", self.ident, exc)

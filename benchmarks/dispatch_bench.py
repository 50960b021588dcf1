"""Notices per second from the outbox to each channel's loopback peer, over many robots.

Queues N reminder notices (SQLite outbox, the trial plan) for R units, each with its own robot
(or, for `wecom_app`, its own member), then times one dispatch pass: claim, render (Jinja, from
the store), send to a loopback server speaking the channel's protocol (`wecom` robot webhook;
`wecom_app` gettoken and message/send; `dingtalk` and `feishu` robots checking each signature;
`email` to aiosmtpd, each connection kept for up to 20 messages, as the dispatcher's channel),
record each outcome. Prints, per channel, the rate in notices per second and per CPU second and
their ratio to the target (≥ 500 notices/s per process; a ratio ≥ 1.00 meets it), and exits 1
when one is missed. Robots are many enough that no rate limit defers a notice: the figure is the
cost of sending, not the providers' allowance (Feishu: 5 a second per robot).

    .venv/bin/python benchmarks/dispatch_bench.py
        [--channel all|wecom|wecom_app|dingtalk|feishu|email]
        [--notices 3000] [--robots 300] [--workers 8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from scale_bench import children_cpu  # noqa: E402
from support.notices import NOW, database_with_plan, settings_for  # noqa: E402
from support.plans import small_plan  # noqa: E402

from engine.actions.loading import load_plan  # noqa: E402
from engine.notify.channels.dingtalk import DingtalkChannel  # noqa: E402
from engine.notify.channels.email import EmailChannel  # noqa: E402
from engine.notify.channels.feishu import FeishuChannel  # noqa: E402
from engine.notify.channels.file import FileChannel  # noqa: E402
from engine.notify.channels.pacing import MemoryPacer  # noqa: E402
from engine.notify.channels.wecom import WecomChannel  # noqa: E402
from engine.notify.channels.wecom_app import WecomAppChannel  # noqa: E402
from engine.notify.dispatcher import dispatch_due  # noqa: E402
from engine.notify.ratelimit import RobotLimiter  # noqa: E402
from engine.planner.notices import direct_notice  # noqa: E402
from engine.store import open_database  # noqa: E402
from engine.store.outbox import enqueue, list_notices  # noqa: E402

TARGET = 500.0

# The sink runs in its own process, as the provider would: in this one it would take the GIL from
# the dispatcher being measured. It prints its port and, for wecom_app, nothing else is needed.
SINK = (
    "import sys\n"
    f"sys.path.insert(0, {str(REPO / 'tests')!r})\n"
    "import tempfile\n"
    "from pathlib import Path\n"
    "from support import wecom, messengers, smtp\n"
    "kind = sys.argv[1]\n"
    "server = {'wecom': wecom.WecomServer, 'wecom_app': messengers.WecomAppServer,\n"
    "          'dingtalk': messengers.DingtalkServer, 'feishu': messengers.FeishuServer,\n"
    "          'email': lambda: smtp.SmtpServer('none', Path(tempfile.mkdtemp()))}[kind]()\n"
    "if kind == 'wecom_app':\n"
    "    server.members = {f'user{i}' for i in range(int(sys.argv[2]))}\n"
    "server.start()\n"
    "print(server.port, flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)
CHANNELS = ("wecom", "wecom_app", "dingtalk", "feishu", "email")
SECRETS = {
    "BENCH_WECOM_APP_SECRET": "app-secret-0123456789abcdefghijklmnop",
    "BENCH_DINGTALK_SECRET": "SEC0123456789abcdef0123456789abcdef0123456789abcdef",
    "BENCH_FEISHU_SECRET": "fs-secret-0123456789abcdef",
}


def _contacts(channel: str, port: int, robots: int) -> tuple[dict, dict]:
    """The units' contacts and the channel's settings, pointing at the sink on `port`."""
    base = f"http://127.0.0.1:{port}"
    if channel == "email":  # aiosmtpd on loopback, plain SMTP without a login (a local relay)
        units = {f"第{i}单位": {"email": [f"unit{i}@example.gov.cn"]} for i in range(robots)}
        relay = {"host": "127.0.0.1", "port": port, "security": "none",
                 "from": "duban@example.gov.cn"}
        return units, {"email": relay}
    if channel == "wecom":
        units = {
            f"第{i}单位": {"wecom": f"{base}/cgi-bin/webhook/send?key=robot-{i}"}
            for i in range(robots)
        }
        return units, {"wecom": {"allowed_hosts": ["127.0.0.1"]}}
    if channel == "wecom_app":
        units = {f"第{i}单位": {"wecom_users": [f"user{i}"]} for i in range(robots)}
        app = {
            "corp_id": "ww0123456789abcdef",
            "agent_id": 1000002,
            "secret_env": "BENCH_WECOM_APP_SECRET",
            "api_base": base,
            "allowed_hosts": ["127.0.0.1"],
        }
        return units, {"wecom_app": app}
    if channel == "dingtalk":
        token = "dt-access-token-0123456789abcdef0123456789abcdef"
        units = {
            f"第{i}单位": {
                "dingtalk": f"{base}/robot/send?access_token={token}&robot={i}",
                "dingtalk_secret_env": "BENCH_DINGTALK_SECRET",
            }
            for i in range(robots)
        }
        return units, {"dingtalk": {"allowed_hosts": ["127.0.0.1"]}}
    token = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    units = {
        f"第{i}单位": {
            "feishu": f"{base}/open-apis/bot/v2/hook/{token}?robot={i}",
            "feishu_secret_env": "BENCH_FEISHU_SECRET",
        }
        for i in range(robots)
    }
    return units, {"feishu": {"allowed_hosts": ["127.0.0.1"]}}


def _channel(name: str, settings):
    if name == "email":
        return EmailChannel(settings.channels.email, reuse=True)  # as the dispatcher's own
    if name == "wecom":
        return WecomChannel(settings.channels.wecom, RobotLimiter(20))
    # a fresh pacer: every robot and member starts with a full allowance
    if name == "wecom_app":
        return WecomAppChannel(settings, MemoryPacer())
    if name == "dingtalk":
        return DingtalkChannel(settings, MemoryPacer())
    return FeishuChannel(settings, MemoryPacer())


def _queue(db, channel: str, names: list[str], notices: int) -> None:
    with db.transaction() as session:
        enqueue(
            session,
            [
                direct_notice(
                    plan_id="trial-plan",
                    kind="reminder",
                    recipient=names[n % len(names)],
                    channel=channel,
                    tasks=(1 + n % 4,),
                    occurrence=f"bench-{n}",
                    send_at=NOW,
                    context={},
                )
                for n in range(notices)
            ],
            NOW,
        )


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def end_to_end(channel: str, units: dict, config: dict, notices: int, folder: Path):
    """`duban run --once` as a process over the same notices: (notices/s, per CPU-s, sent)."""
    lines = [f'[channels.file]\ndir = "{folder / "outbox-e2e"}"']
    for name, table in config.items():
        lines.append(f"[channels.{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    for unit, contact in units.items():
        lines.append(f'[units."{unit}"]')
        lines += [f"{k} = {_toml(v)}" for k, v in contact.items()]
    path = folder / "duban-e2e.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = settings_for(folder, units, **config)
    url = f"sqlite:///{folder / 'e2e.db'}"
    db = open_database(url)
    load_plan(db, small_plan(), settings, NOW)
    _queue(db, channel, list(units), notices)
    db.close()
    cpu_before = children_cpu()
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "engine",
        "--config",
        str(path),
        "--db",
        url,
        "--now",
        NOW.isoformat(),
        "run",
        "--once",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    elapsed = time.perf_counter() - started
    cpu = children_cpu() - cpu_before
    db = open_database(url)
    with db.read() as session:
        sent = sum(
            1 for row in list_notices(session) if row.channel == channel and row.status == "sent"
        )
    db.close()
    if done.returncode != 0:
        print(f"[{channel}]   duban run --once failed: {done.stderr.strip()[-300:]}")
    return sent / elapsed, (sent / cpu if cpu else float("inf")), sent


def bench(channel: str, notices: int, robots: int, workers: int) -> tuple[float, float, bool]:
    """One dispatch pass of `notices` to `channel`'s peer: (notices/s, notices/CPU-s, all sent)."""
    if channel == "feishu":
        robots = max(robots, -(-notices // 5))  # ≤ 5 a robot: nothing waits for the next second
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, channel, str(robots)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            units, config = _contacts(channel, port, robots)
            settings = settings_for(folder, units, **config)
            db = database_with_plan(folder, settings)
            _queue(db, channel, list(units), notices)
            channels = {
                channel: _channel(channel, settings),
                "file": FileChannel(folder / "outbox"),
            }
            # the CPU of the pass counts its renderers' too (engine.notify.renderpool): they
            # end, and are waited for, within it
            started, cpu_started = time.perf_counter(), time.process_time() + children_cpu()
            summary = dispatch_due(
                db, settings, NOW, channels=channels, rng=random.Random(1), workers=workers
            )
            channels[channel].close()  # part of the pass: the dispatcher closes its own
            elapsed = time.perf_counter() - started
            cpu = time.process_time() + children_cpu() - cpu_started
            db.close()
            e2e_rate, e2e_cpu, e2e_sent = end_to_end(channel, units, config, notices, folder)
    finally:
        sink.communicate("")
    rate = summary.sent / elapsed if elapsed else float("inf")
    per_cpu = summary.sent / cpu if cpu else float("inf")
    print(f"[{channel}] {notices} notices over {robots} robots, {workers} workers")
    print(f"[{channel}]   dispatch pass    {elapsed:.2f} s wall, {cpu:.2f} s CPU: {summary}")
    print(f"[{channel}]   rate             {rate:.0f} notices/s, {per_cpu:.0f} per CPU second")
    print(
        f"[{channel}]   ratio to target  {rate / TARGET:.2f} (wall), {per_cpu / TARGET:.2f} (CPU)"
    )
    print(
        f"[{channel}]   duban run --once {e2e_sent} sent, {e2e_rate:.0f} notices/s, "
        f"{e2e_cpu:.0f} per CPU second (a process: start-up, a planner pass, the limits counted "
        f"in the database); ratio to the inner pass {e2e_rate / rate:.2f} (wall)"
    )
    return rate, per_cpu, summary.sent == notices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channel", choices=("all", *CHANNELS), default="all")
    parser.add_argument("--notices", type=int, default=3000)
    parser.add_argument("--robots", type=int, default=300)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    os.environ.update(SECRETS)
    print(f"target ≥ {TARGET:.0f} notices/s per process; on a busy machine the wall-clock rate")
    print("says more about the neighbours than about duban: per CPU second is what one free core")
    print("would sustain")
    ok = True
    for channel in CHANNELS if args.channel == "all" else (args.channel,):
        rate, _, all_sent = bench(channel, args.notices, args.robots, args.workers)
        ok = ok and all_sent and rate >= TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Notices per second from the outbox to a loopback WeCom sink, over many robots.

Queues N reminder notices (SQLite outbox, the trial plan) for R units, each with its own robot,
then times one dispatch pass: claim, render (Jinja, from the store), POST to a loopback server
speaking the webhook protocol, record each outcome. Prints the rate and its ratio to the target
(≥ 500 notices/s per process; a ratio ≥ 1.00 meets it) and exits 1 when it is missed.

    .venv/bin/python benchmarks/dispatch_bench.py [--notices 3000] [--robots 300] [--workers 8]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.notices import NOW, database_with_plan, settings_for  # noqa: E402

from engine.notify.channels.file import FileChannel  # noqa: E402
from engine.notify.channels.wecom import WecomChannel  # noqa: E402
from engine.notify.dispatcher import dispatch_due  # noqa: E402
from engine.notify.ratelimit import RobotLimiter  # noqa: E402
from engine.planner.notices import direct_notice  # noqa: E402
from engine.store.outbox import enqueue  # noqa: E402

TARGET = 500.0

# The sink runs in its own process, as WeCom would: in this one it would take the GIL from the
# dispatcher being measured.
SINK = (
    "import sys\n"
    f"sys.path.insert(0, {str(REPO / 'tests')!r})\n"
    "from support.wecom import WecomServer\n"
    "server = WecomServer().start()\n"
    "print(server.port, flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)


def _url(port: int, key: str) -> str:
    return f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={key}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, default=3000)
    parser.add_argument("--robots", type=int, default=300)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    sink = subprocess.Popen(
        [sys.executable, "-c", SINK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            units = {f"第{i}单位": {"wecom": _url(port, f"robot-{i}")} for i in range(args.robots)}
            settings = settings_for(folder, units)
            db = database_with_plan(folder, settings)
            names = list(units)
            with db.transaction() as session:
                enqueue(
                    session,
                    [
                        direct_notice(
                            plan_id="trial-plan",
                            kind="reminder",
                            recipient=names[n % len(names)],
                            channel="wecom",
                            tasks=(1 + n % 4,),
                            occurrence=f"bench-{n}",
                            send_at=NOW,
                            context={},
                        )
                        for n in range(args.notices)
                    ],
                    NOW,
                )
            # a fresh limiter: every robot starts with a full minute's allowance
            channels = {
                "wecom": WecomChannel(settings.channels.wecom, RobotLimiter(20)),
                "file": FileChannel(folder / "outbox"),
            }
            started, cpu_started = time.perf_counter(), time.process_time()
            summary = dispatch_due(
                db, settings, NOW, channels=channels, rng=random.Random(1), workers=args.workers
            )
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            channels["wecom"].close()
            db.close()
    finally:
        sink.communicate("")

    rate = summary.sent / elapsed if elapsed else float("inf")
    per_cpu = summary.sent / cpu if cpu else float("inf")
    print(f"notices queued     {args.notices} over {args.robots} robots, {args.workers} workers")
    print(f"dispatch pass      {elapsed:.2f} s wall, {cpu:.2f} s CPU: {summary}")
    print(f"rate               {rate:.0f} notices/s (target ≥ {TARGET:.0f}/s)")
    # on a busy machine the wall-clock rate says more about the neighbours than about duban
    print(f"per CPU second     {per_cpu:.0f} notices (what one free core would sustain)")
    print(f"ratio to target    {rate / TARGET:.2f} (wall), {per_cpu / TARGET:.2f} (CPU)")
    ok = summary.sent == args.notices and rate >= TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

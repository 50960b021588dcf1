"""`duban web` as a person meets it: the process started, pages fetched over loopback HTTP.

For the seed plan (18 tasks) and a generated plan of 10,000 tasks, each in its own SQLite file:
- start-up: from launching `duban web` to its first answer;
- the board (`/`, logged in as the coordinator): median and p95 of repeated GETs, against its
  target (≤ 100 ms at 18 tasks, ≤ 300 ms at 10,000);
- a unit's page (`/u/<token>`, the unit with the most tasks): median and p95 (target ≤ 50 ms);
- 50 concurrent clients fetching units' pages and the board for a bounded number of requests
  (and at most 30 s): requests per second and p95 latency.

Times are measured by the client, so they include the loopback round trip besides the server's
work. Prints figures and ratios; the exit status is 1 when a target is missed.

    .venv/bin/python benchmarks/web_bench.py [--runs 30] [--clients 50] [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.plans import big_plan  # noqa: E402

from engine.actions.loading import load_plan  # noqa: E402
from engine.actions.people import add_user, link_token, link_url  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.planfile import read_plan  # noqa: E402
from engine.store import open_database  # noqa: E402

SEED_PLAN = REPO / "workflows" / "zhuhai-gba-legal-services.yaml"
NOW = datetime(2021, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
_SCRIPT = Path(sys.executable).with_name("duban")
DUBAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "engine"]
PASSWORD = "bench-password-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(folder: Path, plan) -> tuple[str, str, str]:
    """The database with `plan`, a coordinator account, and the busiest unit's name."""
    url = f"sqlite:///{folder / 'duban.db'}"
    db = open_database(url)
    try:
        load_plan(db, plan, Settings(), NOW)
        coordinator = plan.coordinator or plan.tasks[0].lead
        add_user(db, name="bench", unit=coordinator, role="coordinator", password=PASSWORD,
                 now=NOW)
        leads = Counter(t.lead for t in plan.tasks if t.lead)
        busiest = leads.most_common(1)[0][0]
    finally:
        db.close()
    return url, coordinator, busiest


def start(url: str, port: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [*DUBAN, "--db", url, "--now", NOW.isoformat(), "web", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    deadline = started + 60
    while time.perf_counter() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return process, time.perf_counter() - started
        except requests.ConnectionError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("duban web did not answer within 60 s")


def login(base: str) -> requests.Session:
    session = requests.Session()
    token = _CSRF.search(session.get(base + "/login", timeout=10).text)
    assert token, "no csrf_token on the login page"
    answer = session.post(
        base + "/login",
        data={"csrf_token": token.group(1), "username": "bench", "password": PASSWORD},
        timeout=10,
    )
    assert answer.status_code == 200 and "退出" in answer.text, answer.status_code
    return session


def timed(session: requests.Session, url: str, runs: int) -> list[float]:
    session.get(url, timeout=30).raise_for_status()  # warm: templates compiled, caches filled
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def concurrent(urls: list[str], cookies: dict[str, str], clients: int, total: int) -> dict:
    """`clients` threads share `total` GETs over `urls` (at most 30 s); rps and p95."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    remaining = [total]
    stop_at = time.perf_counter() + 30

    def client(index: int) -> None:
        nonlocal errors
        session = requests.Session()
        session.cookies.update(cookies)
        n = index
        while time.perf_counter() < stop_at:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            url = urls[n % len(urls)]
            n += 1
            started = time.perf_counter()
            try:
                ok = session.get(url, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                errors += 0 if ok else 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p95": p95(latencies),
        "median": statistics.median(latencies),
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    env = {**os.environ, "DUBAN_WEB_SECRET": "bench-secret-0123456789abcdef"}
    env.pop("DUBAN_CONFIG", None)
    missed = 0
    cases = [
        ("seed, 18 tasks", read_plan(SEED_PLAN), 0.100),
        ("10,000 tasks", big_plan(10_000), 0.300),
    ]
    for label, plan, board_target in cases:
        with tempfile.TemporaryDirectory() as folder:
            url, _coordinator, busiest = prepare(Path(folder), plan)
            port = free_port()
            process, startup = start(url, port, env)
            base = f"http://127.0.0.1:{port}"
            try:
                session = login(base)
                board = timed(session, base + "/", args.runs)
                db = open_database(url)
                settings = Settings.model_validate({"web": {"base_url": base}})
                os.environ["DUBAN_WEB_SECRET"] = env["DUBAN_WEB_SECRET"]
                link = link_url(settings, link_token(db, settings, busiest, NOW))
                db.close()
                unit = timed(requests.Session(), link, args.runs)
                load = concurrent(
                    [link, link, link, base + "/"],
                    session.cookies.get_dict(),
                    args.clients,
                    args.requests,
                )
            finally:
                process.terminate()
                process.wait(timeout=30)
        board_ok = statistics.median(board) <= board_target
        unit_ok = statistics.median(unit) <= 0.050
        missed += (not board_ok) + (not unit_ok)
        print(f"{label}:")
        print(f"  duban web start-up to first answer  {ms(startup)}")
        ratio = statistics.median(board) / board_target
        print(
            f"  board /            median {ms(statistics.median(board))}  p95 {ms(p95(board))}"
            f"  target {board_target * 1000:.0f} ms  ({ratio:.2f}× target) "
            f"{'ok' if board_ok else 'MISSED'}"
        )
        print(
            f"  unit page ({busiest}) median {ms(statistics.median(unit))}  p95 {ms(p95(unit))}"
            f"  target 50 ms  ({statistics.median(unit) / 0.050:.2f}× target) "
            f"{'ok' if unit_ok else 'MISSED'}"
        )
        print(
            f"  {args.clients} concurrent clients: {load['requests']} requests, "
            f"{load['rps']:.0f} req/s, median {ms(load['median'])}, p95 {ms(load['p95'])}, "
            f"errors {load['errors']}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())

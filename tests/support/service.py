"""`duban run` as a real process, for tests that look at it while it runs.

The service is started, its stderr read on a thread (so that no wait is without a deadline), and
the test's block entered once the ready line is logged. Leaving the block sends SIGTERM, as
systemd does, and waits for the exit; a process that outlives that is killed. A wrapper in
between (the `sudo duban` script runs duban under runuser) passes SIGTERM on, which SIGKILL would
not: the wrapper is stopped the same way.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

READY = "督办服务已启动"


@dataclass
class Running:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    returncode: int | None = None


@contextmanager
def running_service(command: list[str], cwd: Path, env: dict[str, str],
                    timeout: float = 60) -> Iterator[Running]:
    process = subprocess.Popen(command, cwd=cwd, env=env, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stream = process.stderr
    found: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stream:
            found.put(line)
        found.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    running = Running(process)
    try:
        while True:
            try:
                line = found.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"duban run was not ready within {timeout} s") from None
            if line is None:
                raise AssertionError("duban run exited before it was ready:\n"
                                     + "".join(running.lines))
            running.lines.append(line)
            if READY in line:
                break
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=10)
        stream.close()
        while not found.empty():
            line = found.get()
            if line is not None:
                running.lines.append(line)
        running.returncode = process.returncode

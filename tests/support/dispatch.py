"""A dispatcher in a process of its own, for the tests that kill one mid-send and restart it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Protocol

# The child reads the same config file and SQLite database the test prepared, at a given moment.
DISPATCH = (
    "import sys\n"
    "from datetime import datetime\n"
    "from engine.config import load_settings\n"
    "from engine.store import open_database\n"
    "from engine.notify.dispatcher import dispatch_due\n"
    "db = open_database(sys.argv[2])\n"
    "print(dispatch_due(db, load_settings(sys.argv[1]), datetime.fromisoformat(sys.argv[3]),"
    " workers=1))\n"
)


class Reached(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...


def start_dispatcher(config: Path, folder: Path, at: datetime) -> subprocess.Popen[str]:
    """`dispatch_due` over `folder`/duban.db at `at`, in a child without the caller's DUBAN_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            DISPATCH,
            str(config),
            f"sqlite:///{folder / 'duban.db'}",
            at.isoformat(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def kill_when_reached(dispatcher: subprocess.Popen[str], reached: Reached) -> None:
    """SIGKILL the dispatcher once the server holds the message it is waiting for."""
    try:
        assert reached.wait(timeout=60), "the dispatcher never reached the second message"
        dispatcher.send_signal(signal.SIGKILL)
        dispatcher.wait(timeout=30)
    finally:
        if dispatcher.poll() is None:
            dispatcher.kill()
        dispatcher.communicate()
    assert dispatcher.returncode == -signal.SIGKILL


def dispatch_to_the_end(config: Path, folder: Path, at: datetime) -> str:
    """Run a dispatcher at `at` until it is done; what it printed."""
    dispatcher = start_dispatcher(config, folder, at)
    out, err = dispatcher.communicate(timeout=60)
    assert dispatcher.returncode == 0, err
    return out

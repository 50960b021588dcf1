"""Telling systemd how the service is doing (sd_notify(3)): ready, alive, stopping.

With `Type=notify` systemd waits for READY=1 before it counts duban as started, so
`systemctl start duban` returns once the plans are loaded and the scheduler runs. With
`WatchdogSec=`, every finished tick sends WATCHDOG=1; a tick that hangs stops the pings and systemd
restarts the service. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import os
import socket


def notify(*fields: str) -> bool:
    """Send `fields` (e.g. "READY=1", "STATUS=…") to systemd; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not fields:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode("utf-8"))
    except OSError:
        return False  # systemd gone or socket unusable: the service itself carries on
    return True


def watchdog_seconds() -> float | None:
    """The watchdog interval systemd expects pings within, if it set one for this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000
    except ValueError:
        return None

"""The watchdogs' shared alarm thread: each exchange is ended at its own deadline, never one that
finished in time, and the alarms work in a forked child too.

The sockets are socket pairs whose peer never writes: a read on one returns only when the
watchdog shuts it down. The tests wait on those reads, never on a sleep.
"""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest

from engine.notify.deadline import Watchdog, watch


def _wait_for_shutdown(seconds: float, woke: list[float], order: list[float]) -> None:
    left, right = socket.socketpair()
    try:
        with Watchdog(seconds) as dog:
            watch(left)
            data = left.recv(1)  # blocks until the watchdog shuts the socket down
            woke.append(seconds)
            order.append(seconds)
            assert data == b""
            assert dog.fired
    finally:
        left.close()
        right.close()


def test_each_exchange_is_ended_at_its_own_deadline_in_deadline_order() -> None:
    order: list[float] = []
    woke: list[float] = []
    deadlines = [0.6, 0.2, 0.4]
    threads = [
        threading.Thread(target=_wait_for_shutdown, args=(seconds, woke, order))
        for seconds in deadlines
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(woke) == sorted(deadlines)  # every read was woken (the assertions inside held)
    assert order == sorted(deadlines)  # the earliest deadline first, whatever the start order


def test_an_exchange_that_ended_in_time_is_never_shut_down() -> None:
    early_left, early_right = socket.socketpair()
    try:
        with Watchdog(0.05) as early:
            watch(early_left)
        # a later exchange's deadline passes after the early one's would have
        woke: list[float] = []
        _wait_for_shutdown(0.3, woke, [])
        assert woke == [0.3]
        assert not early.fired
        early_right.sendall(b"x")  # the early socket still works both ways
        assert early_left.recv(1) == b"x"
        early_left.sendall(b"y")
        assert early_right.recv(1) == b"y"
    finally:
        early_left.close()
        early_right.close()


def test_a_nested_watchdog_gives_the_outer_one_back() -> None:
    left, right = socket.socketpair()
    try:
        with Watchdog(0.2) as outer:
            with Watchdog(30):
                pass
            watch(left)  # registered with the outer watchdog again
            assert left.recv(1) == b""
            assert outer.fired
    finally:
        left.close()
        right.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_has_working_alarms() -> None:
    with Watchdog(30):  # the parent's alarm thread is running when it forks
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 only if its own watchdog woke the read
            code = 1
            signal.alarm(10)  # a child whose watchdog never fires is ended, not left hanging
            try:
                woke: list[float] = []
                _wait_for_shutdown(0.1, woke, [])
                code = 0 if woke == [0.1] else 2
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

"""Plan files read in a child process, one ahead of the command that stores them.

`duban load a.yaml b.yaml …` reads a file (YAML, then the plan's tasks: about as long as storing
them) and stores it, one file after another. Here a forked child reads the next file while the
command stores the one before: a province's files load in little more than the time their
storing takes, on two cores or more (four files of 5,000 tasks: 3.6 → 2.5 s). The first file is
read while the command imports what storing needs (the config's pydantic models, SQLAlchemy,
the store's models: about as long as reading 5,000 tasks; none is imported before the fork, see
engine.values), so one file alone gains too (5,000 tasks: 1.30 → 1.14 s end to end; the
plan crosses back pickled in ~0.03 s). At most the plan being stored and the next one are held
at once.

A file the child cannot read raises the same error, with the same message, when the command takes
its plan, as reading it in the command would. The child is a fork, so it starts at once with the
command's modules and settings; it is used only where forking is safe and can help: on Linux,
with more than one CPU, and while the command runs a single thread (a fork copies only the
forking thread, and a lock another thread held would stay locked in the child). Otherwise, and if
the child dies (killed, out of memory: the file is then read here, with a log line), the files
are read in the command, as before.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from engine.planfile import read_plan

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from engine.model.plan import Plan


def child_helps() -> bool:
    """Whether a forked child may read the files: Linux, two CPUs or more, one thread running."""
    return (
        sys.platform == "linux"
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
    )


class ReadAhead:
    """`with ReadAhead(paths) as plans: for path, plan_of in plans: plan = plan_of()`: each of
    `paths` in order, with a function returning its plan or raising what reading it raises. The
    first file is being read from the moment the object is made. `child`: read in a forked
    child (None: when `child_helps`)."""

    def __init__(self, paths: Sequence[Path], *, child: bool | None = None) -> None:
        self._waiting = iter(paths)
        self._queued: deque[tuple[Path, Future[Plan] | None]] = deque()
        if child is None:
            child = child_helps()
        self._pool: ProcessPoolExecutor | None = None
        if child and paths:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            try:
                # the fork may come while the command's start-up keeps the collector off
                # (engine.cli.main.settled): the child collects as any process does
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=gc.enable,
                )
            except (OSError, ImportError) as exc:  # no working semaphores (/dev/shm), say
                logger.info("无法创建读取计划文件的子进程（{}），改在本进程读取", exc)
        self._submit()

    @property
    def reading_elsewhere(self) -> bool:
        """Whether the files are read in the child (the caller may do other work meanwhile)."""
        return self._pool is not None

    def _submit(self) -> None:
        path = next(self._waiting, None)
        if path is None:
            return
        future: Future[Plan] | None = None  # None: read here
        if self._pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                future = self._pool.submit(read_plan, path)
            except BrokenProcessPool:  # the child died before: this one is read here
                _read_here(path)
        self._queued.append((path, future))

    def __iter__(self) -> Iterator[tuple[Path, Callable[[], Plan]]]:
        while self._queued:
            self._submit()  # the next file is read while the caller stores this one
            path, future = self._queued.popleft()
            if future is None:
                yield path, partial(read_plan, path)
            else:
                yield path, partial(_plan, future, path)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_here(path: Path) -> None:
    logger.warning("读取计划文件的子进程已退出，改在本进程读取 {}", path)


def _plan(future: Future[Plan], path: Path) -> Plan:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        _read_here(path)
        return read_plan(path)

"""Notices rendered in processes of their own, beside the dispatcher's thread.

Rendering a notice's parts (its subject, text and HTML: about 0.5 ms for a reminder of 16 tasks)
is half of what the dispatcher's thread does for it, and that thread holds the GIL: a pass of
thousands of notices is bound by one CPU while the others wait. On a machine of two CPUs or more,
once a pass claims a batch of `FROM` notices or more, the dispatcher hands the notices' contexts
to renderers, one process per spare CPU (at most `MOST`), and sends what they hand back; it keeps
reading the store and building the next contexts meanwhile.

- A renderer is a fresh interpreter (`python -c`, this checkout's engine): never a fork, which
  would be unsafe beside the service's threads, and never a re-run of the command that started
  it. It imports the renderer alone (~0.2 s); the dispatcher renders the first notices itself
  while it starts. A context crosses its stdin pickled, the parts come back on its stdout so
  (~60 µs a notice on the dispatcher's side); the renderer ends when its stdin does, so a killed
  dispatcher leaves none behind.
- The dispatcher keeps at most `AHEAD` notices waiting for each renderer; beyond that it renders
  the next one itself, so that neither side waits for the other.
- A renderer uses the same templates (`[templates] dir` included) with the same environment, so
  a notice reads the same wherever it was rendered; a template's error comes back as the
  `UserError` rendering here raises.
- A renderer that dies (killed, out of memory) or cannot start is logged once; the notices it
  held, and every one after, are rendered in the dispatcher.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import subprocess
import sys
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from engine.notify.context import NoticeContext
    from engine.notify.render import Rendered

FROM = 200
"""A batch of at least this many notices is rendered with renderers (the dispatcher's batch)."""
MOST = 3
"""Renderers at most, whatever the CPUs: the dispatcher's thread feeds about three."""
AHEAD = 8
"""Notices waiting per renderer, at most; beyond, the dispatcher renders the next one itself."""

_HEAD = struct.Struct("!I")
_ROOT = str(Path(__file__).resolve().parents[2])
_MAIN = (
    f"import sys; sys.path.insert(0, {_ROOT!r}); "
    "from engine.notify.renderpool import serve; serve()"
)


class RendererGone(Exception):
    """A renderer ended (killed, out of memory) before it answered."""


def renderers_for_machine() -> int:
    """How many renderers help here: one per CPU this process may run on beyond the dispatcher's,
    at most `MOST`; none on one CPU, or without an interpreter to start (`sys.executable`)."""
    if not sys.executable:
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min(MOST, (cpus or 1) - 1))


class _Renderer:
    """One renderer process, and the notices it was asked for, in order. Its answers are read by
    the dispatcher's thread itself (`poll`), between two notices: a thread of their own would
    wait for the GIL the dispatcher holds, up to 5 ms an answer."""

    def __init__(self, override: str | None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _MAIN, override or ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        # both pipes without blocking: the dispatcher never waits on a full pipe while the
        # renderer waits on the other one (a large notice either way would stop both)
        self._in, self._out = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self._unwritten = bytearray()
        self._read = bytearray()
        self.waiting: deque[Future[Rendered]] = deque()
        self.gone: BaseException | None = None

    def submit(self, ctx: NoticeContext) -> Future[Rendered]:
        if self.gone is not None:
            raise RendererGone(str(self.gone))
        future: Future[Rendered] = Future()
        data = pickle.dumps(ctx, pickle.HIGHEST_PROTOCOL)
        self.waiting.append(future)
        self._unwritten += _HEAD.pack(len(data)) + data
        self._write()
        return future

    def _write(self) -> None:
        """Write what the pipe takes now of the notices not yet written."""
        if not self._unwritten or self.gone is not None:
            return
        try:
            written = os.write(self._in, self._unwritten)
        except BlockingIOError:
            return
        except OSError as exc:  # its pipe closed: it died
            self._end(exc)
            return
        del self._unwritten[:written]

    def poll(self, wait: bool) -> None:
        """Resolve the notices it has answered; with `wait`, wait for one at least."""
        while self.waiting:
            self._write()
            if wait:
                writing = [self._in] if self._unwritten else []
                select.select([self._out], writing, [])
            try:
                chunk = os.read(self._out, 1 << 20)
            except BlockingIOError:
                if wait:
                    continue  # it was the pipe to it that had room
                return
            if not chunk:  # its end: killed, or out of memory
                code = self.process.wait()
                self._end(RendererGone(f"退出码 {code}"))
                return
            self._read += chunk
            if self._answers() and wait:
                return

    def _answers(self) -> int:
        """Resolve the futures of the whole answers read so far; how many."""
        count = 0
        while len(self._read) >= _HEAD.size:
            (size,) = _HEAD.unpack_from(self._read)
            if len(self._read) < _HEAD.size + size:
                break
            data = bytes(self._read[_HEAD.size : _HEAD.size + size])
            del self._read[: _HEAD.size + size]
            ok, value = pickle.loads(data)
            future = self.waiting.popleft()
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
            count += 1
        return count

    def _end(self, exc: BaseException) -> None:
        """Every notice still waiting fails with `RendererGone`; none is asked from now on."""
        if self.gone is None:
            self.gone = exc
        self._unwritten.clear()
        waiting, self.waiting = self.waiting, deque()
        for future in waiting:
            future.set_exception(RendererGone(str(exc)))

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # it ends at the end of its input
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class RenderPool:
    """Renderers for the templates of `override` (`[templates] dir`, or None for the bundled
    ones): `submit(ctx)` hands a notice to the least busy, or returns None when it should be
    rendered here (all are busy, or they died); `poll()` takes in what they have rendered."""

    def __init__(self, override: str | None, processes: int) -> None:
        self.ahead = AHEAD
        self.broken = False
        self._renderers: list[_Renderer] = []
        try:
            for _ in range(processes):
                self._renderers.append(_Renderer(override))
        except OSError as exc:  # no process can be started (limits): render here
            self.lost(exc)

    def submit(self, ctx: NoticeContext) -> Future[Rendered] | None:
        if self.broken or not self._renderers:
            return None
        renderer = min(self._renderers, key=lambda r: len(r.waiting))
        if len(renderer.waiting) >= self.ahead:
            return None
        try:
            return renderer.submit(ctx)
        except RendererGone as exc:
            self.lost(exc)
            return None

    def poll(self, future: Future[Rendered] | None = None) -> None:
        """Take in every answer already there; with `future`, wait until it is answered."""
        for renderer in self._renderers:
            renderer.poll(wait=False)
        if future is not None:
            owner = next((r for r in self._renderers if future in r.waiting), None)
            while owner is not None and not future.done():
                owner.poll(wait=True)
        for renderer in self._renderers:
            if renderer.gone is not None:
                self.lost(renderer.gone)

    def lost(self, exc: BaseException) -> None:
        """A renderer died (or could not start): log it once; from now on, render here."""
        if not self.broken:
            self.broken = True
            logger.warning("生成通知的子进程已退出（{}），改在本进程生成通知", exc)

    def close(self) -> None:
        for renderer in self._renderers:
            renderer.close()
        self._renderers = []


def _frame(stream: IO[bytes]) -> bytes | None:
    """The next length-prefixed frame of `stream`; None at its end."""
    head = stream.read(_HEAD.size)
    if len(head) < _HEAD.size:
        return None
    (size,) = _HEAD.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def serve() -> None:
    """A renderer's life: each context read from stdin rendered, its parts (or what rendering
    raised) written to stdout, until stdin ends. `sys.argv[1]`: the templates' folder, or ""."""
    import traceback

    from engine.errors import DubanError
    from engine.notify.render import environment, render_notice

    env = environment(sys.argv[1] or None)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (data := _frame(stdin)) is not None:
        answer: tuple[bool, Any]
        try:
            answer = (True, render_notice(pickle.loads(data), env))
        except Exception as exc:
            if not isinstance(exc, DubanError):  # a fault of ours: its trace in the journal
                traceback.print_exc()
            answer = (False, exc)
        try:
            out = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an error that does not pickle: its words do
            words = f"{type(answer[1]).__name__}: {answer[1]}（{exc}）"
            out = pickle.dumps((False, RuntimeError(words)))
        stdout.write(_HEAD.pack(len(out)) + out)
        stdout.flush()

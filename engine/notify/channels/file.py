"""The `file` channel: each notice as files in a folder — the default that needs no server.

`<dir>/<send date>/<id>-<kind>-<recipient>-file.txt` holds the subject and the text, `.html` the
HTML body. Files are written atomically (a temporary file renamed into place), so a reader never
sees half a notice and sending the same notice again replaces it rather than adding a copy.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from datetime import datetime
from pathlib import Path

from engine.notify.channels.base import Delivery, Message

_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "unit"


def make_folders(folder: Path) -> None:
    """Create the folder and its missing parents rwxr-x--- at most, whatever the umask: a notice
    folder others could write to would let them add or replace notices (`mkdir -p` makes the
    parents 0777 under umask 000)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for one in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another sender
            one.mkdir(mode=0o750)


_FOLDERS: set[Path] = set()
"""Folders this process has seen or made: a pass writes thousands of notices into one."""
_HOST = re.sub(r"[^A-Za-z0-9.-]+", "_", socket.gethostname())
_TEMPORARY = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def temporary_for(path: Path) -> Path:
    """The temporary file `write_atomically` writes `path` through, in this host, process and
    thread."""
    return path.parent / f".{path.name}.{_HOST}-{os.getpid()}-{threading.get_ident()}.tmp"


def write_atomically(path: Path, content: str) -> None:
    """Write `content` to a temporary file beside `path` (private, rw-------), made durable, then
    renamed into place. The temporary name is this host's, process's and thread's own
    (`temporary_for`): two senders never share one, even in a folder that instances on several
    hosts share, and one a crash left behind is overwritten by the next that has its name."""
    folder = path.parent
    if folder not in _FOLDERS:
        make_folders(folder)
        _FOLDERS.add(folder)
    tmp = temporary_for(path)
    try:
        fd = os.open(tmp, _TEMPORARY, 0o600)
    except FileNotFoundError:  # the folder was removed meanwhile: made again
        make_folders(folder)
        fd = os.open(tmp, _TEMPORARY, 0o600)
    try:
        try:
            data = memoryview(content.encode("utf-8"))
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class FileChannel:
    name = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, message: Message, now: datetime) -> Path:
        day = (message.send_date or now.date()).isoformat()
        ident = str(message.notice_id) if message.notice_id is not None else "test"
        stem = f"{ident}-{message.kind}-{_safe(message.recipient)}-{self.name}"
        return self.folder / day / f"{stem}.txt"

    def close(self) -> None:
        return None

    def send(self, message: Message, now: datetime) -> Delivery:
        path = self.path_for(message, now)
        header = f"主题：{message.subject}\n收件单位：{message.recipient}\n\n"
        try:
            write_atomically(path, header + message.text)
            if message.html:
                write_atomically(path.with_suffix(".html"), message.html)
        except OSError as exc:
            # a full disk or a missing permission may be fixed by the operator: try again later
            return Delivery.transient(f"无法写入 {path}：{exc.strerror or exc}")
        return Delivery.sent(f"已写入 {path}")

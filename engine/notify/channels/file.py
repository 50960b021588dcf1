"""The `file` channel: each notice as files in a folder — the default that needs no server.

`<dir>/<send date>/<id>-<kind>-<recipient>-file.txt` holds the subject and the text, `.html` the
HTML body. Files are written atomically (a temporary file renamed into place), so a reader never
sees half a notice and sending the same notice again replaces it rather than adding a copy.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
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


def write_atomically(path: Path, content: str) -> None:
    make_folders(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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

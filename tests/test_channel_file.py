"""The file channel: each notice as files in a dated folder, written atomically."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engine.notify.channels.base import Message, Outcome
from engine.notify.channels.file import FileChannel

NOW = datetime(2021, 6, 23, 1, 0, tzinfo=UTC)


def notice(text: str = "市发改局：\n\n　　请抓紧推进。\n") -> Message:
    return Message(
        notice_id=41,
        kind="reminder",
        recipient="市发改局/办公室",
        subject="关于任务即将到期的提醒",
        text=text,
        html="<p>市发改局：</p>",
        send_date=date(2021, 6, 23),
    )


def test_a_notice_is_written_with_its_subject_and_html(tmp_path: Path):
    delivery = FileChannel(tmp_path / "outbox").send(notice(), NOW)
    assert delivery.outcome is Outcome.SENT
    # a slash in a unit's name cannot escape the folder
    path = tmp_path / "outbox" / "2021-06-23" / "41-reminder-市发改局_办公室-file.txt"
    assert str(path) in delivery.detail
    assert path.read_text(encoding="utf-8") == (
        "主题：关于任务即将到期的提醒\n收件单位：市发改局/办公室\n\n"
        "市发改局：\n\n　　请抓紧推进。\n"
    )
    assert path.with_suffix(".html").read_text(encoding="utf-8") == "<p>市发改局：</p>"
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_sending_again_replaces_the_file(tmp_path: Path):
    channel = FileChannel(tmp_path)
    channel.send(notice("第一版\n"), NOW)
    channel.send(notice("第二版\n"), NOW)
    files = sorted(p.name for p in (tmp_path / "2021-06-23").iterdir())
    assert files == [
        "41-reminder-市发改局_办公室-file.html",
        "41-reminder-市发改局_办公室-file.txt",
    ]
    assert (tmp_path / "2021-06-23" / files[1]).read_text(encoding="utf-8").endswith("第二版\n")


def test_an_unwritable_folder_is_transient(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    delivery = FileChannel(blocker).send(notice(), NOW)
    assert delivery.outcome is Outcome.TRANSIENT
    assert "无法写入" in delivery.detail


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_notice_folders_are_not_writable_by_others_whatever_the_umask(tmp_path, umask):
    import os
    import stat

    from engine.notify.channels.file import write_atomically

    old = os.umask(umask)
    try:
        write_atomically(tmp_path / "outbox" / "2021-06-10" / "1-reminder.txt", "正文")
    finally:
        os.umask(old)
    for folder in (tmp_path / "outbox", tmp_path / "outbox" / "2021-06-10"):
        mode = stat.S_IMODE(folder.stat().st_mode)
        assert mode & 0o027 == 0, oct(mode)
    notice = tmp_path / "outbox" / "2021-06-10" / "1-reminder.txt"
    assert stat.S_IMODE(notice.stat().st_mode) & 0o077 == 0
    assert notice.read_text(encoding="utf-8") == "正文"


def test_a_folder_removed_while_the_service_runs_is_made_again(tmp_path: Path):
    import shutil

    channel = FileChannel(tmp_path / "outbox")
    assert channel.send(notice("第一版\n"), NOW).outcome is Outcome.SENT
    shutil.rmtree(tmp_path / "outbox")  # an operator clearing the folder
    delivery = channel.send(notice("第二版\n"), NOW)
    assert delivery.outcome is Outcome.SENT
    path = tmp_path / "outbox" / "2021-06-23" / "41-reminder-市发改局_办公室-file.txt"
    assert path.read_text(encoding="utf-8").endswith("第二版\n")


def test_a_temporary_file_a_crash_left_is_overwritten_and_gone(tmp_path: Path):
    from engine.notify.channels.file import temporary_for, write_atomically

    folder = tmp_path / "2021-06-10"
    folder.mkdir()
    left = temporary_for(folder / "1-reminder.txt")
    assert left.parent == folder and left.name.startswith(".1-reminder.txt.")
    left.write_text("半截" * 5000, encoding="utf-8")  # longer than what replaces it
    write_atomically(folder / "1-reminder.txt", "正文")
    assert (folder / "1-reminder.txt").read_text(encoding="utf-8") == "正文"
    assert not left.exists()


def test_a_large_notice_is_written_whole(tmp_path: Path):
    from engine.notify.channels.file import write_atomically

    text = "第一行\n" + "很长的推进情况。" * 200_000  # several megabytes: more than one write
    write_atomically(tmp_path / "1-reminder.txt", text)
    assert (tmp_path / "1-reminder.txt").read_text(encoding="utf-8") == text


def test_senders_writing_one_notice_at_once_leave_one_of_them_whole(tmp_path: Path):
    import threading

    from engine.notify.channels.file import write_atomically

    path = tmp_path / "1-reminder.txt"
    texts = [f"第{n}版\n" + str(n) * 1_000_000 for n in range(8)]  # each larger than a pipe's write
    start = threading.Barrier(len(texts))

    def write(text: str) -> None:
        start.wait()
        write_atomically(path, text)

    threads = [threading.Thread(target=write, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert path.read_text(encoding="utf-8") in texts
    assert [p.name for p in tmp_path.iterdir()] == [path.name]

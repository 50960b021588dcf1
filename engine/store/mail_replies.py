"""The replies duban has read from its mailbox: one row per message, so each is handled once.

A row is written in the same transaction as the progress reports a reply becomes, so a service
that dies mid-mailbox either recorded a message and its reports or neither; the next poll skips
what has a row and marks it seen. Messages that change nothing (an auto-reply, an unknown sender)
get a row too, with the reason, so that they are not read again either. `key` is the SHA-256 of
the Message-ID (of the raw message when it has none): Message-IDs can be longer than an index
allows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store.models import Base, UTCDateTime

RECORDED = "recorded"
IGNORED = "ignored"


class MailReplyRecord(Base):
    __tablename__ = "mail_reply"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    notice_id: Mapped[int | None] = mapped_column(Integer)
    """The outbox notice it answered, when one was found."""
    outcome: Mapped[str] = mapped_column(String(20))
    """RECORDED (progress reports written) or IGNORED (nothing changed; `reason` says why)."""
    reason: Mapped[str] = mapped_column(Text, default="")
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


def already_read(session: Session, key: str) -> MailReplyRecord | None:
    return session.scalars(select(MailReplyRecord).where(MailReplyRecord.key == key)).first()

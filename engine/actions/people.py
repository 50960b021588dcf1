"""Who may use duban from outside a shell: console accounts, the units' personal links, API tokens.

- A console account (`web_user`) belongs to a unit and has a role: a `coordinator` decides for the
  plans its unit coordinates, a `viewer` (a leader) reads everything and decides nothing. Passwords
  are kept as Argon2 hashes; repeated failed logins are slowed (see `check_login`).
- A unit's link is `base_url/u/<token>`: the token names the unit, the generation of its links and
  the moment it was issued, signed with the installation's secret. It is valid `link_days` days by
  the business clock; `revoke_links` moves the unit to the next generation, which ends every link
  issued before.
- An API token is random; only its SHA-256 is kept, so it is shown once, when it is made.

The signing secret comes from the environment variable named by `[web] secret_env`; without it,
duban makes one and keeps it in the database, so that a trial installation works as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import local_iso
from engine.config import Settings
from engine.errors import NotAllowed, UserError
from engine.store import Database
from engine.store.models import ApiToken, AppSecret, Unit, UnitLink, WebUser
from engine.store.repository import UnitDirectory

ROLES = ("coordinator", "viewer")
TOKEN_ROLES = ("coordinator", "viewer", "unit")
ROLE_LABELS = {"coordinator": "统筹单位", "viewer": "查看", "unit": "责任单位"}
MIN_PASSWORD = 8
FREE_FAILURES = 5
"""Failed logins in a row before each further try has to wait."""
MAX_WAIT = timedelta(minutes=15)
_LINK_SALT = "duban.unit-link"
_TOKEN_PREFIX = "dbn_"


# --- the secret ------------------------------------------------------------------------------


def signing_secret(db: Database, settings: Settings) -> str:
    """The secret that signs links and sessions: from the environment, else kept in the database."""
    from engine.notify.secrets import remember

    value = os.environ.get(settings.web.secret_env, "").strip()
    if value:
        remember(value)
        return value
    with db.read() as session:
        row = session.get(AppSecret, "web")
        if row is not None:
            remember(row.value)
            return row.value
    try:
        with db.transaction() as session:
            session.add(AppSecret(name="web", value=secrets.token_urlsafe(32)))
    except IntegrityError:  # another process made it first: use theirs
        pass
    with db.read() as session:
        row = session.get(AppSecret, "web")
        assert row is not None
        remember(row.value)
        return row.value


def secret_is_stored(settings: Settings) -> bool:
    """Whether the secret is the one duban keeps in its database (no environment variable)."""
    return not os.environ.get(settings.web.secret_env, "").strip()


# --- console accounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    unit: str
    role: str

    def json(self) -> dict[str, str]:
        return {"name": self.name, "unit": self.unit, "role": self.role}


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _check_role(role: str, allowed: tuple[str, ...]) -> str:
    if role not in allowed:
        raise UserError(f"--role 的值“{role}”无效，应为 {'、'.join(allowed)} 之一")
    return role


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() or not c.isprintable() for c in name):
        raise UserError(f"{what}“{name}”无效：应为 1–100 个字符，不含空格和控制字符")
    return name


def _check_password(password: str) -> str:
    password = password.rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    return password


def add_user(
    db: Database, *, name: str, unit: str, role: str, password: str, now: datetime
) -> Account:
    name = _check_name(name, "用户名")
    _check_role(role, ROLES)
    hashed = _hasher().hash(_check_password(password))
    with db.transaction() as session:
        found = UnitDirectory.read(session).find(unit, where="--unit")
        if session.scalar(select(WebUser.id).where(WebUser.name == name)) is not None:
            raise UserError(f"用户“{name}”已存在；修改密码请用 duban user passwd {name}")
        session.add(
            WebUser(
                name=name, unit_id=found.id, role=role, password_hash=hashed, created_at=now
            )
        )
        return Account(name, found.name, role)


def list_users(db: Database) -> list[Account]:
    with db.read() as session:
        rows = session.execute(
            select(WebUser.name, Unit.name, WebUser.role)
            .join(Unit, Unit.id == WebUser.unit_id)
            .order_by(WebUser.name)
        )
        return [Account(*row) for row in rows]


def _user(session: Session, name: str) -> WebUser:
    user = session.scalar(select(WebUser).where(WebUser.name == name))
    if user is None:
        raise UserError(f"用户“{name}”不存在（duban user list 列出全部用户）")
    return user


def remove_user(db: Database, name: str) -> None:
    with db.transaction() as session:
        session.delete(_user(session, name))


def set_password(db: Database, name: str, password: str) -> None:
    hashed = _hasher().hash(_check_password(password))
    with db.transaction() as session:
        user = _user(session, name)
        user.password_hash, user.failed_logins, user.last_failed_at = hashed, 0, None


class LoginRefused(UserError):
    """A login that did not succeed; the message never says whether the user exists."""


def login_wait(failures: int) -> timedelta:
    """How long a login must wait after `failures` failed ones in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(MAX_WAIT, timedelta(seconds=30 * 2 ** (failures - FREE_FAILURES)))


# verified against when the name is unknown, so that a wrong name costs what a wrong password does
_DUMMY_HASH: str | None = None


def check_login(db: Database, name: str, password: str, at: datetime) -> Account:
    """The account for `name` and `password`, or LoginRefused.

    `at` is real (mechanical) time: the wait after repeated failures runs in seconds that pass,
    whatever business day `--now` sets.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY_HASH
    hasher = _hasher()
    refusal: str | None = None
    with db.transaction() as session:  # a failure is counted: committed, then refused
        user = session.scalar(select(WebUser).where(WebUser.name == name.strip()))
        if user is None:
            _DUMMY_HASH = _DUMMY_HASH or hasher.hash(secrets.token_hex(8))
            with contextlib.suppress(VerificationError):
                hasher.verify(_DUMMY_HASH, password)
            raise LoginRefused("用户名或密码错误")
        ready = (
            user.last_failed_at + login_wait(user.failed_logins)
            if user.last_failed_at is not None
            else at
        )
        if at < ready:
            seconds = int((ready - at).total_seconds()) + 1
            raise LoginRefused(f"登录失败次数过多，请 {seconds} 秒后再试")
        try:
            hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            user.failed_logins += 1
            user.last_failed_at = at
            refusal = "用户名或密码错误"
            wait = login_wait(user.failed_logins)
            if wait:
                refusal += f"；失败次数过多，请 {int(wait.total_seconds())} 秒后再试"
        else:
            user.failed_logins, user.last_failed_at = 0, None
            if hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hasher.hash(password)
            found = Account(user.name, user.unit.name, user.role)
    if refusal is not None:
        raise LoginRefused(refusal)
    return found


def account(db: Database, name: str) -> Account | None:
    """The account still there under `name` (a session outlives a removed user otherwise)."""
    with db.read() as session:
        user = session.scalar(select(WebUser).where(WebUser.name == name))
        return Account(user.name, user.unit.name, user.role) if user else None


# --- the units' links ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkHolder:
    unit_id: int
    unit: str


class LinkRefused(NotAllowed):
    """A link that was tampered with, has expired, or was revoked."""


def _serializer(secret: str) -> Any:
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret, salt=_LINK_SALT)


def _generation(session: Session, unit_id: int) -> int:
    row = session.get(UnitLink, unit_id)
    return row.generation if row else 0


def link_token(db: Database, settings: Settings, unit: str, now: datetime) -> str:
    """A fresh signed token for `unit`'s personal page."""
    secret = signing_secret(db, settings)
    with db.read() as session:
        found = UnitDirectory.read(session).find(unit, where="单位")
        generation = _generation(session, found.id)
    return sign_link(secret, found.id, generation, now)


def sign_link(secret: str, unit_id: int, generation: int, now: datetime) -> str:
    """A unit's link token from what the caller has already read: the secret, the unit's id and
    the generation of its links. The dispatcher signs many at once this way (one read per pass)."""
    issued = int(now.timestamp())
    return str(_serializer(secret).dumps({"u": unit_id, "g": generation, "t": issued}))


def link_generations(session: Session) -> dict[int, int]:
    """The generation of every unit's links that was ever revoked (a unit not listed is at 0)."""
    rows = session.execute(select(UnitLink.unit_id, UnitLink.generation))
    return {unit_id: generation for unit_id, generation in rows}


def session_secret(session: Session, settings: Settings) -> str:
    """The signing secret, read in a session the caller has open (as `signing_secret` reads it).

    Only when the installation has none yet is it made, in a transaction of its own.
    """
    from engine.notify.secrets import remember

    value = os.environ.get(settings.web.secret_env, "").strip()
    if value:
        remember(value)
        return value
    row = session.get(AppSecret, "web")
    if row is not None:
        remember(row.value)
        return row.value
    return signing_secret(Database(session.get_bind().engine), settings)


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.web.base_url.rstrip('/')}/u/{token}"


def read_link(db: Database, settings: Settings, token: str, now: datetime) -> LinkHolder:
    """The unit a link token names, or LinkRefused saying why it is not valid."""
    from itsdangerous import BadSignature

    try:
        data = _serializer(signing_secret(db, settings)).loads(token)
        unit_id, generation, issued = int(data["u"]), int(data["g"]), int(data["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused("链接无效：链接不完整或已被改动，请使用通知中的原始链接") from None
    issued_at = datetime.fromtimestamp(issued, UTC)
    if now >= issued_at + timedelta(days=settings.web.link_days):
        raise LinkRefused(
            f"链接已过期（有效期 {settings.web.link_days} 天），请使用最新通知中的链接，"
            "或联系统筹单位重新获取"
        )
    with db.read() as session:
        unit = session.get(Unit, unit_id)
        if unit is None or _generation(session, unit_id) != generation:
            raise LinkRefused("链接已停用，请使用最新通知中的链接，或联系统筹单位重新获取")
        return LinkHolder(unit.id, unit.name)


def revoke_links(db: Database, unit: str, now: datetime) -> str:
    """End every link issued to `unit` so far; returns the unit's name."""
    with db.transaction() as session:
        found = UnitDirectory.read(session).find(unit, where="单位")
        row = session.get(UnitLink, found.id)
        if row is None:
            row = UnitLink(unit_id=found.id, generation=0)
            session.add(row)
        row.generation += 1
        row.revoked_at = now
        return found.name


# --- API tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenHolder:
    name: str
    unit: str
    role: str
    created: str = ""

    def json(self) -> dict[str, str]:
        return {"name": self.name, "unit": self.unit, "role": self.role, "created": self.created}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_token(db: Database, *, name: str, unit: str, role: str, now: datetime) -> str:
    """Make a token; returns it (shown once: only its hash is kept)."""
    name = _check_name(name, "令牌名称")
    _check_role(role, TOKEN_ROLES)
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        found = UnitDirectory.read(session).find(unit, where="--unit")
        if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
            raise UserError(f"令牌“{name}”已存在；请换一个名称，或先 duban token remove {name}")
        session.add(
            ApiToken(
                name=name, unit_id=found.id, role=role, token_sha256=_digest(token), created_at=now
            )
        )
    return token


def list_tokens(db: Database, zone: tzinfo) -> list[TokenHolder]:
    with db.read() as session:
        rows = session.execute(
            select(ApiToken.name, Unit.name, ApiToken.role, ApiToken.created_at)
            .join(Unit, Unit.id == ApiToken.unit_id)
            .order_by(ApiToken.name)
        )
        return [TokenHolder(n, u, r, local_iso(c, zone)) for n, u, r, c in rows]


def remove_token(db: Database, name: str) -> None:
    with db.transaction() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name))
        if row is None:
            raise UserError(f"令牌“{name}”不存在（duban token list 列出全部令牌）")
        session.delete(row)


def read_token(db: Database, token: str) -> TokenHolder | None:
    """The holder of a bearer token, or None when it is unknown (or was removed)."""
    if not token.startswith(_TOKEN_PREFIX):
        return None
    with db.read() as session:
        row = session.execute(
            select(ApiToken.name, Unit.name, ApiToken.role)
            .join(Unit, Unit.id == ApiToken.unit_id)
            .where(ApiToken.token_sha256 == _digest(token))
        ).first()
        return TokenHolder(*row) if row else None

"""Opening the database: engine, connection settings, migrations to head, transactions.

SQLite (the default, a file under ./var/) runs in WAL mode with a busy timeout and foreign keys
on; a write transaction starts with BEGIN IMMEDIATE so that two writers queue on the lock instead
of one failing when it upgrades a read snapshot. The writers of one process queue on a lock of
their own first (SQLite's busy handler polls in sleeps of up to 100 ms: eight sending threads
each counting a robot's window spent most of a pass there). The SQL itself stays portable to
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from engine.errors import DubanError, ServiceError, UserError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_SECONDS = 30
_PG_MIGRATION_LOCK = 0x64756261  # "duba": one migrator at a time across service instances
_SQLITE_HEADER = b"SQLite format 3\x00"


class Database:
    """A database brought up to date; hands out sessions and transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite: this process's writers queue here rather than in SQLite's busy handler, which
        # polls with sleeps of up to 100 ms; the handler is left to writers of other processes
        self._write_lock = threading.RLock() if engine.dialect.name == "sqlite" else None
        self._writer = engine.execution_options(duban_write=True)
        self._relaxed_writer = engine.execution_options(duban_write=True, duban_relaxed=True)

    # The ORM is imported on first use: the board reads through Core and starts faster without it.
    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        return _session_maker(self.engine)

    @cached_property
    def _write_sessions(self) -> sessionmaker[Session]:
        return _session_maker(self._writer)

    @cached_property
    def _relaxed_sessions(self) -> sessionmaker[Session]:
        return _session_maker(self._relaxed_writer)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        """A session for reading; the caller closes it."""
        return self._sessions()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; rolled back and closed at the end."""
        with self._guard(), self._sessions() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A Core connection for reading, without the ORM; rolled back at the end."""
        with self._guard(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self, *, relaxed: bool = False) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back when it raises.
        `relaxed`: its commit does not wait for the disk (see `write`)."""
        sessions = self._relaxed_sessions if relaxed else self._write_sessions
        with self._guard(), self._writing(), sessions() as session, session.begin():
            yield session

    @contextmanager
    def write(self, *, relaxed: bool = False) -> Iterator[Connection]:
        """One write transaction on a Core connection, without the ORM's session (for statements
        that need no objects): committed when the block ends, rolled back when it raises.

        `relaxed`: the commit does not wait for the disk (SQLite `synchronous = NORMAL` in WAL
        mode, PostgreSQL `synchronous_commit = off` for this transaction). It survives the death
        of duban's process like any other; only a power cut or a crash of the database's host
        may undo the last fraction of a second of such commits, never corrupting anything. For
        records whose loss only repeats work (a notice recorded as sent is then sent again)."""
        writer = self._relaxed_writer if relaxed else self._writer
        with self._guard(), self._writing(), writer.begin() as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the process's SQLite write lock (nothing on PostgreSQL); as long as SQLite's busy
        timeout at most, then the same one-line error as a database held by another process."""
        if self._write_lock is None:
            yield
            return
        if not self._write_lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            held = f"database is locked (another writer held it for {BUSY_TIMEOUT_SECONDS} s)"
            raise ServiceError(failure_text(self.display_url, held))
        try:
            yield
        finally:
            self._write_lock.release()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn a database failure into one line that names the database."""
        try:
            yield
        except DubanError:
            raise
        except DBAPIError as exc:
            raise ServiceError(describe_failure(self.display_url, exc)) from exc

    def close(self) -> None:
        self.engine.dispose()


def _session_maker(bind: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=bind, expire_on_commit=False)


def describe_failure(url: str, exc: SQLAlchemyError) -> str:
    raw = str(getattr(exc, "orig", None) or exc).strip()
    return failure_text(url, raw.splitlines()[0] if raw else type(exc).__name__)


def failure_text(url: str, detail: str) -> str:
    """The one line for a database failure whose driver said `detail`."""
    lowered = detail.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return f"数据库 {url} 是只读的，无法写入（{detail}）"
    if "locked" in lowered or "busy" in lowered:
        return f"数据库 {url} 正被其他进程占用，请稍后重试（{detail}）"
    if "unable to open" in lowered:
        return f"无法打开数据库 {url}（{detail}）"
    return f"数据库 {url} 操作失败：{detail}"


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # A read-only file keeps the journal mode it has.
            with contextlib.suppress(Exception):
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        write = options.get("duban_write", False)
        if write:  # FULL: a commit waits for the disk; NORMAL only for a relaxed write
            synchronous = "NORMAL" if options.get("duban_relaxed", False) else "FULL"
            if conn.info.get("duban_synchronous") != synchronous:
                conn.exec_driver_sql(f"PRAGMA synchronous = {synchronous}")
                conn.info["duban_synchronous"] = synchronous
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def shown_url(url: str) -> str:
    """`url` as it may be shown in a message or a log: its password replaced by ***.

    Also for a URL that does not parse (a bad port, an unescaped @ in the password), where
    everything between the scheme and the last @ but the user name is hidden.
    """
    with contextlib.suppress(Exception):  # any parse failure: hidden by hand below
        parsed = make_url(url)
        if not _ambiguous(url, parsed):
            return parsed.render_as_string(hide_password=True)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if colon:
        userinfo = f"{user}:***"
    elif "@" in userinfo:  # no colon but an unescaped @: cannot tell the name from a password
        userinfo = "***"
    return f"{scheme}{sep}{userinfo}@{host}"


def _ambiguous(url: str, parsed: URL) -> bool:
    """True for a password with an unescaped @: SQLAlchemy ends it there and reads the rest as the
    host, port, path or query, where it would be shown. Another @ later in the URL (in a query
    value) must then be escaped as %40 too.
    """
    return parsed.password is not None and url.partition("://")[2].count("@") > 1


def _remember_password(url: str, parsed: URL) -> None:
    """Mask the URL's password (as typed and decoded) in every log line and error from now on."""
    if parsed.password is None:
        return
    from engine.notify.secrets import remember

    userinfo = url.partition("://")[2].rpartition("@")[0]
    remember(str(parsed.password), userinfo.partition(":")[2])


def _private_sqlite_file(path: Path) -> None:
    """Create the SQLite file 0600, whatever the umask; take other users' access off an old one.

    SQLite gives its -wal and -shm files the mode of the database file, so they follow. An
    existing file keeps its owner's and group's bits (an operator may have granted a group).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite says why it cannot open the file, in the usual one line
    else:
        os.close(fd)
        return
    try:
        with path.open("rb") as existing:
            header = existing.read(len(_SQLITE_HEADER))
    except OSError:
        return
    if header and header != _SQLITE_HEADER:
        return  # --db names some other file (a plan, a table): not ours to change
    for member in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(member.stat().st_mode)
        except OSError:
            continue
        if not mode & 0o007 or not member.is_file():
            continue
        tighter = mode & ~0o007
        try:
            os.chmod(member, tighter)
        except OSError:
            logger.warning(
                f"数据库文件 {member} 的权限为 {mode:04o}，其他用户可以读取；"
                f"请执行 chmod o-rwx {member}"
            )
        else:
            logger.warning(
                f"数据库文件 {member} 的权限为 {mode:04o}，其他用户可以读取；已改为 {tighter:04o}"
            )


def create_database_engine(url: str) -> Engine:
    """An engine for `url`; for a SQLite file, its folder (0700) and the file (0600) are made first.

    No message names the URL with its password.
    """
    shown = shown_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        parsed = None
    if parsed is None or _ambiguous(url, parsed):
        hint = "；用户名和密码中的 @ : / % 等字符要写成 %40 %3A %2F %25" if "@" in url else ""
        raise UserError(f"数据库地址“{shown}”无效，例如 sqlite:///var/duban.db{hint}")
    _remember_password(url, parsed)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        # a MySQL or Oracle URL would otherwise be answered with a missing driver's name
        raise UserError(
            f"数据库地址“{shown}”的类型不受支持，应为 sqlite:///… 或 postgresql+psycopg://…"
        )
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if parsed.username or parsed.password or parsed.host or parsed.port:
            raise UserError(
                f"数据库地址“{shown}”无效：SQLite 地址不含用户名、密码和主机，"
                "例如 sqlite:///var/duban.db"
            )
        if not database:  # SQLite would quietly use a throw-away in-memory database
            raise UserError(
                f"数据库地址“{shown}”缺少文件路径，例如 sqlite:///var/duban.db"
            )
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).parent
            # Only the file's own folder is made (./var/ by default, /var/lib/duban under
            # systemd): a URL whose folder's parent is missing is a typo, not a place to build.
            if not folder.parent.is_dir():
                raise UserError(
                    f"数据库地址“{shown}”所在的目录 {folder.parent} 不存在，"
                    "请检查路径（sqlite:////绝对路径 用四个斜杠）"
                )
            try:
                folder.mkdir(mode=0o700, exist_ok=True)
            except OSError as exc:
                raise ServiceError(
                    f"无法创建数据库目录 {folder}：{exc.strerror or exc}"
                ) from None
            _private_sqlite_file(Path(database))
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_SECONDS}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise UserError(
            f"数据库地址“{shown}”的类型不受支持，应为 sqlite:///… 或 postgresql+psycopg://…"
        ) from None
    except ModuleNotFoundError as exc:
        raise UserError(
            f"数据库驱动 {exc.name} 未安装（PostgreSQL 请安装 duban[postgres]）"
        ) from None
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _prepare_postgresql(engine)
    return engine


def _prepare_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # a relaxed write: this transaction's commit does not wait for the WAL to reach the disk
        if conn.get_execution_options().get("duban_relaxed", False):
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")


# --- migrations ------------------------------------------------------------------------------

_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?::[^=]*)?=\s*(.+)$", re.M)


def _script_heads() -> set[str]:
    """The head revisions of the shipped migrations, read without importing Alembic (fast path)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if not found:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down:
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return revisions - parents


def _current_heads(engine: Engine) -> set[str] | None:
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return set(rows)
    except DBAPIError:
        return None


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration, inside one transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    # Only the folder goes into Alembic's configparser, where a % (as in a password's %40) would
    # be read as interpolation; the connection itself is handed over below.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with engine.execution_options(duban_write=True).begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _from_snapshot(engine: Engine, heads: set[str]) -> bool:
    """A new SQLite file gets the migrated schema in one transaction (engine.store.snapshot)."""
    if engine.dialect.name != "sqlite":
        return False
    from engine.store.snapshot import create_from_snapshot

    return create_from_snapshot(engine, heads)


def open_database(url: str) -> Database:
    """Open the database at `url`, creating it or upgrading its schema as needed."""
    engine = create_database_engine(url)
    display = engine.url.render_as_string(hide_password=True)
    try:
        current, heads = _current_heads(engine), _script_heads()
        if current != heads and not (current is None and _from_snapshot(engine, heads)):
            upgrade(engine)
    except DubanError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        if "file is not a database" in str(getattr(exc, "orig", exc)):
            # --db names some other file (a plan, a table): the user's value, not a failure
            raise UserError(
                f"数据库地址 {display} 指向的文件不是 SQLite 数据库，请检查路径"
            ) from None
        raise ServiceError(describe_failure(display, exc)) from exc
    return Database(engine)

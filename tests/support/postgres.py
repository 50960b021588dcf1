"""A database of its own on the test PostgreSQL server, for the tests marked `postgres`.

scripts/test.sh starts a server on loopback and sets DUBAN_TEST_POSTGRES_URL; without it these
tests are skipped, except on CI (CI=true), where they fail: the guarantees of several instances
are only tested there. Each test gets a fresh database, dropped afterwards, so that suites
sharing the server never see each other's rows.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

SERVER_VARIABLE = "DUBAN_TEST_POSTGRES_URL"


def _no_server() -> None:
    why = f"{SERVER_VARIABLE} is not set (scripts/test.sh starts a server)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}; on CI the PostgreSQL tests must run")
    pytest.skip(why)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """The URL of a new database named `prefix`_<random>; skips the test when there is no server."""
    server = os.environ.get(SERVER_VARIABLE)
    if not server:
        _no_server()
    with database_on(server, prefix) as url:
        yield url


@contextmanager
def database_on(server: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """The URL of a new database named `prefix`_<random> on `server`, dropped afterwards; a copy
    of the database `template` when given (nobody may be connected to it meanwhile)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    copied = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copied}'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def role_with_password(prefix: str, password: str) -> Iterator[tuple[str, bool]]:
    """A new role `prefix`_<random> with `password`, owning a database of the same name.

    Yields the URL without the password (the test writes it in, escaped as it likes) and whether
    the server checks the password. The test server trusts every loopback connection; when its
    pg_hba.conf is at hand (a server on this machine, as scripts/postgres.sh starts), a line that
    asks this one role for its password is put first, and taken out again afterwards. Nothing else
    connecting to the server is affected.
    """
    server = os.environ.get(SERVER_VARIABLE)
    if not server:
        _no_server()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    literal = password.replace("'", "''")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{literal}'"))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{name}"'))
        hba = Path(conn.execute(text("SELECT current_setting('hba_file')")).scalar_one())
    url = make_url(server).set(username=name, password=None, database=name)
    ours = "".join(f"host all {name} {net} scram-sha-256\n" for net in ("127.0.0.1/32", "::1/128"))
    checked = False
    try:
        try:
            hba.write_text(ours + hba.read_text("utf-8"), "utf-8")
            checked = True
        except OSError:
            pass
        if checked:
            _reload(admin)
            _wait_until_refused(url.set(password=password + "-wrong"))
        yield url.render_as_string(hide_password=False), checked
    finally:
        if checked:
            hba.write_text(hba.read_text("utf-8").replace(ours, ""), "utf-8")
            _reload(admin)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def _reload(admin) -> None:
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_reload_conf()"))


def _wait_until_refused(url) -> None:
    """The server reloads pg_hba.conf on a signal: wait until a wrong password is refused."""
    from sqlalchemy.exc import OperationalError

    engine = create_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            try:
                engine.connect().close()
            except OperationalError:
                return
            time.sleep(0.05)
        raise AssertionError("the server did not start asking for the password")
    finally:
        engine.dispose()

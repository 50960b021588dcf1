"""A database of its own on the test PostgreSQL server, for the tests marked `postgres`.

scripts/test.sh starts a server on loopback and sets DUBAN_TEST_POSTGRES_URL; without it these
tests are skipped. Each test gets a fresh database, dropped afterwards, so that suites sharing the
server never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER_VARIABLE = "DUBAN_TEST_POSTGRES_URL"


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """The URL of a new database named `prefix`_<random>; skips the test when there is no server."""
    server = os.environ.get(SERVER_VARIABLE)
    if not server:
        pytest.skip(f"{SERVER_VARIABLE} is not set (scripts/test.sh starts a server)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

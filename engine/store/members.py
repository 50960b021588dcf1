"""Rows whose column is one of many values, in as few queries as the database allows.

`column IN (…)` takes one parameter per value, and SQLite allows some thousands at most: there,
the values go in chunks, a query each. PostgreSQL takes the whole list as one array parameter
(`column = ANY(:values)`), one query however many: a pass over 50,000 tasks reads their units
and keys in three queries, not three hundred.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, bindparam
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import any_

CHUNK = 500
"""Values a query at most, where they are parameters of their own (under SQLite's limit)."""


def one_of(
    session: Session,
    column: InstrumentedAttribute[Any] | Column[Any],
    values: Sequence[Any],
) -> list[ColumnElement[bool]]:
    """Conditions, one a query, that together select the rows whose `column` is in `values`
    (none for no values)."""
    if not values:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # imported here: the dialect package costs a start on SQLite ~0.05 s
        from sqlalchemy.dialects.postgresql import ARRAY

        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return [column == any_(array)]
    return [column.in_(values[start : start + CHUNK]) for start in range(0, len(values), CHUNK)]

"""The transaction a unit of work runs in: statements in, rows out as dicts."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import psycopg
from sqlalchemy.engine import Dialect

from promptcrafter.storage.statements import Record, Statement


class Transaction:
    """One unit of work on a driver connection; rows come back as dicts."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect
        self.dialect_name: str = dialect.name

    def execute(self, statement: Statement, **params: Any) -> Any:
        """Run the statement and return the driver's cursor."""
        compiled = statement.compiled(self.dialect)
        cursor = self.connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params))
        except BaseException:
            cursor.close()
            raise
        return cursor

    def run(self, statement: Statement, **params: Any) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        with closing(self.execute(statement, **params)) as cursor:
            return int(cursor.rowcount)

    def run_many(self, statement: Statement, rows: list[dict[str, Any]]) -> None:
        """Run a statement once per parameter set, in one driver call."""
        compiled = statement.compiled(self.dialect)
        with closing(self.connection.cursor()) as cursor:
            cursor.executemany(compiled.sql, [compiled.parameters(row) for row in rows])

    def first(self, statement: Statement, **params: Any) -> Record | None:
        """The first row, or None."""
        with closing(self.execute(statement, **params)) as cursor:
            row = cursor.fetchone()
            return None if row is None else dict(zip(_names(cursor), row, strict=True))

    def all(self, statement: Statement, **params: Any) -> list[Record]:
        """Every row; for statements whose LIMIT bounds them."""
        with closing(self.execute(statement, **params)) as cursor:
            names = _names(cursor)
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def rows(self, statement: Statement, **params: Any) -> list[tuple[Any, ...]]:
        """Every row as the driver's tuple, in the statement's column order: for long results."""
        with closing(self.execute(statement, **params)) as cursor:
            return list(cursor.fetchall())

    def scalar(self, statement: Statement, **params: Any) -> Any:
        """The first column of the first row, or None."""
        with closing(self.execute(statement, **params)) as cursor:
            row = cursor.fetchone()
            return None if row is None else row[0]


def _names(cursor: Any) -> list[str]:
    return [column[0] for column in cursor.description]


def is_integrity_error(error: Exception) -> bool:
    """Whether a driver error is a constraint violation (unique, foreign key, not null)."""
    return isinstance(error, sqlite3.IntegrityError | psycopg.errors.IntegrityError)

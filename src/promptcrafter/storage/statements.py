"""Core statements compiled once per dialect, then run on the driver's own cursor.

SQLAlchemy's per-execution bookkeeping costs several times more than an indexed lookup
itself, and this service mostly does indexed lookups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BindParameter, ClauseElement, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Record = dict[str, Any]


class Statement:
    """A Core statement with named `bindparam`s, compiled once for each dialect it meets.

    `sqlite_index` (table, index): SQLite reads that table through that index only. Its planner,
    without statistics, may prefer an index that saves a sort over one that covers the query."""

    def __init__(self, statement: ClauseElement, *, sqlite_index: tuple[str, str] | None = None) -> None:
        self.statement = statement
        self.sqlite_index = sqlite_index
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        """The statement as driver SQL for this dialect."""
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = Compiled(self.statement, dialect)
            if dialect.name == "sqlite" and self.sqlite_index is not None:
                table, index = self.sqlite_index
                found.sql = re.sub(rf"\bFROM {table}\b", f"FROM {table} INDEXED BY {index}", found.sql)
        return found


class Compiled:
    """Driver SQL plus how to turn keyword parameters into what the driver expects."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        # Literals in the statement (CASE results, `+ 1`) become parameters with values.
        self.defaults = {name: value for name, value in compiled.params.items() if value is not None}
        self.order = tuple(compiled.positiontup or ()) if dialect.positional else None

    def parameters(self, params: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        """The parameters in the driver's form: a dict, or a tuple in placeholder order."""
        values = {**self.defaults, **params} if self.defaults else params
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


def escape_like(text: str) -> str:
    """`text` as a LIKE pattern that matches only itself (with `ESCAPE '\\'`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class IdLookup:
    """A statement that reads rows by a list of up to 1,000 ids (`IN (:id_0, …)`).

    One parameter is bound per id; padding the list to one of a few lengths keeps the number
    of distinct statements, and so the statement caches, small.
    """

    SIZES = (1, 8, 64, 512, 1000)

    def __init__(self, build: Callable[[list[BindParameter[str]]], ClauseElement]) -> None:
        self._build = build
        self._statements: dict[int, Statement] = {}

    def bind(self, ids: Sequence[str]) -> tuple[Statement, dict[str, str]]:
        """The statement for these ids (at least one) and their parameters."""
        distinct = list(dict.fromkeys(ids))
        size = next(size for size in self.SIZES if size >= len(distinct))
        statement = self._statements.get(size)
        if statement is None:
            statement = self._statements[size] = Statement(
                self._build([bindparam(f"id_{index}") for index in range(size)])
            )
        padded = distinct + distinct[-1:] * (size - len(distinct))
        return statement, {f"id_{index}": value for index, value in enumerate(padded)}


def upsert(table: Table, keys: Sequence[str], updated: Sequence[str]) -> dict[str, Statement]:
    """`INSERT … ON CONFLICT (keys) DO UPDATE` of every column from a named parameter, by dialect."""
    values: dict[str, Any] = {column.name: bindparam(column.name) for column in table.columns}
    changes: dict[str, Any] = {name: bindparam(name) for name in updated}
    return {
        "postgresql": Statement(
            postgresql.insert(table).values(values).on_conflict_do_update(index_elements=keys, set_=changes)
        ),
        "sqlite": Statement(
            sqlite.insert(table).values(values).on_conflict_do_update(index_elements=keys, set_=changes)
        ),
    }

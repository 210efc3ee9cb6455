"""Core statements compiled once per dialect, then run on the driver's own cursor.

SQLAlchemy's per-execution bookkeeping costs several times more than an indexed lookup
itself, and this service mostly does indexed lookups.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ClauseElement
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Record = dict[str, Any]


class Statement:
    """A Core statement with named `bindparam`s, compiled once for each dialect it meets."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        """The statement as driver SQL for this dialect."""
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = Compiled(self.statement, dialect)
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

"""Lists read in keyset pages: each page starts after the last row of the one before.

A page costs the same wherever it lies in the list (no OFFSET), and each is read in a
short call of its own, so a long list never holds a connection while it is sent. A page
holds at most its size in rows and ends with the row whose texts take it past its
character budget, so the memory one response holds stays bounded however long the stored
texts are. Rows inserted or deleted between pages never make a row appear twice or go
missing: the next page starts after the last row's key, not at a position.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, bindparam, func, select, tuple_

from promptcrafter import messages
from promptcrafter.errors import Invalid
from promptcrafter.storage.statements import Record, Statement
from promptcrafter.storage.transaction import Transaction

PAGE_SIZE = 500
PAGE_CHARACTERS = 250_000
# One page of a list: its records, and the key after which the next page starts
# (None on the last page).
Page = tuple[list[Any], Any]
# Where a sorted list's next page starts: the phase it is in, and the key of the last row
# read in that phase (None: from the phase's first row). It travels to clients and back.
Key = tuple[int, list[Any] | None]


class PageQuery:
    """A page's statement (ordered, LIMIT :page_size), cut once its `texts` pass
    :page_characters.

    SQLite hands rows over one at a time as it finds them, so the cut is made while
    reading. PostgreSQL's driver receives the whole result at once, so there the
    statement itself counts the characters (a window sum) and stops.
    """

    def __init__(self, query: Select[Any], texts: Sequence[Column[Any]], order: Sequence[tuple[str, bool]]) -> None:
        self._reading = Statement(query)
        self._counting = Statement(_counting_characters(query, texts, order))
        self._texts = [text.name for text in texts]

    def rows(
        self, tx: Transaction, *, page_size: int = PAGE_SIZE, page_characters: int = PAGE_CHARACTERS, **params: Any
    ) -> tuple[list[Record], bool]:
        """The page's rows, and whether more may follow them."""
        if tx.dialect_name == "postgresql":
            rows = tx.all(self._counting, page_size=page_size, page_characters=page_characters, **params)
            full = bool(rows) and rows[-1]["running_size"] >= page_characters
            return rows, full or len(rows) == page_size
        rows, characters = [], 0
        with closing(tx.execute(self._reading, page_size=page_size, **params)) as cursor:
            names = [column[0] for column in cursor.description]
            for values in cursor:
                row = dict(zip(names, values, strict=True))
                rows.append(row)
                characters += sum(len(row[name] or "") for name in self._texts)
                if characters >= page_characters:
                    return rows, True
        return rows, len(rows) == page_size

    def plan(self, tx: Transaction, **params: Any) -> list[str]:
        """The database's plan for this page's statement, one line per step."""
        statement = self._counting if tx.dialect_name == "postgresql" else self._reading
        return _plan(tx, statement, params)


def _plan(tx: Transaction, statement: Statement, params: dict[str, Any]) -> list[str]:
    compiled = statement.compiled(tx.dialect)
    explain = "EXPLAIN QUERY PLAN " if tx.dialect_name == "sqlite" else "EXPLAIN "
    with closing(tx.connection.cursor()) as cursor:
        cursor.execute(explain + compiled.sql, compiled.parameters(params))
        return [str(row[-1]) for row in cursor.fetchall()]


def _counting_characters(
    query: Select[Any], texts: Sequence[Column[Any]], order: Sequence[tuple[str, bool]]
) -> Select[Any]:
    """`query`'s rows up to the one that takes the page past :page_characters, with
    `running_size`: the page's characters up to and including each row."""
    row_size = functools.reduce(operator.add, [func.coalesce(func.length(text), 0) for text in texts])
    candidates = query.add_columns(row_size.label("row_size")).subquery("candidates")
    running = func.sum(candidates.c.row_size).over(order_by=_ordering(candidates.c, order))
    sized = select(candidates, running.label("running_size")).subquery("sized")
    return (
        select(sized)
        .where(sized.c.running_size - sized.c.row_size < bindparam("page_characters"))
        .order_by(*_ordering(sized.c, order))
    )


def _ordering(columns: Any, order: Sequence[tuple[str, bool]]) -> list[ColumnElement[Any]]:
    return [columns[name].desc() if descending else columns[name] for name, descending in order]


@dataclass(frozen=True)
class Phase:
    """A stretch of a sort that one index serves: the rows where `where` holds, ordered by
    `keys`, all ascending or all descending (so `(keys) > (last row's)` is an index seek).

    A sort with nulls last is two phases: the rows with a value, then those without.
    """

    keys: tuple[Column[Any], ...]
    descending: bool = False
    where: ColumnElement[bool] | None = None


# A filter's condition, given how many values it has (`modelUsed` may have several).
Filter = Callable[[int], ColumnElement[bool]]


class SortedList:
    """The rows of one table under optional filters, in one of several orders, in pages.

    Statements are built once per shape (order, phase, which filters, how many values)
    and kept in a bounded cache; values are always bound parameters.
    """

    def __init__(
        self,
        columns: Sequence[Column[Any]],
        texts: Sequence[Column[Any]],
        record: Callable[[Record], Any],
        filters: Mapping[str, Filter],
        orders: Mapping[str, Sequence[Phase]],
    ) -> None:
        self._columns = tuple(columns)
        self._texts = tuple(texts)
        self._record = record
        self._filters = filters
        self._orders = orders
        self._query = functools.lru_cache(maxsize=256)(self._build)

    def page(
        self,
        tx: Transaction,
        *,
        filters: Mapping[str, Any],
        order: str = "createdAt",
        after: Any,
        size: int = PAGE_SIZE,
        characters: int = PAGE_CHARACTERS,
    ) -> Page:
        """Up to `size` records after the key `after` (None: from the start), and the key
        the next page starts after (None when this is the last).

        A filter's value is bound as the parameter of its name; a list binds `name_0`,
        `name_1`…; `True` is a filter without a value (such as `scored`).
        """
        params, shape = bound_filters(filters)
        phases = self._orders[order]
        phase, last = _checked_key(phases, after)
        records: list[Any] = []
        while phase < len(phases):
            query = self._query(order, phase, tuple(shape), last is not None)
            keys = {f"after_{index}": value for index, value in enumerate(last or [])}
            rows, more = query.rows(tx, page_size=size - len(records), page_characters=characters, **params, **keys)
            records.extend(self._record(row) for row in rows)
            if more:
                return records, (phase, [rows[-1][key.name] for key in phases[phase].keys])
            phase, last = phase + 1, None
            if len(records) >= size and phase < len(phases):
                return records, (phase, None)
        return records, None

    def plan(
        self, tx: Transaction, *, filters: Mapping[str, Any], order: str = "createdAt", following: bool
    ) -> list[str]:
        """How the database would read the first phase of a page (its EXPLAIN), for checking that
        every list is served by an index."""
        params, shape = bound_filters(filters)
        query = self._query(order, 0, tuple(shape), following)
        if following:
            keys = self._orders[order][0].keys
            params.update({f"after_{index}": _SAMPLE[key.type.python_type] for index, key in enumerate(keys)})
        return query.plan(tx, page_size=100, page_characters=PAGE_CHARACTERS, **params)

    def _build(self, order: str, phase_index: int, shape: tuple[tuple[str, int], ...], following: bool) -> PageQuery:
        phase = self._orders[order][phase_index]
        conditions = [self._filters[name](count) for name, count in shape]
        if phase.where is not None:
            conditions.append(phase.where)
        if following:
            last = tuple_(*(bindparam(f"after_{index}") for index in range(len(phase.keys))))
            keys = tuple_(*phase.keys)
            conditions.append(keys < last if phase.descending else keys > last)
        # A key the records do not show (a folded title) is read too, to make the next key.
        unshown = [key for key in phase.keys if not any(key is column for column in self._columns)]
        query = (
            select(*self._columns, *unshown)
            .where(and_(*conditions))
            .order_by(*(key.desc() if phase.descending else key for key in phase.keys))
            .limit(bindparam("page_size"))
        )
        return PageQuery(query, self._texts, [(key.name, phase.descending) for key in phase.keys])


def bound_filters(filters: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The filters' parameters, and their shape: each filter's name and number of values."""
    params: dict[str, Any] = {}
    shape = []
    for name, value in sorted(filters.items()):
        if isinstance(value, list):
            params.update({f"{name}_{index}": item for index, item in enumerate(value)})
            shape.append((name, len(value)))
        elif value is True:
            shape.append((name, 0))
        else:
            params[name] = value
            shape.append((name, 1))
    return params, shape


# Stand-ins for the last row's key when asking for a plan.
_SAMPLE: dict[type, Any] = {int: 0, float: 0.0, str: ""}


def _checked_key(phases: Sequence[Phase], after: Any) -> tuple[int, list[Any] | None]:
    """A key from a client (inside a cursor) must fit the order: 400 otherwise, never a
    statement with parameters of the wrong type."""
    if after is None:
        return 0, None
    if not (isinstance(after, list | tuple) and len(after) == 2 and type(after[0]) is int):
        raise bad_key()
    phase, last = after
    if not 0 <= phase < len(phases):
        raise bad_key()
    if last is not None and not (
        isinstance(last, list)
        and len(last) == len(phases[phase].keys)
        and all(_fits(value, key) for value, key in zip(last, phases[phase].keys, strict=True))
    ):
        raise bad_key()
    return phase, last


def _fits(value: Any, column: Column[Any]) -> bool:
    expected = column.type.python_type
    return type(value) is expected or (expected is float and type(value) is int)


def bad_key() -> Invalid:
    """A page key that did not come from this list (a cursor made up or altered)."""
    return Invalid(messages.BAD_PARAMETERS, details=[{"field": "cursor", "message": "Not a cursor from this list."}])

"""Lists read in keyset pages: each page starts after the last row of the one before.

A page costs the same wherever it lies in the list (no OFFSET), and each is read in a
short call of its own, so a long list never holds a connection while it is sent. A page
holds at most PAGE_SIZE rows and ends with the row whose texts take it past
PAGE_CHARACTERS, so the memory one response holds stays bounded however long the stored
texts are.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, bindparam, func, select, tuple_

from promptcrafter.storage.statements import Record, Statement
from promptcrafter.storage.transaction import Transaction

PAGE_SIZE = 500
PAGE_CHARACTERS = 250_000
# One page of a list: its records, and the key after which the next page starts
# (None on the last page).
Page = tuple[list[Any], Any]


class PageQuery:
    """A page's statement (ordered, LIMIT PAGE_SIZE), cut once its `texts` pass the budget.

    SQLite hands rows over one at a time as it finds them, so the cut is made while
    reading. PostgreSQL's driver receives the whole result at once, so there the
    statement itself counts the characters (a window sum) and stops.
    """

    def __init__(self, query: Select[Any], texts: Sequence[Column[Any]], order: Sequence[tuple[str, bool]]) -> None:
        self._reading = Statement(query)
        self._counting = Statement(_counting_characters(query, texts, order))
        self._texts = [text.name for text in texts]

    def rows(self, tx: Transaction, **params: Any) -> tuple[list[Record], bool]:
        """The page's rows, and whether more may follow them."""
        if tx.dialect_name == "postgresql":
            rows = tx.all(self._counting, **params)
            full = bool(rows) and rows[-1]["running_size"] >= PAGE_CHARACTERS
            return rows, full or len(rows) == PAGE_SIZE
        rows, characters = [], 0
        with closing(tx.execute(self._reading, **params)) as cursor:
            names = [column[0] for column in cursor.description]
            for values in cursor:
                row = dict(zip(names, values, strict=True))
                rows.append(row)
                characters += sum(len(row[name] or "") for name in self._texts)
                if characters >= PAGE_CHARACTERS:
                    return rows, True
        return rows, len(rows) == PAGE_SIZE


def _counting_characters(
    query: Select[Any], texts: Sequence[Column[Any]], order: Sequence[tuple[str, bool]]
) -> Select[Any]:
    """`query`'s rows up to the one that takes the page past PAGE_CHARACTERS, with
    `running_size`: the page's characters up to and including each row."""
    row_size = functools.reduce(operator.add, [func.coalesce(func.length(text), 0) for text in texts])
    candidates = query.add_columns(row_size.label("row_size")).subquery("candidates")
    running = func.sum(candidates.c.row_size).over(order_by=_ordering(candidates.c, order))
    sized = select(candidates, running.label("running_size")).subquery("sized")
    return (
        select(sized)
        .where(sized.c.running_size - sized.c.row_size < PAGE_CHARACTERS)
        .order_by(*_ordering(sized.c, order))
    )


def _ordering(columns: Any, order: Sequence[tuple[str, bool]]) -> list[ColumnElement[Any]]:
    return [columns[name].desc() if descending else columns[name] for name, descending in order]


class OldestFirst:
    """A list ordered by (created_at, id), read a page at a time."""

    def __init__(
        self,
        query: Select[Any],
        created_at: Column[int],
        row_id: Column[str],
        texts: Sequence[Column[Any]],
        record: Callable[[Record], Any],
    ) -> None:
        ordered = query.order_by(created_at, row_id).limit(PAGE_SIZE)
        after = tuple_(created_at, row_id) > tuple_(bindparam("after_created_at"), bindparam("after_id"))
        order = [(created_at.name, False), (row_id.name, False)]
        self._first = PageQuery(ordered, texts, order)
        self._following = PageQuery(ordered.where(after), texts, order)
        self._record = record

    def page(self, tx: Transaction, after: tuple[int, str] | None, **params: Any) -> Page:
        """The page after the key `after` (None: the first page) and the next page's key."""
        if after is None:
            rows, more = self._first.rows(tx, **params)
        else:
            rows, more = self._following.rows(tx, after_created_at=after[0], after_id=after[1], **params)
        next_key = (rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
        return [self._record(row) for row in rows], next_key

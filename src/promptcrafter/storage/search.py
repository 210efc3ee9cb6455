"""Prompt search: case-insensitive substring terms, ranked title > tag > content.

Both stores narrow the candidates with a trigram index over the case-folded text
(SQLite FTS5, PostgreSQL pg_trgm) and confirm every term exactly, so terms shorter
than a trigram and any Unicode text still give correct results.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)

from promptcrafter.storage import prompts as prompt_store
from promptcrafter.storage.database import Database
from promptcrafter.storage.tables import prompts

TRIGRAM = 3


def search(db: Database, *, owner_id: str, terms: list[str]) -> Iterator[Sequence[dict[str, Any]]]:
    """The owner's prompts containing every term, best group first, then newest first."""
    folded = [term.casefold() for term in terms]
    contains = _contains_sqlite if db.dialect == "sqlite" else _contains_postgres
    in_title = or_(false(), *(contains(prompts.c.title_folded, term) for term in folded))
    in_tags = or_(false(), *(contains(prompts.c.tags_folded, term) for term in folded))
    conditions = [prompts.c.owner_id == owner_id]
    conditions += [contains(prompts.c.search_folded, term) for term in folded]
    if db.dialect == "sqlite":
        conditions += _fts_candidates(folded)
    group = case((in_title, 0), (in_tags, 1), else_=2)
    query = (
        select(*prompt_store.COLUMNS)
        .where(and_(*conditions))
        .order_by(group, prompts.c.updated_at.desc(), prompts.c.id.desc())
    )
    return prompt_store.stream(db, query)


def _contains_sqlite(column: Any, term: str) -> ColumnElement[bool]:
    return func.instr(column, term) > 0


def _contains_postgres(column: Any, term: str) -> ColumnElement[bool]:
    # A plain LIKE with backslash escapes is what the pg_trgm index can serve.
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%")


def _fts_candidates(folded: list[str]) -> list[ColumnElement[bool]]:
    long_terms = [term for term in folded if len(term) >= TRIGRAM]
    if not long_terms:
        return []
    phrases = " AND ".join('"' + term.replace('"', '""') + '"' for term in long_terms)
    matching = (
        select(literal_column("rowid"))
        .select_from(table("prompts_search"))
        .where(text("prompts_search MATCH :phrases").bindparams(phrases=phrases))
    )
    return [prompts.c.seq.in_(matching)]

"""Prompt search: case-insensitive substring terms, ranked title > tag > content.

Both stores can narrow the candidates with a trigram index over the case-folded text
(SQLite FTS5, PostgreSQL pg_trgm) and confirm every term exactly, so terms shorter
than a trigram and any Unicode text still give correct results.

The trigram index covers every user's prompts. Reading all its matches for a common term
costs more than checking one user's few prompts directly, so it is used only for owners
with many prompts (on PostgreSQL the planner cannot know the owner's share in advance).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
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
from promptcrafter.storage.database import Database, Statement
from promptcrafter.storage.tables import prompts

TRIGRAM = 3
# Above this many prompts, an owner's search goes through the SQLite trigram index.
INDEXED_SEARCH_THRESHOLD = 2_000
_HAS_MANY_PROMPTS = Statement(
    select(prompts.c.seq)
    .where(prompts.c.owner_id == bindparam("owner_id"))
    .limit(1)
    .offset(INDEXED_SEARCH_THRESHOLD)
)


def search(db: Database, *, owner_id: str, terms: list[str]) -> Iterator[list[dict[str, Any]]]:
    """The owner's prompts containing every term, best group first, then newest first."""
    folded = [term.casefold() for term in terms]
    long_terms = [term for term in folded if len(term) >= TRIGRAM]
    params: dict[str, Any] = {"owner_id": owner_id}
    for index, term in enumerate(folded):
        params[f"term_{index}"] = term
        params[f"pattern_{index}"] = "%" + _escape_like(term) + "%"
    use_trigram_index = bool(long_terms) and _has_many_prompts(db, owner_id)
    if use_trigram_index and db.dialect == "sqlite":
        params["phrases"] = " AND ".join('"' + term.replace('"', '""') + '"' for term in long_terms)
    statement = _statement(db.dialect, len(folded), use_trigram_index)
    return prompt_store.stream(db, statement, **params)


@lru_cache(maxsize=64)
def _statement(dialect: str, term_count: int, use_trigram_index: bool) -> Statement:
    """The search query for a number of terms; built once per shape."""
    terms = [bindparam(f"term_{index}") for index in range(term_count)]
    if dialect == "sqlite":
        def contains(column: Any, index: int) -> ColumnElement[bool]:
            return func.instr(column, terms[index]) > 0

        conditions = [contains(prompts.c.search_folded, i) for i in range(term_count)]
        if use_trigram_index:
            matching = (
                select(literal_column("rowid"))
                .select_from(table("prompts_search"))
                .where(text("prompts_search MATCH :phrases"))
            )
            conditions.append(prompts.c.seq.in_(matching))
    else:
        def contains(column: Any, index: int) -> ColumnElement[bool]:
            return func.strpos(column, terms[index]) > 0

        if use_trigram_index:
            # A plain LIKE (backslash escapes) is what the pg_trgm index can serve.
            conditions = [
                prompts.c.search_folded.like(bindparam(f"pattern_{i}")) for i in range(term_count)
            ]
        else:
            # strpos cannot use the trigram index, so the planner reads the owner's prompts.
            conditions = [contains(prompts.c.search_folded, i) for i in range(term_count)]
    in_title = or_(false(), *(contains(prompts.c.title_folded, i) for i in range(term_count)))
    in_tags = or_(false(), *(contains(prompts.c.tags_folded, i) for i in range(term_count)))
    group = case((in_title, 0), (in_tags, 1), else_=2)
    return Statement(
        select(*prompt_store.COLUMNS)
        .where(and_(prompts.c.owner_id == bindparam("owner_id"), *conditions))
        .order_by(group, prompts.c.updated_at.desc(), prompts.c.id.desc())
    )


def _has_many_prompts(db: Database, owner_id: str) -> bool:
    with db.transaction(write=False) as tx:
        return tx.scalar(_HAS_MANY_PROMPTS, owner_id=owner_id) is not None


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""Prompt search: case-insensitive substring terms, ranked title > tag > content.

Both stores can narrow the candidates with a trigram index over the case-folded text
(SQLite FTS5, PostgreSQL pg_trgm) and confirm every term exactly, so terms shorter
than a trigram and any Unicode text still give correct results.

The trigram index covers every user's prompts. Reading all its matches for a common term
costs more than checking one user's few prompts directly, so it is used only for owners
with many prompts (on PostgreSQL the planner cannot know the owner's share in advance).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
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
from promptcrafter.storage.keyset import PAGE_CHARACTERS, PAGE_SIZE, Page, PageQuery, bad_key
from promptcrafter.storage.statements import Statement, escape_like
from promptcrafter.storage.tables import prompts
from promptcrafter.storage.transaction import Transaction

TRIGRAM = 3
# The documented limits of a search, which also bound the statement cache below.
MAX_QUERY_LENGTH = 1000
MAX_TERMS = 32

# Above this many prompts, an owner's search goes through the trigram index.
INDEXED_SEARCH_THRESHOLD = 2_000
_HAS_MANY_PROMPTS = Statement(
    select(prompts.c.seq)
    .where(prompts.c.owner_id == bindparam("owner_id"))
    .limit(1)
    .offset(INDEXED_SEARCH_THRESHOLD)
)

# A page's key: whether the trigram index is used, then the last row's sort key.
_KEY_TYPES = (bool, int, int, str)


def page(
    tx: Transaction,
    *,
    owner_id: str,
    terms: list[str],
    after: Any,
    size: int = PAGE_SIZE,
    characters: int = PAGE_CHARACTERS,
) -> Page:
    """One page of the owner's prompts containing every term: best group first, then newest."""
    if after is not None and not _is_key(after):
        raise bad_key()
    folded = [term.casefold() for term in terms]
    long_terms = [term for term in folded if len(term) >= TRIGRAM]
    params: dict[str, Any] = {"owner_id": owner_id}
    for index, term in enumerate(folded):
        params[f"term_{index}"] = term
        params[f"pattern_{index}"] = "%" + escape_like(term) + "%"
    if after is None:
        use_trigram_index = bool(long_terms) and tx.scalar(_HAS_MANY_PROMPTS, owner_id=owner_id) is not None
    else:
        use_trigram_index, params["after_group"], params["after_updated_at"], params["after_id"] = after
    if use_trigram_index and tx.dialect_name == "sqlite":
        params["phrases"] = " AND ".join('"' + term.replace('"', '""') + '"' for term in long_terms)
    query = _query(tx.dialect_name, len(folded), use_trigram_index, after is not None)
    rows, more = query.rows(tx, page_size=size, page_characters=characters, **params)
    next_key = None
    if more and rows:
        last = rows[-1]
        next_key = [use_trigram_index, last["search_group"], last["updated_at"], last["id"]]
    return [prompt_store.record(row) for row in rows], next_key


@lru_cache(maxsize=2 * MAX_TERMS * 2 * 2)
def _query(dialect: str, term_count: int, use_trigram_index: bool, following: bool) -> PageQuery:
    """The search query for a number of terms; built once per shape."""
    terms: list[BindParameter[str]] = [bindparam(f"term_{index}") for index in range(term_count)]
    if dialect == "sqlite":
        def contains(column: Any, index: int) -> ColumnElement[bool]:
            return func.instr(column, terms[index]) > 0

        conditions = [contains(prompts.c.search_folded, i) for i in range(term_count)]
        if use_trigram_index:
            matching: Select[Any] = (
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
    if following:
        after_group: BindParameter[int] = bindparam("after_group")
        after_updated: BindParameter[int] = bindparam("after_updated_at")
        conditions.append(
            or_(
                group > after_group,
                and_(
                    group == after_group,
                    or_(
                        prompts.c.updated_at < after_updated,
                        and_(prompts.c.updated_at == after_updated, prompts.c.id < bindparam("after_id")),
                    ),
                ),
            )
        )
    ranked = (
        select(*prompt_store.COLUMNS, group.label("search_group"))
        .where(and_(prompts.c.owner_id == bindparam("owner_id"), *conditions))
        .order_by(group, prompts.c.updated_at.desc(), prompts.c.id.desc())
        .limit(bindparam("page_size"))
    )
    texts = (prompts.c.title, prompts.c.content, prompts.c.tags)
    return PageQuery(ranked, texts, [("search_group", False), ("updated_at", True), ("id", True)])


def _is_key(key: Any) -> bool:
    return (
        isinstance(key, list)
        and len(key) == len(_KEY_TYPES)
        and all(type(value) is expected for value, expected in zip(key, _KEY_TYPES, strict=True))
    )

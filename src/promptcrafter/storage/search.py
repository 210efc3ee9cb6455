"""Prompt search: case-insensitive substring terms, ranked title > tag > content.

Both stores can narrow the candidates with a trigram index over the case-folded text
(SQLite FTS5, PostgreSQL pg_trgm) and confirm every term exactly, so terms shorter
than a trigram and any Unicode text still give correct results.

The trigram index covers every user's prompts. Reading all its matches for a common term
costs more than checking one user's few prompts directly, so it is used only for owners
with many prompts (on PostgreSQL the planner cannot know the owner's share in advance).
"""

from __future__ import annotations

from collections.abc import Callable
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
    tuple_,
)

from promptcrafter.storage import logs as log_store
from promptcrafter.storage import prompts as prompt_store
from promptcrafter.storage.keyset import PAGE_CHARACTERS, PAGE_SIZE, Page, PageQuery, bad_key
from promptcrafter.storage.statements import Statement, escape_like
from promptcrafter.storage.tables import log_search, logs, prompts
from promptcrafter.storage.transaction import Transaction

TRIGRAM = 3
# The documented limits of a search, which also bound the statement cache below.
MAX_QUERY_LENGTH = 1000
MAX_TERMS = 32

# Above this many prompts, an owner's search goes through the trigram index.
INDEXED_SEARCH_THRESHOLD = 2_000
_HAS_MANY_LOGS = Statement(
    select(log_search.c.seq)
    .where(log_search.c.owner_id == bindparam("owner_id"))
    .limit(1)
    .offset(INDEXED_SEARCH_THRESHOLD)
)
_HAS_MANY_PROMPTS = Statement(
    select(prompts.c.seq)
    .where(prompts.c.owner_id == bindparam("owner_id"))
    .limit(1)
    .offset(INDEXED_SEARCH_THRESHOLD)
)

# A page's key: whether the trigram index is used, then the last row's sort key.
_PROMPT_KEY = (bool, int, int, str)
_LOG_KEY = (int, str)
# How many of an owner's newest logs a search reads before it turns to the trigram index.
RECENT_LOGS = 5_000


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
    if after is not None and not _is_key(after, _PROMPT_KEY):
        raise bad_key()
    params, long_terms = _term_params(terms, owner_id)
    if after is None:
        use_trigram_index = bool(long_terms) and tx.scalar(_HAS_MANY_PROMPTS, owner_id=owner_id) is not None
    else:
        use_trigram_index, params["after_group"], params["after_updated_at"], params["after_id"] = after
    if use_trigram_index and tx.dialect_name == "sqlite":
        params["phrases"] = _phrases(long_terms)
    query = _query(tx.dialect_name, len(terms), use_trigram_index, after is not None)
    rows, more = query.rows(tx, page_size=size, page_characters=characters, **params)
    next_key = None
    if more and rows:
        last = rows[-1]
        next_key = [use_trigram_index, last["search_group"], last["updated_at"], last["id"]]
    return [prompt_store.record(row) for row in rows], next_key


def log_page(
    tx: Transaction,
    *,
    owner_id: str,
    terms: list[str],
    after: Any,
    size: int = PAGE_SIZE,
    characters: int = PAGE_CHARACTERS,
) -> Page:
    """One page of the owner's logs whose output or notes contain every term, newest first.

    An owner with few logs has them all read. For one with many, the newest RECENT_LOGS are
    read first, which fills a page at once when the terms are common; when they are rare, the
    trigram index finds the page instead (it would collect every user's matches of a common
    term first).
    """
    if after is not None and not _is_key(after, _LOG_KEY):
        raise bad_key()
    params, long_terms = _term_params(terms, owner_id)
    if after is not None:
        params["after_created_at"], params["after_id"] = after
    following = after is not None
    pages = {"page_size": size, "page_characters": characters}
    if long_terms and tx.scalar(_HAS_MANY_LOGS, owner_id=owner_id) is not None:
        rows, more = _log_query(tx.dialect_name, len(terms), "recent", following).rows(
            tx, recent_logs=RECENT_LOGS, **pages, **params
        )
        if not more:
            if tx.dialect_name == "sqlite":
                params["phrases"] = _phrases(long_terms)
            rows, more = _log_query(tx.dialect_name, len(terms), "index", following).rows(tx, **pages, **params)
    else:
        rows, more = _log_query(tx.dialect_name, len(terms), "all", following).rows(tx, **pages, **params)
    next_key = [rows[-1]["created_at"], rows[-1]["id"]] if more and rows else None
    return [log_store.record(row) for row in rows], next_key


def _term_params(terms: list[str], owner_id: str) -> tuple[dict[str, Any], list[str]]:
    """The statement's parameters for these terms (each case-folded, and as a LIKE pattern),
    and the terms long enough for the trigram index."""
    folded = [term.casefold() for term in terms]
    params: dict[str, Any] = {"owner_id": owner_id}
    for index, term in enumerate(folded):
        params[f"term_{index}"] = term
        params[f"pattern_{index}"] = "%" + escape_like(term) + "%"
    return params, [term for term in folded if len(term) >= TRIGRAM]


def _phrases(long_terms: list[str]) -> str:
    """An FTS5 query matching every term as a phrase (so its own syntax is plain text)."""
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in long_terms)


def _contains(dialect: str) -> Callable[[Any, Any], ColumnElement[bool]]:
    """`contains(column, term)`: the term (a bound parameter) occurs in the column."""
    if dialect == "sqlite":
        return lambda column, term: func.instr(column, term) > 0
    return lambda column, term: func.strpos(column, term) > 0


@lru_cache(maxsize=2 * MAX_TERMS * 3 * 2)
def _log_query(dialect: str, term_count: int, reading: str, following: bool) -> PageQuery:
    """The log search query for a number of terms, reading `all` the owner's logs, the
    `recent` ones, or those the trigram `index` finds; built once per shape."""
    contains = _contains(dialect)
    candidates = [log_search.c.owner_id == bindparam("owner_id")]
    if following:
        after = tuple_(bindparam("after_created_at"), bindparam("after_id"))
        candidates.append(tuple_(log_search.c.created_at, log_search.c.log_id) < after)
    newest_first = (log_search.c.created_at.desc(), log_search.c.log_id.desc())
    searched: Any = log_search
    if reading == "recent":
        searched = select(log_search).where(*candidates).order_by(*newest_first).limit(bindparam("recent_logs"))
        searched = searched.subquery("recent")
        candidates = []
    text_column = searched.c.search_folded
    conditions = list(candidates)
    if reading == "index" and dialect == "sqlite":
        matching: Select[Any] = select(literal_column("rowid")).select_from(table("log_search_fts"))
        conditions.append(log_search.c.seq.in_(matching.where(text("log_search_fts MATCH :phrases"))))
    if reading == "index" and dialect == "postgresql":
        # A plain LIKE (backslash escapes) is what the pg_trgm index can serve.
        conditions += [text_column.like(bindparam(f"pattern_{i}")) for i in range(term_count)]
    else:
        conditions += [contains(text_column, bindparam(f"term_{i}")) for i in range(term_count)]
    found = (
        select(*log_store.COLUMNS)
        .select_from(searched.join(logs, logs.c.id == searched.c.log_id))
        .where(and_(*conditions))
        .order_by(searched.c.created_at.desc(), searched.c.log_id.desc())
        .limit(bindparam("page_size"))
    )
    return PageQuery(found, (logs.c.output, logs.c.notes), [("created_at", True), ("id", True)])


@lru_cache(maxsize=2 * MAX_TERMS * 2 * 2)
def _query(dialect: str, term_count: int, use_trigram_index: bool, following: bool) -> PageQuery:
    """The search query for a number of terms; built once per shape."""
    terms: list[BindParameter[str]] = [bindparam(f"term_{index}") for index in range(term_count)]
    term_in = _contains(dialect)

    def contains(column: Any, index: int) -> ColumnElement[bool]:
        return term_in(column, terms[index])

    if dialect == "sqlite":
        conditions = [contains(prompts.c.search_folded, i) for i in range(term_count)]
        if use_trigram_index:
            matching: Select[Any] = (
                select(literal_column("rowid"))
                .select_from(table("prompts_search"))
                .where(text("prompts_search MATCH :phrases"))
            )
            conditions.append(prompts.c.seq.in_(matching))
    else:
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


def _is_key(key: Any, types: tuple[type, ...]) -> bool:
    return (
        isinstance(key, list | tuple)
        and len(key) == len(types)
        and all(type(value) is expected for value, expected in zip(key, types, strict=True))
    )

"""Runs and their work queue (`run_tasks`), shared by every server process.

A task is claimed in a short transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so servers
never wait on each other's claims; SQLite: the writer lock serialises claims). A claim lasts
until `due_at`, which its worker pushes forward while it lives, so the tasks of a worker that
died lapse within seconds and are claimed again. A task's log is stored in the same
transaction that marks it done, and only while its worker still holds it, so no task is
stored twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import orjson
from sqlalchemy import ColumnElement, and_, bindparam, insert, null, or_, select, update

from promptcrafter.storage.keyset import PAGE_CHARACTERS, PAGE_SIZE, Page, Phase, SortedList, bad_key
from promptcrafter.storage.statements import Record, Statement
from promptcrafter.storage.tables import dataset_items, logs, run_tasks, runs
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import new_id, now_ms

# Due tasks one claim looks at (and on PostgreSQL locks, briefly): enough for a few providers.
CANDIDATES = 64
PENDING, CALLING, DONE, FAILED, CANCELLED = "pending", "calling", "done", "failed", "cancelled"
OPEN = (PENDING, CALLING)


def _among(*statuses: str) -> ColumnElement[bool]:
    # OR of equalities rather than IN: the statements are compiled once, without expanding lists.
    return or_(*(run_tasks.c.status == status for status in statuses))


_COLUMNS = (
    runs.c.id,
    runs.c.owner_id,
    runs.c.prompt_id,
    runs.c.prompt_version,
    runs.c.dataset_id,
    runs.c.models,
    runs.c.repeats,
    runs.c.scorers,
    runs.c.status,
    runs.c.done,
    runs.c.failed,
    runs.c.total,
    runs.c.created_at,
    runs.c.finished_at,
)
_INSERT = Statement(insert(runs).values({column.name: bindparam(column.name) for column in _COLUMNS}))
_INSERT_TASK = Statement(
    insert(run_tasks).values(
        {
            name: bindparam(name)
            for name in ("run_id", "item_seq", "model_index", "repeat", "item_id", "provider_id", "status", "due_at")
        }
    )
)
_ONE = Statement(select(*_COLUMNS).where(runs.c.id == bindparam("run_id")))
_OWNER = Statement(select(runs.c.owner_id).where(runs.c.id == bindparam("run_id")))
_STATUS = Statement(select(runs.c.status).where(runs.c.id == bindparam("run_id")))
_TASK_KEY = and_(
    run_tasks.c.run_id == bindparam("run_id"),
    run_tasks.c.item_seq == bindparam("item_seq"),
    run_tasks.c.model_index == bindparam("model_index"),
    run_tasks.c.repeat == bindparam("repeat"),
)
_DUE = (
    select(
        run_tasks.c.run_id,
        run_tasks.c.item_seq,
        run_tasks.c.model_index,
        run_tasks.c.repeat,
        run_tasks.c.item_id,
        run_tasks.c.provider_id,
    )
    .where(_among(*OPEN), run_tasks.c.due_at <= bindparam("now"))
    .order_by(run_tasks.c.due_at)
    .limit(bindparam("limit"))
)
# Tasks another claim holds are skipped, not waited for.
_CLAIMABLE = Statement(_DUE.with_for_update(skip_locked=True))
_CLAIM = Statement(
    update(run_tasks).where(_TASK_KEY).values(status=CALLING, worker=bindparam("holder"), due_at=bindparam("until"))
)
_START_RUN = Statement(
    update(runs).where(runs.c.id == bindparam("run_id"), runs.c.status == "queued").values(status="running")
)
_FINISH = Statement(
    update(run_tasks)
    .where(_TASK_KEY, run_tasks.c.status == CALLING, run_tasks.c.worker == bindparam("holder"))
    .values(status=bindparam("new_status"), error=bindparam("new_error"), log_id=bindparam("new_log_id"), worker=null())
)
_COUNT_DONE = Statement(update(runs).where(runs.c.id == bindparam("run_id")).values(done=runs.c.done + 1))
_COUNT_FAILED = Statement(update(runs).where(runs.c.id == bindparam("run_id")).values(failed=runs.c.failed + 1))
_END_RUN = Statement(
    update(runs)
    .where(runs.c.id == bindparam("run_id"), runs.c.status == "running", runs.c.done + runs.c.failed >= runs.c.total)
    .values(status=bindparam("new_status"), finished_at=bindparam("now"))
)
_RENEW = Statement(
    update(run_tasks)
    .where(run_tasks.c.worker == bindparam("holder"), run_tasks.c.status == CALLING)
    .values(due_at=bindparam("until"))
)
_RELEASE = Statement(
    update(run_tasks)
    .where(run_tasks.c.worker == bindparam("holder"), run_tasks.c.status == CALLING)
    .values(status=PENDING, worker=null(), due_at=bindparam("now"))
)
_RELEASE_ONE = Statement(
    update(run_tasks)
    .where(_TASK_KEY, run_tasks.c.worker == bindparam("holder"), run_tasks.c.status == CALLING)
    .values(status=PENDING, worker=null(), due_at=bindparam("now"))
)
_CANCEL_TASKS = Statement(
    update(run_tasks)
    .where(run_tasks.c.run_id == bindparam("run_id"), run_tasks.c.status == PENDING)
    .values(status=CANCELLED, worker=null())
)
_CANCEL_RUN = Statement(
    update(runs)
    .where(runs.c.id == bindparam("run_id"), or_(runs.c.status == "queued", runs.c.status == "running"))
    .values(status="cancelled", finished_at=bindparam("now"))
)
_RESULT_ITEMS = Statement(
    select(run_tasks.c.item_seq)
    .where(run_tasks.c.run_id == bindparam("run_id"), run_tasks.c.item_seq > bindparam("after"))
    .group_by(run_tasks.c.item_seq)
    .order_by(run_tasks.c.item_seq)
    .limit(bindparam("page_size"))
)
_RESULTS = Statement(
    select(
        run_tasks.c.item_seq,
        run_tasks.c.item_id,
        run_tasks.c.model_index,
        run_tasks.c.repeat,
        run_tasks.c.status,
        run_tasks.c.error,
        logs.c.id.label("log_id"),
        logs.c.output,
        logs.c.score,
        logs.c.score_is_integer,
        logs.c.scores,
        logs.c.notes,
        logs.c.latency_ms,
        logs.c.cost_usd,
        dataset_items.c.input,
        dataset_items.c.expected,
    )
    .select_from(
        run_tasks.outerjoin(logs, logs.c.id == run_tasks.c.log_id).outerjoin(
            dataset_items, dataset_items.c.seq == run_tasks.c.item_seq
        )
    )
    .where(
        run_tasks.c.run_id == bindparam("run_id"),
        run_tasks.c.item_seq >= bindparam("first"),
        run_tasks.c.item_seq <= bindparam("last"),
    )
    .order_by(run_tasks.c.item_seq, run_tasks.c.model_index, run_tasks.c.repeat)
)


class RunRecord(TypedDict):
    """A run; `models` each `{"provider", "providerName", "model", "params"}`; `scorers` as sent."""

    id: str
    owner_id: str
    prompt_id: str
    prompt_version: int
    dataset_id: str
    models: list[dict[str, Any]]
    repeats: int
    scorers: list[dict[str, Any]]
    status: str
    done: int
    failed: int
    total: int
    created_at: int
    finished_at: int | None


@dataclass(frozen=True)
class Task:
    """One call of a run: an item, a model (its index in the run's `models`), a repeat."""

    run_id: str
    item_seq: int
    model_index: int
    repeat: int
    item_id: str
    provider_id: str

    def key(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "item_seq": self.item_seq,
            "model_index": self.model_index,
            "repeat": self.repeat,
        }


def _record(row: Record) -> RunRecord:
    return RunRecord(**{**row, "models": orjson.loads(row["models"]), "scorers": orjson.loads(row["scorers"])})  # type: ignore[typeddict-item]


def create(
    tx: Transaction,
    *,
    owner_id: str,
    prompt_id: str,
    prompt_version: int,
    dataset_id: str,
    models: list[dict[str, Any]],
    repeats: int,
    scorers: list[dict[str, Any]],
    items: list[tuple[int, str]],
) -> RunRecord:
    """Store a run and queue a task per (item, model, repeat)."""
    now = now_ms()
    total = len(items) * len(models) * repeats
    record = RunRecord(
        id=new_id("run"),
        owner_id=owner_id,
        prompt_id=prompt_id,
        prompt_version=prompt_version,
        dataset_id=dataset_id,
        models=models,
        repeats=repeats,
        scorers=scorers,
        status="queued" if total else "done",
        done=0,
        failed=0,
        total=total,
        created_at=now,
        finished_at=None if total else now,
    )
    tx.run(_INSERT, **{**record, "models": orjson.dumps(models).decode(), "scorers": orjson.dumps(scorers).decode()})
    # Item by item, so that the first items are answered first.
    tx.run_many(
        _INSERT_TASK,
        [
            {
                "run_id": record["id"],
                "item_seq": seq,
                "model_index": model_index,
                "repeat": repeat,
                "item_id": item_id,
                "provider_id": models[model_index]["provider"],
                "status": PENDING,
                "due_at": now,
            }
            for seq, item_id in items
            for repeat in range(repeats)
            for model_index in range(len(models))
        ],
    )
    return record


def get(tx: Transaction, *, run_id: str) -> RunRecord | None:
    row = tx.first(_ONE, run_id=run_id)
    return None if row is None else _record(row)


def owner_of(tx: Transaction, *, run_id: str) -> str | None:
    owner: str | None = tx.scalar(_OWNER, run_id=run_id)
    return owner


def status_of(tx: Transaction, *, run_id: str) -> str | None:
    status: str | None = tx.scalar(_STATUS, run_id=run_id)
    return status


_NEWEST_LAST = (runs.c.created_at, runs.c.id)
LIST = SortedList(
    _COLUMNS,
    (runs.c.models, runs.c.scorers),
    _record,
    {
        "owner_id": lambda _: runs.c.owner_id == bindparam("owner_id"),
        "prompt_id": lambda _: runs.c.prompt_id == bindparam("prompt_id"),
    },
    {"createdAt": (Phase(_NEWEST_LAST),), "-createdAt": (Phase(_NEWEST_LAST, descending=True),)},
)
page = LIST.page


# The queue


def claim(tx: Transaction, *, worker: str, limit: int, lease_ms: int, room: Callable[[str], int]) -> list[Task]:
    """Up to `limit` tasks that are due (pending, or held by a worker that stopped renewing) and
    that the worker has room for (`room(provider_id)` more calls to that provider), now held by
    `worker` for `lease_ms`; their runs are marked running. Claiming no more than a process can
    call at once leaves the rest to the other processes."""
    now = now_ms()
    left: dict[str, int] = {}
    tasks = []
    for row in tx.rows(_CLAIMABLE, now=now, limit=CANDIDATES):
        task = Task(*row)
        free = left.setdefault(task.provider_id, room(task.provider_id))
        if free > 0:
            left[task.provider_id] = free - 1
            tasks.append(task)
            if len(tasks) == limit:
                break
    for task in tasks:
        tx.run(_CLAIM, holder=worker, until=now + lease_ms, **task.key())
    for run_id in {task.run_id for task in tasks}:
        tx.run(_START_RUN, run_id=run_id)
    return tasks


def finish(tx: Transaction, *, task: Task, worker: str, log_id: str | None, error: str | None) -> bool:
    """Mark a task done (its log stored in this transaction) or failed, and count it in its run,
    which ends when it was the last; False, and nothing counted, when the worker no longer held
    it (the caller then rolls back, so its log is not stored twice)."""
    status = DONE if error is None else FAILED
    if tx.run(_FINISH, holder=worker, new_status=status, new_error=error, new_log_id=log_id, **task.key()) != 1:
        return False
    tx.run(_COUNT_DONE if error is None else _COUNT_FAILED, run_id=task.run_id)
    run = tx.first(_ONE, run_id=task.run_id)
    if run is not None and run["status"] == "running" and run["done"] + run["failed"] >= run["total"]:
        # A run whose every call failed failed; one with any answer is done.
        tx.run(_END_RUN, run_id=task.run_id, new_status="done" if run["done"] else "failed", now=now_ms())
    return True


def renew(tx: Transaction, *, worker: str, lease_ms: int) -> int:
    """Hold every task of this worker `lease_ms` longer; how many it holds."""
    return tx.run(_RENEW, holder=worker, until=now_ms() + lease_ms)


def release(tx: Transaction, *, worker: str, task: Task | None = None) -> None:
    """Give back a task (or every task) of this worker, for any worker to claim at once."""
    if task is None:
        tx.run(_RELEASE, holder=worker, now=now_ms())
    else:
        tx.run(_RELEASE_ONE, holder=worker, now=now_ms(), **task.key())


def cancel(tx: Transaction, *, run_id: str) -> None:
    """No task of the run starts a call after this commits (those calling may still finish)."""
    tx.run(_CANCEL_TASKS, run_id=run_id)
    tx.run(_CANCEL_RUN, run_id=run_id, now=now_ms())


def results_page(
    tx: Transaction, *, run_id: str, after: Any, size: int = PAGE_SIZE, characters: int = PAGE_CHARACTERS
) -> Page:
    """One page of a run's results, item by item in dataset order: each item's input and
    expected answer, and every (model, repeat)'s task with its log's output and scores."""
    if after is not None and type(after) is not int:
        raise bad_key()
    seqs = [
        row[0] for row in tx.rows(_RESULT_ITEMS, run_id=run_id, after=-1 if after is None else after, page_size=size)
    ]
    if not seqs:
        return [], None
    rows = tx.all(_RESULTS, run_id=run_id, first=seqs[0], last=seqs[-1])
    items: list[dict[str, Any]] = []
    text = 0
    for row in rows:
        if not items or items[-1]["seq"] != row["item_seq"]:
            if text >= characters:
                return items, items[-1]["seq"]
            items.append(
                {
                    "seq": row["item_seq"],
                    "item_id": row["item_id"],
                    "input": None if row["input"] is None else orjson.loads(row["input"]),
                    "expected": row["expected"],
                    "outputs": [],
                }
            )
        score = row["score"]
        if score is not None and row["score_is_integer"]:
            score = int(score)
        items[-1]["outputs"].append(
            {
                "model_index": row["model_index"],
                "repeat": row["repeat"],
                "status": row["status"],
                "error": row["error"],
                "log_id": row["log_id"],
                "output": row["output"],
                "score": score,
                "scores": None if row["scores"] is None else orjson.loads(row["scores"]),
                "notes": row["notes"],
                "latency_ms": row["latency_ms"],
                "cost_usd": row["cost_usd"],
            }
        )
        text += len(row["output"] or "") + len(row["input"] or "")
    return items, seqs[-1] if len(seqs) == size else None


_ANY_DUE = Statement(select(run_tasks.c.run_id).where(_among(*OPEN), run_tasks.c.due_at <= bindparam("now")).limit(1))


def any_due(tx: Transaction) -> bool:
    """Whether some task waits to be claimed: a read, so that an idle queue costs no write."""
    return tx.first(_ANY_DUE, now=now_ms()) is not None

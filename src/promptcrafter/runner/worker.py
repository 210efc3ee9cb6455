"""The runner of one server process: claims due tasks from the shared queue, calls each model
with bounded concurrency per provider, scores the answer and stores it as a log, in the same
transaction that marks the task done.

Claims are leases: the runner renews its own every RENEW_SECONDS, so a task held by a process
that died is claimed again LEASE_MS after its last renewal; a process restarted after a crash
picks up its unfinished work within seconds. A task whose lease was lost (another process took
it over) is not stored by the runner that lost it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

import openai

from promptcrafter.domain import providers as provider_rules
from promptcrafter.domain import scorers, templates
from promptcrafter.domain.runs import model_used
from promptcrafter.runner.calls import Answer, CallFailed, client, complete
from promptcrafter.sealing import Sealer
from promptcrafter.storage import Database, datasets, logs, providers, runs, versions
from promptcrafter.storage.datasets import ItemRecord
from promptcrafter.storage.providers import ProviderRecord
from promptcrafter.storage.runs import Task
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import new_id

logger = logging.getLogger("promptcrafter.runner")
LEASE_MS = 6_000
RENEW_SECONDS = 2.0
POLL_SECONDS = 1.0
CLAIM_BATCH = 16
# What a process assumes a provider allows before it has read the provider.
DEFAULT_CONCURRENCY = 1
_RUN_CACHE = 256


@dataclass(frozen=True)
class RunSpec:
    """What every task of a run needs, read once per process (a run never changes but for its status)."""

    owner_id: str
    prompt_id: str
    version: int
    content: str
    models: list[dict[str, Any]]
    scorers: list[scorers.Scorer]


class LostTask(Exception):
    """The task was taken over by another runner (or its run deleted) before it was stored."""


class Runner:
    """Executes queued run tasks in this process, at most `slots` at a time."""

    def __init__(self, db: Database, sealer: Sealer, *, slots: int = 64) -> None:
        self.db = db
        self.sealer = sealer
        self.worker = new_id("worker")
        self.slots = slots
        self._wake = asyncio.Event()
        self._active: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._runs: OrderedDict[str, RunSpec] = OrderedDict()
        self._limits: dict[tuple[str, int], asyncio.Semaphore] = {}
        # Per provider: how many calls it allows at once (as last read), and the tasks held here.
        self._concurrency: dict[str, int] = {}
        self._held: Counter[str] = Counter()
        self._holding: set[Task] = set()
        self._clients: dict[tuple[str, int], openai.AsyncOpenAI] = {}

    def start(self) -> None:
        """Begin claiming work (on the running event loop)."""
        self._wake = asyncio.Event()
        self._loops = [asyncio.create_task(self._claiming()), asyncio.create_task(self._renewing())]

    def wake(self) -> None:
        """Look for work now rather than at the next poll (a run was just queued here)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop calling, and give back every task held, for another process to claim at once."""
        for task in (*self._loops, *self._active):
            task.cancel()
        await asyncio.gather(*self._loops, *self._active, return_exceptions=True)
        try:
            await self.db.write(runs.release, worker=self.worker)
        except Exception:  # the database is gone: the leases lapse on their own
            logger.warning("could not give back the run tasks of this process", exc_info=True)
        for provider_client in self._clients.values():
            await provider_client.close()
        self._clients.clear()

    async def _claiming(self) -> None:
        while True:
            claimed = 0
            try:
                free = min(self.slots - len(self._active), CLAIM_BATCH)
                if free > 0 and await self.db.read(runs.any_due):
                    tasks = await self.db.write(
                        runs.claim, worker=self.worker, limit=free, lease_ms=LEASE_MS, room=self._room
                    )
                    claimed = len(tasks)
                    for task in tasks:
                        self._held[task.provider_id] += 1
                        self._holding.add(task)
                        running = asyncio.create_task(self._execute(task))
                        self._active.add(running)
                        running.add_done_callback(functools.partial(self._finished, task))
            except Exception:  # a busy or unreachable database: the next round tries again
                logger.warning("could not claim run tasks", exc_info=True)
            if claimed and claimed == CLAIM_BATCH:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except TimeoutError:
                pass

    def _room(self, provider_id: str) -> int:
        """How many more calls to this provider this process may make now."""
        return self._concurrency.get(provider_id, DEFAULT_CONCURRENCY) - self._held[provider_id]

    def _free(self, task: Task) -> None:
        """The task's call is over: its provider may take another from this process (scoring and
        storing the answer need no slot)."""
        if task in self._holding:
            self._holding.discard(task)
            self._held[task.provider_id] -= 1
            self._wake.set()

    def _finished(self, task: Task, running: asyncio.Task[None]) -> None:
        self._active.discard(running)
        self._free(task)

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            if self._active:
                try:
                    await self.db.write(runs.renew, worker=self.worker, lease_ms=LEASE_MS)
                except Exception:
                    logger.warning("could not renew the leases of run tasks", exc_info=True)

    async def _execute(self, task: Task) -> None:
        try:
            await self._call_and_store(task)
        except LostTask:
            pass
        except CallFailed as failure:
            try:
                await self.db.write(runs.finish, task=task, worker=self.worker, log_id=None, error=str(failure))
            except Exception:
                logger.warning("could not record a failed run task", exc_info=True)
        except asyncio.CancelledError:
            raise
        except Exception:  # the lease lapses and another round tries the task again
            logger.exception("a run task failed unexpectedly; it will be tried again")

    async def _call_and_store(self, task: Task) -> None:
        spec = await self._spec(task.run_id)
        model = spec.models[task.model_index]
        provider, item = await self.db.read(_call_inputs, provider_id=model["provider"], item_seq=task.item_seq)
        if provider is not None:
            self._concurrency[provider["id"]] = provider["concurrency"]
        try:
            async with self._limit(provider):
                if provider is None:
                    raise CallFailed("The provider was deleted.")
                if item is None:
                    raise CallFailed("The item was deleted.")
                missing = templates.missing(spec.content, item["input"])
                if missing:
                    raise CallFailed(f"The item has no value for {', '.join(missing)}.")
                prompt = templates.render(spec.content, item["input"])
                answer = await complete(
                    self._client(provider),
                    model=model["model"],
                    messages=[{"role": "user", "content": prompt}],
                    params=model["params"],
                )
        finally:
            self._free(task)
        found, notes = await self._scores(spec, item, answer.text)
        cost = provider_rules.cost(provider, model["model"], answer.input_tokens, answer.output_tokens)
        await self.db.write(
            _store,
            task=task,
            worker=self.worker,
            spec=spec,
            model=model,
            item=item,
            answer=answer,
            scores=found,
            notes=notes,
            cost=cost,
        )

    async def _scores(
        self, spec: RunSpec, item: ItemRecord, output: str
    ) -> tuple[dict[str, float | None] | None, str | None]:
        if not spec.scorers:
            return None, None
        found: dict[str, float | None] = {}
        notes: list[str] = []
        for scorer in spec.scorers:
            if scorer.type == "judge":
                found[scorer.name], note = await self._judge(spec, scorer, item, output)
            else:
                # Patterns and schemas may take a while on a long output; the rest take microseconds.
                slow = scorer.type in ("regex", "json-schema")
                score = functools.partial(scorers.score, scorer, output, item["expected"])
                outcome = await asyncio.to_thread(score) if slow else score()
                found[scorer.name], note = outcome.score, outcome.note
            if note:
                notes.append(note if scorer.type == "judge" else f"{scorer.name}: {note}")
        return found, "\n".join(notes) or None

    async def _judge(
        self, spec: RunSpec, scorer: scorers.Scorer, item: ItemRecord, output: str
    ) -> tuple[float | None, str | None]:
        """Another model's grade of the output, and its reasoning; a judge that fails leaves the
        score empty and says why."""
        judge = await self.db.read(provider_rules.find, user_id=spec.owner_id, reference=scorer.options["provider"])
        if judge is None:
            return None, "judge: the judge's provider was deleted."
        messages = scorers.judge_messages(scorer.options["rubric"], item["input"], output, item["expected"])
        try:
            async with self._limit(judge):
                answer = await complete(
                    self._client(judge), model=scorer.options["model"], messages=messages, params={"temperature": 0}
                )
        except CallFailed as failure:
            return None, f"judge: {failure}"
        score, reasoning = scorers.parse_judgement(answer.text)
        return score, reasoning or None

    async def _spec(self, run_id: str) -> RunSpec:
        spec = self._runs.get(run_id)
        if spec is None:
            spec = await self.db.read(_run_spec, run_id=run_id)
            self._runs[run_id] = spec
            while len(self._runs) > _RUN_CACHE:
                self._runs.popitem(last=False)
        return spec

    def _limit(self, provider: ProviderRecord | None) -> asyncio.Semaphore:
        if provider is None:
            return asyncio.Semaphore(1)
        key = (provider["id"], provider["concurrency"])
        limit = self._limits.get(key)
        if limit is None:
            limit = self._limits[key] = asyncio.Semaphore(provider["concurrency"])
        return limit

    def _client(self, provider: ProviderRecord) -> openai.AsyncOpenAI:
        key = (provider["id"], provider["updated_at"])
        found = self._clients.get(key)
        if found is None:
            api_key = None if provider["api_key_sealed"] is None else self.sealer.open(provider["api_key_sealed"])
            if provider["api_key_sealed"] is not None and api_key is None:
                raise CallFailed("The provider's key was sealed under another server secret: set it again.")
            found = self._clients[key] = client(provider["base_url"], api_key, provider["timeout_seconds"])
        return found


def _call_inputs(
    tx: Transaction, *, provider_id: str, item_seq: int
) -> tuple[ProviderRecord | None, ItemRecord | None]:
    """A task's provider and item, in one unit of work (either may have been deleted since)."""
    return providers.get(tx, provider_id=provider_id), datasets.item(tx, seq=item_seq)


def _run_spec(tx: Transaction, *, run_id: str) -> RunSpec:
    run = runs.get(tx, run_id=run_id)
    if run is None:
        raise LostTask
    version = versions.get(tx, prompt_id=run["prompt_id"], version=run["prompt_version"], with_labels=False)
    if version is None:
        raise LostTask
    return RunSpec(
        owner_id=run["owner_id"],
        prompt_id=run["prompt_id"],
        version=run["prompt_version"],
        content=version["content"],
        models=run["models"],
        scorers=scorers.parse_scorers(run["scorers"]),
    )


def _store(
    tx: Transaction,
    *,
    task: Task,
    worker: str,
    spec: RunSpec,
    model: dict[str, Any],
    item: ItemRecord,
    answer: Answer,
    scores: dict[str, float | None] | None,
    notes: str | None,
    cost: float | None,
) -> None:
    """Store the answer as a log and mark its task done, or neither (LostTask) when the task is no
    longer ours."""
    first = None if not scores else next(iter(scores.values()))
    log = logs.create(
        tx,
        owner_id=spec.owner_id,
        prompt_id=spec.prompt_id,
        prompt_version=spec.version,
        output=answer.text,
        model_used=model_used(model),
        notes=notes,
        score=first,
        input=item["input"],
        latency_ms=answer.latency_ms,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        cost_usd=cost,
        run_id=task.run_id,
        item_id=item["id"],
        scores=scores,
    )
    if not runs.finish(tx, task=task, worker=worker, log_id=log["id"], error=None):
        raise LostTask  # rolls the log back

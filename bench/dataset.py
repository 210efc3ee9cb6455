"""The data set every target is seeded with, and a bounded-concurrency runner.

Both PromptCrafter and PocketBase get byte-for-byte the same prompts and logs,
so the benchmark cases read and return the same amount of data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

SEARCH_TERM = "translation"
PROMPT_COUNT = 100
TRANSLATION_PROMPTS = 10
LOGS_PER_PROMPT = 100

MODELS = ("gpt-4o", "claude-3-5-sonnet", "llama-3.1-70b")
LANGUAGES = ("French", "German", "Spanish", "Italian", "Japanese")
# Topics of the prompts that must NOT match the search term.
TOPICS = (
    ("Summarize meeting notes", "Summarize the meeting notes below in five bullet points."),
    ("Review Python code", "Review the Python function below and point out bugs."),
    ("Write a product description", "Write a short, friendly product description."),
    ("Explain a SQL query", "Explain step by step what the SQL query below does."),
    ("Draft a cover letter", "Draft a one-page cover letter for the job below."),
    ("Classify support tickets", "Classify each support ticket as bug, question or request."),
    ("Extract invoice fields", "Extract the invoice number, date and total as JSON."),
    ("Brainstorm blog titles", "Suggest ten catchy titles for a blog post about the topic."),
    ("Rewrite in plain English", "Rewrite the paragraph below so a child understands it."),
)
FILLER = (
    "The quick brown fox jumps over the lazy dog while the model keeps its answer "
    "short, factual and polite. "
)


@dataclass(frozen=True)
class PromptData:
    """One prompt, in PromptCrafter's field names."""

    title: str
    content: str
    model: str
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LogData:
    """One log (a recorded run of a prompt), in PromptCrafter's field names."""

    output: str
    model_used: str
    notes: str
    score: float


def prompts() -> list[PromptData]:
    """The 100 benchmark prompts: the first 10 mention the search term, 90 do not."""
    result: list[PromptData] = []
    for i in range(PROMPT_COUNT):
        model = MODELS[i % len(MODELS)]
        if i < TRANSLATION_PROMPTS:
            language = LANGUAGES[i % len(LANGUAGES)]
            result.append(
                PromptData(
                    title=f"English to {language} translation #{i}",
                    content=f"Produce a faithful translation of the text below into {language}. "
                    + FILLER * 3,
                    model=model,
                    tags=["i18n", language.lower()],
                )
            )
        else:
            title, content = TOPICS[i % len(TOPICS)]
            result.append(
                PromptData(
                    title=f"{title} #{i}",
                    content=content + " " + FILLER * 3,
                    model=model,
                    tags=["work", f"topic-{i % len(TOPICS)}"],
                )
            )
    hits = [p for p in result if _mentions(p, SEARCH_TERM)]
    # The search case is only meaningful if it matches exactly these prompts.
    assert len(hits) == TRANSLATION_PROMPTS, f"{len(hits)} prompts mention {SEARCH_TERM!r}"
    return result


def sink_prompt() -> PromptData:
    """The prompt that receives the benchmark's POST /logs requests."""
    prompt = PromptData(
        title="Benchmark sink",
        content="Receives the logs written by the create-log benchmark case.",
        model=MODELS[0],
        tags=["bench"],
    )
    assert not _mentions(prompt, SEARCH_TERM)
    return prompt


def logs_for(prompt_index: int) -> list[LogData]:
    """The 100 logs of one prompt."""
    return [
        LogData(
            output=f"Run {j} of prompt {prompt_index}. " + FILLER * 2,
            model_used=MODELS[(prompt_index + j) % len(MODELS)],
            notes=f"seeded run {j}",
            score=float(j % 11),
        )
        for j in range(LOGS_PER_PROMPT)
    ]


def benchmark_log() -> LogData:
    """The log body sent again and again by the create-log case."""
    return LogData(
        output="Benchmark output: " + FILLER,
        model_used=MODELS[0],
        notes="written by bench/compare.py",
        score=7,
    )


def _mentions(prompt: PromptData, term: str) -> bool:
    """Whether a prompt would match a case-insensitive search for ``term``."""
    haystack = " ".join([prompt.title, prompt.content, *prompt.tags]).casefold()
    return term.casefold() in haystack


T = TypeVar("T")
R = TypeVar("R")


async def run_bounded(
    items: Iterable[T], worker: Callable[[T], Awaitable[R]], concurrency: int
) -> list[R]:
    """Run ``worker`` over ``items`` with at most ``concurrency`` in flight.

    Results keep the order of ``items``. The first failure cancels the rest.
    """
    semaphore = asyncio.Semaphore(concurrency)

    async def guarded(item: T) -> R:
        async with semaphore:
            return await worker(item)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(guarded(item)) for item in items]
    return [task.result() for task in tasks]

"""Evaluation statistics: /prompts/{id}/stats, /prompts/{id}/compare, /compare and
/stats/leaderboard. The database sums; NumPy and SciPy then run in a worker thread, after the
connection is returned."""

from __future__ import annotations

from typing import Annotated, Any

from cachetools import LRUCache
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import evaluation, listing
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.schemas import CompareRead, LeaderboardRead, StatsRead
from promptcrafter.server.deps import Caller, authenticated
from promptcrafter.server.openapi import LOG_FILTERS, errors, parameter, parameters
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute

router = APIRouter(tags=["statistics"], route_class=DirectRoute)
# The bootstrap of a leaderboard takes up to seconds; its answer stands until a log in its scope
# is added or deleted (the signature in the key). Bounded by the entries held in all (~300 bytes each).
_LEADERBOARDS: LRUCache[tuple[Any, ...], dict[str, Any]] = LRUCache(
    maxsize=50_000, getsizeof=lambda answer: len(answer["entries"]) + 1
)
StatsCaller = Annotated[Caller, authenticated("groupBy", *listing.LOG_FILTERS)]
ComparingCaller = Annotated[Caller, authenticated("by", "a", "b", "target", *listing.LOG_FILTERS)]
AcrossCaller = Annotated[Caller, authenticated("by", "a", "b", "target", "promptId", *listing.LOG_FILTERS)]
RankingCaller = Annotated[Caller, authenticated("by", "method", "promptId", *listing.LOG_FILTERS)]

READING = errors(
    401,
    saying={
        400: (messages.PROMPT_READ_BAD_ID, messages.BAD_PARAMETERS),
        403: messages.PROMPT_READ_FORBIDDEN,
        404: messages.PROMPT_NOT_FOUND,
    },
)
SIDES = [
    parameter("by", "What the sides are.", {"enum": list(evaluation.COMPARE_BYS)}, required=True),
    parameter("a", "The first side: a version number or a model name.", {"type": "string"}, required=True),
    parameter("b", "The second side; differences are b − a.", {"type": "string"}, required=True),
    parameter("target", "The difference worth detecting, in points (default 0.5).", {"type": "number"}),
]


@router.get(
    "/prompts/{prompt_id}/stats",
    response_model=StatsRead,
    responses=READING,
    openapi_extra=parameters(
        parameter("groupBy", "Default `promptVersion`.", {"enum": list(evaluation.GROUP_BYS)}), *LOG_FILTERS
    ),
)
async def prompt_stats(prompt_id: str, caller: StatsCaller) -> Response:
    """The prompt's scores per version, model or day: count, mean with its interval, spread,
    median, histogram, latency and cost."""
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    group, filters = evaluation.stats_request(caller.params)
    found = await caller.analyse(
        evaluation.gather_groups, user_id=caller.user_id, prompt_id=prompt_id, group=group, filters=filters
    )
    return JSONResponse(await run_in_threadpool(evaluation.stats_answer, group, found))


@router.get(
    "/prompts/{prompt_id}/compare",
    response_model=CompareRead,
    responses=READING,
    openapi_extra=parameters(*SIDES, *LOG_FILTERS),
)
async def compare_in_prompt(prompt_id: str, caller: ComparingCaller) -> Response:
    """Whether b scores better than a (two versions, or two models) and by how much: over all
    logs, paired on the inputs both scored, the data needed to settle it, and a verdict."""
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    return await _compare(caller, prompt_id)


@router.get(
    "/compare",
    response_model=CompareRead,
    responses=READING,
    openapi_extra=parameters(
        parameter("promptId", "Only this prompt's logs.", {"type": "string"}), *SIDES, *LOG_FILTERS
    ),
)
async def compare_across_prompts(caller: AcrossCaller) -> Response:
    """`compare` across all your prompts (inputs pair within a prompt), or one with `promptId`."""
    prompt_id = listing.prompt_filter(caller.params["promptId"]) if "promptId" in caller.params else None
    return await _compare(caller, prompt_id)


async def _compare(caller: Caller, prompt_id: str | None) -> Response:
    by, a, b, target, filters = evaluation.compare_request(caller.params)
    found = await caller.analyse(
        evaluation.gather_comparison, user_id=caller.user_id, prompt_id=prompt_id, by=by, a=a, b=b, filters=filters
    )
    return JSONResponse(await run_in_threadpool(evaluation.compare_answer, by, a, b, target, found))


@router.get(
    "/stats/leaderboard",
    response_model=LeaderboardRead,
    responses=READING,
    openapi_extra=parameters(
        parameter("by", "Default `modelUsed`.", {"enum": list(evaluation.COMPARE_BYS)}),
        parameter("method", "Default `mean`.", {"enum": list(evaluation.METHODS)}),
        parameter("promptId", "Only this prompt's logs (needed with `by=promptVersion`).", {"type": "string"}),
        *LOG_FILTERS,
    ),
)
async def leaderboard(caller: RankingCaller) -> Response:
    """Models (or versions) ranked by mean score or by Bradley–Terry ratings from same-input
    battles, with bootstrap intervals of each rating and each rank."""
    by, method, filters = evaluation.leaderboard_request(caller.params)
    prompt_id = listing.prompt_filter(caller.params["promptId"]) if "promptId" in caller.params else None
    return JSONResponse(await ranking(caller, by=by, method=method, prompt_id=prompt_id, filters=filters))


async def ranking(caller: Caller, *, by: str, method: str, prompt_id: str | None, filters: dict[str, Any]) -> Any:
    """The leaderboard's answer: computed once per change of its logs (see `_LEADERBOARDS`)."""
    scope = {"user_id": caller.user_id, "prompt_id": prompt_id, "filters": filters}
    board = (caller.user_id, prompt_id, by, method, repr(sorted(filters.items())))
    found = await caller.analyse(
        evaluation.gather_cells, by=by, known=lambda signature: (*board, signature) in _LEADERBOARDS, **scope
    )
    answer = _LEADERBOARDS.get((*board, found.signature))
    if answer is None:
        if found.cells is None:  # The board was evicted since it was found.
            found = await caller.analyse(evaluation.gather_cells, by=by, **scope)
        answer = await run_in_threadpool(evaluation.leaderboard_answer, by, method, found)
        _LEADERBOARDS[(*board, found.signature)] = answer
    return answer

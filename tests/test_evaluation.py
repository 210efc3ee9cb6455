"""Evaluation statistics through the API (EVALUATION.md §8), on both stores: every figure the
server computes from its aggregates agrees with NumPy and SciPy run on the raw logs."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats as scipy_stats

from helpers import User
from promptcrafter.domain import evaluation

RELATIVE = 1e-6


def close(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return bool(np.allclose(actual, expected, rtol=RELATIVE, atol=1e-9))


@pytest.fixture
def prompt_id(client: TestClient, user: User) -> str:
    body = {"title": "Summaries", "content": "Summarise {{text}}.", "model": "m", "tags": ["eval"]}
    created: str = client.post("/prompts", json=body, headers=user.headers).json()["_id"]
    client.patch(f"/prompts/{created}", json={"content": "Summarise {{text}} briefly."}, headers=user.headers)
    return created


def store(client: TestClient, user: User, logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/logs/batch", json={"logs": logs}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["logs"]  # type: ignore[no-any-return]


def two_versions(prompt_id: str, seed: int = 7) -> list[dict[str, Any]]:
    """30 inputs, each run on versions 1 and 2 (some twice), version 2 better by ~1 point."""
    rng = np.random.default_rng(seed)
    logs = []
    for item in range(30):
        difficulty = rng.normal(0, 1.2)
        for version, lift in ((1, 0.0), (2, 1.0)):
            for _ in range(2 if item % 7 == 0 else 1):
                score = float(np.clip(np.round(6 + difficulty + lift + rng.normal(0, 0.8), 1), 0, 10))
                logs.append(
                    {
                        "promptId": prompt_id,
                        "promptVersion": version,
                        "output": f"summary {item}",
                        "modelUsed": "gpt-4o" if item % 2 else "claude",
                        "score": score,
                        "input": {"text": f"document {item}"},
                        "latencyMs": float(rng.integers(200, 2000)),
                        "costUsd": 0.001 * (item + 1),
                    }
                )
    logs.append({"promptId": prompt_id, "promptVersion": 2, "output": "unscored", "modelUsed": "claude"})
    return logs


def test_stats_by_version_agree_with_numpy_and_scipy(client: TestClient, user: User, prompt_id: str) -> None:
    logs = store(client, user, two_versions(prompt_id))
    response = client.get(f"/prompts/{prompt_id}/stats", headers=user.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["groupBy"] == "promptVersion"
    assert [group["key"] for group in answer["groups"]] == [1, 2]
    for group in answer["groups"]:
        mine = [log for log in logs if log["promptVersion"] == group["key"]]
        scores = np.array([log["score"] for log in mine if log["score"] is not None])
        assert (group["n"], group["scored"]) == (len(mine), len(scores))
        assert close(group["mean"], scores.mean())
        assert close(group["sd"], scores.std(ddof=1))
        assert close(group["median"], np.median(scores))
        assert (group["min"], group["max"]) == (scores.min(), scores.max())
        assert group["histogram"] == [int(((scores >= k) & (scores < k + 1)).sum()) for k in range(10)] + [
            int((scores == 10).sum())
        ]
        # Inputs repeat within the group: the clustered standard error of Miller (2024).
        clusters: dict[str, list[float]] = defaultdict(list)
        for log in mine:
            if log["score"] is not None:
                clusters[log["input"]["text"]].append(log["score"])
        mean = scores.mean()
        se = np.sqrt(sum((np.sum(np.array(c) - mean)) ** 2 for c in clusters.values())) / len(scores)
        half = scipy_stats.t.ppf(0.975, len(clusters) - 1) * se
        assert close(group["ci95"], [mean - half, mean + half])
        latencies = [log["latencyMs"] for log in mine if log["latencyMs"] is not None]
        assert close(group["latencyMs"]["median"], np.median(latencies))
        assert close(group["latencyMs"]["p95"], np.percentile(latencies, 95))
        assert close(group["costUsd"]["sum"], sum(log["costUsd"] for log in mine if log["costUsd"] is not None))


def test_stats_by_model_and_by_day_with_filters(client: TestClient, user: User, prompt_id: str) -> None:
    logs = store(client, user, two_versions(prompt_id))
    by_model = client.get(f"/prompts/{prompt_id}/stats?groupBy=modelUsed&minScore=6", headers=user.headers).json()
    assert [group["key"] for group in by_model["groups"]] == ["claude", "gpt-4o"]
    for group in by_model["groups"]:
        scores = [log["score"] for log in logs if log["modelUsed"] == group["key"] and (log["score"] or 0) >= 6]
        assert group["scored"] == group["n"] == len(scores)
        assert close(group["mean"], np.mean(scores))
    [day] = client.get(f"/prompts/{prompt_id}/stats?groupBy=day", headers=user.headers).json()["groups"]
    assert day["key"] == logs[0]["createdAt"][:10] and day["n"] == len(logs)


def test_stats_of_a_prompt_without_logs_and_of_a_single_score(client: TestClient, user: User, prompt_id: str) -> None:
    assert client.get(f"/prompts/{prompt_id}/stats", headers=user.headers).json() == {
        "groupBy": "promptVersion",
        "groups": [],
    }
    store(client, user, [{"promptId": prompt_id, "output": "o", "modelUsed": "m", "score": 7}])
    [group] = client.get(f"/prompts/{prompt_id}/stats", headers=user.headers).json()["groups"]
    assert (group["n"], group["mean"], group["sd"], group["ci95"]) == (1, 7, None, None)
    assert group["latencyMs"] == {"median": None, "p95": None} and group["costUsd"] == {"sum": None}


def test_compare_versions_agrees_with_scipy_and_pairs_on_inputs(client: TestClient, user: User, prompt_id: str) -> None:
    logs = store(client, user, two_versions(prompt_id))
    response = client.get(f"/prompts/{prompt_id}/compare?by=promptVersion&a=1&b=2", headers=user.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    a = np.array([log["score"] for log in logs if log["promptVersion"] == 1 and log["score"] is not None])
    b = np.array([log["score"] for log in logs if log["promptVersion"] == 2 and log["score"] is not None])
    assert (answer["a"]["key"], answer["b"]["key"]) == (1, 2)
    difference = answer["difference"]
    assert close(difference["mean"], b.mean() - a.mean())
    welch = scipy_stats.ttest_ind(b, a, equal_var=False)
    assert close([difference["welch"]["t"], difference["welch"]["p"]], [welch.statistic, welch.pvalue])
    mann_whitney = scipy_stats.mannwhitneyu(b, a)
    assert close([difference["mannWhitney"]["u"], difference["mannWhitney"]["p"]], list(mann_whitney))

    per_input: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for log in logs:
        if log["score"] is not None:
            per_input[log["promptVersion"]][log["input"]["text"]].append(log["score"])
    shared = sorted(set(per_input[1]) & set(per_input[2]))
    differences = np.array([np.mean(per_input[2][key]) - np.mean(per_input[1][key]) for key in shared])
    paired = answer["paired"]
    assert paired["n"] == len(shared) == 30
    assert close(paired["meanDifference"], differences.mean())
    assert (paired["wins"], paired["ties"], paired["losses"]) == (
        int((differences > 0).sum()),
        int((differences == 0).sum()),
        int((differences < 0).sum()),
    )
    assert "version 2" in answer["verdict"] and "version 1" in answer["verdict"]
    assert answer["power"]["targetDifference"] == 0.5


def test_compare_models_across_prompts_pairs_within_each_prompt(client: TestClient, user: User, prompt_id: str) -> None:
    other = client.post(
        "/prompts", json={"title": "Other", "content": "x {{text}}", "model": "m"}, headers=user.headers
    ).json()["_id"]
    for prompt in (prompt_id, other):
        store(
            client,
            user,
            [
                {"promptId": prompt, "output": "o", "modelUsed": model, "score": score, "input": {"text": str(i)}}
                for i in range(5)
                for model, score in (("small", 5 + i % 2), ("large", 7 + i % 3))
            ],
        )
    answer = client.get("/compare?by=modelUsed&a=small&b=large", headers=user.headers).json()
    assert answer["paired"]["n"] == 10 and answer["a"]["n"] == 10
    one = client.get(f"/compare?by=modelUsed&a=small&b=large&promptId={other}", headers=user.headers).json()
    assert one["paired"]["n"] == 5


def test_compare_with_a_side_that_has_no_logs_is_null_not_an_error(
    client: TestClient, user: User, prompt_id: str
) -> None:
    store(client, user, [{"promptId": prompt_id, "output": "o", "modelUsed": "m", "score": 7}])
    answer = client.get(f"/prompts/{prompt_id}/compare?by=modelUsed&a=m&b=nobody", headers=user.headers).json()
    assert answer["b"]["n"] == 0 and answer["difference"] is None and answer["paired"] is None
    assert isinstance(answer["verdict"], str) and answer["verdict"]


def test_leaderboard_is_reproducible_and_ranks_the_clear_winner_first(
    client: TestClient, user: User, prompt_id: str
) -> None:
    store(
        client,
        user,
        [
            {
                "promptId": prompt_id,
                "output": "o",
                "modelUsed": model,
                "score": score + (i % 3) * 0.5,
                "input": {"q": str(i)},
            }
            for i in range(40)
            for model, score in (("weak", 3), ("middle", 6), ("strong", 9))
        ],
    )
    for method in ("mean", "bradley-terry"):
        path = f"/stats/leaderboard?method={method}"
        first = client.get(path, headers=user.headers)
        assert first.status_code == 200, first.text
        assert client.get(path, headers=user.headers).json() == first.json()
        entries = first.json()["entries"]
        assert [entry["key"] for entry in entries] == ["strong", "middle", "weak"]
        assert entries[0]["rank"] == 1 and entries[0]["rankCi95"] == [1, 1]
        assert [entry["n"] for entry in entries] == [40, 40, 40]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/prompts/{id}/stats?groupBy=week", "groupBy"),
        ("/prompts/{id}/stats?minScore=high", "minScore"),
        ("/prompts/{id}/compare?by=modelUsed&a=x", "b"),
        ("/prompts/{id}/compare?by=promptVersion&a=1&b=two", "b"),
        ("/prompts/{id}/compare?by=day&a=1&b=2", "by"),
        ("/prompts/{id}/compare?by=modelUsed&a=x&b=y&target=0", "target"),
        ("/stats/leaderboard?method=elo", "method"),
        ("/stats/leaderboard?by=promptVersion", "promptId"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client: TestClient, user: User, prompt_id: str, path: str, field: str
) -> None:
    response = client.get(path.replace("{id}", prompt_id), headers=user.headers)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


def test_another_users_prompt_is_403_and_an_unknown_one_404(
    client: TestClient, user: User, other_user: User, prompt_id: str
) -> None:
    for path in (f"/prompts/{prompt_id}/stats", f"/prompts/{prompt_id}/compare?by=modelUsed&a=x&b=y"):
        assert client.get(path, headers=other_user.headers).status_code == 403
        assert client.get(path.replace(prompt_id, "prompt_unknown"), headers=user.headers).status_code == 404
    assert client.get("/stats/leaderboard", headers=other_user.headers).json()["entries"] == []


def test_a_leaderboard_is_computed_again_once_its_logs_change(client: TestClient, user: User, prompt_id: str) -> None:
    log = {"promptId": prompt_id, "output": "o", "modelUsed": "first", "score": 5, "input": {"q": "1"}}
    store(client, user, [log, {**log, "input": {"q": "2"}, "score": 6}])
    assert [entry["key"] for entry in client.get("/stats/leaderboard", headers=user.headers).json()["entries"]] == [
        "first"
    ]
    [added] = store(client, user, [{**log, "modelUsed": "second", "score": 9}])
    board = client.get("/stats/leaderboard", headers=user.headers).json()
    assert [entry["key"] for entry in board["entries"]] == ["second", "first"]
    client.delete(f"/logs/{added['_id']}", headers=user.headers)
    board = client.get("/stats/leaderboard", headers=user.headers).json()
    assert [entry["key"] for entry in board["entries"]] == ["first"]


def test_a_leaderboard_is_computed_once_until_its_logs_change(
    client: TestClient, user: User, prompt_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[str] = []

    def counted(by: str, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        computed.append(method)
        return real(by, method, *args, **kwargs)

    real = evaluation.leaderboard_answer
    monkeypatch.setattr(evaluation, "leaderboard_answer", counted)
    log = {"promptId": prompt_id, "output": "o", "modelUsed": "first", "score": 5, "input": {"q": "1"}}
    store(client, user, [log, {**log, "modelUsed": "second", "score": 7}])
    boards = [client.get("/stats/leaderboard", headers=user.headers).json() for _ in range(3)]
    assert computed == ["mean"] and boards[0] == boards[1] == boards[2]
    client.get("/stats/leaderboard?method=bradley-terry", headers=user.headers)
    client.get("/stats/leaderboard?method=bradley-terry", headers=user.headers)
    assert computed == ["mean", "bradley-terry"]
    store(client, user, [{**log, "input": {"q": "2"}}])
    client.get("/stats/leaderboard", headers=user.headers)
    assert computed == ["mean", "bradley-terry", "mean"]


def test_a_leaderboard_ranks_at_most_a_hundred_keys(client: TestClient, user: User, prompt_id: str) -> None:
    store(client, user, [{"promptId": prompt_id, "output": "o", "modelUsed": f"m{i}", "score": 5} for i in range(101)])
    response = client.get("/stats/leaderboard", headers=user.headers)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "by", "message": "101 to rank; at most 100: narrow it with promptId or the log filters."}
    ]
    assert client.get("/stats/leaderboard?minScore=6", headers=user.headers).json()["entries"] == []


def test_a_model_with_only_unscored_logs_is_listed_last_unrated(client: TestClient, user: User, prompt_id: str) -> None:
    log = {"promptId": prompt_id, "output": "o", "input": {"q": "1"}}
    store(
        client,
        user,
        [
            {**log, "modelUsed": "scored", "score": 6},
            {**log, "modelUsed": "scored", "score": 8, "input": {"q": "2"}},
            {**log, "modelUsed": "unscored"},
            {**log, "modelUsed": "unscored", "input": None},
        ],
    )
    entries = client.get("/stats/leaderboard", headers=user.headers).json()["entries"]
    assert [(entry["key"], entry["n"], entry["rank"]) for entry in entries] == [("scored", 2, 1), ("unscored", 2, None)]
    assert entries[1]["mean"] is None and entries[1]["rankCi95"] is None

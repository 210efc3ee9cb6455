"""Runs (EVALUATION.md §10): a prompt version over a dataset's items on models, scored, stored
as logs; against a real OpenAI-compatible HTTP server on 127.0.0.1 (tests/fake_openai.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fake_openai import FakeOpenAI, Fault
from helpers import User, make_dataset, make_prompt
from promptcrafter import messages

TICKETS = [
    {"input": {"ticket": "refund please"}, "expected": "refund please"},
    {"input": {"ticket": "where is my parcel"}, "expected": "WHERE IS MY PARCEL"},
    {"input": {"ticket": "cancel my plan"}, "expected": "cancel my plan"},
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def make_provider(client: TestClient, user: User, fake: FakeOpenAI, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "local",
        "baseUrl": fake.base_url,
        "apiKey": "sk-test-1234abcd",
        "models": [{"name": "echo", "inputPer1M": 1.0, "outputPer1M": 2.0}],
        **fields,
    }
    response = client.post("/providers", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_for(client: TestClient, user: User, run_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}", headers=user.headers).json()
        if run["status"] in ("done", "failed", "cancelled"):
            return run  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def test_a_run_calls_each_model_on_each_item_and_stores_scored_logs(
    client: TestClient, user: User, fake: FakeOpenAI
) -> None:
    prompt_id = make_prompt(client, user)
    dataset_id = make_dataset(client, user, TICKETS)
    make_provider(client, user, fake, models=[{"name": "echo", "inputPer1M": 1.0, "outputPer1M": 2.0}])
    body = {
        "promptId": prompt_id,
        "datasetId": dataset_id,
        "models": [{"provider": "local", "model": "echo"}, {"provider": "local", "model": "upper"}],
        "scorers": [{"type": "exact"}, {"type": "contains"}],
    }
    response = client.post("/runs", json=body, headers=user.headers)
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] in ("queued", "running")
    assert run["progress"]["total"] == 6
    done = wait_for(client, user, run["_id"])
    assert done["status"] == "done"
    assert done["progress"] == {"done": 6, "failed": 0, "total": 6}
    assert [entry["key"] for entry in done["leaderboard"]["entries"]][:2] or done["leaderboard"]
    logs = client.get("/logs", params={"promptId": prompt_id}, headers=user.headers).json()
    assert len(logs) == 6
    by_model = {(log["modelUsed"], log["input"]["ticket"]): log for log in logs}
    echo = by_model[("local/echo", "refund please")]
    assert echo["output"] == "refund please"
    assert echo["score"] == 10 and echo["scores"] == {"exact": 10, "contains": 10}
    assert echo["runId"] == run["_id"] and echo["itemId"]
    assert echo["inputTokens"] == 2 and echo["outputTokens"] == 2
    assert echo["costUsd"] == pytest.approx((2 * 1.0 + 2 * 2.0) / 1_000_000)
    upper = by_model[("local/upper", "where is my parcel")]
    assert upper["score"] == 10
    assert by_model[("local/upper", "refund please")]["score"] == 0
    assert fake.calls() == 6
    assert all(request.authorization == "Bearer sk-test-1234abcd" for request in fake.requests)


ECHO = [{"provider": "local", "model": "echo"}]


def of(setup: dict[str, str]) -> dict[str, str]:
    """The prompt and dataset a run of `setup` names."""
    return {"promptId": setup["promptId"], "datasetId": setup["datasetId"]}


def start_run(client: TestClient, user: User, **fields: Any) -> dict[str, Any]:
    response = client.post("/runs", json=fields, headers=user.headers)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def setup(client: TestClient, user: User, fake: FakeOpenAI) -> dict[str, str]:
    """A prompt, a dataset of three tickets and a provider on the fake server."""
    return {
        "promptId": make_prompt(client, user),
        "datasetId": make_dataset(client, user, TICKETS),
        "provider": make_provider(client, user, fake)["_id"],
    }


def test_a_429_is_retried_after_its_retry_after_and_a_500_after_a_backoff(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    fake.script("echo", Fault.status(429, retry_after=1), Fault.status(500))
    run = start_run(
        client,
        user,
        **of(setup),
        models=ECHO,
    )
    done = wait_for(client, user, run["_id"])
    assert done["progress"] == {"done": 3, "failed": 0, "total": 3}
    assert fake.calls("echo") == 5
    [limited] = [request for request in fake.requests if request.fault and request.fault.status_code == 429]
    again = [request for request in fake.requests if request.messages == limited.messages and request is not limited]
    assert again and min(request.arrived_at for request in again) - limited.arrived_at >= 0.95


def test_a_call_that_still_fails_counts_as_failed_with_its_error_kept(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    fake.script("echo", Fault.status(400, message="bad model"), Fault.malformed(), Fault.empty_choices())
    run = start_run(
        client,
        user,
        **of(setup),
        models=ECHO,
    )
    done = wait_for(client, user, run["_id"])
    assert done["status"] == "failed"
    assert done["progress"] == {"done": 0, "failed": 3, "total": 3}
    assert "leaderboard" not in done
    results = client.get(f"/runs/{run['_id']}/results", headers=user.headers).json()
    errors = sorted(output["error"] for result in results for output in result["outputs"])
    assert errors == [
        "The provider answered 400: bad model",
        "The provider's answer held no message.",
        "The provider's answer was not a chat completion.",
    ]
    assert fake.calls() == 3  # none of these is retried
    assert client.get("/logs", params={"runId": run["_id"]}, headers=user.headers).json() == []


def test_a_call_that_times_out_is_retried(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    client.patch(f"/providers/{setup['provider']}", json={"timeoutSeconds": 1}, headers=user.headers)
    fake.script("echo", Fault.hang(2.0))
    run = start_run(
        client,
        user,
        **of(setup),
        models=ECHO,
    )
    assert wait_for(client, user, run["_id"])["progress"] == {"done": 3, "failed": 0, "total": 3}
    assert fake.calls() == 4


def test_calls_to_a_provider_are_bounded_by_its_concurrency(client: TestClient, user: User, fake: FakeOpenAI) -> None:
    fake.delay = 0.1
    prompt_id = make_prompt(client, user)
    items = [{"input": {"ticket": f"ticket {index}"}, "expected": f"ticket {index}"} for index in range(12)]
    dataset_id = make_dataset(client, user, items)
    make_provider(client, user, fake, concurrency=3)
    run = start_run(
        client,
        user,
        promptId=prompt_id,
        datasetId=dataset_id,
        models=ECHO,
        scorers=[{"type": "exact"}],
    )
    done = wait_for(client, user, run["_id"])
    assert done["progress"]["done"] == 12
    assert fake.max_concurrent == 3


def test_repeats_and_params_reach_the_model_and_each_answer_is_a_log(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    model = {"provider": setup["provider"], "model": "echo", "params": {"temperature": 0.2, "max_tokens": 50}}
    run = start_run(client, user, **of(setup), models=[model], repeats=2)
    assert run["progress"]["total"] == 6
    assert run["models"] == [{**model, "providerName": "local", "modelUsed": "local/echo"}]
    wait_for(client, user, run["_id"])
    assert {(request.params["temperature"], request.params["max_tokens"]) for request in fake.requests} == {(0.2, 50)}
    results = client.get(f"/runs/{run['_id']}/results", headers=user.headers).json()
    assert [[output["repeat"] for output in result["outputs"]] for result in results] == [[0, 1]] * 3
    assert [result["input"]["ticket"] for result in results] == [item["input"]["ticket"] for item in TICKETS]


def test_the_results_come_in_pages_in_dataset_order(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    run = start_run(
        client,
        user,
        **of(setup),
        models=[{"provider": "local", "model": "echo"}, {"provider": "local", "model": "upper"}],
        scorers=[{"type": "exact"}],
    )
    wait_for(client, user, run["_id"])
    first = client.get(f"/runs/{run['_id']}/results?limit=2", headers=user.headers)
    assert first.status_code == 200 and len(first.json()) == 2
    following = first.links["next"]["url"]
    second = client.get(following, headers=user.headers).json()
    seen = [result["input"]["ticket"] for result in first.json() + second]
    assert seen == [item["input"]["ticket"] for item in TICKETS]
    outputs = first.json()[1]["outputs"]
    assert [(output["modelUsed"], output["output"], output["score"]) for output in outputs] == [
        ("local/echo", "where is my parcel", 0),
        ("local/upper", "WHERE IS MY PARCEL", 10),
    ]


def test_a_finished_run_ranks_its_models_by_mean_score(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    run = start_run(
        client,
        user,
        **of(setup),
        models=[{"provider": "local", "model": "echo"}, {"provider": "local", "model": "upper"}],
        scorers=[{"type": "exact"}],
    )
    board = wait_for(client, user, run["_id"])["leaderboard"]
    assert board["method"] == "mean" and board["by"] == "modelUsed"
    ranked = {entry["key"]: entry for entry in board["entries"]}
    assert ranked["local/echo"]["mean"] == pytest.approx(20 / 3)
    assert ranked["local/upper"]["mean"] == pytest.approx(10 / 3)
    # Three scores of 0 and 10: the t-interval alone would reach past both ends of the scale.
    assert ranked["local/echo"]["ci95"] == [pytest.approx(0), 10]
    compared = client.get(
        f"/prompts/{setup['promptId']}/compare",
        params={"by": "modelUsed", "a": "local/upper", "b": "local/echo", "runId": run["_id"]},
        headers=user.headers,
    )
    assert compared.status_code == 200, compared.text
    assert compared.json()["paired"]["n"] == 3


def test_a_judge_grades_the_answer_and_its_reasoning_goes_to_notes(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    scorers = [
        {"type": "judge", "provider": "local", "model": "judge", "rubric": "Is it polite?"},
        {"type": "contains"},
    ]
    run = start_run(
        client,
        user,
        **of(setup),
        models=ECHO,
        scorers=scorers,
    )
    wait_for(client, user, run["_id"])
    logs = client.get("/logs", params={"runId": run["_id"]}, headers=user.headers).json()
    assert len(logs) == 3
    log = next(log for log in logs if log["input"]["ticket"] == "refund please")
    assert log["score"] == 7 and log["scores"] == {"judge": 7, "contains": 10}
    assert log["notes"] == "The answer is mostly right."
    judged = [request for request in fake.requests if request.model == "judge"]
    assert len(judged) == 3 and "Is it polite?" in str(judged[0].messages)


def test_a_json_schema_and_a_numeric_scorer_score_the_output(client: TestClient, user: User, fake: FakeOpenAI) -> None:
    prompt_id = make_prompt(client, user, "{{question}}")
    items = [{"input": {"question": "42"}, "expected": "41.5"}, {"input": {"question": "x"}, "expected": "3"}]
    dataset_id = make_dataset(client, user, items)
    make_provider(client, user, fake)
    schema = {"type": "object", "required": ["answer"]}
    scorers = [{"type": "numeric", "tolerance": 1}, {"type": "json-schema", "schema": schema}]
    run = start_run(
        client,
        user,
        promptId=prompt_id,
        datasetId=dataset_id,
        models=[{"provider": "local", "model": "echo"}, {"provider": "local", "model": "json"}],
        scorers=scorers,
    )
    wait_for(client, user, run["_id"])
    logs = client.get("/logs", params={"runId": run["_id"]}, headers=user.headers).json()
    scores = {(log["modelUsed"], log["input"]["question"]): log["scores"] for log in logs}
    assert scores[("local/echo", "42")] == {"numeric": 10, "json-schema": 0}
    assert scores[("local/json", "42")] == {"numeric": 10, "json-schema": 10}
    assert scores[("local/echo", "x")] == {"numeric": 0, "json-schema": 0}


def test_cancelling_a_run_stops_every_call_not_yet_started(client: TestClient, user: User, fake: FakeOpenAI) -> None:
    fake.delay = 0.2
    prompt_id = make_prompt(client, user)
    items = [{"input": {"ticket": f"ticket {index}"}} for index in range(40)]
    dataset_id = make_dataset(client, user, items)
    make_provider(client, user, fake, concurrency=2)
    run = start_run(client, user, promptId=prompt_id, datasetId=dataset_id, models=ECHO)
    deadline = time.monotonic() + 10
    while fake.calls() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    cancelled = client.post(f"/runs/{run['_id']}/cancel", headers=user.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    calls_at_cancel = fake.calls()
    time.sleep(0.6)
    assert fake.calls() <= calls_at_cancel + 0  # calls under way were already counted on arrival
    final = client.get(f"/runs/{run['_id']}", headers=user.headers).json()
    assert final["status"] == "cancelled" and final["finishedAt"] is not None
    assert final["progress"]["done"] + final["progress"]["failed"] <= calls_at_cancel < 40
    again = client.post(f"/runs/{run['_id']}/cancel", headers=user.headers)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_a_finished_run_cannot_be_cancelled(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    run = start_run(
        client,
        user,
        **of(setup),
        models=ECHO,
    )
    wait_for(client, user, run["_id"])
    refused = client.post(f"/runs/{run['_id']}/cancel", headers=user.headers)
    assert refused.status_code == 409 and refused.json() == {"error": messages.RUN_FINISHED}


@pytest.mark.parametrize(
    ("change", "status", "problem"),
    [
        ({"models": [{"provider": "nobody", "model": "echo"}]}, 400, "models[0].provider"),
        ({"scorers": [{"type": "regex"}]}, 400, "scorers[0].pattern"),
        (
            {"scorers": [{"type": "judge", "provider": "nobody", "model": "m", "rubric": "r"}]},
            400,
            "scorers[0].provider",
        ),
        ({"version": 1, "label": "production"}, 400, None),
        ({"version": 7}, 404, None),
        ({"label": "production"}, 404, None),
        ({"repeats": 11}, 400, "repeats"),
        ({"models": []}, 400, "models"),
        ({"datasetId": "dataset_01M8MEBV8V1YNTK4V776RNNECH"}, 404, None),
    ],
)
def test_a_run_that_cannot_be_made_is_refused_before_anything_is_queued(
    client: TestClient, user: User, setup: dict[str, str], change: dict[str, Any], status: int, problem: str | None
) -> None:
    body = {**of(setup), "models": ECHO, **change}
    response = client.post("/runs", json=body, headers=user.headers)
    assert response.status_code == status, response.text
    if problem is not None:
        assert problem in [detail["field"] for detail in response.json()["details"]]
    assert client.get("/runs", headers=user.headers).json() == []


def test_an_empty_dataset_cannot_be_run(client: TestClient, user: User, fake: FakeOpenAI) -> None:
    prompt_id = make_prompt(client, user)
    dataset_id = client.post("/datasets", json={"name": "empty"}, headers=user.headers).json()["_id"]
    make_provider(client, user, fake)
    body = {"promptId": prompt_id, "datasetId": dataset_id, "models": [{"provider": "local", "model": "echo"}]}
    response = client.post("/runs", json=body, headers=user.headers)
    assert response.status_code == 400 and response.json() == {"error": messages.DATASET_EMPTY}


def test_another_users_prompt_dataset_provider_and_run_are_not_theirs(
    client: TestClient, user: User, other_user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    theirs = {"promptId": make_prompt(client, other_user), "datasetId": make_dataset(client, other_user, TICKETS)}
    make_provider(client, other_user, fake, name="their-provider")
    mine = {"provider": "local", "model": "echo"}
    setup = of(setup)
    refused = client.post(
        "/runs", json={**setup, "promptId": theirs["promptId"], "models": [mine]}, headers=user.headers
    )
    assert refused.status_code == 403
    refused = client.post(
        "/runs", json={**setup, "datasetId": theirs["datasetId"], "models": [mine]}, headers=user.headers
    )
    assert refused.status_code == 403 and refused.json() == {"error": messages.DATASET_FORBIDDEN}
    body = {**setup, "models": [{"provider": "their-provider", "model": "echo"}]}
    assert client.post("/runs", json=body, headers=user.headers).status_code == 400
    run = start_run(client, user, **of(setup), models=[mine])
    for path in (f"/runs/{run['_id']}", f"/runs/{run['_id']}/results"):
        assert client.get(path, headers=other_user.headers).json() == {"error": messages.RUN_FORBIDDEN}
    assert client.post(f"/runs/{run['_id']}/cancel", headers=other_user.headers).status_code == 403
    assert client.get("/runs", headers=other_user.headers).json() == []


def test_a_providers_key_is_never_logged(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    fake.script("echo", Fault.status(401, message="invalid key"))
    run = start_run(
        client,
        user,
        **of(setup),
        models=ECHO,
    )
    wait_for(client, user, run["_id"])
    assert "sk-test-1234abcd" not in caplog.text
    assert all(
        "sk-test-1234abcd" not in client.get(path, headers=user.headers).text
        for path in ("/providers", f"/runs/{run['_id']}", f"/runs/{run['_id']}/results")
    )


def test_a_persons_score_replaces_score_and_keeps_the_scorers_scores(
    client: TestClient, user: User, other_user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    run = start_run(
        client,
        user,
        **of(setup),
        models=ECHO,
        scorers=[{"type": "exact"}],
    )
    wait_for(client, user, run["_id"])
    log = client.get("/logs", params={"runId": run["_id"]}, headers=user.headers).json()[0]
    reviewed = client.patch(f"/logs/{log['_id']}", json={"score": 4.5, "notes": "Too terse."}, headers=user.headers)
    assert reviewed.status_code == 200, reviewed.text
    assert (reviewed.json()["score"], reviewed.json()["notes"]) == (4.5, "Too terse.")
    assert reviewed.json()["scores"] == log["scores"] == {"exact": 10}
    assert (
        client.get("/search", params={"q": "terse", "in": "logs"}, headers=user.headers).json()[0]["_id"] == log["_id"]
    )
    kept = client.patch(f"/logs/{log['_id']}", json={"notes": None}, headers=user.headers).json()
    assert (kept["score"], kept["notes"]) == (4.5, None)
    refused = client.patch(f"/logs/{log['_id']}", json={"score": 11}, headers=other_user.headers)
    assert refused.status_code == 403 and refused.json() == {"error": messages.LOG_FORBIDDEN}
    assert client.patch(f"/logs/{log['_id']}", json={"score": 11}, headers=user.headers).status_code == 400


def test_two_versions_run_on_two_models_over_one_dataset_pair_up_for_a_verdict(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    prompt_id = setup["promptId"]
    edited = client.patch(f"/prompts/{prompt_id}", json={"content": "Answer: {{ticket}}"}, headers=user.headers)
    assert edited.json()["version"] == 2
    models = [{"provider": "local", "model": "echo"}, {"provider": "local", "model": "upper"}]
    for version in (1, 2):
        run = start_run(
            client,
            user,
            promptId=prompt_id,
            version=version,
            datasetId=setup["datasetId"],
            models=models,
            scorers=[{"type": "exact"}],
        )
        assert wait_for(client, user, run["_id"])["version"] == version
    compared = client.get(
        f"/prompts/{prompt_id}/compare", params={"by": "promptVersion", "a": 2, "b": 1}, headers=user.headers
    ).json()
    assert compared["paired"]["n"] == 3
    assert compared["verdict"].startswith("version 1 scores higher than version 2")


def test_logs_filtered_by_run_are_only_that_runs_and_a_bad_run_id_is_named(
    client: TestClient, user: User, fake: FakeOpenAI, setup: dict[str, str]
) -> None:
    runs = [start_run(client, user, **of(setup), models=ECHO)["_id"] for _ in range(2)]
    for run_id in runs:
        wait_for(client, user, run_id)
        logs = client.get("/logs", params={"runId": run_id}, headers=user.headers).json()
        assert len(logs) == 3 and {log["runId"] for log in logs} == {run_id}
    refused = client.get("/logs", params={"runId": "not a run"}, headers=user.headers)
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "runId"

"""The OpenAPI document is exact: schemathesis fuzzes every operation it describes.

Each generated request, valid and deliberately invalid, goes through the ASGI app on a
real SQLite file, once with a valid token and once without one. Every answer must be
documented for its operation: a listed status code, the listed content type, a body
matching the listed schema, and never a 5xx.

The cases come from schemathesis' strategies driven by Hypothesis directly, one pytest
item per operation, rather than from `schemathesis.pytest`, whose subtest reporting does
not run on pytest 9. `bench/fuzz.py` runs the same with many more examples.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from helpers import FAST_HASHING, PASSWORD
from promptcrafter.config import Settings
from promptcrafter.server import create_app
from promptcrafter.storage import Database
from promptcrafter.storage.migrate import upgrade

SEED = 20261126
EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
OPERATIONS = [
    "POST /auth/signup",
    "POST /auth/login",
    "GET /auth/me",
    "GET /prompts",
    "POST /prompts",
    "GET /prompts/{prompt_id}",
    "PATCH /prompts/{prompt_id}",
    "DELETE /prompts/{prompt_id}",
    "GET /logs",
    "POST /logs",
    "DELETE /logs/{log_id}",
    "GET /search",
    "GET /health",
]
# Generated ids almost never exist; swapping in real ones lets fuzzing reach 200, 204 and 403 too.
ID_SOURCES = ["generated", "own", "theirs"]


@dataclass
class FuzzWorld:
    """An app on a fresh SQLite file, with two users who each own a prompt and a log."""

    app: Any
    http: TestClient
    headers: dict[str, str]
    other_prompt_id: str
    other_log_id: str

    def close(self) -> None:
        """Release the client and the app's connections."""
        self.http.close()
        self.app.state.context.db.close()


def sign_up(http: TestClient, name: str) -> dict[str, str]:
    """A new account's authorization header."""
    email = f"fuzz-{uuid.uuid4().hex[:10]}@example.com"
    response = http.post("/auth/signup", json={"name": name, "email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def create_prompt_and_log(http: TestClient, headers: dict[str, str]) -> tuple[str, str]:
    """The ids of a new prompt and of a log of it."""
    body = {"title": "Fuzzing target", "content": "Describe the weather.", "model": "GPT-4o", "tags": ["fuzz"]}
    prompt = http.post("/prompts", json=body, headers=headers)
    assert prompt.status_code == 201, prompt.text
    log_body = {"promptId": prompt.json()["_id"], "output": "Sunny.", "modelUsed": "GPT-4o", "score": 7}
    log = http.post("/logs", json=log_body, headers=headers)
    assert log.status_code == 201, log.text
    return prompt.json()["_id"], log.json()["_id"]


def build_world(database_path: Path) -> FuzzWorld:
    """Migrate a SQLite file, build an app on it and seed two users' data."""
    url = f"sqlite:///{database_path}"
    database = Database(url)
    upgrade(database)
    database.close()
    app = create_app(Settings(database_url=url, **FAST_HASHING))  # type: ignore[arg-type]
    # No `with`: the lifespan would close the app's database when this client is done.
    http = TestClient(app, raise_server_exceptions=False)
    own = sign_up(http, "Fuzzer")
    other_prompt_id, other_log_id = create_prompt_and_log(http, sign_up(http, "Bystander"))
    return FuzzWorld(app=app, http=http, headers=own, other_prompt_id=other_prompt_id, other_log_id=other_log_id)


def load_schema(world: FuzzWorld) -> Any:
    """The app's own /openapi.json, as schemathesis reads it through the app."""
    return schemathesis.openapi.from_asgi("/openapi.json", world.app, config=schemathesis.Config(seed=SEED))


def swap_ids(case: schemathesis.Case[Any], world: FuzzWorld, source: str) -> None:
    """Replace generated ids by the caller's (freshly made: fuzzed DELETEs remove them) or the other user's."""
    if source == "generated":
        return
    if source == "own":
        prompt_id, log_id = create_prompt_and_log(world.http, world.headers)
    else:
        prompt_id, log_id = world.other_prompt_id, world.other_log_id
    if "prompt_id" in case.path_parameters:
        case.path_parameters["prompt_id"] = prompt_id
    if "log_id" in case.path_parameters:
        case.path_parameters["log_id"] = log_id
    if isinstance(case.body, dict) and "promptId" in case.body:
        case.body["promptId"] = prompt_id


def fuzz_operation(
    operation: Any, world: FuzzWorld, *, authenticated: bool, examples: int, random_seed: int = SEED
) -> None:
    """Send `examples` valid and invalid requests to one operation; raise on the first undocumented answer."""
    headers = world.headers if authenticated else None
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @seed(random_seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        # Generating bodies for these schemas is slow by Hypothesis' standards, not broken.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=cases, id_source=st.sampled_from(ID_SOURCES))
    def fuzz(case: schemathesis.Case[Any], id_source: str) -> None:
        swap_ids(case, world, id_source)
        case.call_and_validate(headers=headers, checks=CHECKS)

    fuzz()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    built = build_world(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    yield built
    built.close()


@pytest.fixture(scope="module")
def api_schema(world: FuzzWorld) -> Any:
    return load_schema(world)


def test_every_documented_operation_is_fuzzed(api_schema: Any) -> None:
    documented = [result.ok().label for result in api_schema.get_all_operations()]
    assert sorted(documented) == sorted(OPERATIONS)


@pytest.mark.parametrize("authenticated", [True, False], ids=["valid token", "no token"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_answer_is_documented(api_schema: Any, world: FuzzWorld, label: str, authenticated: bool) -> None:
    fuzz_operation(api_schema.find_operation_by_label(label), world, authenticated=authenticated, examples=EXAMPLES)


# What the fuzzer cannot see for itself: parameters the document leaves out are never sent,
# and keywords JSON Schema does not know are never enforced on generated data.


def operation_of(document: dict[str, Any], label: str) -> dict[str, Any]:
    """The raw OpenAPI operation object for `METHOD /path`."""
    method, path = label.split(" ", 1)
    return document["paths"][path][method.lower()]  # type: ignore[no-any-return]


def request_schema(document: dict[str, Any], label: str) -> dict[str, Any]:
    """The JSON body schema of an operation's request."""
    return operation_of(document, label)["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("label", "name", "required"),
    [("GET /logs", "promptId", False), ("GET /search", "q", True)],
)
def test_query_parameters_the_routes_read_are_documented(
    world: FuzzWorld, label: str, name: str, required: bool
) -> None:
    document = world.http.get("/openapi.json").json()
    parameters = {p["name"]: p for p in operation_of(document, label).get("parameters", []) if p["in"] == "query"}
    assert name in parameters, f"{label} reads `{name}` but does not document it"
    assert parameters[name].get("required", False) is required


def test_score_bounds_are_json_schema_keywords(world: FuzzWorld) -> None:
    score = request_schema(world.http.get("/openapi.json").json(), "POST /logs")["properties"]["score"]
    numbers = [branch for branch in score["anyOf"] if branch.get("type") in ("number", "integer")]
    # `ge`/`le` are pydantic's names; JSON Schema validators and generators ignore them.
    assert "ge" not in score and "le" not in score
    assert numbers and all((branch.get("minimum"), branch.get("maximum")) == (0, 10) for branch in numbers)


def test_patch_body_needs_a_field_and_takes_no_nulls(world: FuzzWorld) -> None:
    schema = request_schema(world.http.get("/openapi.json").json(), "PATCH /prompts/{prompt_id}")
    assert schema.get("minProperties") == 1
    for name, field in schema["properties"].items():
        branches = field.get("anyOf", [field])
        assert all(branch.get("type") != "null" for branch in branches), f"{name} is documented as nullable"


def test_explicit_null_score_is_accepted(world: FuzzWorld) -> None:
    # The contract allows `"score": null`; the fuzzer found it answered 500.
    prompt_id, _ = create_prompt_and_log(world.http, world.headers)
    body = {"promptId": prompt_id, "output": "Sunny.", "modelUsed": "GPT-4o", "score": None}
    response = world.http.post("/logs", json=body, headers=world.headers)
    assert response.status_code == 201, response.text
    assert response.json()["score"] is None

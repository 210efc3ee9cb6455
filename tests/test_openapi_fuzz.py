"""The OpenAPI document is exact: schemathesis fuzzes every operation it describes.

Each generated request, valid and deliberately invalid, goes through the ASGI app on a
real SQLite file, once with a valid token and once without one. Every answer must be
documented for its operation: a listed status code, the listed content type and headers,
a body matching the listed schema (formats included), and never a 5xx. The operations
are read from the app's own document, so a new route is fuzzed without being listed here.

The cases come from schemathesis' strategies driven by Hypothesis directly, one pytest
item per operation, rather than from `schemathesis.pytest`, whose subtest reporting does
not run on pytest 9. Each item tries 25 cases from a fixed seed; a long run tries more,
and another seed tries others:

    PROMPTCRAFTER_FUZZ_EXAMPLES=1000 PROMPTCRAFTER_FUZZ_SEED=7 pytest tests/test_openapi_fuzz.py

The document's own claims are checked too: every example matches its schema, every body
has one, and the docs viewer is the only one served.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route
from starlette.testclient import TestClient

from helpers import FAST_HASHING, PASSWORD
from promptcrafter.config import Settings
from promptcrafter.schemas import PASSWORD_MAX, PASSWORD_MIN, SignupRequest
from promptcrafter.server import create_app
from promptcrafter.storage import Database
from promptcrafter.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SEED = int(os.environ.get("PROMPTCRAFTER_FUZZ_SEED", "20261126"))
EXAMPLES = int(os.environ.get("PROMPTCRAFTER_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]


def documented_operations() -> list[str]:
    """`METHOD /path` of every operation in the app's OpenAPI document."""
    # The app opens its database at the first request, so this one, never called, touches no file.
    app = create_app(Settings(database_url="sqlite:///never-opened.db", secret_key="s" * 40))
    try:
        paths = app.openapi()["paths"]
    finally:
        app.state.context.db.close()
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item]


OPERATIONS = documented_operations()
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


def fuzz_operation(operation: Any, world: FuzzWorld, *, authenticated: bool) -> None:
    """Send EXAMPLES valid and invalid requests to one operation; raise on the first undocumented answer."""
    headers = world.headers if authenticated else None
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
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


def test_every_operation_of_the_app_is_fuzzed(api_schema: Any, world: FuzzWorld) -> None:
    served = [
        f"{method} {route.path_format}"
        for route in world.app.routes
        if isinstance(route, Route) and route.include_in_schema
        for method in route.methods or ()
        if method != "HEAD"
    ]
    documented = [result.ok().label for result in api_schema.get_all_operations()]
    assert sorted(served) == sorted(documented) == sorted(OPERATIONS)


@pytest.mark.parametrize("authenticated", [True, False], ids=["valid token", "no token"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_answer_is_documented(api_schema: Any, world: FuzzWorld, label: str, authenticated: bool) -> None:
    fuzz_operation(api_schema.find_operation_by_label(label), world, authenticated=authenticated)


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


# What the document tells a reader of /docs: examples, rules, headers and formats.


@pytest.fixture(scope="module")
def document(world: FuzzWorld) -> dict[str, Any]:
    return world.http.get("/openapi.json").json()  # type: ignore[no-any-return]


def validator(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """A validator of `schema`, formats included, whose `#/components/...` references resolve."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]}, validate_formats=True)


def examples_in(node: Any, where: str = "#") -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """Every example below `node`, where it is, and the schema it must match.

    A media type's, parameter's or header's `example`, and each value of its `examples` map,
    are instances of its `schema`; anywhere else `example` and `examples` (a list) are a
    schema's own instances.
    """
    if isinstance(node, list):
        for index, value in enumerate(node):
            yield from examples_in(value, f"{where}/{index}")
        return
    if not isinstance(node, dict):
        return
    # In `properties` the keys are field names, not keywords.
    in_properties = where.endswith("/properties")
    if not in_properties:
        schema = node["schema"] if isinstance(node.get("schema"), dict) else node
        if "example" in node:
            yield f"{where}/example", node["example"], schema
        examples = node.get("examples")
        if isinstance(examples, list):
            for index, example in enumerate(examples):
                yield f"{where}/examples/{index}", example, schema
        elif isinstance(examples, dict) and schema is not node:
            for name, example in examples.items():
                yield f"{where}/examples/{name}", example["value"], schema
    for key, value in node.items():
        # Examples hold instances, not more of the document.
        if in_properties or key not in ("example", "examples"):
            yield from examples_in(value, f"{where}/{key}")


def test_every_example_matches_its_schema(document: dict[str, Any]) -> None:
    found = list(examples_in(document))
    for where, example, schema in found:
        problems = [error.message for error in validator(schema, document).iter_errors(example)]
        assert not problems, f"{where}: {problems}"
    assert any(where.startswith("#/components/schemas/") for where, _, _ in found)
    assert any("/content/" in where for where, _, _ in found)


def body_media_types(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every request and response body of every operation, named by operation, part and media type."""
    for path, path_item in document["paths"].items():
        for method, operation in path_item.items():
            parts = {"request": operation.get("requestBody", {}), **operation["responses"]}
            for part, described in parts.items():
                for media_type, media in described.get("content", {}).items():
                    yield f"{method.upper()} {path} {part} {media_type}", media


def referenced_schemas(schema: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The components `schema` refers to, directly or through other components."""
    names: set[str] = set()
    pending = [schema]
    while pending:
        for name in re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(pending.pop())):
            if name not in names:
                names.add(name)
                pending.append(schemas[name])
    return names


def test_every_body_schema_has_an_example(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    missing = []
    for where, media in body_media_types(document):
        own = media["schema"]
        while own.get("type") == "array":
            own = own["items"]
        # A schema of its own needs an example; referred ones (also as one of several) have theirs.
        referred = "$ref" in own or (own.get("anyOf") and all("$ref" in option for option in own["anyOf"]))
        if not referred and not own.get("examples"):
            missing.append(where)
        used = referenced_schemas(media["schema"], schemas)
        missing += [f"{where}: {name}" for name in sorted(used) if not schemas[name].get("examples")]
        # Swagger UI 4, the bundled viewer, shows a media type's examples and never a schema's.
        if "example" not in media and not media.get("examples"):
            missing.append(f"{where} (as the viewer shows it)")
    assert not missing, missing


def signs_up(email: str) -> bool:
    try:
        SignupRequest.model_validate({"name": "Ada", "email": email, "password": PASSWORD})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "email",
    [
        "ada@example.com", "A.Da+tag@Example.co.uk", "a@b.c", "a@" + "b" * 248 + ".co", "a@" + "b" * 249 + ".co",
        "ada@example", "ada.example.com", "@example.com", "ada@", "ada@.", "ada@@example.com", "ada@ex@ample.com",
        "a da@example.com", "ada@example.com ", "ada@exa\tmple.com", "ada@example.com\n",
    ],
)
def test_the_documented_email_rule_is_the_one_applied(document: dict[str, Any], email: str) -> None:
    rule = request_schema(document, "POST /auth/signup")["properties"]["email"]
    assert rule["description"]
    documented = re.fullmatch(rule["pattern"], email) is not None and len(email) <= rule["maxLength"]
    assert documented is signs_up(email)


def test_the_password_rule_is_documented(document: dict[str, Any]) -> None:
    rule = request_schema(document, "POST /auth/signup")["properties"]["password"]
    assert (rule["minLength"], rule["maxLength"]) == (PASSWORD_MIN, PASSWORD_MAX)
    assert f"{PASSWORD_MIN}–{PASSWORD_MAX} characters" in rule["description"]
    assert "The password does not meet the security requirements." in rule["description"]


def test_retry_after_is_documented_wherever_it_is_sent(world: FuzzWorld, document: dict[str, Any]) -> None:
    statuses = []
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for status in {"429", "503"} & set(operation["responses"]):
                header = operation["responses"][status]["headers"]["Retry-After"]
                assert header["schema"]["type"] == "integer"
                # Every 429 carries it; a 503 only when the server is busy, not when the database is down.
                assert header.get("required", False) is (status == "429")
                statuses.append(status)
    assert "429" in statuses and "503" in statuses
    credentials = {"email": f"locked-{uuid.uuid4().hex[:10]}@example.com", "password": "not the password"}
    attempts = world.app.state.context.settings.login_max_failures + 1
    answers = [world.http.post("/auth/login", json=credentials) for _ in range(attempts)]
    assert answers[-1].status_code == 429
    schema = document["paths"]["/auth/login"]["post"]["responses"]["429"]["headers"]["Retry-After"]["schema"]
    assert validator(schema, document).is_valid(int(answers[-1].headers["retry-after"]))


def test_timestamps_are_date_times_in_the_document_and_in_answers(world: FuzzWorld, document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    prompt_id, _ = create_prompt_and_log(world.http, world.headers)
    answers = {
        "PromptRead": world.http.get(f"/prompts/{prompt_id}", headers=world.headers).json(),
        "LogRead": world.http.get("/logs", params={"promptId": prompt_id}, headers=world.headers).json()[0],
        "UserRead": world.http.get("/auth/me", headers=world.headers).json(),
    }
    for name, answer in answers.items():
        timestamps = [field for field in schemas[name]["properties"] if field.endswith("At")]
        assert timestamps and all(schemas[name]["properties"][field]["format"] == "date-time" for field in timestamps)
        validator(schemas[name], document).validate(answer)


def test_redoc_is_neither_served_nor_linked(world: FuzzWorld) -> None:
    # Its script is in no installed package, and the docs load nothing from elsewhere.
    assert world.http.get("/redoc").status_code == 404
    for page in ("/docs", "/docs/init.js", "/openapi.json"):
        assert "redoc" not in world.http.get(page).text.lower(), page
    assert "redoc" not in (ROOT / "README.md").read_text().lower()

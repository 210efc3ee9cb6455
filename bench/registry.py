"""Prompt-registry hot paths: PromptCrafter against Arize Phoenix and MLflow, in one run.

    python bench/registry.py [--db URL] [--duration 10] [--quick]
        [--targets promptcrafter,phoenix,mlflow]

Starts the three servers on free ports of 127.0.0.1, each with authentication
on and a fresh SQLite store, creates in each a prompt with two versions and
the label `production` on the first, and a second prompt that receives new
versions; then measures with wrk the label fetch (what an application does at
run time) and the creation of a new version, prints a table and writes the
results as JSON to bench/results/. Phoenix and MLflow are installed once into
their own venvs under the cache dir, never into the project's. Every process
started here is stopped on exit, also on Ctrl-C or failure. See the
"Prompt registries" section of bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from compare import _forward_as_sigint, _redact, best_runs, git_commit, machine_info, write_json
from loadgen import LoadShape, Run, run_case, wrk_executable
from processes import ManagedProcess, free_port
from promptcrafter_target import launch_promptcrafter
from promptcrafter_target import version as promptcrafter_version
from target import Case, Target, expect_status, to_json

BENCH_DIR = Path(__file__).resolve().parent
ALL_TARGETS = ("promptcrafter", "phoenix", "mlflow")
REFERENCE_TITLES = {"phoenix": "Phoenix", "mlflow": "MLflow"}
REFERENCES = tuple(REFERENCE_TITLES)
# In report and run order. get_prompt (the current version, without a label) exists for
# PromptCrafter only, and runs right after the label fetch to be compared with it.
ALL_CASES = ("label_fetch", "get_prompt", "create_version")
WORKERS = 2
READY_TIMEOUT = 180.0  # Phoenix runs its migrations and MLflow spawns its workers first

# case.lua replaces this marker in a body by a value unique to each request.
UNIQUE_MARKER = "@@UNIQUE@@"
LABEL = "production"
LABELLED_NAME = "bench-labelled"  # versions 1 and 2; the label names version 1
SINK_NAME = "bench-sink"  # receives the new versions
MODEL = "gpt-4o-mini"
TEMPLATE_V1 = "Translate {{text}} into French. Keep the tone and the formatting of the original."
TEMPLATE_V2 = "Translate {{text}} into French. Keep the tone, the formatting and every name of the original."
NEW_TEMPLATE = "Translate {{text}} into German. Keep the tone and the formatting (revision " + UNIQUE_MARKER + ")."

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "promptcrafter-bench"
PHOENIX_REQUIREMENT = "arize-phoenix"
MLFLOW_REQUIREMENT = "mlflow[auth]"  # the extra brings Flask-WTF, without which basic-auth does not start
MLFLOW_SOURCE = "dummy-source"  # what mlflow.genai.register_prompt sends as a prompt version's source
MLFLOW_PROMPT_TAGS = {
    "is_prompt": "mlflow.prompt.is_prompt",
    "type": "_mlflow_prompt_type",
    "text": "mlflow.prompt.text",
}


@dataclass
class Registry:
    """A started server holding the two prompts, and what the checks need to know of it."""

    target: Target
    auth: str  # how authentication is set up, for the report
    processes: str  # how many server processes, for the report
    content_of: Callable[[Any], str]  # the template in a read case's JSON answer
    count_versions: Callable[[], int]  # versions of the sink prompt so far


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PromptCrafter database URL (default: a fresh SQLite file)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load per case (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="measured runs per case, best kept (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s runs, 1 s warm-up")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds after which wrk counts a request as failed (default 10: MLflow's writes take seconds)",
    )
    parser.add_argument(
        "--targets", default=",".join(ALL_TARGETS), help="comma-separated subset of: " + ", ".join(ALL_TARGETS)
    )
    parser.add_argument(
        "--cases", default=",".join(ALL_CASES), help="comma-separated subset of: " + ", ".join(ALL_CASES)
    )
    parser.add_argument(
        "--promptcrafter-cmd", default="promptcrafter", help='command that runs the CLI (default "promptcrafter")'
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where the Phoenix and MLflow venvs are kept (default {DEFAULT_CACHE})",
    )
    parser.add_argument(
        "--phoenix-requirement",
        default=PHOENIX_REQUIREMENT,
        help=f"what pip installs into a new Phoenix venv (default {PHOENIX_REQUIREMENT})",
    )
    parser.add_argument(
        "--mlflow-requirement",
        default=MLFLOW_REQUIREMENT,
        help=f"what pip installs into a new MLflow venv (default {MLFLOW_REQUIREMENT})",
    )
    parser.add_argument(
        "--mlflow-auth-cache-ttl",
        type=int,
        default=60,
        help="MLflow's auth_cache_ttl_seconds: how long a checked password is trusted "
        "(default 60; 0 is MLflow's default, a password hash per request)",
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results", help="where the JSON goes")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (databases, server logs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    args.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown or not args.targets:
        parser.error(f"--targets: unknown {sorted(unknown)}; choose from {', '.join(ALL_TARGETS)}")
    args.cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = set(args.cases) - set(ALL_CASES)
    if unknown or not args.cases:
        parser.error(f"--cases: unknown {sorted(unknown)}; choose from {', '.join(ALL_CASES)}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.mlflow_auth_cache_ttl < 0:
        parser.error("--mlflow-auth-cache-ttl must be 0 or more")
    return args


# --- the reference servers' venvs -------------------------------------------------------------


def ensure_venv(directory: Path, requirement: str, distributions: Sequence[str]) -> str:
    """Make sure the venv at ``directory`` has ``distributions``, installing ``requirement`` if not.

    Returns the installed version of the first distribution. An existing venv is
    not upgraded: delete the directory to get the newest release.
    """
    python = directory / "bin" / "python"
    versions = _installed_versions(python, distributions)
    if versions is None:
        log = directory.parent / f"{directory.name}-install.log"
        print(f"  installing {requirement} into {directory} (once; pip's output in {log}) ...", flush=True)
        directory.parent.mkdir(parents=True, exist_ok=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
        with log.open("ab") as output:
            installed = subprocess.run(
                [str(python), "-m", "pip", "install", requirement], stdout=output, stderr=subprocess.STDOUT, check=False
            )
        if installed.returncode != 0:
            raise RuntimeError(f"pip install {requirement} into {directory} failed; see {log}")
        versions = _installed_versions(python, distributions)
        if versions is None:
            raise RuntimeError(
                f"{directory} still lacks one of {', '.join(distributions)} after installing {requirement}; see {log}"
            )
    return versions[0]


def _installed_versions(python: Path, distributions: Sequence[str]) -> list[str] | None:
    """The versions of ``distributions`` in the venv of ``python``, or None if one is missing."""
    if not python.exists():
        return None
    code = "import sys\nfrom importlib import metadata\nfor name in sys.argv[1:]:\n    print(metadata.version(name))"
    found = subprocess.run([str(python), "-c", code, *distributions], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        return None
    return found.stdout.split()


def venv_env(directory: Path, drop_prefix: str) -> dict[str, str]:
    """The environment for a server of the venv at ``directory``.

    Variables starting with ``drop_prefix`` are left out, so that a setting of
    the caller's shell cannot change the server's configuration.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith(drop_prefix)}
    env["VIRTUAL_ENV"] = str(directory)
    env["PATH"] = f"{directory / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _secret(prefix: str) -> str:
    """A random secret of 50 characters with at least one digit and one lowercase letter."""
    return prefix + "7q" + secrets.token_hex(24)


# --- PromptCrafter ----------------------------------------------------------------------------


def start_promptcrafter(*, stack: ExitStack, workdir: Path, command: list[str], db_url: str | None) -> Registry:
    """Start ``promptcrafter serve --workers 2``, sign up a user and create the two prompts."""
    process, base_url = launch_promptcrafter(stack=stack, workdir=workdir, command=command, db_url=db_url)

    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        # A unique email per run, so a reused PostgreSQL database still works.
        email, password = f"bench-{secrets.token_hex(6)}@bench.invalid", secrets.token_urlsafe(18)
        signup = client.post("/auth/signup", json={"name": "Bench User", "email": email, "password": password})
        client.headers["Authorization"] = f"Bearer {expect_status(signup, 201, 'signup')['token']}"
        labelled = _promptcrafter_prompt(client, LABELLED_NAME)
        edited = expect_status(client.patch(f"/prompts/{labelled}", json={"content": TEMPLATE_V2}), 200, "edit prompt")
        if edited["version"] != 2:
            raise RuntimeError(f"PromptCrafter: editing the content made version {edited['version']}, not 2")
        label = client.put(f"/prompts/{labelled}/labels/{LABEL}", json={"version": 1})
        expect_status(label, 200, "set label")
        sink = _promptcrafter_prompt(client, SINK_NAME)
        auth = str(client.headers["Authorization"])

    def count_versions() -> int:
        response = httpx.get(f"{base_url}/prompts/{sink}", headers={"Authorization": auth}, timeout=30.0)
        return int(expect_status(response, 200, "PromptCrafter sink prompt")["version"])

    target = Target(name="promptcrafter", base_url=base_url, process=process, version=promptcrafter_version())
    target.cases = {
        "label_fetch": Case("label_fetch", "GET", f"/prompts/{labelled}?label={LABEL}", authorization=auth),
        "create_version": Case(
            "create_version", "PATCH", f"/prompts/{sink}", body=to_json({"content": NEW_TEMPLATE}), authorization=auth
        ),
        "get_prompt": Case("get_prompt", "GET", f"/prompts/{labelled}", authorization=auth),
    }
    return Registry(
        target=target,
        auth="a user signed up with POST /auth/signup; its token as Authorization: Bearer",
        processes=f"promptcrafter serve --workers {WORKERS}",
        content_of=lambda body: str(body["content"]),
        count_versions=count_versions,
    )


def _promptcrafter_prompt(client: httpx.Client, title: str) -> str:
    """Create a prompt with TEMPLATE_V1 as its content; return its id."""
    body = {"title": title, "content": TEMPLATE_V1, "model": MODEL, "tags": ["bench"]}
    return str(expect_status(client.post("/prompts", json=body), 201, "create prompt")["_id"])


# --- Arize Phoenix ----------------------------------------------------------------------------


def start_phoenix(*, stack: ExitStack, workdir: Path, venv: Path, requirement: str) -> Registry:
    """Start ``phoenix serve`` with auth on, make a system API key and create the two prompts."""
    version = ensure_venv(venv, requirement, ["arize-phoenix"])
    port, grpc_port = free_port(), free_port()
    env = venv_env(venv, "PHOENIX_")
    env.update(
        {
            "PHOENIX_ENABLE_AUTH": "true",
            "PHOENIX_SECRET": _secret("s"),  # signs its JWTs, API keys included
            "PHOENIX_ADMIN_SECRET": _secret("a"),  # a bearer token of the system user, used once, to make a key
            "PHOENIX_WORKING_DIR": str(workdir / "home"),  # its SQLite database and files
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(grpc_port),  # its OTLP collector, unused here
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
    )
    workdir.mkdir(parents=True, exist_ok=True)
    process = ManagedProcess(
        name="phoenix",
        argv=[str(venv / "bin" / "phoenix"), "serve"],
        log_path=workdir / "phoenix.log",
        env=env,
        cwd=workdir,
    )
    process.start()
    stack.callback(process.stop)
    base_url = f"http://127.0.0.1:{port}"
    process.wait_http_ok(base_url + "/healthz", timeout=READY_TIMEOUT)

    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        created = client.post(
            "/v1/system/api_keys",
            json={"data": {"name": "bench"}},
            headers={"Authorization": f"Bearer {env['PHOENIX_ADMIN_SECRET']}"},
        )
        auth = f"Bearer {expect_status(created, 201, 'create system API key')['data']['key']}"
        client.headers["Authorization"] = auth
        first = expect_status(
            client.post("/v1/prompts", json=_phoenix_version(LABELLED_NAME, TEMPLATE_V1)), 200, "create prompt"
        )["data"]["id"]
        expect_status(
            client.post("/v1/prompts", json=_phoenix_version(LABELLED_NAME, TEMPLATE_V2)), 200, "create prompt version"
        )
        expect_status(client.post(f"/v1/prompt_versions/{first}/tags", json={"name": LABEL}), 204, "tag version")
        expect_status(client.post("/v1/prompts", json=_phoenix_version(SINK_NAME, TEMPLATE_V1)), 200, "create prompt")

    def count_versions() -> int:
        count, cursor = 0, None
        with httpx.Client(base_url=base_url, timeout=60.0, headers={"Authorization": auth}) as pager:
            while True:
                params: dict[str, str | int] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
                page = expect_status(
                    pager.get(f"/v1/prompts/{SINK_NAME}/versions", params=params), 200, "Phoenix prompt versions"
                )
                count += len(page["data"])
                cursor = page.get("next_cursor")
                if not cursor:
                    return count

    target = Target(name="phoenix", base_url=base_url, process=process, version=f"arize-phoenix {version}")
    target.cases = {
        "label_fetch": Case("label_fetch", "GET", f"/v1/prompts/{LABELLED_NAME}/tags/{LABEL}", authorization=auth),
        "create_version": Case(
            "create_version",
            "POST",
            "/v1/prompts",
            body=to_json(_phoenix_version(SINK_NAME, NEW_TEMPLATE)),
            authorization=auth,
        ),
    }
    return Registry(
        target=target,
        auth="PHOENIX_ENABLE_AUTH=true with a random PHOENIX_SECRET; a system API key (POST /v1/system/api_keys, "
        "made with PHOENIX_ADMIN_SECRET) as Authorization: Bearer",
        processes="phoenix serve: one process (it has no workers option)",
        content_of=_phoenix_content,
        count_versions=count_versions,
    )


def _phoenix_version(name: str, template: str) -> dict[str, Any]:
    """A POST /v1/prompts body: a new version of prompt ``name``, the prompt too if new."""
    return {
        "prompt": {"name": name},
        "version": {
            "model_provider": "OPENAI",
            "model_name": MODEL,
            "template": {"type": "chat", "messages": [{"role": "user", "content": template}]},
            "template_type": "CHAT",
            "template_format": "MUSTACHE",
            "invocation_parameters": {"type": "openai", "openai": {}},
        },
    }


def _phoenix_content(body: Any) -> str:
    """The text of the one message of a Phoenix prompt version."""
    content = body["data"]["template"]["messages"][0]["content"]
    if isinstance(content, list):  # content parts
        return "".join(str(part.get("text", "")) for part in content)
    return str(content)


# --- MLflow -----------------------------------------------------------------------------------


def start_mlflow(*, stack: ExitStack, workdir: Path, venv: Path, requirement: str, auth_cache_ttl: int) -> Registry:
    """Start ``mlflow server --app-name basic-auth --workers 2``, add a user and create the two prompts."""
    version = ensure_venv(venv, requirement, ["mlflow", "flask-wtf"])
    workdir.mkdir(parents=True, exist_ok=True)
    admin_password = _secret("Adm1n-")
    config = workdir / "basic_auth.ini"
    # basic_auth.ini as shipped, with its databases in the temp dir; the admin's password comes
    # from MLFLOW_AUTH_ADMIN_PASSWORD, as MLflow requires on first start.
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{workdir / 'basic_auth.db'}\n"
        "admin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        f"auth_cache_ttl_seconds = {auth_cache_ttl}\n"
    )
    port = free_port()
    env = venv_env(venv, "MLFLOW_")
    env.update(
        {
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_urlsafe(32),  # required by basic-auth (CSRF)
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
    )
    process = ManagedProcess(
        name="mlflow",
        argv=[
            str(venv / "bin" / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{workdir / 'mlflow.db'}",
            "--artifacts-destination",
            str(workdir / "mlartifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--app-name",
            "basic-auth",
        ],
        log_path=workdir / "mlflow.log",
        env=env,
        cwd=workdir,
    )
    process.start()
    stack.callback(process.stop)
    base_url = f"http://127.0.0.1:{port}"
    process.wait_http_ok(base_url + "/health", timeout=READY_TIMEOUT)

    api = "/api/2.0/mlflow"
    user, password = "bench", secrets.token_urlsafe(18)
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        # An ordinary user, who owns (MANAGE permission on) the prompts it creates.
        created = client.post(
            f"{api}/users/create", json={"username": user, "password": password}, auth=("admin", admin_password)
        )
        expect_status(created, 200, "create user")
        client.headers["Authorization"] = auth
        for name, templates in ((LABELLED_NAME, (TEMPLATE_V1, TEMPLATE_V2)), (SINK_NAME, (TEMPLATE_V1,))):
            # What mlflow.genai.register_prompt sends for a new prompt: the registered model
            # marked as a prompt, then one model version per template.
            model = {"name": name, "tags": [{"key": MLFLOW_PROMPT_TAGS["is_prompt"], "value": "true"}]}
            expect_status(client.post(f"{api}/registered-models/create", json=model), 200, "create prompt")
            for template in templates:
                expect_status(
                    client.post(f"{api}/model-versions/create", json=_mlflow_version(name, template)),
                    200,
                    "create prompt version",
                )
        alias = {"name": LABELLED_NAME, "alias": LABEL, "version": "1"}
        expect_status(client.post(f"{api}/registered-models/alias", json=alias), 200, "set alias")

    def count_versions() -> int:
        response = httpx.get(
            f"{base_url}{api}/registered-models/get",
            params={"name": SINK_NAME},
            headers={"Authorization": auth},
            timeout=30.0,
        )
        latest = expect_status(response, 200, "MLflow sink prompt")["registered_model"].get("latest_versions", [])
        return max((int(found["version"]) for found in latest), default=0)

    target = Target(name="mlflow", base_url=base_url, process=process, version=f"mlflow {version}")
    target.cases = {
        "label_fetch": Case(
            "label_fetch",
            "GET",
            f"{api}/registered-models/alias?name={LABELLED_NAME}&alias={LABEL}",
            authorization=auth,
        ),
        "create_version": Case(
            "create_version",
            "POST",
            f"{api}/model-versions/create",
            body=to_json(_mlflow_version(SINK_NAME, NEW_TEMPLATE)),
            authorization=auth,
        ),
    }
    cache = (
        f"auth_cache_ttl_seconds = {auth_cache_ttl}"
        if auth_cache_ttl
        else "auth_cache_ttl_seconds = 0 (MLflow's default: the password hash is checked on every request)"
    )
    return Registry(
        target=target,
        auth=f"--app-name basic-auth, {cache}; an ordinary user made by the admin, as Authorization: Basic",
        processes=f"mlflow server --workers {WORKERS} (uvicorn), plus its job runner's processes",
        content_of=_mlflow_content,
        count_versions=count_versions,
    )


def _mlflow_version(name: str, template: str) -> dict[str, Any]:
    """The model-versions/create body that mlflow.genai.register_prompt sends for a text prompt."""
    tags = {
        MLFLOW_PROMPT_TAGS["is_prompt"]: "true",
        MLFLOW_PROMPT_TAGS["type"]: "text",
        MLFLOW_PROMPT_TAGS["text"]: template,
    }
    return {
        "name": name,
        "source": MLFLOW_SOURCE,
        "tags": [{"key": key, "value": value} for key, value in tags.items()],
    }


def _mlflow_content(body: Any) -> str:
    """The template of an MLflow prompt version: its mlflow.prompt.text tag."""
    for tag in body["model_version"]["tags"]:
        if tag["key"] == MLFLOW_PROMPT_TAGS["text"]:
            return str(tag["value"])
    raise RuntimeError("MLflow: the prompt version has no template tag")


# --- checks and measurement -------------------------------------------------------------------


def start_registries(args: argparse.Namespace, stack: ExitStack, workdir: Path) -> list[Registry]:
    """Start the chosen servers, each with its prompts in place."""
    registries: list[Registry] = []
    for name in ALL_TARGETS:
        if name not in args.targets:
            continue
        print(f"starting {name} ...", flush=True)
        began = time.monotonic()
        if name == "promptcrafter":
            registry = start_promptcrafter(
                stack=stack, workdir=workdir / name, command=shlex.split(args.promptcrafter_cmd), db_url=args.db
            )
        elif name == "phoenix":
            registry = start_phoenix(
                stack=stack,
                workdir=workdir / name,
                venv=args.cache_dir / "phoenix-venv",
                requirement=args.phoenix_requirement,
            )
        else:
            registry = start_mlflow(
                stack=stack,
                workdir=workdir / name,
                venv=args.cache_dir / "mlflow-venv",
                requirement=args.mlflow_requirement,
                auth_cache_ttl=args.mlflow_auth_cache_ttl,
            )
        target = registry.target
        target.cases = {case: spec for case, spec in target.cases.items() if case in args.cases}
        print(f"  {target.version} at {target.base_url}, ready in {time.monotonic() - began:.1f} s", flush=True)
        registries.append(registry)
    return registries


def send(target: Target, case: Case) -> httpx.Response:
    """Send a case once, with its unique marker (if any) replaced as case.lua does."""
    body = case.body.replace(UNIQUE_MARKER, f"check-{secrets.token_hex(4)}") if case.body else None
    return httpx.request(case.method, target.base_url + case.path, content=body, headers=case.headers(), timeout=30.0)


def check(registry: Registry) -> None:
    """Send every case and check that it does what it is meant to measure.

    The label fetch must answer the labelled version (1, not the current 2), the
    plain get the current one, and two version creations must add two versions.
    """
    target = registry.target
    for case in target.cases.values():
        before = registry.count_versions() if case.name == "create_version" else 0
        for _ in range(2 if case.name == "create_version" else 1):
            response = send(target, case)
            if not 200 <= response.status_code < 300:
                raise RuntimeError(
                    f"{target.name} {case.name}: {case.method} {case.path} answered "
                    f"{response.status_code}: {response.text[:300]}"
                )
        if case.name == "create_version":
            added = registry.count_versions() - before
            if added != 2:
                raise RuntimeError(f"{target.name} create_version: two requests added {added} versions, not 2")
            continue
        expected = TEMPLATE_V1 if case.name == "label_fetch" else TEMPLATE_V2
        if registry.content_of(response.json()) != expected:
            raise RuntimeError(f"{target.name} {case.name}: answered another version: {response.text[:300]}")


@dataclass
class Writes:
    """The version creations of one target: what wrk saw answered against what the store holds."""

    target: str
    answered_2xx: int  # over the warm-up and every run
    wrk_runs: int
    versions_added: int

    def problem(self, connections: int) -> str | None:
        """Why the count is wrong, if it is: fewer versions than successful answers, or more
        than the requests that can have been in flight when wrk stopped would explain."""
        if self.versions_added < self.answered_2xx:
            return (
                f"{self.target} create_version: {self.answered_2xx} successful answers "
                f"but only {self.versions_added} new versions"
            )
        if self.versions_added > self.answered_2xx + connections * self.wrk_runs:
            return (
                f"{self.target} create_version: {self.versions_added} new versions "
                f"for {self.answered_2xx} successful answers"
            )
        return None


def measure(
    registries: list[Registry], cases: list[str], shape: LoadShape, warmup: float, repeats: int
) -> tuple[list[Run], list[Writes]]:
    """Run every case of every target ``repeats`` times, interleaved as compare.py does.

    For each case every target runs in turn, and the order of the targets flips
    each round, so that a noisy neighbour on the shared cores hurts all alike.
    """
    runs: list[Run] = []
    warm_shape = LoadShape(shape.threads, shape.connections, warmup, shape.timeout)
    answered = {registry.target.name: 0 for registry in registries}
    wrk_runs = {registry.target.name: 0 for registry in registries}
    before = {
        registry.target.name: registry.count_versions()
        for registry in registries
        if "create_version" in registry.target.cases
    }
    for round_number in range(repeats):
        ordered = registries if round_number % 2 == 0 else list(reversed(registries))
        for case_name in (case for case in ALL_CASES if case in cases):
            for registry in ordered:
                target = registry.target
                case = target.cases.get(case_name)
                if case is None:
                    continue
                shapes = [warm_shape, shape] if round_number == 0 and warmup > 0 else [shape]
                for current in shapes:
                    run = run_case(target, case, current)
                    if case_name == "create_version":
                        answered[target.name] += run.requests - run.non2xx
                        wrk_runs[target.name] += 1
                runs.append(run)  # the last one: the measured run
                print(
                    f"  round {round_number + 1}/{repeats} {target.name:<13} {case_name:<15} "
                    f"{run.requests_per_second:9.1f} req/s  p99 {run.p99_ms:8.2f} ms  "
                    f"failed {run.failed_requests}",
                    flush=True,
                )
    writes = [
        Writes(
            registry.target.name,
            answered[registry.target.name],
            wrk_runs[registry.target.name],
            registry.count_versions() - before[registry.target.name],
        )
        for registry in registries
        if registry.target.name in before
    ]
    return runs, writes


# --- the report -------------------------------------------------------------------------------


def ratios(best: dict[tuple[str, str], Run]) -> dict[str, dict[str, float | None]]:
    """Per case, PromptCrafter's req/s divided by each reference's (``rps_vs_<name>``), and each
    reference's CPU time per request divided by PromptCrafter's (``cpu_per_request_vs_<name>``).

    Both are "how many times PromptCrafter does better". The CPU ratio does not depend on how
    many cores a server could use next to wrk and the neighbours: Phoenix is one process.
    """
    result: dict[str, dict[str, float | None]] = {}
    for case in ALL_CASES:
        ours = best.get(("promptcrafter", case))
        if ours is None:
            continue
        values: dict[str, float | None] = {}
        for reference in REFERENCES:
            theirs = best.get((reference, case))
            if theirs is not None:
                values[f"rps_vs_{reference}"] = _ratio(ours.requests_per_second, theirs.requests_per_second)
                values[f"cpu_per_request_vs_{reference}"] = _ratio(theirs.cpu_ms_per_request, ours.cpu_ms_per_request)
        if values:
            result[case] = values
    return result


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return round(numerator / denominator, 2) if denominator else None


def print_report(
    runs: list[Run], writes: list[Writes], registries: list[Registry], shape: LoadShape, repeats: int
) -> None:
    """Print the setup, the results table, the version counts and the ratios."""
    print("\nSetup:")
    for registry in registries:
        print(f"  {registry.target.version}: {registry.processes}")
        print(f"    auth: {registry.auth}")
    best = best_runs(runs)
    failed: dict[tuple[str, str], int] = {}
    for run in runs:
        failed[(run.target, run.case)] = failed.get((run.target, run.case), 0) + run.failed_requests
    print(
        f"\nBest of {repeats} run(s) per case (highest req/s; its p50, p99 and CPU shown). "
        f"wrk: {shape.threads} threads, {shape.connections} connections, {shape.duration:g} s."
    )
    print("'failed' adds up non-2xx answers, socket errors and timeouts over all measured runs of the case.\n")
    header = f"{'target':<15}{'case':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'failed':>8}"
    print(header)
    print("-" * len(header))
    for case in ALL_CASES:
        for target in ALL_TARGETS:
            kept = best.get((target, case))
            if kept is None:
                continue
            print(
                f"{target:<15}{case:<16}{kept.requests_per_second:>10.1f}{kept.p50_ms:>9.2f}"
                f"{kept.p99_ms:>9.2f}{kept.cpu_ms_per_request:>12.3f}{failed[(target, case)]:>8}"
            )
    if writes:
        print("\nVersions created (warm-up included): successful answers / new versions in the store")
        for write in writes:
            print(f"  {write.target:<15}{write.answered_2xx:>8} / {write.versions_added}")
    ours_label, ours_plain = best.get(("promptcrafter", "label_fetch")), best.get(("promptcrafter", "get_prompt"))
    if ours_label and ours_plain and ours_plain.requests_per_second and ours_plain.cpu_ms_per_request:
        speed = ours_label.requests_per_second / ours_plain.requests_per_second
        cost = ours_label.cpu_ms_per_request / ours_plain.cpu_ms_per_request
        print(
            f"\nPromptCrafter's label fetch against its plain GET /prompts/{{id}}: {speed:.2f}x the req/s, "
            f"{cost:.2f}x the CPU per request."
        )
    table = ratios(best)
    if not table:
        return
    print("\nHow many times PromptCrafter does better: its req/s divided by the reference's, and the")
    print("reference's CPU time per request divided by PromptCrafter's.\n")
    columns = [
        (f"{kind}_vs_{reference}", f"{label} vs {title}")
        for reference, title in REFERENCE_TITLES.items()
        for kind, label in (("rps", "req/s"), ("cpu_per_request", "CPU/req"))
    ]
    header = f"{'case':<16}" + "".join(f"{title:>19}" for _, title in columns)
    print(header)
    print("-" * len(header))
    for case, values in table.items():
        cells = [values.get(key) for key, _ in columns]
        print(f"{case:<16}" + "".join(f"{'-' if cell is None else f'{cell:.2f}x':>19}" for cell in cells))


def problems(runs: list[Run], writes: list[Writes], shape: LoadShape) -> list[str]:
    """One line per run that had failed requests or none at all, and per wrong version count."""
    lines: list[str] = []
    for run in runs:
        if run.requests == 0:
            lines.append(f"{run.target} {run.case}: no request completed within {shape.duration:g} s")
        elif run.failed_requests:
            lines.append(
                f"{run.target} {run.case}: {run.non2xx} non-2xx (first: {run.first_non2xx_status}), "
                f"{run.socket_errors} socket errors, {run.timeouts} timeouts (> {shape.timeout:g} s)"
            )
    lines.extend(issue for write in writes if (issue := write.problem(shape.connections)))
    return lines


def results_payload(
    args: argparse.Namespace, shape: LoadShape, runs: list[Run], writes: list[Writes], registries: list[Registry]
) -> dict[str, object]:
    """Everything needed to read or recompute the results later."""
    best = best_runs(runs)
    medians = {
        f"{target}/{case}": round(
            statistics.median(run.requests_per_second for run in runs if (run.target, run.case) == (target, case)), 1
        )
        for (target, case) in best
    }
    return {
        "git_commit": git_commit(),
        "versions": {registry.target.name: registry.target.version for registry in registries},
        "setup": {
            registry.target.name: {
                "auth": registry.auth,
                "processes": registry.processes,
                "cases": {case.name: f"{case.method} {case.path}" for case in registry.target.cases.values()},
            }
            for registry in registries
        },
        "config": {
            "targets": args.targets,
            "cases": args.cases,
            "db": _redact(args.db) if args.db else "sqlite (fresh temp file)",
            "duration_s": shape.duration,
            "warmup_s": args.warmup,
            "repeats": args.repeats,
            "threads": shape.threads,
            "connections": shape.connections,
            "timeout_s": shape.timeout,
            "mlflow_auth_cache_ttl_s": args.mlflow_auth_cache_ttl,
            "kept": "best req/s",
        },
        "best": [asdict(run) for run in best.values()],
        "median_requests_per_second": medians,
        "ratios": ratios(best),
        "versions_created": [asdict(write) for write in writes],
        "failed_requests": sum(run.failed_requests for run in runs),
        "problems": problems(runs, writes, shape),
        "runs": [asdict(run) for run in runs],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole comparison; return the process exit code."""
    args = parse_args(argv)
    shape = LoadShape(args.threads, args.connections, args.duration, args.timeout)
    # SIGINT is ignored in processes started in the background by a
    # non-interactive shell; we always want Ctrl-C semantics.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _forward_as_sigint)
    started_at = datetime.now(UTC)
    info = machine_info()
    try:
        wrk_executable()
        with ExitStack() as stack:
            workdir = Path(tempfile.mkdtemp(prefix="promptcrafter-registry-"))
            # Registered first, so it runs last: after every server has stopped.
            if args.keep_tmp:
                stack.callback(print, f"temp dir kept: {workdir}")
            else:
                stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            registries = start_registries(args, stack, workdir)
            for registry in registries:
                check(registry)
            print(
                f"measuring: {args.repeats} round(s), {args.duration:g} s per run, {args.warmup:g} s warm-up per case",
                flush=True,
            )
            runs, writes = measure(registries, args.cases, shape, args.warmup, args.repeats)
    except KeyboardInterrupt:
        print("\ninterrupted; every started process was stopped", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, KeyError, subprocess.CalledProcessError, httpx.HTTPError) as exc:
        print(f"\nerror: {exc!r}" if isinstance(exc, KeyError) else f"\nerror: {exc}", file=sys.stderr)
        return 1

    print_report(runs, writes, registries, shape, args.repeats)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    payload = results_payload(args, shape, runs, writes, registries)
    write_json(
        args.output / f"registry-{stamp}.json",
        {"started_at": started_at.isoformat(timespec="seconds"), "machine": info, **payload},
    )
    issues = problems(runs, writes, shape)
    if issues:
        print("\nWARNING: some runs do not measure the intended work:", file=sys.stderr)
        for issue in issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

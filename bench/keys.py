"""What an API key costs against a login token (issue "Run it for real"): the same requests, one
authenticated each way, through wrk against `promptcrafter serve --workers 2`.

    python bench/keys.py [--db postgresql://…] [--duration 10] [--rounds 2]

Cases: `GET /prompts/{id}` and `POST /logs`, each with a token and with a key in
`Authorization: Bearer`; each round runs both, token first in even rounds and key first in odd
ones, so that neither always comes first.
Prints requests per second and server CPU per request, and key / token for each.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

from loadgen import LoadShape, run_case
from promptcrafter_target import launch_promptcrafter
from target import Case, Target, to_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PostgreSQL URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        process, base_url = launch_promptcrafter(
            stack=stack, workdir=Path(workdir), command=["promptcrafter"], db_url=args.db
        )
        with httpx.Client(base_url=base_url, timeout=30) as http:
            body = {"name": "Bench", "email": "keys@bench.invalid", "password": "a long bench password"}
            token = http.post("/auth/signup", json=body).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            prompt = http.post(
                "/prompts", json={"title": "Benchmarked", "content": "Some text", "model": "m"}, headers=headers
            ).json()["_id"]
            scopes = ["prompts:read", "logs:write"]
            key = http.post("/auth/keys", json={"name": "bench", "scopes": scopes}, headers=headers).json()["key"]
        target = Target(name="promptcrafter", base_url=base_url, process=process, version="")
        log = to_json({"promptId": prompt, "output": "An output of a few words.", "modelUsed": "gpt-4o", "score": 7})
        requests = {"read a prompt": ("GET", f"/prompts/{prompt}", None), "log an output": ("POST", "/logs", log)}
        shape = LoadShape(duration=args.duration)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for round_number in range(args.rounds):
            for name, (method, path, payload) in requests.items():
                pairs = [("token", token), ("key", key)]
                for credential, secret in pairs if round_number % 2 == 0 else reversed(pairs):
                    case = Case(name, method, path, body=payload, authorization=f"Bearer {secret}")
                    run = run_case(target, case, shape)
                    assert run.non2xx == 0, f"{name} with a {credential}: {run.first_non2xx_status}"
                    results.setdefault((name, credential), []).append((run.requests_per_second, run.cpu_ms_per_request))
    print(f"{'case':<16}{'with':<7}{'req/s':>10}{'CPU ms/req':>12}")
    for (name, credential), runs in results.items():
        best = max(runs)
        print(f"{name:<16}{credential:<7}{best[0]:>10.0f}{best[1]:>12.3f}")
    for name in requests:
        token_best, key_best = max(results[(name, "token")]), max(results[(name, "key")])
        print(
            f"{name}: key / token = {key_best[0] / token_best[0]:.2f}× the req/s, "
            f"{key_best[1] / token_best[1]:.2f}× the CPU per request"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

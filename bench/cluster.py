"""Several servers behind a real load balancer, one of them killed in the middle (issue "Run it
for real"): deploy/compose.yaml's shape, run here without containers.

    python bench/cluster.py [--db postgresql://…] [--duration 60] [--clients 64] [--servers 3]

1. a throwaway PostgreSQL database (or `--db`), migrated once;
2. `--servers` `promptcrafter serve` processes on it, and HAProxy from Debian's packages (installed
   when missing) in front, checking /health every 0.5 s (deploy/haproxy.cfg's settings);
3. a token issued by one server and an API key made through another are tried on every server;
4. baseline: the load of `load.py` (64 clients, half writes) for `--duration` seconds against one
   server alone;
5. the same load through the balancer; a third of the way in one server gets SIGKILL, and half
   way it is started again;
6. every acknowledged write is looked for afterwards; errors are counted, with when they happened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import load
from processes import ManagedProcess, free_port

HAPROXY = "/usr/sbin/haproxy"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PostgreSQL URL of an empty database (default: a throwaway one on 127.0.0.1)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of each load phase (default 60)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    arguments = parser.parse_args()
    arguments.workers = 1  # per server: what load.report prints
    return arguments


def ensure_haproxy() -> None:
    if not Path(HAPROXY).exists():
        print("Installing Debian's haproxy package…", flush=True)
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "haproxy"], check=True, env=environment, capture_output=True)


def throwaway_database() -> tuple[str, str]:
    name = f"pc_cluster_{secrets.token_hex(4)}"
    subprocess.run(["psql", ADMIN_URL, "-qc", f"CREATE DATABASE {name}"], check=True)
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def start_server(database_url: str, port: int, workdir: Path, number: int) -> ManagedProcess:
    server = ManagedProcess(
        name=f"server {number}",
        argv=[
            sys.executable,
            "-m",
            "promptcrafter",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            database_url,
            "--no-access-log",
        ],
        log_path=workdir / f"server-{number}.log",
        env=dict(os.environ),
    )
    server.start()
    server.wait_http_ok(f"http://127.0.0.1:{port}/health")
    return server


def start_balancer(ports: list[int], workdir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    backends = "\n".join(
        f"    server app{index} 127.0.0.1:{backend} check" for index, backend in enumerate(ports, start=1)
    )
    config = workdir / "haproxy.cfg"
    # deploy/haproxy.cfg, with this machine's ports.
    config.write_text(
        (Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg")
        .read_text()
        .replace("bind *:8000", f"bind 127.0.0.1:{port}")
        .split("    server app1")[0]
        + backends
        + "\n"
    )
    balancer = ManagedProcess(
        name="haproxy", argv=[HAPROXY, "-f", str(config), "-db"], log_path=workdir / "haproxy.log", env=dict(os.environ)
    )
    balancer.start()
    url = f"http://127.0.0.1:{port}"
    balancer.wait_http_ok(url + "/health")
    return balancer, url


def credentials_everywhere(urls: list[str]) -> None:
    """A token from the first server and a key made through the second work on every server."""
    email, password = f"cluster-{secrets.token_hex(4)}@bench.invalid", secrets.token_urlsafe(16)
    httpx.post(f"{urls[0]}/auth/signup", json={"name": "Cluster", "email": email, "password": password})
    token = httpx.post(f"{urls[0]}/auth/login", json={"email": email, "password": password}).json()["token"]
    key = httpx.post(
        f"{urls[1 % len(urls)]}/auth/keys",
        json={"name": "cluster", "scopes": ["prompts:read"]},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["key"]
    for credential, value in (("token from server 1", token), ("key made on server 2", key)):
        statuses = [
            httpx.get(f"{url}/prompts", headers={"Authorization": f"Bearer {value}"}).status_code for url in urls
        ]
        print(f"{credential}: {statuses} on servers 1–{len(urls)}")
        assert statuses == [200] * len(urls), statuses


async def failover_load(
    balancer_url: str, seeded: load.Seeded, args: argparse.Namespace, victim: ManagedProcess, restart: object
) -> tuple[load.Tally, float, list[tuple[float, str]]]:
    """The load through the balancer; SIGKILL to one server a third of the way in, a restart half way."""
    events: list[tuple[float, str]] = []
    started = time.monotonic()

    async def kill_and_restart() -> None:
        await asyncio.sleep(args.duration / 3)
        assert victim.popen is not None
        os.killpg(victim.popen.pid, signal.SIGKILL)
        events.append((time.monotonic() - started, "server 2 killed (SIGKILL)"))
        await asyncio.sleep(args.duration / 2 - args.duration / 3)
        await asyncio.to_thread(restart)  # type: ignore[arg-type]
        events.append((time.monotonic() - started, "server 2 answering again"))

    killer = asyncio.create_task(kill_and_restart())
    tally, seconds = await load.run_load(balancer_url, seeded, args)
    await killer
    tally.error_times = [moment - started for moment in tally.error_times]
    return tally, seconds, events


def main() -> int:
    args = parse_args()
    ensure_haproxy()
    workdir = Path(tempfile.mkdtemp(prefix="promptcrafter-cluster-"))
    created = None
    database_url = args.db
    if database_url is None:
        created, database_url = throwaway_database()
    processes: list[ManagedProcess] = []
    try:
        subprocess.run([sys.executable, "-m", "promptcrafter", "migrate", "--db", database_url], check=True)
        ports = [free_port() for _ in range(args.servers)]
        servers = [start_server(database_url, port, workdir, number) for number, port in enumerate(ports, start=1)]
        processes += servers
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        balancer, balancer_url = start_balancer(ports, workdir)
        processes.append(balancer)
        credentials_everywhere(urls)

        seeded = asyncio.run(load.seed(balancer_url))
        print(f"\nBaseline: {args.clients} clients for {args.duration:g} s against server 1 alone", flush=True)
        alone, alone_seconds = asyncio.run(load.run_load(urls[0], seeded, args))
        load.report(alone, alone_seconds, args, "PostgreSQL, one server")

        def restart() -> None:
            servers[1] = start_server(database_url, ports[1], workdir, 2)
            processes.append(servers[1])

        print(f"\nCluster: {args.servers} servers behind HAProxy, one killed and restarted", flush=True)
        tally, seconds, events = asyncio.run(failover_load(balancer_url, seeded, args, servers[1], restart))
        load.report(tally, seconds, args, f"PostgreSQL, {args.servers} servers behind HAProxy")
        for moment, what in events:
            print(f"  at {moment:5.1f} s: {what}")
        if tally.error_times:
            print(f"  errors between {min(tally.error_times):.1f} s and {max(tally.error_times):.1f} s")
        stored = asyncio.run(load.stored_sink_logs(balancer_url, seeded))
        acknowledged = alone.logs_created + tally.logs_created
        print(
            f"\nacknowledged log writes: {acknowledged}, stored: {stored}: "
            + (f"LOST {acknowledged - stored}" if stored < acknowledged else "none lost")
            + (
                f"; {stored - acknowledged} stored but never acknowledged (in flight when the server died)"
                if stored > acknowledged
                else ""
            )
        )
        total_alone = sum(alone.statuses.values()) / alone_seconds
        total_cluster = sum(tally.statuses.values()) / seconds
        print(
            f"throughput: {total_cluster:.0f} req/s through the balancer against {total_alone:.0f} with one "
            f"server: {total_cluster / total_alone:.2f}×; errors {tally.errors}, baseline errors {alone.errors}"
        )
        return 1 if stored < acknowledged else 0
    finally:
        for process in reversed(processes):
            process.stop()
        if created is not None:
            subprocess.run(["psql", ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {created} WITH (FORCE)"], check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

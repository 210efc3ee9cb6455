"""Fixtures: a fresh database per test on every store, an app, a client, signed-up users.

SQLite always runs. PostgreSQL runs when PROMPTCRAFTER_TEST_POSTGRES_URL names a server:
each test run creates its own throwaway database there and drops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from helpers import FAST_HASHING, PASSWORD, POSTGRES_ENV, STORES, LiveServer, User, start_server, stop_server
from promptcrafter.config import Settings
from promptcrafter.server import create_app
from promptcrafter.storage import Database
from promptcrafter.storage.migrate import upgrade


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, migrated, dropped at the end."""
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        # Only a developer without PostgreSQL gets here; CI sets the variable, so it never skips.
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"promptcrafter_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(server_url).set(drivername="postgresql")
    try:
        psycopg.connect(admin.render_as_string(hide_password=False)).close()
    except psycopg.OperationalError:
        # The URL names the server; its database need not exist when the maintenance one does.
        admin = admin.set(database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    upgrade(database)
    database.close()
    yield url
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=STORES)
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database on each store shared by a module's tests (for live servers, which are slow
    to start); the tests keep apart by signing up accounts of their own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('module') / 'shared.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per run; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.close()
    return path


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each store: a copy of the template file on SQLite, the
    run's database emptied on PostgreSQL (a TRUNCATE is faster than copying a database)."""
    if request.param == "sqlite":
        path = tmp_path / "promptcrafter.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    database = Database(url)
    with database.engine.begin() as conn:
        conn.execute(text("TRUNCATE users, prompts, logs, login_failures CASCADE"))
    database.close()
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, **FAST_HASHING)  # type: ignore[arg-type]


@pytest.fixture
def app_factory(settings: Settings) -> Callable[..., Any]:
    """Builds apps on the test's database; several model several server processes."""

    def build(**overrides: Any) -> Any:
        return create_app(settings.model_copy(update=overrides))

    return build


@pytest.fixture
def client(app_factory: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(app_factory(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_user(client: TestClient) -> Callable[..., User]:
    """Signs up a new account with a unique email."""

    def sign_up(name: str = "Ada Lovelace", email: str | None = None) -> User:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = client.post("/auth/signup", json={"name": name, "email": email, "password": PASSWORD})
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        return User(id=me["_id"], email=email, password=PASSWORD, token=token)

    return sign_up


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def other_user(make_user: Callable[..., User]) -> User:
    return make_user(name="Grace Hopper")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real `promptcrafter serve` on a free port with a fresh SQLite file."""
    server = start_server(f"sqlite:///{tmp_path / 'live.db'}")
    yield server
    stop_server(server)

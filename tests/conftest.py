"""Shared fixtures: one real E5 model per session, a seeded data dir copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.e5 import E5Embedder
from qa.service import QAService
from qa.settings import REPO_ROOT, Settings

SEEDS = REPO_ROOT / "seeds"
TEST_DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def embedder() -> E5Embedder:
    """The bundled multilingual-e5-small, loaded once for the whole run."""
    return E5Embedder()


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory, embedder: E5Embedder) -> Path:
    """A data dir holding the two seed documents, built once per run (read-only: copy it)."""
    folder = tmp_path_factory.mktemp("seeded")
    QAService(Settings(data_dir=folder), embedder=embedder).ensure_seeded()
    return folder


def make_service(data_dir: Path, embedder: E5Embedder, **settings: object) -> QAService:
    """A service over `data_dir` (or `database_url`, when given) sharing the session's model."""
    return QAService(Settings(data_dir=data_dir, **settings), embedder=embedder)


@pytest.fixture
def service(tmp_path: Path, seeded_dir: Path, embedder: E5Embedder) -> Iterator[QAService]:
    """A service over a private copy of the seeded data dir."""
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    yield make_service(data_dir, embedder)


@pytest.fixture
def empty_service(tmp_path: Path, embedder: E5Embedder) -> QAService:
    """A service over a new, empty data dir (seeded only if the test asks)."""
    return make_service(tmp_path / "empty", embedder)


# -- both backends -------------------------------------------------------------------------------
# The contract tests (store, index, API) take `backend_service`, which runs each of them twice:
# over the embedded SQLite + FAISS data dir and over PostgreSQL + pgvector, a server this run
# starts itself (tests/pg_server.py) and skips, saying why, only where none can be had.

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a PostgreSQL server (with pgvector) for this run, started on 127.0.0.1 and a free port."""
    from pg_server import find_binaries, pgvector_fault, postgres_server

    bin_dir, source = find_binaries()
    if bin_dir is None:
        pytest.skip(f"the PostgreSQL half of the contract tests is skipped: {source}")
    with postgres_server(bin_dir) as (url, log):
        fault = pgvector_fault(url, log)
        if fault:
            pytest.skip(f"the PostgreSQL half of the contract tests is skipped ({source}): {fault}")
        yield url


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """A new database on the test server (a copy of `template` when given); its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as con:
        if template:  # a template must have no other connection while it is copied
            con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (template,))
        con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return database_url(server_url, name)


@pytest.fixture(scope="session")
def pg_seeded(pg_url: str, embedder: E5Embedder) -> str:
    """The name of a database holding the two seed documents (a template: copy it)."""
    url = create_database(pg_url, "seeded")
    service = QAService(Settings(database_url=url), embedder=embedder)
    service.ensure_seeded()
    service.store.close()
    return "seeded"


_databases = iter(range(1_000_000))


def new_database(pg_url: str, template: str | None = None) -> str:
    """The URL of a fresh database on the test server, empty or a copy of `template`."""
    return create_database(pg_url, f"test_{next(_databases)}", template)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend a contract test runs on: each such test runs once per backend."""
    return request.param


def backend_settings(backend: str, request: pytest.FixtureRequest, data_dir: Path, seeded: bool) -> dict[str, object]:
    """Settings for a service over a fresh store of `backend` (holding the seeds when `seeded`)."""
    if backend == "sqlite":
        if seeded:
            shutil.copytree(request.getfixturevalue("seeded_dir"), data_dir)
        return {"data_dir": data_dir}
    url = request.getfixturevalue("pg_url")
    template = request.getfixturevalue("pg_seeded") if seeded else None
    return {"data_dir": data_dir, "database_url": new_database(url, template)}


@pytest.fixture
def backend_service(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, embedder: E5Embedder
) -> Iterator[QAService]:
    """A service over the seeds, on each backend in turn."""
    settings = backend_settings(backend, request, tmp_path / "backend-data", seeded=True)
    service = make_service(**settings, embedder=embedder)
    yield service
    close(service)


@pytest.fixture
def empty_backend_service(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, embedder: E5Embedder
) -> Iterator[QAService]:
    """A service over an empty store, on each backend in turn."""
    settings = backend_settings(backend, request, tmp_path / "backend-data", seeded=False)
    service = make_service(**settings, embedder=embedder)
    yield service
    close(service)


def close(service: QAService) -> None:
    """Give back a PostgreSQL service's connections (the server allows a few hundred)."""
    closer = getattr(service.store, "close", None)
    if closer is not None:
        closer()

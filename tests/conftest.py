"""Shared fixtures: one real E5 model per session, a seeded data dir copied per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.e5 import E5Embedder
from qa.service import QAService
from qa.settings import REPO_ROOT, Settings

# The suite tests the sentence selector everywhere (also in the `qa serve` processes it starts,
# which inherit this); tests/test_trained_reader.py asks for the trained reader explicitly.
os.environ.setdefault("QA_READER", "off")

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
    """A service over `data_dir` sharing the session's model."""
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

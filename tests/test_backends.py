"""The store and index contract, on both backends: SQLite + FAISS and PostgreSQL + pgvector.

Each test taking `backend_service` or `empty_backend_service` runs once per backend (see
conftest.py; the PostgreSQL server is started by the suite). Then what only PostgreSQL
promises: versioned migrations, the model guard in the database, recall watched and restored
after churn, and stateless `qa serve` nodes that see each other's writes and lose nothing
acknowledged to a `kill -9`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from conftest import close, make_service, new_database
from fastapi.testclient import TestClient
from live_server import free_port

from api.main import create_app
from embeddings.e5 import E5_NAME, E5Embedder
from qa.backends.base import NewParagraph
from qa.backends.pg_schema import MIGRATIONS
from qa.backends.sqlite import SQLiteStore
from qa.errors import DocumentNotFound, ModelMismatch
from qa.service import QAService
from qa.settings import REPO_ROOT, Settings

ISFAHAN = (
    "میدان نقش جهان در مرکز شهر اصفهان قرار دارد و در دوره صفوی ساخته شد.\n\n"
    "مسجد شیخ لطف‌الله در ضلع شرقی میدان نقش جهان قرار گرفته است."
)
CASPIAN = (
    "The Caspian Sea is the largest inland body of water on Earth.\n\n"
    "Sturgeon from the Caspian Sea produce most of the world's wild caviar."
)
ZAYANDEH = "The Zayandeh River flows through Isfahan and is crossed by the Si-o-se-pol bridge, built in 1602."


def paragraph_ids(service: QAService) -> list[int]:
    return sorted(pid for rows in service.store.iter_paragraphs() for pid, *_ in rows)


# -- the contract, on both backends ---------------------------------------------------------------


def test_ingest_search_replace_delete(empty_backend_service: QAService) -> None:
    service = empty_backend_service
    service.ingest_text(ISFAHAN, doc_id="isfahan", title="Isfahan")
    service.ingest_text(CASPIAN, doc_id="caspian", title="Caspian")
    assert service.store.counts() == (2, 4) and len(service.index) == 4
    top = service.search("مسجد شیخ لطف‌الله کجاست؟", top_k=1)[0]
    assert top.paragraph.doc_id == "isfahan" and top.dense > 0 and top.lexical > 0
    assert service.search("Where does wild caviar come from?", top_k=1)[0].paragraph.doc_id == "caspian"

    old = {p.id for p in service.document("caspian")[1]}
    service.ingest_text(CASPIAN + "\n\nThe sea has no outflow to the ocean.", doc_id="caspian")
    new = {p.id for p in service.document("caspian")[1]}
    assert len(new) == 3 and not old & new and set(paragraph_ids(service)) >= new
    assert service.store.counts() == (2, 5) and len(service.index) == 5

    service.delete("isfahan")
    assert [d.id for d in service.documents()] == ["caspian"]
    assert all(p.paragraph.doc_id == "caspian" for p in service.search("مسجد شیخ لطف‌الله", top_k=3))
    assert service.backend.lexical.search(["مسجد"], 5)[1].size == 0
    with pytest.raises(DocumentNotFound):
        service.delete("isfahan")
    assert service.store.counts() == (1, 3)


def test_unchanged_reingest_writes_nothing_and_ids_survive_deletes(empty_backend_service: QAService) -> None:
    service = empty_backend_service
    service.ingest_text(ISFAHAN, doc_id="a")
    service.ingest_text(CASPIAN, doc_id="b")
    b_ids = [p.id for p in service.document("b")[1]]
    generation = service.store.generation
    assert service.ingest_text(CASPIAN, doc_id="b").unchanged
    assert service.store.generation == generation
    service.delete("a")
    assert [p.id for p in service.document("b")[1]] == b_ids == paragraph_ids(service)


def test_words_typed_apart_find_the_compound_the_text_writes_as_one(empty_backend_service: QAService) -> None:
    service = empty_backend_service
    service.ingest_text(
        "فرودگاه بین‌المللی دوبی فرودگاه اصلی شهر دوبی است. سردبیر مجله تایم ادوارد فلسنتال است.",
        doc_id="dubai",
    )
    service.ingest_text("فرودگاه کوچکی درشهر شارجه هم ساخته شد.", doc_id="small")
    assert service.backend.lexical.held(["بینالمللی", "المللی", "سردبیر"]) == {"بینالمللی", "سردبیر"}
    terms = service.answerer.terms("سر دبیر مجله بین المللی کیست؟")
    assert {"سردبیر", "بینالمللی"} <= set(terms), "joined as the corpus writes them"
    assert not {"المللی", "سر", "دبیر"} & set(terms), "a part no paragraph holds alone is no word of the question"
    assert service.answerer.terms("در شهر دوبی چه ساخته شد؟") == ["شهر", "دوبی", "ساخته"], "a preposition joins nothing"
    (passage,) = service.search("بین المللی", top_k=1)
    assert passage.paragraph.doc_id == "dubai" and passage.lexical > 0


def test_neighbours_are_the_paragraphs_around_one_in_its_own_document(empty_backend_service: QAService) -> None:
    service = empty_backend_service
    service.ingest_text("\n\n".join(f"Paragraph {i} of the long page." for i in range(6)), doc_id="long")
    service.ingest_text(CASPIAN, doc_id="caspian")
    long, caspian = service.document("long")[1], service.document("caspian")[1]
    around = service.store.neighbours([long[0], long[3], caspian[1]], 2)
    assert [p.n for p in around[long[0].id]] == [1, 2], "the first paragraph has only followers"
    assert [p.n for p in around[long[3].id]] == [1, 2, 4, 5], "in page order, itself left out"
    assert [p.doc_id for p in around[caspian[1].id]] == ["caspian"], "never another document's"
    assert around[long[3].id][0].text == long[1].text and around[long[3].id][0].title == long[1].title
    assert service.store.neighbours([long[0]], 0) == {} and service.store.neighbours([], 2) == {}


def test_answers_cite_the_stored_text(backend_service: QAService) -> None:
    answer = backend_service.ask("بشار اسد با چه کسی تلفنی گفتگو کرد؟")
    assert answer.answered and answer.citations
    cited = answer.citations[0]
    paragraph = next(p for p in backend_service.document(cited.doc_id)[1] if p.n == cited.paragraph)
    assert paragraph.text[cited.start : cited.end] == cited.quote


def test_a_second_service_on_the_same_store_sees_each_write(
    empty_backend_service: QAService, embedder: E5Embedder
) -> None:
    """Two processes' worth of services on one store (the second opened from the same settings)."""
    writer = empty_backend_service
    writer.ingest_text(CASPIAN, doc_id="caspian")
    reader = QAService(writer.settings, embedder=embedder)
    try:
        writer.ingest_text(ISFAHAN, doc_id="isfahan")
        assert reader.search("مسجد شیخ لطف‌الله کجاست؟", top_k=1)[0].paragraph.doc_id == "isfahan"
        writer.delete("isfahan")
        assert all(p.paragraph.doc_id == "caspian" for p in reader.search("مسجد شیخ لطف‌الله", top_k=3))
        assert reader.health()["paragraphs"] == 2
    finally:
        close(reader)


def test_rebuild_and_doctor(backend_service: QAService) -> None:
    before = [p.paragraph.id for p in backend_service.search("آتش بس", top_k=3)]
    assert backend_service.rebuild() == backend_service.store.counts()[1]
    assert [p.paragraph.id for p in backend_service.search("آتش بس", top_k=3)] == before
    report = backend_service.doctor()
    assert report.ok and report.paragraphs == report.indexed == backend_service.store.counts()[1]


def test_health_names_the_backend(backend_service: QAService, backend: str) -> None:
    with TestClient(create_app(backend_service)) as client:
        health = client.get("/health").json()
    assert health["backend"] == {"sqlite": "sqlite+faiss", "postgresql": "postgresql+pgvector"}[backend]
    assert health["index_size"] == health["paragraphs"] > 0


# -- PostgreSQL only ----------------------------------------------------------------------------


@pytest.fixture
def pg_service(pg_url: str, tmp_path: Path, embedder: E5Embedder) -> QAService:
    service = make_service(tmp_path / "unused", embedder, database_url=new_database(pg_url))
    yield service
    close(service)


def test_migrations_are_versioned_and_applied_once(pg_service: QAService) -> None:
    url = pg_service.settings.database_url
    with psycopg.connect(url) as con:
        versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in MIGRATIONS]
    pg_service.store.close()
    again = QAService(pg_service.settings, embedder=pg_service.embedder)  # a second node opening it
    assert again.store.counts() == (0, 0)
    close(again)


def test_the_model_guard_lives_in_the_database(pg_service: QAService) -> None:
    pg_service.ingest_text(CASPIAN, doc_id="caspian")
    assert pg_service.store.model == (E5_NAME, 384)
    other = NewParagraph(0, "x", "h", ["x"], np.ones(8, np.float32) / np.sqrt(8), [(0, 1)], np.ones((1, 8), np.float32))
    with pytest.raises(ModelMismatch):  # another node with another model, past its own check
        pg_service.store.replace_document("x", "", "", "h", [other], "some/other-model", 8)
    assert pg_service.store.counts() == (1, 2)


def _unit_rows(rng: np.random.Generator, n: int, dim: int = 384) -> np.ndarray:
    centres = rng.normal(size=(8, dim))
    rows = centres[rng.integers(0, 8, n)] + 0.3 * rng.normal(size=(n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _store_vectors(service: QAService, doc_id: str, vectors: np.ndarray) -> None:
    paragraphs = [
        NewParagraph(i, f"p{i}", f"{doc_id}-{i}", [f"t{i % 7}"], v, [(0, 2)], v[None, :]) for i, v in enumerate(vectors)
    ]
    service.backend.replace_document(doc_id, doc_id, "", doc_id, paragraphs, E5_NAME, len(vectors[0]), [])


def test_recall_is_watched_and_restored_after_churn(pg_url: str, tmp_path: Path, embedder: E5Embedder) -> None:
    """Real pgvector HNSW from the first paragraph on (QA_ANN_THRESHOLD=1), churned: documents
    deleted and stored again, and VACUUMed. Recall is sampled over every paragraph (the sample
    covers the corpus, so two checks measure the same thing), and QA_RECALL_MIN=1.0 makes any
    shortfall a rebuild: the test does not depend on how much HNSW lost, only on the rule and on
    REINDEX giving an index whose recall meets the default 0.95."""
    service = make_service(
        tmp_path / "unused",
        embedder,
        database_url=new_database(pg_url),
        ann_threshold=1,
        recall_min=1.0,
        recall_sample=400,
        recall_check_rows=1_000_000,  # no background check: the test asks
    )
    try:
        rng = np.random.default_rng(16)
        for d in range(8):
            _store_vectors(service, f"doc{d}", _unit_rows(rng, 40))
        for d in range(0, 8, 2):  # churn: half the documents go and come back with new vectors
            service.delete(f"doc{d}")
            _store_vectors(service, f"doc{d}", _unit_rows(rng, 40))
        with psycopg.connect(service.settings.database_url, autocommit=True) as con:
            con.execute("VACUUM paragraphs")
        assert service.health()["index_kind"] == "hnsw"

        churned = service.backend.measure_recall()
        report = service.doctor()  # `qa doctor`: measures, and rebuilds below QA_RECALL_MIN
        assert report.reindexed == (churned < 1.0)
        assert report.recall >= 0.95

        recall, reindexed = service.backend.watch_recall(force=True)  # the rebuild itself, always
        assert reindexed and recall >= 0.95
        with TestClient(create_app(service)) as client:
            assert client.get("/health").json()["recall"] == pytest.approx(recall, abs=1e-4)
            assert f"qa_index_recall {recall:.4f}"[:19] in client.get("/metrics").text
    finally:
        close(service)


# -- stateless nodes -----------------------------------------------------------------------------


def _serve(database_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`qa serve` on the database in its own process; (the process, its URL) once /health answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"QA_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "cli", "serve", "--data-dir", str(log.parent / "unused"), "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)


def test_two_serve_nodes_on_one_database_share_writes_and_survive_kill_9(pg_url: str, tmp_path: Path) -> None:
    database = new_database(pg_url)
    first, first_url = _serve(database, tmp_path / "first.log")  # indexes the seeds
    second, second_url = _serve(database, tmp_path / "second.log")
    try:
        created = httpx.post(f"{first_url}/documents", json={"id": "zayandeh", "text": ZAYANDEH}, timeout=60)
        assert created.status_code == 201, created.text
        answer = httpx.post(
            f"{second_url}/ask", json={"question": "When was the Si-o-se-pol bridge built?"}, timeout=60
        )
        assert answer.json()["citations"][0]["doc_id"] == "zayandeh", answer.text  # the very next request

        acknowledged: list[str] = []

        def upload() -> None:  # writes through the first node until it dies
            for i in range(200):
                try:
                    doc = {"id": f"note-{i}", "text": f"Note {i}: the bridge has {i} arches in this telling."}
                    if httpx.post(f"{first_url}/documents", json=doc, timeout=60).status_code == 201:
                        acknowledged.append(doc["id"])
                except httpx.TransportError:
                    return

        writer = threading.Thread(target=upload)
        writer.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        writer.join(timeout=60)
        assert len(acknowledged) >= 3

        stored = {d["id"] for d in httpx.get(f"{second_url}/documents", timeout=60).json()["documents"]}
        assert set(acknowledged) <= stored and "zayandeh" in stored
        for doc_id in acknowledged:
            assert httpx.get(f"{second_url}/documents/{doc_id}", timeout=60).json()["paragraphs"], doc_id
        health = httpx.get(f"{second_url}/health", timeout=60).json()
        assert health["index_size"] == health["paragraphs"]
    finally:
        for server in (first, second):
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=60)


def test_migrate_copies_a_data_dir_with_its_vectors_and_resumes(
    pg_url: str, seeded_dir: Path, tmp_path: Path, embedder: E5Embedder
) -> None:
    """`qa migrate --to URL`: the same documents, paragraph ids, tokens and vectors (nothing
    re-embedded); run again after an interruption it copies only what is missing."""
    from cli.main import main as qa_main

    url = new_database(pg_url)
    source = SQLiteStore(seeded_dir)
    assert qa_main(["migrate", "--data-dir", str(seeded_dir), "--to", url]) == 0
    target = QAService(Settings(data_dir=tmp_path / "unused", database_url=url), embedder=embedder)
    try:
        assert target.store.counts() == source.counts() and target.store.model == source.model
        copied = [row for rows in target.store.iter_paragraphs() for row in rows]
        assert copied == [row for rows in source.iter_paragraphs() for row in rows]  # ids, text, tokens, vectors
        assert not target.store.unseeded
        answer = target.ask("بشار اسد با چه کسی تلفنی گفتگو کرد؟")
        assert answer.answered and answer.citations[0].doc_id == "000-f690af9dd8b06e27"

        first = target.documents()[0].id
        target.delete(first)  # as if the copy had stopped before this document
        assert qa_main(["migrate", "--data-dir", str(seeded_dir), "--to", url]) == 0
        assert target.store.counts() == source.counts()
        assert [r for rows in target.store.iter_paragraphs() for r in rows] == copied
        assert target.search("آتش بس", top_k=1)  # the vector search and BM25 have the copy too
    finally:
        close(target)


def test_recall_is_checked_after_large_writes(pg_url: str, tmp_path: Path, embedder: E5Embedder) -> None:
    """A node that wrote QA_RECALL_CHECK_ROWS paragraphs checks recall by itself, in the background."""
    service = make_service(
        tmp_path / "unused", embedder, database_url=new_database(pg_url), ann_threshold=1, recall_check_rows=30
    )
    try:
        with service.backend.batch():
            _store_vectors(service, "big", _unit_rows(np.random.default_rng(7), 40))
        deadline = time.monotonic() + 60
        while service.health()["recall"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert service.health()["recall"] is not None and service.health()["recall_checked_at"]
        with service.backend._watching:  # the check has let go of its connection
            pass
    finally:
        close(service)

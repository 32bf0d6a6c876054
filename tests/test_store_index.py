"""Persistence: the store and the FAISS index across processes and restarts.

What one process writes another finds; ids survive deletes; the index file says what
it was built from, and a stale, damaged or foreign-model index is never trusted: it is
rebuilt from the vectors kept in the store, or refused with a message saying what to do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_model import tiny_models

from embeddings import index as index_module
from embeddings.e5 import E5_NAME, E5Embedder
from embeddings.index import INDEX_FILE, VectorIndex, atomic_write_bytes
from qa.backends import sqlite as store_module
from qa.backends.embedded import INDEX_DIR
from qa.errors import ModelMismatch
from qa.service import QAService
from qa.settings import REPO_ROOT, Settings
from qa.text import sentences

ISFAHAN = (
    "میدان نقش جهان در مرکز شهر اصفهان قرار دارد و در دوره صفوی ساخته شد.\n\n"
    "مسجد شیخ لطف‌الله در ضلع شرقی میدان نقش جهان قرار گرفته است."
)
CASPIAN = (
    "The Caspian Sea is the largest inland body of water on Earth.\n\n"
    "Sturgeon from the Caspian Sea produce most of the world's wild caviar."
)


def make_service(data_dir: Path, embedder: E5Embedder, **settings: object) -> QAService:
    return QAService(Settings(data_dir=data_dir, **settings), embedder=embedder)


def qa_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`qa ARGS` in a fresh process, as a user would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def index_path(service: QAService) -> Path:
    return service.data_dir / INDEX_DIR / INDEX_FILE


# -- across processes -------------------------------------------------------------------------


def test_cli_processes_share_one_data_dir(tmp_path: Path, embedder: E5Embedder) -> None:
    data = tmp_path / "data"
    doc = tmp_path / "isfahan.txt"
    doc.write_text(ISFAHAN, encoding="utf-8")

    ingest = qa_cli("ingest", str(doc), "--data-dir", str(data), cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stdout.startswith("isfahan\t2 paragraphs\t2 embedded")

    search = qa_cli("search", "مسجد شیخ لطف الله کجاست؟", "--json", "--data-dir", str(data), cwd=tmp_path)
    assert search.returncode == 0, search.stderr
    passages = json.loads(search.stdout)["passages"]
    assert passages[0]["doc_id"] == "isfahan"
    assert "مسجد شیخ لطف‌الله" in passages[0]["text"]
    assert len(passages) == 2, "an ingested data dir is not seeded on top"

    listing = qa_cli("documents", "--data-dir", str(data), cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines() == ["isfahan\t2 paragraphs\t"]

    # and this process sees it too; deleting takes its paragraphs out of search and the index
    service = make_service(data, embedder)
    ids = [p.id for p in service.document("isfahan")[1]]
    assert sorted(service.index.ids().tolist()) == sorted(ids)
    service.ingest_text(CASPIAN, doc_id="caspian")
    service.delete("isfahan")
    assert not set(ids) & set(service.index.ids().tolist())
    assert all(p.paragraph.doc_id == "caspian" for p in service.search("مسجد شیخ لطف الله", top_k=5))
    reopened = make_service(data, embedder)
    assert not set(ids) & set(reopened.index.ids().tolist())
    assert [d.id for d in reopened.documents()] == ["caspian"]


def test_paragraph_ids_survive_deletes(empty_service: QAService) -> None:
    empty_service.ingest_text(ISFAHAN, doc_id="a")
    empty_service.ingest_text(CASPIAN, doc_id="b")
    b_ids = [p.id for p in empty_service.document("b")[1]]
    empty_service.delete("a")
    assert [p.id for p in empty_service.document("b")[1]] == b_ids
    assert sorted(empty_service.index.ids().tolist()) == sorted(b_ids)
    passages = empty_service.search("Where does caviar come from?", top_k=2)
    assert passages[0].paragraph.id in b_ids
    assert "caviar" in passages[0].paragraph.text


def test_two_writers_on_one_data_dir_lose_no_vectors(tmp_path: Path, embedder: E5Embedder) -> None:
    """`qa serve` and `qa ingest` on one data dir: each process's writes reach the index file."""
    data = tmp_path / "data"
    server = make_service(data, embedder)
    cli = make_service(data, embedder)
    cli.ingest_text(CASPIAN, doc_id="caspian")
    server.ingest_text(ISFAHAN, doc_id="isfahan")

    reopened = make_service(data, embedder)
    stored = [p.id for d in ("caspian", "isfahan") for p in reopened.document(d)[1]]
    assert sorted(reopened.index.ids().tolist()) == sorted(stored)
    top = reopened.search("Where does wild caviar come from?", top_k=1)[0]
    assert top.paragraph.doc_id == "caspian" and top.dense > 0


# -- the index file -----------------------------------------------------------------------------


def test_index_file_carries_model_dim_and_generation(empty_service: QAService) -> None:
    empty_service.ingest_text(ISFAHAN, doc_id="a")
    loaded = VectorIndex.load(empty_service.data_dir / INDEX_DIR)
    assert loaded is not None
    index, meta = loaded
    assert (meta.model, meta.dim, meta.count) == (E5_NAME, 384, 2)
    assert meta.generation == empty_service.store.generation
    assert sorted(index.ids().tolist()) == sorted(empty_service.index.ids().tolist())


def test_stale_index_file_is_rebuilt_on_open(tmp_path: Path, embedder: E5Embedder) -> None:
    data = tmp_path / "data"
    service = make_service(data, embedder)
    service.ingest_text(ISFAHAN, doc_id="isfahan")
    old_bytes = index_path(service).read_bytes()
    service.ingest_text(CASPIAN, doc_id="caspian")
    generation = service.store.generation
    index_path(service).write_bytes(old_bytes)  # an index from before the last write
    assert VectorIndex.load(data / INDEX_DIR)[1].generation < generation

    reopened = make_service(data, embedder)
    assert len(reopened.index) == 4
    passages = reopened.search("Where does caviar come from?", top_k=1)
    assert passages[0].paragraph.doc_id == "caspian"
    meta = VectorIndex.load(data / INDEX_DIR)[1]
    assert (meta.generation, meta.count) == (generation, 4), "the rebuilt index was saved"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_index_file_is_rebuilt(tmp_path: Path, embedder: E5Embedder, damage: str) -> None:
    data = tmp_path / "data"
    service = make_service(data, embedder)
    service.ingest_text(CASPIAN, doc_id="caspian")
    path = index_path(service)
    raw = path.read_bytes()
    damaged = {
        "truncated": raw[: len(raw) - 100],
        "garbage": os.urandom(len(raw)),
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    assert VectorIndex.load(data / INDEX_DIR) is None

    reopened = make_service(data, embedder)
    assert len(reopened.index) == 2
    assert reopened.search("caviar", top_k=1)[0].paragraph.doc_id == "caspian"
    assert VectorIndex.load(data / INDEX_DIR) is not None


def test_missing_index_file_is_rebuilt(tmp_path: Path, embedder: E5Embedder) -> None:
    data = tmp_path / "data"
    make_service(data, embedder).ingest_text(CASPIAN, doc_id="caspian")
    shutil.rmtree(data / INDEX_DIR)
    reopened = make_service(data, embedder)
    assert len(reopened.index) == 2
    assert reopened.search("caviar", top_k=1)[0].paragraph.doc_id == "caspian"


# -- changing the model ---------------------------------------------------------------------------


def test_model_mismatch_is_refused_until_rebuilt(
    tmp_path: Path, embedder: E5Embedder, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tiny = str(tiny_models(tmp_path_factory)["plain"])
    data = tmp_path / "data"
    make_service(data, embedder).ingest_text(ISFAHAN + "\n\n" + CASPIAN, doc_id="mixed")

    other = QAService(Settings(data_dir=data, model=tiny))
    with pytest.raises(ModelMismatch) as raised:
        other.search("caviar")
    message = str(raised.value)
    assert E5_NAME in message and tiny in message and "qa index rebuild" in message
    with pytest.raises(ModelMismatch):
        other.ingest_text("Another document that must not be mixed into the index.", doc_id="x")
    assert [d.id for d in other.documents()] == ["mixed"]

    assert other.rebuild(model=tiny) == 4
    assert other.index.dim == 32 and len(other.index) == 4
    assert other.store.model == (tiny, 32)
    passages = other.search("caviar", top_k=4)
    assert len(passages) == 4 and passages[0].paragraph.doc_id == "mixed"
    assert VectorIndex.load(data / INDEX_DIR)[1].model == tiny

    fresh = QAService(Settings(data_dir=data))
    assert fresh.model_name == tiny
    assert fresh.embedder.dim == 32
    assert len(fresh.search("caviar", top_k=2)) == 2


# -- atomic writes -------------------------------------------------------------------------------


def _failing_replace(src: object, dst: object) -> None:
    raise OSError("disk went away during replace")


def _failing_fsync(fd: int) -> None:
    raise OSError("disk full at flush")


@pytest.mark.parametrize(("call", "fault"), [("replace", _failing_replace), ("fsync", _failing_fsync)])
def test_atomic_write_leaves_the_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, fault: object
) -> None:
    path = tmp_path / "index" / "file.bin"
    atomic_write_bytes(path, b"old contents")
    monkeypatch.setattr(index_module.os, call, fault)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new contents that never land" * 1000)
    monkeypatch.undo()
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in path.parent.iterdir()] == ["file.bin"], "no temp file is left behind"


def test_atomic_write_of_a_failing_index_save_keeps_the_old_index(
    empty_service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_service.ingest_text(CASPIAN, doc_id="caspian")
    before = index_path(empty_service).read_bytes()
    monkeypatch.setattr(index_module.os, "replace", _failing_replace)
    index = VectorIndex(384, E5_NAME)
    index.add(np.array([99]), np.ones((1, 384), np.float32) / np.sqrt(384))
    with pytest.raises(OSError):
        index.save(empty_service.data_dir / INDEX_DIR, 12345)
    monkeypatch.undo()
    assert index_path(empty_service).read_bytes() == before
    assert sorted(p.name for p in (empty_service.data_dir / INDEX_DIR).iterdir()) == [INDEX_FILE]


# -- what is embedded -------------------------------------------------------------------------


def test_paragraphs_and_sentences_are_embedded_with_their_title_alike_by_ingest_and_rebuild(
    empty_service: QAService, embedder: E5Embedder
) -> None:
    """Ingest and `qa index rebuild` embed the same "title: text" inputs, so a rebuild changes nothing."""
    service = empty_service
    service.ingest_text(ISFAHAN + " این میدان در فهرست میراث جهانی است.", doc_id="isfahan", title="اصفهان")

    def stored() -> dict[int, tuple[float, np.ndarray]]:
        out = {}
        for p in service.document("isfahan")[1]:
            expected = embedder.embed_passages([f"اصفهان: {p.text}"])[0]
            out[p.id] = (service.index.similarity(expected, p.id), service.store.sentences([p.id], 384)[p.id].vectors)
        return out

    first = stored()
    assert [round(cosine, 4) for cosine, _ in first.values()] == [1.0, 1.0]
    two_sentences = next(p for p in service.document("isfahan")[1] if p.n == 1)
    expected_sentences = embedder.embed_passages([f"اصفهان: {s.text}" for s in sentences(two_sentences.text)])
    assert len(expected_sentences) == 2
    np.testing.assert_allclose(first[two_sentences.id][1], expected_sentences, atol=1e-5)
    untitled = embedder.embed_passages([two_sentences.text])[0]
    assert service.index.similarity(untitled, two_sentences.id) < 0.999

    assert service.rebuild() == 2
    for pid, (cosine, vectors) in stored().items():
        assert round(cosine, 4) == 1.0
        np.testing.assert_allclose(vectors, first[pid][1], atol=1e-5)


def test_an_ingest_call_writes_the_index_file_once(empty_service: QAService, tmp_path: Path) -> None:
    """At 200k paragraphs a save takes seconds: a folder of files is saved once, not per document."""
    service = empty_service
    saves: list[int] = []
    save = service.backend._save_index

    def counted() -> None:
        saves.append(service.store.generation)
        save()

    service.backend._save_index = counted  # type: ignore[method-assign]  # counts, then the real save
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "isfahan.txt").write_text(ISFAHAN, encoding="utf-8")
    (folder / "caspian.txt").write_text(CASPIAN, encoding="utf-8")
    (folder / "both.jsonl").write_text(
        "\n".join(json.dumps({"id": i, "text": t}) for i, t in (("x", ISFAHAN), ("y", CASPIAN))), encoding="utf-8"
    )
    assert len(service.ingest_paths([folder])) == 4
    assert saves == [service.store.generation]
    assert all(r.unchanged for r in service.ingest_paths([folder]))
    assert len(saves) == 1  # nothing changed, nothing written
    reopened = VectorIndex.load(service.data_dir / INDEX_DIR)
    assert reopened is not None and reopened[1].generation == service.store.generation
    assert sorted(reopened[0].ids().tolist()) == sorted(service.index.ids().tolist())
    service.delete("x")
    assert len(saves) == 2


def _count_loads(service: QAService) -> list[int]:
    loads: list[int] = []
    load = service.backend._load

    def counted() -> None:
        loads.append(1)
        load()

    service.backend._load = counted  # type: ignore[method-assign]  # counts, then the real reload
    return loads


def test_another_process_writes_are_applied_one_by_one_from_the_change_log(
    tmp_path: Path, embedder: E5Embedder
) -> None:
    """A server beside `qa ingest` (or another worker) applies just the paragraphs the other
    wrote, not a reload of everything, and still matches the store exactly."""
    writer = make_service(tmp_path / "data", embedder)
    writer.ingest_text(CASPIAN, doc_id="caspian", title="Caspian")
    reader = make_service(tmp_path / "data", embedder)
    loads = _count_loads(reader)

    writer.ingest_text(ISFAHAN, doc_id="isfahan", title="Isfahan")
    writer.ingest_text(CASPIAN + "\n\nThe sea has no outflow.", doc_id="caspian", title="Caspian")
    top = reader.search("مسجد شیخ لطف‌الله کجاست؟", top_k=1)[0]
    assert top.paragraph.doc_id == "isfahan" and top.lexical > 0  # dense and BM25 both have it
    stored = sorted(pid for rows in writer.store.iter_paragraphs() for pid, *_ in rows)
    assert sorted(reader.index.ids().tolist()) == stored and len(reader.backend.lexical) == len(stored)

    writer.delete("isfahan")
    assert all(p.paragraph.doc_id == "caspian" for p in reader.search("مسجد شیخ لطف‌الله", top_k=3))
    assert reader.backend.lexical.search(["مسجد"], 5)[1].size == 0
    assert loads == []  # three writes by the other, none reloaded everything

    writer.rebuild()  # every vector changed: the log cannot say which, so everything reloads
    reader.search("caviar", top_k=1)
    assert loads == [1]


def test_a_change_log_that_no_longer_reaches_back_means_a_full_reload(
    tmp_path: Path, embedder: E5Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "CHANGES_KEPT", 2)
    writer = make_service(tmp_path / "data", embedder)
    writer.ingest_text(CASPIAN, doc_id="caspian")
    reader = make_service(tmp_path / "data", embedder)
    loads = _count_loads(reader)
    for i in range(3):
        writer.ingest_text(f"{ISFAHAN} نسخه {i}.", doc_id="isfahan")
    assert reader.search("مسجد شیخ لطف‌الله کجاست؟", top_k=1)[0].paragraph.doc_id == "isfahan"
    assert loads == [1]
    assert sorted(reader.index.ids().tolist()) == sorted(writer.index.ids().tolist())

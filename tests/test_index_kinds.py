"""The vector index changes kind with corpus size: exact while small, IVF from a threshold.

The threshold is set tiny here so the seeded corpus crosses it; the answers, deletes,
persistence and the store/index agreement must not notice the difference.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import make_service

from embeddings.e5 import E5Embedder
from qa.service import QAService

QUESTIONS = ["بشار اسد با چه کسی تلفنی گفتگو کرد؟", "Why were schools in Tehran closed?", "مازوت"]


def test_ivf_above_the_threshold_answers_like_exact_search(
    tmp_path: Path, seeded_dir: Path, embedder: E5Embedder, service: QAService
) -> None:
    shutil.copytree(seeded_dir, tmp_path / "ivf")
    ivf = make_service(tmp_path / "ivf", embedder, ann_threshold=10, ann_nprobe=64)
    assert ivf.index.kind == "ivf" and service.index.kind == "flat"
    for question in QUESTIONS:
        exact = [(p.paragraph.id, round(p.score, 4)) for p in service.search(question, 5)]
        approx = [(p.paragraph.id, round(p.score, 4)) for p in ivf.search(question, 5)]
        assert approx == exact

    doc = ivf.documents()[0].id
    ivf.delete(doc)
    assert all(p.paragraph.doc_id != doc for q in QUESTIONS for p in ivf.search(q, 5))
    assert ivf.doctor(repair=False).ok

    reopened = make_service(tmp_path / "ivf", embedder, ann_threshold=10, ann_nprobe=64)
    assert reopened.index.kind == "ivf" and reopened.backend.rebuilt_on_open is None
    assert set(reopened.index.ids().tolist()) == set(ivf.index.ids().tolist())


def test_growing_past_the_threshold_switches_to_ivf(empty_service: QAService, tmp_path: Path, embedder) -> None:
    grow = make_service(tmp_path / "grow", embedder, ann_threshold=6)
    grow.ingest_text("The Zayandeh River flows through Isfahan. The Si-o-se-pol bridge crosses it.", "isfahan")
    assert grow.index.kind == "flat"
    grow.ingest_paths(sorted((Path(__file__).parents[1] / "seeds").glob("*.txt")))
    assert grow.index.kind == "ivf" and len(grow.index) == grow.store.counts()[1]
    assert grow.search("Which bridge crosses the Zayandeh River?", 1)[0].paragraph.doc_id == "isfahan"

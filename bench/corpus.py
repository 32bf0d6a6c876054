"""A large benchmark corpus without hours of embedding: real documents plus synthetic copies.

The seeds and the dev contexts are ingested for real (about 460 texts embedded, a few
minutes on 2 cores). The rest, up to the target paragraph count, are synthetic documents
written straight to the store with `Store.replace_document`: each paragraph is a real one
with its sentences shuffled and one sentence of another real paragraph mixed in, and its
vectors are the real paragraph's and sentences' vectors PERTURBED with small gaussian
noise and re-normalised. They are not embeddings of their text: good for measuring speed
and memory, meaningless for answer quality. A fresh `QAService` over the data dir then
rebuilds the FAISS index from the stored vectors, as it would after any restart.

Also a script: `.venv/bin/python bench/corpus.py --data-dir bench/out/corpus-10k --paragraphs 10000`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEV_FILE, OUT_DIR  # noqa: E402

from qa.backends.base import NewParagraph  # noqa: E402
from qa.indexing import _text_hash  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.text import sentences, tokens  # noqa: E402

DEFAULT_DIR = OUT_DIR / "corpus-10k"
DESCRIPTION_FILE = "bench-corpus.json"
SYNTHETIC_PREFIX = "synthetic-"
PARAGRAPHS_PER_DOCUMENT = 10
NOISE_SIGMA = 0.01  # per dimension: a copy keeps cosine ~0.98 with its real vector


@dataclass(slots=True)
class RealParagraph:
    """A real stored paragraph with its sentences' texts and vectors, row-aligned."""

    text: str
    vector: np.ndarray
    sentence_texts: list[str]
    sentence_vectors: np.ndarray


def ingest_real(service: QAService, dev_file: Path = DEV_FILE) -> float:
    """Index the seeds (as `qa serve` does) and the dev contexts; the seconds it took."""
    started = time.perf_counter()
    service.ensure_seeded()
    service.ingest_documents(service.read_file(dev_file.read_bytes(), dev_file.name))
    return time.perf_counter() - started


def real_paragraphs(service: QAService) -> list[RealParagraph]:
    """Every stored paragraph not made by this module, with its sentence vectors."""
    store, dim = service.store, service.index.dim
    real_docs = [d.id for d in store.documents() if not d.id.startswith(SYNTHETIC_PREFIX)]
    vectors = {pid: v for rows in store.iter_paragraphs() for pid, _, _, v in rows}
    out = []
    for doc_id in real_docs:
        _, paragraphs = store.document(doc_id)
        tables = store.sentences([p.id for p in paragraphs], dim)
        for p in paragraphs:
            t = tables[p.id]
            out.append(
                RealParagraph(
                    p.text,
                    np.frombuffer(vectors[p.id], dtype=np.float32),
                    [p.text[s:e] for s, e in zip(t.starts, t.ends, strict=True)],
                    t.vectors,
                )
            )
    return out


def _perturbed(vectors: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    noisy = vectors + rng.normal(0.0, sigma, vectors.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=-1, keepdims=True)


def synthetic_paragraph(
    n: int, base: RealParagraph, other: RealParagraph, rng: np.random.Generator, sigma: float
) -> NewParagraph:
    """`base` with its sentences shuffled and one of `other`'s mixed in; perturbed vectors."""
    pieces = list(zip(base.sentence_texts, base.sentence_vectors, strict=True))
    pick = int(rng.integers(len(other.sentence_texts)))
    pieces.append((other.sentence_texts[pick], other.sentence_vectors[pick]))
    order = rng.permutation(len(pieces))
    text = " ".join(pieces[i][0].strip() for i in order)
    by_text = {t.strip(): v for t, v in pieces}
    spans = sentences(text)
    svecs = np.stack([by_text.get(s.text.strip(), base.vector) for s in spans])
    return NewParagraph(
        n=n,
        text=text,
        hash=_text_hash(text),
        tokens=tokens(text),
        vector=_perturbed(base.vector, rng, sigma),
        sentence_spans=[(s.start, s.end) for s in spans],
        sentence_vectors=_perturbed(svecs, rng, sigma),
    )


def build_corpus(
    data_dir: Path, paragraphs: int, dev_file: Path = DEV_FILE, seed: int = 0, sigma: float = NOISE_SIGMA
) -> dict[str, object]:
    """A data dir holding about `paragraphs` paragraphs (reused when it already does)."""
    described = data_dir / DESCRIPTION_FILE
    if described.exists():
        info = json.loads(described.read_text())
        if info["paragraphs"] >= paragraphs:
            info["reused"] = True
            return info
    service = QAService(Settings(data_dir=data_dir))
    real_s = ingest_real(service, dev_file)
    real = real_paragraphs(service)
    store, model, dim = service.store, service.model_name, service.index.dim
    have = store.counts()[1]
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    doc = 0
    while have < paragraphs:
        count = min(PARAGRAPHS_PER_DOCUMENT, paragraphs - have)
        picks = rng.integers(len(real), size=(count, 2))
        new = [synthetic_paragraph(i, real[a], real[b], rng, sigma) for i, (a, b) in enumerate(picks)]
        doc_id = f"{SYNTHETIC_PREFIX}{doc:05d}"
        content = hashlib.sha256("\x1e".join(p.text for p in new).encode()).hexdigest()
        store.replace_document(doc_id, f"Synthetic {doc}", "bench/corpus.py", content, new, model, dim)
        have += count
        doc += 1
    synthetic_s = time.perf_counter() - started
    started = time.perf_counter()
    reopened = QAService(Settings(data_dir=data_dir))  # rebuilds the FAISS index from the store
    rebuild_s = time.perf_counter() - started
    documents, stored = reopened.store.counts()
    info = {
        "paragraphs": stored,
        "documents": documents,
        "real_paragraphs": len(real),
        "synthetic_paragraphs": stored - len(real),
        "vectors": f"synthetic paragraphs carry real vectors perturbed with N(0, {sigma}^2) per dimension "
        "and re-normalised, not embeddings of their text",
        "noise_sigma": sigma,
        "real_ingest_s": round(real_s, 1),
        "synthetic_write_s": round(synthetic_s, 1),
        "service_open_and_index_rebuild_s": round(rebuild_s, 2),
        "index_size": len(reopened.index),
        "reused": False,
    }
    described.write_text(json.dumps(info, indent=2))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--paragraphs", type=int, default=10_000)
    parser.add_argument("--dev-file", type=Path, default=DEV_FILE)
    args = parser.parse_args()
    print(json.dumps(build_corpus(args.data_dir, args.paragraphs, args.dev_file), indent=2))


if __name__ == "__main__":
    main()

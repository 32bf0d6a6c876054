"""Which FAISS index at 10k, 100k and 1M vectors: build time, memory, latency, recall@10.

Vectors are shaped like the service's real ones: the real E5 paragraph and sentence
vectors of the seeds and the PersianQA dev contexts (read from a data dir, cached in
`bench/out/real-vectors.npy`) are replicated with small gaussian perturbations and
re-normalised. The noise is drawn with the real vectors' own covariance (scaled by
`--sigma`), so copies spread along the directions real embeddings vary in, not
uniformly. Queries are held-out real vectors (never replicated) perturbed the same way.

For each size it builds, one at a time:

* Flat: `IndexIDMap2(IndexFlatIP)`, what `embeddings/index.py` holds now (exact; its
  results are the ground truth for recall);
* HNSW: `IndexHNSWFlat` M=32, efConstruction=80, at several efSearch values, doubled
  further (up to 1024) until recall@10 reaches 0.95;
* IVF-PQ: `IndexIVFPQ` nlist ~ 4*sqrt(N), m=`--pq-m` 8-bit codes, trained on a sample of
  40*nlist vectors, at several nprobe; the same behind `IndexRefineFlat` (re-ranks
  `--refine-k`*k PQ candidates with the full vectors); and `IndexIVFFlat` over the same
  coarse quantizer, the IVF that keeps full vectors and, unlike HNSW, can remove ids.

It reports build seconds, memory (RSS delta of this process over the build, the peak
over it, and the serialised index bytes against the raw float32 vectors), single-query
search latency p50/p95 at k=10 with 1 and with 2 FAISS threads, from a worker thread (the
service searches one question per call, from its request threads) and recall@10 against
exact search. An HNSW build that
runs past `--hnsw-budget` seconds stops; its row is marked PARTIAL and the full build
time is extrapolated (n log n).

    .venv/bin/python bench/scale.py                       # 10k and 100k, ~5-10 minutes
    .venv/bin/python bench/scale.py --sizes 1000000       # 1M alone: ~1.6 GB of vectors, 20+ minutes
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT_DIR, Report, int_list, peak_rss_mb, percentile, reset_peak_rss, rss_mb, table  # noqa: E402
from corpus import DEFAULT_DIR, ingest_real, real_paragraphs  # noqa: E402

from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402

REAL_VECTORS = OUT_DIR / "real-vectors.npy"
K = 10
HELD_OUT = 0.1
RECALL_TARGET = 0.95
LATENCY_THREADS = (1, 2)
MAX_EF = 1024
COLUMNS = [
    ("n", "N"),
    ("index", "index"),
    ("params", "search params"),
    ("removes", "removes ids"),
    ("build_s", "build s"),
    ("rss_delta_mb", "RSS delta MiB"),
    ("peak_delta_mb", "peak delta MiB"),
    ("index_mb", "index MiB"),
    ("ratio_to_raw", "x raw"),
    ("p50_ms_1t", "p50 ms 1t"),
    ("p95_ms_1t", "p95 ms 1t"),
    ("p50_ms_2t", "p50 ms 2t"),
    ("p95_ms_2t", "p95 ms 2t"),
    ("recall", "recall@10"),
]


def real_vectors(source: Path) -> np.ndarray:
    """The real paragraph and sentence vectors of the data dir's non-synthetic documents."""
    if REAL_VECTORS.exists():
        return np.load(REAL_VECTORS)
    service = QAService(Settings(data_dir=source))
    if not service.store.counts()[0]:
        ingest_real(service)
    real = real_paragraphs(service)
    vectors = np.concatenate([np.stack([p.vector for p in real]), *[p.sentence_vectors for p in real]])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    np.save(REAL_VECTORS, vectors.astype(np.float32))
    return vectors


class Replicator:
    """Perturbed, re-normalised copies of real vectors; noise ~ N(0, sigma^2 * their covariance)."""

    def __init__(self, real: np.ndarray, sigma: float) -> None:
        self.real = real.astype(np.float32)
        self.spread = ((self.real - self.real.mean(0)) / math.sqrt(len(real))).astype(np.float32)
        self.sigma = sigma

    def copies(self, n: int, rng: np.random.Generator, chunk: int = 65_536) -> np.ndarray:
        out = np.empty((n, self.real.shape[1]), dtype=np.float32)
        for at in range(0, n, chunk):
            m = min(chunk, n - at)
            base = self.real[rng.integers(len(self.real), size=m)]
            noise = rng.standard_normal((m, len(self.real)), dtype=np.float32) @ self.spread
            rows = base + self.sigma * noise
            out[at : at + m] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return out


def similarity_profile(vectors: np.ndarray, index: faiss.Index, sample: int = 1000) -> dict[str, float]:
    """Median cosine to the nearest other vector (via the exact `index`) and to a random one."""
    rng = np.random.default_rng(1)
    rows = vectors[rng.choice(len(vectors), min(sample, len(vectors)), replace=False)]
    scores, _ = index.search(rows, 2)
    pairs = np.sum(rows * rows[rng.permutation(len(rows))], axis=1)
    return {"nn_cos_median": float(np.median(scores[:, 1])), "random_cos_median": float(np.median(pairs))}


def single_query_ms(index: faiss.Index, queries: np.ndarray, threads: int) -> list[float]:
    """Milliseconds of each one-query search, made from a worker thread with `threads` FAISS
    threads, as the server's threadpool makes them (OpenMP waits differ on the main thread)."""
    times: list[float] = []

    def search_each() -> None:
        faiss.omp_set_num_threads(threads)
        for q in queries:
            began = time.perf_counter()
            index.search(q[None, :], K)
            times.append((time.perf_counter() - began) * 1000)

    worker = threading.Thread(target=search_each)
    worker.start()
    worker.join()
    return times


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


class Measured:
    """One index built and measured at one or more search settings."""

    def __init__(self, n: int, label: str, removes: bool, build: Callable[[], faiss.Index]) -> None:
        gc.collect()
        reset_peak_rss()
        before = rss_mb()
        began = time.perf_counter()
        self.index = build()
        self.build_s = time.perf_counter() - began
        self.common = {
            "n": n,
            "index": label,
            "removes": "yes" if removes else "no",
            "build_s": self.build_s,
            "rss_delta_mb": rss_mb() - before,
            "peak_delta_mb": peak_rss_mb() - before,
        }
        size = faiss.serialize_index(self.index).nbytes
        self.common |= {"index_mb": size / 2**20, "ratio_to_raw": size / (n * self.index.d * 4)}

    def at(self, params: str, queries: np.ndarray, truth: np.ndarray) -> dict[str, object]:
        """Single-query latency with 1 and with 2 FAISS threads, recall@10 of a batch search."""
        row = self.common | {"params": params}
        for threads in LATENCY_THREADS:
            times = single_query_ms(self.index, queries, threads)
            row |= {f"p50_ms_{threads}t": percentile(times, 50), f"p95_ms_{threads}t": percentile(times, 95)}
        best = min(LATENCY_THREADS, key=lambda t: row[f"p95_ms_{t}t"])
        _, found = self.index.search(queries, K)
        row |= {"p95_ms": row[f"p95_ms_{best}t"], "p95_threads": best, "recall": recall(found, truth)}
        print(
            f"  N={row['n']} {row['index']} {params}: build {row['build_s']:.1f} s, "
            f"p95 {row['p95_ms_1t']:.2f} ms (1t) {row['p95_ms_2t']:.2f} ms (2t), recall@10 {row['recall']:.3f}",
            flush=True,
        )
        return row


def flat(data: np.ndarray) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(data.shape[1]))
    index.add_with_ids(data, np.arange(len(data), dtype=np.int64))
    return index


def hnsw(data: np.ndarray, budget_s: float, chunk: int = 50_000) -> tuple[faiss.Index, int]:
    """HNSW32 (efConstruction 80) over the data, added in chunks; stops past the budget."""
    index = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    began = time.perf_counter()
    for at in range(0, len(data), chunk):
        index.add(data[at : at + chunk])
        if time.perf_counter() - began > budget_s and at + chunk < len(data):
            break
    return index, int(index.ntotal)


def ivfpq(data: np.ndarray, nlist: int, m: int, rng: np.random.Generator) -> faiss.Index:
    """IVF-PQ trained on 40*nlist sampled vectors (the whole set when smaller), not yet filled."""
    quantizer = faiss.IndexFlatIP(data.shape[1])
    index = faiss.IndexIVFPQ(quantizer, data.shape[1], nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
    sample = data[rng.choice(len(data), min(len(data), 40 * nlist), replace=False)]
    index.train(sample)
    return index


def measure_hnsw(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace) -> list[dict]:
    """HNSW at each --ef, then doubling efSearch (up to MAX_EF) until recall@10 reaches the target."""
    n = len(data)
    built: dict[str, int] = {}

    def build_hnsw() -> faiss.Index:
        index, built["count"] = hnsw(data, args.hnsw_budget)
        return index

    graph = Measured(n, "HNSW32,efC80", False, build_hnsw)
    count = built["count"]
    if count < n:
        partial = faiss.IndexFlatIP(data.shape[1])
        partial.add(data[:count])
        _, truth = partial.search(queries, K)
        full = graph.build_s * (n / count) * (math.log(n) / math.log(count))
        graph.common |= {"index": f"HNSW32,efC80 PARTIAL {count}/{n}", "extrapolated_build_s": full, "built": count}
        print(f"# N={n}: HNSW stopped at {count} vectors after {graph.build_s:.0f} s; full build ~{full:.0f} s")
    rows = []
    ef = 0
    for ef in args.ef:
        graph.index.hnsw.efSearch = ef
        rows.append(graph.at(f"efSearch={ef}", queries, truth))
    while rows[-1]["recall"] < RECALL_TARGET and ef < MAX_EF:
        ef *= 2
        graph.index.hnsw.efSearch = ef
        rows.append(graph.at(f"efSearch={ef}", queries, truth))
    return rows


def measure_ivf(
    data: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace, rng: np.random.Generator
) -> list[dict]:
    """IVF-PQ, IVF-PQ behind RefineFlat (reusing its training), IVF-Flat (reusing its coarse quantizer)."""
    n = len(data)
    nlist = int(round(4 * math.sqrt(n)))
    label = f"IVF{nlist},PQ{args.pq_m}"
    trained: dict[str, faiss.Index] = {}

    def build_ivfpq() -> faiss.Index:
        index = ivfpq(data, nlist, args.pq_m, rng)
        trained["pq"] = faiss.clone_index(index)
        trained["coarse"] = faiss.clone_index(index.quantizer)
        index.add(data)
        return index

    def build_refined() -> faiss.Index:
        index = faiss.IndexRefineFlat(trained.pop("pq"))
        index.add(data)
        index.k_factor = args.refine_k
        return index

    def build_ivfflat() -> faiss.Index:
        index = faiss.IndexIVFFlat(trained.pop("coarse"), data.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        index.add(data)
        return index

    rows = []
    for name, removes, build, suffix in (
        (label, True, build_ivfpq, ""),
        (f"{label}+RefineFlat", False, build_refined, f",k_factor={args.refine_k}"),
        (f"IVF{nlist},Flat", True, build_ivfflat, ""),
    ):
        measured = Measured(n, name, removes, build)
        for nprobe in args.nprobe:
            faiss.extract_index_ivf(measured.index).nprobe = nprobe
            rows.append(measured.at(f"nprobe={nprobe}{suffix}", queries, truth))
        del measured
    return rows


def measure_size(n: int, replicator: Replicator, queries: np.ndarray, args: argparse.Namespace) -> list[dict]:
    """Flat (the ground truth), then each chosen index family, one at a time (each freed before the next)."""
    rng = np.random.default_rng(n)
    began = time.perf_counter()
    data = replicator.copies(n, rng)
    print(f"# N={n}: vectors generated in {time.perf_counter() - began:.1f} s ({data.nbytes / 2**20:.0f} MiB raw)")
    exact = Measured(n, "Flat (IDMap2, as now)", True, lambda: flat(data))
    _, truth = exact.index.search(queries, K)
    rows = [exact.at("exact", queries, truth)]
    profile = similarity_profile(data, exact.index)
    del exact
    print(f"# N={n}: {profile}")
    if "hnsw" in args.indexes:
        rows += measure_hnsw(data, queries, truth, args)
    if "ivf" in args.indexes:
        rows += measure_ivf(data, queries, truth, args, rng)
    gc.collect()
    for row in rows:
        row["similarity"] = profile
    return rows


def recommend(rows: list[dict], flat_budget_ms: float) -> list[str]:
    """Per size: flat while its p95 is within budget, else the fastest setting at recall >= target,
    and, when that one cannot remove ids (the service's re-ingest removes them), the fastest that can."""
    lines = []
    for n in sorted({r["n"] for r in rows}):
        at = [r for r in rows if r["n"] == n]
        exact = next(r for r in at if r["index"].startswith("Flat"))
        good = [r for r in at if r["recall"] >= RECALL_TARGET and "PARTIAL" not in r["index"] and r is not exact]
        picks = [min(good, key=lambda r: r["p95_ms"], default=None)]
        if picks[0] is not None and picks[0]["removes"] == "no":
            picks.append(min((r for r in good if r["removes"] == "yes"), key=lambda r: r["p95_ms"], default=None))
        if exact["p95_ms"] <= flat_budget_ms or picks[0] is None:
            why = (
                f"p95 {exact['p95_ms']:.1f} ms is within {flat_budget_ms:g} ms"
                if exact["p95_ms"] <= flat_budget_ms
                else f"p95 {exact['p95_ms']:.1f} ms, but no other index measured reached recall@10 {RECALL_TARGET}"
            )
            lines.append(
                f"N={n:>9,}: {exact['index']} -- exact, {why}; "
                f"memory {exact['index_mb']:.0f} MiB = {exact['ratio_to_raw']:.2f}x raw"
            )
            continue
        for pick in filter(None, picks):
            lines.append(
                f"N={n:>9,}: {pick['index']} {pick['params']} -- p95 {pick['p95_ms']:.2f} ms vs flat "
                f"{exact['p95_ms']:.1f} ms, recall@10 {pick['recall']:.3f}, removes ids: {pick['removes']}; "
                f"memory {pick['index_mb']:.0f} MiB = {pick['ratio_to_raw']:.2f}x raw"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int_list, default=[10_000, 100_000])
    parser.add_argument("--source", type=Path, default=DEFAULT_DIR, help="data dir with the real vectors")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sigma", type=float, default=0.5, help="noise scale, in units of the real spread")
    parser.add_argument("--indexes", default="hnsw,ivf", help="families besides Flat: hnsw, ivf")
    parser.add_argument("--ef", type=int_list, default=[32, 64, 128], help="then doubled until recall@10 >= 0.95")
    parser.add_argument("--nprobe", type=int_list, default=[8, 16, 32])
    parser.add_argument("--pq-m", type=int, default=48)
    parser.add_argument("--refine-k", type=int, default=16, help="RefineFlat k_factor")
    parser.add_argument("--hnsw-budget", type=float, default=1200.0, help="seconds before an HNSW build stops")
    parser.add_argument("--flat-budget-ms", type=float, default=10.0, help="flat p95 still fine below this")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="scale", help="bench/out/<name>.json")
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)

    report = Report(args.name, args)
    real = real_vectors(args.source)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(real))
    held = int(len(real) * HELD_OUT)
    replicator = Replicator(real[order[held:]], args.sigma)
    queries = Replicator(real[order[:held]], args.sigma).copies(args.queries, rng)
    real_profile = similarity_profile(real, flat(real))
    print(
        f"real vectors: {len(real)} ({len(real) - held} replicated, {held} held out for {args.queries} queries), "
        f"profile {real_profile}; noise sigma {args.sigma} x real spread; faiss threads {args.threads}\n"
    )
    rows = []
    for n in args.sizes:
        rows.extend(measure_size(n, replicator, queries, args))
    print()
    print(table(rows, COLUMNS))
    print(
        "\nRSS delta: this process's resident memory after the build minus before; peak delta: its\n"
        "highest point during the build (training included). index MiB: faiss.serialize_index size;\n"
        "x raw: that over N*384*4 bytes. Latency: one query per search call, k=10, with 1 and with 2\n"
        "FAISS threads (1t, 2t; builds use --threads); the recommendation takes the better p95.\n"
        "IVF training is in the IVF-PQ row's build s; the RefineFlat rows reuse that training, the\n"
        "IVF-Flat rows its coarse quantizer. removes ids: whether IndexIDMap2 over it supports\n"
        "remove_ids, which the service calls whenever a document is replaced or deleted."
    )
    lines = recommend(rows, args.flat_budget_ms)
    print(
        "\nrecommendation (flat while p95 <= --flat-budget-ms, else the fastest with recall@10 >= 0.95,\n"
        "and the fastest that can also remove ids when that one cannot):"
    )
    print("\n".join(lines))
    report["real_vectors"] = len(real)
    report["real_profile"] = real_profile
    report["rows"] = rows
    report["recommendation"] = lines
    report.save()


if __name__ == "__main__":
    main()

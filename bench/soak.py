"""Soak: minutes of mixed load on a live `qa serve`, then whether the store and the index agree.

`qa serve` runs in a subprocess on a free port over a new temporary data dir, which it seeds
itself as on a first run. For `--minutes`, `--readers` threads ask and search Persian and
English questions (each at most `--rate` requests per second: the load is bounded, the
machine is shared), while one writer uploads, replaces and deletes small documents of its
own (one write every `--write-every` seconds, at most `--max-docs` alive). Then it prints:

* requests served by type and status, errors (5xx and exceptions), p50/p95 latency;
* whether `GET /documents` holds exactly the writer's last acknowledged state;
* `GET /health` counts against the store, and `qa doctor --dry-run` on the data dir once
  the server has stopped (the store and the saved index agree, or it says how not);
* the server's memory at the start and the end, and ERROR lines in its log.

    .venv/bin/python bench/soak.py                 # 2 minutes
    .venv/bin/python bench/soak.py --minutes 1 --readers 2 --rate 3
"""

from __future__ import annotations

import argparse
import itertools
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, Report, dev_questions, percentile, qa_command, qa_server, rss_mb, table  # noqa: E402

from qa.backends.sqlite import SQLiteStore  # noqa: E402

REQUEST_TIMEOUT = 120.0
QUESTIONS_PER_LANGUAGE = 200
COLUMNS = [
    ("type", "type"),
    ("requests", "requests"),
    ("statuses", "statuses"),
    ("errors", "errors (5xx+exc)"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("max_ms", "max ms"),
]
PLACES = ["Tabriz", "Kashan", "Yazd", "Rasht", "Shiraz", "Kerman", "Hamadan", "Ahvaz"]
THINGS = ["bazaar", "garden", "bridge", "bathhouse", "caravanserai", "library", "observatory", "mill"]


class Tally:
    """Latency and status of every request, by type; exceptions by type and message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.exceptions: Counter[str] = Counter()

    def send(self, kind: str, request: Callable[[], httpx.Response]) -> httpx.Response | None:
        began = time.perf_counter()
        try:
            response = request()
        except httpx.HTTPError as exc:
            with self.lock:
                self.exceptions[f"{kind}: {type(exc).__name__}: {exc}"[:160]] += 1
            return None
        with self.lock:
            self.latencies[kind].append((time.perf_counter() - began) * 1000)
            self.statuses[kind][response.status_code] += 1
        return response

    def rows(self) -> list[dict[str, object]]:
        rows = []
        for kind in sorted(self.statuses.keys() | {k.split(":")[0] for k in self.exceptions}):
            latencies = self.latencies.get(kind, [])
            statuses = self.statuses.get(kind, Counter())
            exceptions = sum(n for k, n in self.exceptions.items() if k.startswith(kind + ":"))
            rows.append(
                {
                    "type": kind,
                    "requests": sum(statuses.values()) + exceptions,
                    "statuses": " ".join(f"{s}:{n}" for s, n in sorted(statuses.items())),
                    "errors": sum(n for s, n in statuses.items() if s >= 500) + exceptions,
                    "p50_ms": percentile(latencies, 50),
                    "p95_ms": percentile(latencies, 95),
                    "max_ms": max(latencies, default=float("nan")),
                }
            )
        return rows


def paced(deadline: float, rate: float) -> bool:
    """Sleep to keep one thread at most `rate` requests per second; False once time is up."""
    time.sleep(max(0.0, 1.0 / rate - 0.001))
    return time.monotonic() < deadline


def reader(url: str, number: int, questions: list[str], tally: Tally, deadline: float, rate: float) -> None:
    rng = random.Random(number)
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        while paced(deadline, rate):
            question = rng.choice(questions)
            if rng.random() < 0.5:
                tally.send("ask", lambda q=question: client.post("/ask", json={"question": q, "top_k": 5}))
            else:
                tally.send("search", lambda q=question: client.get("/search", params={"q": q, "k": 5}))


def document_text(rng: random.Random, version: int) -> str:
    place, thing = rng.choice(PLACES), rng.choice(THINGS)
    return (
        f"The old {thing} of {place} was restored in {1900 + version % 120}. "
        f"Visitors in version {version} counted {rng.randint(3, 90)} arches and {rng.randint(2, 40)} lamps.\n\n"
        f"{thing} قدیمی {place} در سال {1300 + version % 100} مرمت شد و بازدیدکنندگان آن را ستودند."
    )


def writer(url: str, tally: Tally, deadline: float, every: float, max_docs: int, alive: dict[str, str]) -> None:
    """Uploads, replaces and deletes its own documents; `alive` ends as its last acknowledged state."""
    rng = random.Random(8)
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        for version in itertools.count():
            if not paced(deadline, 1.0 / every):
                return
            if alive and (len(alive) >= max_docs or rng.random() < 0.3):
                doc_id = rng.choice(sorted(alive))
                response = tally.send("delete", lambda d=doc_id: client.delete(f"/documents/{d}"))
                if response is not None and response.status_code == 204:
                    del alive[doc_id]
                continue
            doc_id = rng.choice(sorted(alive)) if alive and rng.random() < 0.3 else f"soak-{version}"
            text = document_text(rng, version)
            body = {"id": doc_id, "title": f"soak {doc_id}", "text": text}
            response = tally.send("upload", lambda b=body: client.post("/documents", json=b))
            if response is not None and response.status_code == 201:
                alive[doc_id] = text


def run(args: argparse.Namespace, data_dir: Path, log: Path) -> dict[str, object]:
    persian, english = dev_questions()
    questions = persian[:QUESTIONS_PER_LANGUAGE] + english[:QUESTIONS_PER_LANGUAGE]
    tally, alive = Tally(), {}
    print(f"# starting qa serve over {data_dir} (it seeds the data dir first)", flush=True)
    with qa_server(data_dir, log) as (url, process, _):
        rss_start = rss_mb(process.pid)
        print(f"# serving at {url}; {args.minutes:g} min of load, {len(questions)} questions", flush=True)
        deadline = time.monotonic() + args.minutes * 60
        threads = [
            threading.Thread(target=reader, args=(url, n, questions, tally, deadline, args.rate))
            for n in range(args.readers)
        ]
        threads.append(
            threading.Thread(target=writer, args=(url, tally, deadline, args.write_every, args.max_docs, alive))
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rss_end = rss_mb(process.pid)
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
            health = client.get("/health").json()
            listed = {d["id"] for d in client.get("/documents").json()["documents"]}
    writer_docs = {doc_id for doc_id in listed if doc_id.startswith("soak-")}
    doctor = subprocess.run(
        [*qa_command(), "doctor", "--dry-run", "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    store_counts = SQLiteStore(data_dir).counts()
    return {
        "rows": tally.rows(),
        "exceptions": dict(tally.exceptions),
        "writer_docs_agree": writer_docs == set(alive),
        "writer_docs": {"listed": len(writer_docs), "acknowledged_alive": len(alive)},
        "health": health,
        "store_counts": list(store_counts),
        "health_agrees": [health["documents"], health["paragraphs"]] == list(store_counts),
        "doctor_rc": doctor.returncode,
        "doctor": (doctor.stdout + doctor.stderr).strip(),
        "server_rss_mb": [round(rss_start, 1), round(rss_end, 1)],
        "server_error_lines": sum(1 for line in log.read_text().splitlines() if "ERROR" in line or "Traceback" in line),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=2.0, help="how long the load runs (default 2)")
    parser.add_argument("--readers", type=int, default=3, help="reader threads (default 3)")
    parser.add_argument("--rate", type=float, default=4.0, help="requests per second per reader, at most (4)")
    parser.add_argument("--write-every", type=float, default=2.0, help="seconds between writes (default 2)")
    parser.add_argument("--max-docs", type=int, default=8, help="the writer's documents alive at most (8)")
    args = parser.parse_args()
    report = Report("soak", args)
    with tempfile.TemporaryDirectory(prefix="qa-soak-") as tmp:
        result = run(args, Path(tmp) / "data", Path(tmp) / "server.log")
    for key, value in result.items():
        report[key] = value

    print(table(result["rows"], COLUMNS))
    total = sum(int(r["requests"]) for r in result["rows"])
    errors = sum(int(r["errors"]) for r in result["rows"])
    print(f"\nrequests: {total}, errors (5xx and exceptions): {errors}")
    for text, n in result["exceptions"].items():
        print(f"  {n} x {text}")
    docs = result["writer_docs"]
    print(
        f"writer's documents: {docs['listed']} listed, {docs['acknowledged_alive']} acknowledged alive -> "
        f"{'agree' if result['writer_docs_agree'] else 'DISAGREE'}"
    )
    print(
        f"/health: {result['health']['documents']} documents, {result['health']['paragraphs']} paragraphs, "
        f"{result['health']['index_size']} vectors; store: {result['store_counts'][0]} documents, "
        f"{result['store_counts'][1]} paragraphs -> {'agree' if result['health_agrees'] else 'DISAGREE'}"
    )
    print(f"qa doctor --dry-run (exit {result['doctor_rc']}):")
    print("  " + result["doctor"].replace("\n", "\n  "))
    print(f"server memory: {result['server_rss_mb'][0]} MiB at start, {result['server_rss_mb'][1]} MiB at the end")
    print(f"ERROR/Traceback lines in the server log: {result['server_error_lines']}")
    report.save()
    healthy = errors == 0 and result["writer_docs_agree"] and result["health_agrees"] and result["doctor_rc"] == 0
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())

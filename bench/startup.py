"""Start-up time: from launching `qa serve` on an existing index to the first answered /ask.

Each run launches `qa serve --data-dir D --port P` in a subprocess, polls GET /health
every 20 ms until it answers, then POSTs one question and stops the server. The data dir
is `bench/corpus.py`'s 10k-paragraph corpus (built first if missing), whose saved index
is current, so no run rebuilds it. Then `bench/startup_phases.py`, in a fresh interpreter,
times the phases one by one: importing the app, loading the index file, opening the
service (index plus the BM25 index built from the tokens in SQLite), loading the model, the first and
a second question.

    .venv/bin/python bench/startup.py                 # about 1 minute when the corpus exists
    .venv/bin/python bench/startup.py --data-dir /tmp/corpus --runs 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT_DIR, Report, dev_questions, qa_server, table  # noqa: E402
from corpus import DEFAULT_DIR, build_corpus  # noqa: E402

PHASES_SCRIPT = Path(__file__).with_name("startup_phases.py")
RUN_COLUMNS = [
    ("run", "run"),
    ("health_s", "launch -> /health 200 (s)"),
    ("first_answer_s", "launch -> first /ask answered (s)"),
    ("first_ask_s", "first /ask alone (s)"),
]
PHASE_COLUMNS = [("phase", "phase (fresh interpreter)"), ("seconds", "seconds")]


def run_server(data_dir: Path, question: str, run: int) -> dict[str, object]:
    with qa_server(data_dir, OUT_DIR / f"startup-server-{run}.log") as (url, _, launched):
        healthy = time.perf_counter()
        with httpx.Client(base_url=url, timeout=300.0) as client:
            response = client.post("/ask", json={"question": question})
            answered = time.perf_counter()
    response.raise_for_status()
    return {
        "run": run,
        "health_s": healthy - launched,
        "first_answer_s": answered - launched,
        "first_ask_s": answered - healthy,
        "answered": response.json()["answered"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR, help="built if it lacks the corpus")
    parser.add_argument("--paragraphs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    questions = dev_questions()[0]

    report = Report("startup", args)
    corpus = build_corpus(args.data_dir, args.paragraphs)
    report["corpus"] = corpus
    print(f"data dir {args.data_dir}: {corpus['paragraphs']} paragraphs, saved index current\n")
    runs = [run_server(args.data_dir, questions[0], i + 1) for i in range(args.runs)]
    median = {"run": "median"} | {
        key: statistics.median(float(r[key]) for r in runs) for key, _ in RUN_COLUMNS if key != "run"
    }
    print(table([*runs, median], RUN_COLUMNS))
    measured = subprocess.run(
        [sys.executable, str(PHASES_SCRIPT), str(args.data_dir), repr(time.time())],
        capture_output=True,
        text=True,
        check=True,
    )
    steps = json.loads(measured.stdout.strip().splitlines()[-1])
    print()
    print(table(steps, PHASE_COLUMNS))
    report["runs"] = runs
    report["median"] = median
    report["phases"] = steps
    report.save()


if __name__ == "__main__":
    main()

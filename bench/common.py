"""What the benchmarks share: paths, the dev questions, memory readings, a live server, tables.

The benchmarks print figures and never assert them. Each also writes its figures to
`bench/out/<name>.json` with the machine's load average before and after the run, because
on a shared 2-core machine the load decides how far a figure can be trusted.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "bench" / "out"
DEV_FILE = REPO.parent / "shared" / "data" / "persianqa_dev.json"
EN_FILE = REPO / "tests" / "data" / "en_questions.jsonl"
SEEDS_DIR = REPO / "seeds"
SERVER_START_SECONDS = 300.0

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def seed_files() -> list[Path]:
    """The shipped seed documents, `seeds/*.txt`, in a stable order."""
    return sorted(SEEDS_DIR.glob("*.txt"))


def dev_questions(dev_file: Path = DEV_FILE, en_file: Path = EN_FILE) -> tuple[list[str], list[str]]:
    """(Persian dev questions, their English versions), each list without repeats."""
    from qa.evaluate import english_questions, load_questions

    persian = list(load_questions(dev_file))
    english = english_questions(en_file, persian)
    return list(dict.fromkeys(q.text for q in persian)), list(dict.fromkeys(q.text for q in english))


def _status_kib(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process now, in MiB (VmRSS)."""
    return _status_kib("VmRSS", pid) / 1024


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (`qa serve --workers N` runs its workers as children)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree.extend(children)
        frontier = children
    return tree


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB."""
    return sum(rss_mb(p) for p in process_tree(pid) if Path(f"/proc/{p}").exists())


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last `reset_peak_rss`, in MiB (VmHWM)."""
    return _status_kib("VmHWM") / 1024


def reset_peak_rss() -> None:
    """Restart the VmHWM peak from the current RSS (Linux: write 5 to clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def int_list(text: str) -> list[int]:
    """A comma-separated list of integers, as command-line options take them: "1,8,32"."""
    return [int(x) for x in text.split(",")]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    return float(np.percentile(values, q)) if len(values) else float("nan")


def machine() -> dict[str, object]:
    """The machine the figures come from: CPUs, memory, load average now."""
    meminfo = Path("/proc/meminfo").read_text().split()
    return {
        "cpus": os.cpu_count(),
        "mem_gib": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1),
        "python": platform.python_version(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def uptime() -> str:
    """The `uptime` line (load averages over 1, 5 and 15 minutes)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


class Report:
    """The figures of one benchmark run, saved as JSON with the load before and after."""

    def __init__(self, name: str, args: object) -> None:
        self.name = name
        self.payload: dict[str, object] = {
            "benchmark": name,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine_before": machine(),
            "uptime_before": uptime(),
        }
        print(f"# {name}: {self.payload['uptime_before']}", flush=True)

    def __setitem__(self, key: str, value: object) -> None:
        self.payload[key] = value

    def save(self) -> Path:
        self.payload["machine_after"] = machine()
        self.payload["uptime_after"] = uptime()
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        path = OUT_DIR / f"{self.name}.json"
        path.write_text(json.dumps(self.payload, ensure_ascii=False, indent=2, default=float))
        print(f"# load after: {self.payload['uptime_after']}\n# figures written to {path}", flush=True)
        return path


def table(rows: Sequence[dict[str, object]], columns: Sequence[tuple[str, str]]) -> str:
    """Rows as an aligned text table; `columns` are (key, header) pairs, floats rounded."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            if value != value:  # NaN
                return "-"
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return "-" if value is None else str(value)

    cells = [[header for _, header in columns]] + [[cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process could take it before the server does)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def qa_command() -> list[str]:
    """How to run the `qa` CLI of this virtualenv."""
    script = Path(sys.executable).with_name("qa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


@contextmanager
def qa_server(data_dir: Path, log: Path, workers: int = 1) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """`qa serve --data-dir D --port P [--workers N]` in a subprocess, up once /health answers 200.

    Yields (base URL, the process, perf_counter() at launch); the server is stopped after.
    Its log (the app's one line per request) goes to `log`.
    """
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    launched = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            [*qa_command(), "serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", str(workers)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url, process, launched
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = SERVER_START_SECONDS) -> None:
    """Poll GET /health every 20 ms until it answers 200; fail if the server exits first."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"`qa serve` exited with {process.returncode}; see its log")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise TimeoutError(f"{url}/health did not answer within {timeout:.0f} s")


WRITTEN_DIR = REPO / "bench" / "reader_data"  # paragraphs and questions written for the project (MIT)


def written_questions(service, folder: Path, leave_out_every: int = 0) -> list:
    """A bench/reader_data folder's paragraphs ingested into `service` as documents, and their
    questions in both languages (answerable ones carry the answer text). With
    `leave_out_every` n, every n-th paragraph is not ingested and its questions are all
    unanswerable: questions about nothing in the corpus, as users also ask."""
    from qa.evaluate import Question

    out = []
    for path in sorted(folder.glob("*.jsonl")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            row = json.loads(line)
            doc_id = f"written-{path.stem}-{i}"
            absent = leave_out_every > 0 and i % leave_out_every == leave_out_every - 1
            if not absent:
                service.ingest_text(row["context"], doc_id=doc_id, title=row["title"])
            for qa in row["qas"]:
                answers = [qa["answer"]] if qa["answer"] and not absent else []
                for text in (qa["question_fa"], qa["question_en"]):
                    out.append(Question(f"{doc_id}:{text}", text, doc_id, answers, not answers))
    return out


def fitting_corpus(data_dir: Path) -> tuple[object, dict[str, list]]:
    """The corpus the selector is fitted over, as users would ask it: the seeds, the dev
    contexts and every written paragraph, in a fresh data dir. Returns the service and the
    questions by part: "written" (bench/reader_data/*.jsonl), "written-heldout"
    (bench/reader_data/heldout, every third paragraph left out of the corpus) and the dev
    split's "train", "calibration" and "eval" (Persian and, where translated, English)."""
    import shutil

    from qa.evaluate import dev_split, english_questions, load_questions
    from qa.service import QAService
    from qa.settings import Settings

    shutil.rmtree(data_dir, ignore_errors=True)
    service = QAService(Settings(data_dir=data_dir, reader="off"))
    service.ensure_seeded()
    service.ingest_documents(service.read_file(DEV_FILE.read_bytes(), DEV_FILE.name))
    dev = list(load_questions(DEV_FILE))
    dev += english_questions(EN_FILE, dev)
    parts = {"written": written_questions(service, WRITTEN_DIR)}
    parts["written-heldout"] = written_questions(service, WRITTEN_DIR / "heldout", leave_out_every=3)
    for name, keys in dev_split(DEV_FILE).items():
        parts[name] = [q for q in dev if q.context_key in set(keys)]
    return service, parts


def listwise_loss(
    w: np.ndarray, data: Sequence[tuple[np.ndarray, np.ndarray]], prior: np.ndarray, scale: float, l2: float
) -> tuple[float, np.ndarray]:
    """Mean listwise softmax loss and its gradient, plus L2 towards `prior`: each item of `data`
    is (one row of features per candidate, which candidates are gold), and its loss is minus the
    log of the gold candidates' share of softmax(scale x features @ w)."""
    total, grad = 0.0, np.zeros_like(w)
    for features, gold in data:
        z = scale * (features @ w)
        z -= z.max()
        p = np.exp(z) / np.exp(z).sum()
        share = p[gold].sum()
        total -= np.log(share + 1e-12)
        grad -= scale * (features.T @ (np.where(gold, p / (share + 1e-12), 0.0) - p))
    n = max(len(data), 1)
    diff = w - prior
    return total / n + l2 * float(diff @ diff), grad / n + 2 * l2 * diff


def answerable_by_part(data_dir: Path, of) -> dict[str, list]:
    """`of(service, question)` for every answerable question of the fitting corpus whose result
    is not None, by part: "train" (bench/reader_data/*.jsonl and the dev "train" part: what the
    selector's parts are fitted on), "eval" (the dev "eval" part) and "written"
    (bench/reader_data/heldout), both held out."""
    service, parts = fitting_corpus(data_dir)
    questions = {
        "train": parts["written"] + parts["train"],
        "eval": parts["eval"],
        "written": parts["written-heldout"],
    }
    return {part: [r for q in qs if q.answers and (r := of(service, q)) is not None] for part, qs in questions.items()}

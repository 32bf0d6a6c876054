"""The phases of `qa serve`'s start-up, timed one by one in a fresh interpreter.

Run by `bench/startup.py`, which prints the table; only the standard library is imported
before the first timed phase, so importing the app is measured whole.

    .venv/bin/python bench/startup_phases.py DATA_DIR [LAUNCH_TIME]   # prints JSON
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def phases(data_dir: Path, launched: float | None) -> list[dict[str, object]]:
    """Each start-up step's seconds, in the order `qa serve` runs them."""
    out: list[dict[str, object]] = []

    def step(name: str, began: float) -> float:
        now = time.perf_counter()
        out.append({"phase": name, "seconds": now - began})
        return now

    if launched is not None:
        out.append({"phase": "start the interpreter (until this script runs)", "seconds": time.time() - launched})
    began = time.perf_counter()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import uvicorn  # noqa: F401

    from api.main import create_app

    began = step("import uvicorn + api.main (FastAPI, qa.service, faiss, scipy; hazm data from its cache)", began)
    from embeddings.index import VectorIndex
    from qa.backends.embedded import INDEX_DIR
    from qa.evaluate import load_questions
    from qa.service import QAService
    from qa.settings import REPO_ROOT, Settings

    questions = [q.text for q in load_questions(REPO_ROOT.parent / "shared" / "data" / "persianqa_dev.json")]
    began = time.perf_counter()
    VectorIndex.load(data_dir / INDEX_DIR)
    began = step("VectorIndex.load (read + deserialize the index file)", began)
    service = QAService(Settings(data_dir=data_dir))
    began = step("QAService() (index load again + BM25 built from the stored tokens)", began)
    create_app(service)
    began = step("create_app(service)", began)
    service.embedder.dim  # noqa: B018  # loads the model
    began = step("load the E5 model", began)
    service.ask(questions[0])
    began = step("first ask (embeds the question)", began)
    service.ask(questions[1])
    step("second ask (another question)", began)
    return out


if __name__ == "__main__":
    print(json.dumps(phases(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else None)))

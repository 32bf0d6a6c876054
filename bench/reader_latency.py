"""Latency of the trained reader alone, and of the whole question path with and without it.

Over the seeds and the PersianQA dev contexts (a fresh data dir), every dev question (Persian,
then the English versions) is asked in-process: the reader's part is
`TrainedReader.sentence_logits` over the top 3 passages (what the selector weighs beside its
own scores with QA_READER=trained), timed alone; `QAService.ask` is timed with the reader off
and on. One warm-up question each. Needs `models/reader/` (bench/train_reader.py).

    .venv/bin/python bench/reader_latency.py --questions 100
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import dev_questions, machine, percentile  # noqa: E402

from qa.answer import PASSAGES_READ  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402

DEV = REPO.parent / "shared" / "data" / "persianqa_dev.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-reader-latency"))
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the reader")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    shutil.rmtree(args.data_dir, ignore_errors=True)
    service = QAService(Settings(data_dir=args.data_dir, reader="trained"))
    service.ensure_seeded()
    service.ingest_documents(service.read_file(DEV.read_bytes(), DEV.name))
    reader = service.trained_reader
    if reader is None:
        raise SystemExit("no trained reader in models/reader: run bench/train_reader.py first")
    fa, en = dev_questions()
    questions = (fa[: args.questions // 2] + en[: args.questions - args.questions // 2])[: args.questions]
    timings: dict[str, list[float]] = {"reader, 3 passages": [], "ask, reader off": [], "ask, reader on": []}
    tokens = []
    for i, question in enumerate([questions[0], *questions]):
        passages = [p.paragraph for p in service.search(question, PASSAGES_READ)]
        started = time.perf_counter()
        reader.sentence_logits(question, passages, service.answerer.contexts(passages))
        took = {"reader, 3 passages": time.perf_counter() - started}
        tokens.append(sum(len(reader._tokenizer.encode_ids(p.text)) for p in passages))
        for label, on in (("ask, reader off", False), ("ask, reader on", True)):
            service.reader_enabled = on
            started = time.perf_counter()
            service.ask(question, 5, min_confidence=0.0)
            took[label] = time.perf_counter() - started
        service.reader_enabled = True
        if i:  # the first is a warm-up
            for label, seconds in took.items():
                timings[label].append(seconds * 1000)
    print(machine())
    print(f"{len(questions)} questions, passage tokens read per question: median {sorted(tokens)[len(tokens) // 2]}")
    for label, values in timings.items():
        print(f"{label}: p50 {percentile(values, 50):.0f} ms, p95 {percentile(values, 95):.0f} ms")


if __name__ == "__main__":
    main()

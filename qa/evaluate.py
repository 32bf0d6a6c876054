"""`qa eval`: retrieval, answer and abstention figures on a SQuAD/PersianQA file.

The file's contexts are ingested as documents (ids stable per file and position), every
question is asked through the same service call as `/ask`, and the figures are printed.
Confidence is recorded for every question, so the abstention curve (answered rate on
answerable questions against abstention on unanswerable ones, per threshold) comes from
one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest.readers import squad_doc_id
from qa.retrieve import Fusion
from qa.service import QAService
from qa.text import normalize


@dataclass(slots=True)
class Question:
    """One question of the file, with its gold document and answers."""

    id: str
    text: str
    doc_id: str
    answers: list[str]
    impossible: bool
    context_key: str = ""


@dataclass(slots=True)
class Outcome:
    """What the service did with one question."""

    question: Question
    ranked_docs: list[str]
    answer: str | None
    confidence: float
    ms: float


@dataclass
class Report:
    """The figures of one run (one language, one retrieval mode)."""

    outcomes: list[Outcome] = field(default_factory=list)

    def figures(self, threshold: float, k: int) -> dict[str, float | int]:
        answerable = [o for o in self.outcomes if not o.question.impossible]
        impossible = [o for o in self.outcomes if o.question.impossible]
        n = max(len(answerable), 1)
        answered = [o for o in answerable if o.answer is not None and o.confidence >= threshold]
        contains = f1s = exact = 0.0
        words = []
        for o in answered:
            answer = answer_words(o.answer or "")
            golds = [answer_words(g) for g in o.question.answers if answer_words(g)]
            contains += any(g in answer for g in golds)
            f1s += max((_f1(answer, g) for g in golds), default=0.0)
            exact += any(answer == g for g in golds)
            words.append(len(answer.split()))
        ranks = [
            o.ranked_docs.index(o.question.doc_id) + 1 if o.question.doc_id in o.ranked_docs else 0 for o in answerable
        ]
        latencies = sorted(o.ms for o in self.outcomes) or [0.0]
        return {
            "answerable": len(answerable),
            "impossible": len(impossible),
            "hit@1": round(sum(r == 1 for r in ranks) / n, 3),
            f"hit@{k}": round(sum(0 < r <= k for r in ranks) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
            "answered_rate": round(len(answered) / n, 3),
            "answer_contains_gold": round(contains / n, 3),
            "token_f1": round(f1s / n, 3),
            "exact_match": round(exact / n, 3),
            "median_answer_words": statistics.median(words) if words else 0,
            "abstained_on_impossible": round(
                sum(o.answer is None or o.confidence < threshold for o in impossible) / max(len(impossible), 1), 3
            ),
            "p50_ms": round(latencies[len(latencies) // 2], 1),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        }

    def curve(self, steps: int = 50) -> list[tuple[float, float, float]]:
        """(threshold, answered rate on answerable, abstention on impossible)."""
        answerable = [o.confidence for o in self.outcomes if not o.question.impossible and o.answer is not None]
        impossible = [o.confidence for o in self.outcomes if o.question.impossible]
        total = max(sum(not o.question.impossible for o in self.outcomes), 1)
        out = []
        for i in range(steps + 1):
            t = i / steps
            out.append(
                (t, sum(c >= t for c in answerable) / total, sum(c < t for c in impossible) / max(len(impossible), 1))
            )
        return out


def answer_words(text: str) -> str:
    """A text as the figures compare answers: normalised words joined by single spaces."""
    return " ".join(re.findall(r"\w+", normalize(text)))


def _f1(answer: str, gold: str) -> float:
    a, g = answer.split(), gold.split()
    common = sum(min(a.count(t), g.count(t)) for t in set(g))
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(g)
    return 2 * precision * recall / (precision + recall)


def context_key(text: str) -> str:
    """A short stable name for a context, so a split of a file can be recorded without its text."""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def load_questions(path: Path) -> Iterator[Question]:
    """Questions of a SQuAD-shaped file, with the doc ids its contexts are ingested under."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for ai, article in enumerate(data["data"]):
        for pi, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                yield Question(
                    id=str(qa["id"]),
                    text=qa["question"],
                    doc_id=squad_doc_id(path.name, ai, pi),
                    answers=[a["text"] for a in qa.get("answers", [])],
                    impossible=bool(qa.get("is_impossible")),
                    context_key=context_key(para["context"]),
                )


def english_questions(path: Path, questions: list[Question]) -> list[Question]:
    """The questions that have an English version in a {id, question_en} JSONL file."""
    by_id = {q.id: q for q in questions}
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            q = by_id.get(str(row["id"]))
            if q is not None:
                out.append(Question(q.id, row["question_en"], q.doc_id, q.answers, q.impossible, q.context_key))
    return out


def run_questions(service: QAService, questions: list[Question], k: int) -> Report:
    """Ask every question (with no abstention, so each gets a span and a confidence)."""
    report = Report()
    for q in questions:
        started = time.perf_counter()
        answer = service.ask(q.text, k, min_confidence=0.0)
        ms = (time.perf_counter() - started) * 1000
        docs = [p.paragraph.doc_id for p in answer.passages]
        report.outcomes.append(Outcome(q, list(dict.fromkeys(docs)), answer.answer, answer.confidence, ms))
    return report


def plot_curve(curves: dict[str, list[tuple[float, float, float]]], threshold: float, path: Path) -> None:
    """A PNG of answered rate vs. abstention on unanswerable, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, curve in curves.items():
        ax.plot([c[2] for c in curve], [c[1] for c in curve], marker=".", label=label)
        at = min(curve, key=lambda c: abs(c[0] - threshold))
        ax.scatter([at[2]], [at[1]], s=60, zorder=3)
    ax.set_xlabel("abstained on unanswerable questions")
    ax.set_ylabel("answered answerable questions")
    ax.set_title(f"Abstention curve (dot: QA_MIN_CONFIDENCE={threshold})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# The dev file's contexts are split once, by a fixed permutation: the trained reader and the
# selector's sentence ranker and confidence are fitted on "train" and "calibration" only, and
# `qa eval --unseen` asks the questions of "eval" alone.
SPLIT_SEED = 13
SPLIT_SIZES = (("train", 10), ("calibration", 10))


def dev_split(path: Path) -> dict[str, list[str]]:
    """A SQuAD file's context keys by part: train, calibration and eval (the rest)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = [context_key(p["context"]) for a in data["data"] for p in a["paragraphs"]]
    order = list(range(len(keys)))
    random.Random(SPLIT_SEED).shuffle(order)
    parts, at = {}, 0
    for name, size in SPLIT_SIZES:
        parts[name] = [keys[i] for i in order[at : at + size]]
        at += size
    parts["eval"] = [keys[i] for i in order[at:]]
    return parts


def fitted_contexts(path: Path) -> set[str]:
    """The contexts of a file that models of this project were fitted on."""
    split = dev_split(path)
    return set(split["train"]) | set(split["calibration"])


def run_eval(service: QAService, args: argparse.Namespace) -> int:
    """Ingest the file's contexts, ask its questions, print the figures."""
    path = Path(args.file)
    docs = service.read_file(path.read_bytes(), path.name)
    service.ingest_documents(docs)
    questions = list(load_questions(path))
    if args.unseen:
        seen = fitted_contexts(path)
        questions = [q for q in questions if q.context_key not in seen]
    if args.limit:
        questions = questions[: args.limit]
    runs = {"fa": questions}
    if args.en:
        runs["en"] = english_questions(Path(args.en), questions)
    modes = [Fusion.HYBRID, Fusion.DENSE, Fusion.BM25, Fusion.RRF] if args.compare else [service.fusion]
    readers = [True, False] if args.readers and service.trained_reader else [True]
    threshold = service.settings.min_confidence
    figures: dict[str, dict[str, float | int]] = {}
    curves = {}
    for reader in readers:
        service.reader_enabled = reader
        answerer = "" if not args.readers else (":reader" if reader and service.trained_reader else ":selector")
        for mode in modes if reader or not args.compare else [Fusion.HYBRID]:
            service.fusion = mode
            for language, qs in runs.items():
                report = run_questions(service, qs, args.k)
                label = f"{language}:{mode.value}{answerer}"
                figures[label] = report.figures(threshold, args.k)
                curves[label] = report.curve()
    service.fusion = Fusion.HYBRID
    service.reader_enabled = True
    if args.plot:
        plot_curve({k: v for k, v in curves.items() if f":{Fusion.HYBRID.value}" in k}, threshold, Path(args.plot))
    if args.json:
        print(json.dumps({"threshold": threshold, "figures": figures, "curves": curves}, ensure_ascii=False, indent=1))
        return 0
    columns = list(next(iter(figures.values())).keys())
    print(
        f"{path.name}: {len(questions)} questions, corpus of {service.store.counts()[0]} documents, "
        f"QA_MIN_CONFIDENCE={threshold}"
    )
    width = max(14, *(len(label) + 2 for label in figures))
    print("run".ljust(width) + "".join(c.rjust(max(8, len(c) + 1)) for c in columns))
    for label, row in figures.items():
        print(label.ljust(width) + "".join(str(row[c]).rjust(max(8, len(c) + 1)) for c in columns))
    return 0

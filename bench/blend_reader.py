"""Does the trained reader help the sentence selector? Fit and measure their blend.

The reader (`models/reader/`, bench/train_reader.py) alone picks the answering sentence less
often than the selector does, but it reads the question and the passage together, which the
selector's features (cosines and word overlaps) cannot. Here every candidate sentence the
selector weighs gets the reader's log-odds that it answers (`TrainedReader.sentence_logits`)
beside the selector's own score, and the blend `selector + beta x reader` is fitted (one beta
per question language, a grid) on questions neither was fitted on: the dev "calibration" part
and bench/reader_data/heldout, each part counting the same (`fitted_beta`). It prints the
sentence accuracy and the share of short answers (qa.answer.short_answer) holding the gold on
the dev "eval" part, at beta 0 (the selector alone) and at the fitted beta, and, with
`--write`, stores the blend and its confidence in models/reader/config.json
(`qa.reader.ReaderBlend`).

    .venv/bin/python bench/blend_reader.py --data-dir /tmp/qa-blend     # ~17 min on 2 cores
    .venv/bin/python bench/blend_reader.py --cached --write                # refit, store the blend
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from calibrate import fit_per_language  # noqa: E402
from common import fitting_corpus  # noqa: E402

from embeddings.reader_net import ReaderConfig  # noqa: E402
from qa.answer import (  # noqa: E402
    SentenceChoices,
    calibration_for,
    choose_span,
    logistic,
    quote_span,
    ranker_for,
    short_answer,
)
from qa.evaluate import Question, answer_words  # noqa: E402
from qa.reader import TrainedReader, candidate_logits  # noqa: E402
from qa.reader_span import reader_window  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.text import detect_language  # noqa: E402

CACHE = REPO / "bench" / "out" / "blend-rows.pkl"
BETAS = np.round(np.arange(0.0, 0.2001, 0.005), 3)  # the ranker's scores and the log-odds differ in scale


@dataclass(slots=True)
class Row:
    """One question: the selector's candidates (qa.answer.SentenceChoices), the reader's
    log-odds per candidate, which candidates hold the gold, and whether the short answer cut
    from each holds it (all False for an unanswerable question)."""

    language: str
    answerable: bool
    choices: SentenceChoices
    reader: np.ndarray
    gold: np.ndarray
    answer_ok: np.ndarray


def row_of(service, reader: TrainedReader, q: Question, max_words: int) -> Row | None:
    answerer = service.answerer
    passages, qvec, terms = answerer._passages(q.text, 5)
    choices = answerer.sentence_choices(q.text, passages, qvec, terms)
    if not choices.candidates:
        return None
    language = detect_language(q.text)
    paragraphs = [p for p, _, _ in choices.passages]
    reading = reader.read_passages(q.text, paragraphs, answerer.contexts(paragraphs))
    read = candidate_logits(reading, choices.candidates)
    golds = [answer_words(a) for a in q.answers if answer_words(a)]
    on_doc = [c.paragraph.doc_id == q.doc_id and bool(golds) for c in choices.candidates]
    gold = [
        d and any(g in answer_words(c.span.text) for g in golds)
        for c, d in zip(choices.candidates, on_doc, strict=True)
    ]
    # The short answer only of candidates some beta of the grid picks: cutting every one is slow.
    scores = ranker_for(language).scores(choices.features)
    answer_ok = np.zeros(len(choices.candidates), dtype=bool)
    for i in {int(np.argmax(scores + b * read)) for b in BETAS}:
        c = choices.candidates[i]
        if on_doc[i]:
            quoted = quote_span(c.paragraph.text, c.span, c.paragraph.citable_start)
            if reading is not None:  # as the service cuts the answer when the reader reads (qa.reader_span)
                span = reader_window(reading, reading.owner_of(c.paragraph.id), c.paragraph.text, quoted, max_words)
            else:
                span = short_answer(q.text, quoted, choices.weights, max_words, language)
            answer_ok[i] = any(g in answer_words(span.text) for g in golds)
    return Row(language, bool(golds), choices, read, np.array(gold), answer_ok)


def collect(data_dir: Path) -> dict[str, list[Row]]:
    service, parts = fitting_corpus(data_dir)
    reader = TrainedReader(Settings().reader_dir)
    max_words = service.settings.max_answer_words
    questions = {
        "calibration": parts["calibration"],
        # every other written question in both of its languages: the reader reads ~0.35 s a question
        "written": [q for i, q in enumerate(parts["written-heldout"]) if i // 2 % 2 == 0],
        "eval": parts["eval"],
    }
    out: dict[str, list[Row]] = {}
    for name, qs in questions.items():
        rows = []
        for n, q in enumerate(qs):
            if (row := row_of(service, reader, q, max_words)) is not None:
                rows.append(row)
            if n % 100 == 0:
                print(f"{name}: {n}/{len(qs)}", flush=True)
        out[name] = rows
    return out


def pick(row: Row, beta: float) -> int:
    return int(np.argmax(ranker_for(row.language).scores(row.choices.features) + beta * row.reader))


FIT_PARTS = ("calibration", "written")


def sentence_accuracy(rows: list[Row], beta: float) -> float:
    return figures(rows, beta)[0]


def fitted_beta(parts: list[list[Row]], accuracy: Callable[[list[Row], float], float] = sentence_accuracy) -> float:
    """The beta whose sentence accuracy, averaged over the fitting parts, is highest (the smaller
    on a tie). Each part counts the same, not each question: the written held-out questions
    outnumber the dev calibration part's nearly four to one and are of the kind the selector's ranker
    was fitted on (short written leads, questions written for them), so pooled they would set
    the blend for that kind of text alone; the dev part is real encyclopedia pages, the kind
    users bring."""
    return float(max(BETAS, key=lambda b: (float(np.mean([accuracy(p, b) for p in parts])), -b)))


def figures(rows: list[Row], beta: float) -> tuple[float, float]:
    """(sentence accuracy, short answer holds the gold) with the blend at `beta`."""
    if not rows:
        return 0.0, 0.0
    picks = [pick(r, beta) for r in rows]
    return (
        float(np.mean([r.gold[i] for r, i in zip(rows, picks, strict=True)])),
        float(np.mean([r.answer_ok[i] for r, i in zip(rows, picks, strict=True)])),
    )


def signals(row: Row, beta: float) -> np.ndarray:
    """The selector's calibrated log-odds for the blend's pick, then the reader's log-odds of it."""
    choice = choose_span(row.choices, ranker_for(row.language), row.reader, beta)
    assert choice is not None
    return np.array([calibration_for(row.language).logit(choice.signals), row.reader[choice.index]])


def selector_logit(row: Row, beta: float) -> float:
    return float(signals(row, beta)[0])


def eval_figures(rows: list[Row], beta: float, confidence, threshold: float) -> dict[str, float]:
    """What `qa eval` would print for these rows: answered, holds the gold, refused."""
    answerable = [r for r in rows if r.answerable]
    impossible = [r for r in rows if not r.answerable]
    answered = [r for r in answerable if confidence(r) >= threshold]
    return {
        "answered": round(len(answered) / max(len(answerable), 1), 3),
        "contains": round(sum(bool(r.answer_ok[pick(r, beta)]) for r in answered) / max(len(answerable), 1), 3),
        "refused": round(sum(confidence(r) < threshold for r in impossible) / max(len(impossible), 1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-blend"))
    parser.add_argument("--cached", action="store_true", help="refit on the last run's rows")
    parser.add_argument("--answer-rate", type=float, default=0.9)
    parser.add_argument("--threshold", type=float, default=0.53)
    parser.add_argument("--write", action="store_true", help="store the fitted blend in models/reader/config.json")
    args = parser.parse_args()
    if args.cached:
        rows = pickle.loads(CACHE.read_bytes())
    else:
        rows = collect(args.data_dir)
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_bytes(pickle.dumps(rows))
    betas = {}
    for language in ("fa", "en"):
        parts = [[r for r in rows[part] if r.language == language and r.gold.any()] for part in FIT_PARTS]
        held = [r for r in rows["eval"] if r.language == language and r.answerable]
        beta = fitted_beta(parts)
        betas[language] = beta
        for label, b in (("selector alone", 0.0), (f"blend beta={beta}", beta)):
            fit_acc = " / ".join(f"{figures(p, b)[0]:.3f} ({len(p)})" for p in parts)
            acc, _ = figures([r for r in held if r.gold.any()], b)
            _, ok_all = figures(held, b)
            print(
                f"{language} {label}: fit sentence accuracy {fit_acc} (dev calibration part / written); dev "
                f"eval part sentence accuracy {acc:.3f}, short answer holds the gold {ok_all:.3f} ({len(held)})"
            )
    print("READER_BLEND =", betas)

    # Confidence: the selector's calibrated log-odds and the reader's log-odds of the pick,
    # refitted together (qa.answer's calibration signals plus one), a bias per language.
    def part_rows(part: list[Row]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for language in ("fa", "en"):
            mine = [r for r in part if r.language == language]
            x = np.array([signals(r, betas[language]) for r in mine])
            out[language] = (x, np.array([float(r.answerable) for r in mine]))
        return out

    fitted = fit_per_language(
        {"calibration": part_rows(rows["calibration"]), "written": part_rows(rows["written"])},
        args.answer_rate,
        args.threshold,
    )
    print("READER_CONFIDENCE =", {k: (np.round(w, 4).tolist(), round(b, 4)) for k, (w, b, _) in fitted.items()})
    if args.write:
        folder = Settings().reader_dir
        config = ReaderConfig.load(folder)
        config.calibration = {
            language: {
                "beta": betas[language],
                "selector": round(float(weights[0]), 4),
                "reader": round(float(weights[1]), 4),
                "bias": round(bias, 4),
                "refused_at_threshold": {part: round(share, 3) for part, share in refused.items()},
            }
            for language, (weights, bias, refused) in fitted.items()
        }
        config.save(folder)
        print(f"wrote the blend into {folder / 'config.json'}")
    for language in ("fa", "en"):
        held = [r for r in rows["eval"] if r.language == language]
        beta = betas[language]
        weights, bias, _ = fitted[language]

        def blended(r: Row, beta: float = beta, weights: np.ndarray = weights, bias: float = bias) -> float:
            return logistic(bias + float(weights @ signals(r, beta)))

        for label, b, conf in (
            ("selector", 0.0, lambda r: logistic(selector_logit(r, 0.0))),
            ("blend, selector confidence", beta, lambda r, b=beta: logistic(selector_logit(r, b))),
            ("blend, blended confidence", beta, blended),
        ):
            print(f"{language} dev eval part, {label}: {eval_figures(held, b, conf, args.threshold)} (n={len(held)})")


if __name__ == "__main__":
    main()

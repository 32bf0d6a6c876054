"""Fit the sentence selector's ranker (qa/answer.py RANKERS) on questions it is never evaluated on.

The selector picks the answer sentence among the top passages' sentences by a linear score
over `qa.answer.FEATURE_NAMES`. This script asks every training question through the
service's own retrieval over one corpus (the seeds, the 40 dev contexts and the 300
paragraphs of bench/reader_data), collects each candidate sentence's features and whether
it holds the gold answer, and fits one weight vector per question language by a listwise
softmax (the gold sentence against the other candidates of its question, L2 towards the
hand-set score of earlier sessions). It prints the held-out sentence accuracy of the hand-set
and the fitted weights on the dev "eval" part, and the lines to paste into RANKERS.

Training questions: bench/reader_data/*.jsonl (Persian and English, MIT, written for the
project) and the dev "train" part (qa.evaluate.dev_split). Held out, never fitted on: the dev
"eval" part and bench/reader_data/heldout ("written"). (The dev "calibration" part is left to
bench/calibrate.py.)

    .venv/bin/python bench/fit_selector.py --data-dir /tmp/qa-fit-selector
"""

from __future__ import annotations

import argparse
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import answerable_by_part, listwise_loss  # noqa: E402

from qa.answer import FEATURE_NAMES, HAND_SET, RANKERS  # noqa: E402
from qa.evaluate import Question, answer_words  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.text import detect_language  # noqa: E402

L2 = 1e-3
CACHE = REPO / "bench" / "out" / "selector-features.pkl"
SCALE = 20.0  # cosines differ by hundredths: the softmax needs a temperature to tell sentences apart


@dataclass(slots=True)
class Group:
    """One question's candidate sentences: features and which hold the gold answer."""

    language: str
    features: np.ndarray
    gold: np.ndarray  # bool per candidate


def group_of(service: QAService, q: Question) -> Group | None:
    """The candidates the selector would weigh for `q`, or None when none holds the gold."""
    passages, qvec, terms = service.answerer._passages(q.text, 5)
    choices = service.answerer.sentence_choices(q.text, passages, qvec, terms)
    candidates, features = choices.candidates, choices.features
    if not candidates:
        return None
    golds = [answer_words(a) for a in q.answers if answer_words(a)]
    gold = np.array(
        [c.paragraph.doc_id == q.doc_id and any(g in answer_words(c.span.text) for g in golds) for c in candidates]
    )
    return Group(detect_language(q.text), features, gold) if gold.any() else None


def loss(w: np.ndarray, groups: list[Group], prior: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean listwise softmax loss (log of the gold sentences' share) and its gradient, plus L2."""
    return listwise_loss(w, [(g.features, g.gold) for g in groups], prior, SCALE, L2)


def accuracy(w: np.ndarray, groups: list[Group]) -> float:
    """Share of questions whose best-scoring candidate holds the gold answer."""
    return float(np.mean([g.gold[int(np.argmax(g.features @ w))] for g in groups])) if groups else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-fit-selector"))
    parser.add_argument("--cached", action="store_true", help=f"reuse the features of the last run ({CACHE})")
    args = parser.parse_args()
    groups = pickle.loads(CACHE.read_bytes()) if args.cached else collect(args.data_dir)
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(pickle.dumps(groups))
    fit(groups)


def collect(data_dir: Path) -> dict[str, list[Group]]:
    """Every answerable question's candidate features, by part (bench/common.py answerable_by_part)."""
    return answerable_by_part(data_dir, group_of)


def fit(groups: dict[str, list[Group]]) -> None:
    """Fit and print the weights per language, with each part's sentence accuracy."""
    prior = np.asarray(HAND_SET.weights)
    for language in ("fa", "en"):
        fit_on = [g for g in groups["train"] if g.language == language]
        found = minimize(loss, prior.copy(), args=(fit_on, prior), jac=True, method="L-BFGS-B").x
        shipped = np.asarray(RANKERS[language].weights)
        print(f"{language}: sentence accuracy (questions whose gold is among the candidates)")
        for part in groups:
            rows = [g for g in groups[part] if g.language == language]
            figures = {"hand-set": prior, "shipped": shipped, "fitted": found}
            print(f"  {part:8} n={len(rows):5}" + "".join(f"  {k} {accuracy(w, rows):.3f}" for k, w in figures.items()))
        print(f'    "{language}": SentenceRanker(({", ".join(f"{v:.3f}" for v in found)})),')
    print("features:", ", ".join(FEATURE_NAMES))


if __name__ == "__main__":
    main()

"""Fit the sentence selector's confidence (qa/answer.py CALIBRATION) on dev questions.

Over the corpus bench/fit_selector.py fits the sentence ranker on (the seeds, the dev
contexts, the written paragraphs), asks with abstention off the questions neither model
was fitted on: the dev split's "calibration" part (Persian, and English where translated)
and bench/reader_data/heldout (both languages, answerable and unanswerable). It records
each answer's signals, fits one logistic regression over both languages (answerable = 1,
unanswerable = 0), shifts each language's bias so that `--threshold` answers
`--answer-rate` of its answerable dev "calibration" questions, and prints the parameters and
the share of unanswerable questions refused there. The bias is set on the dev questions
alone because the written questions are easier: their answerable ones score higher, so a
threshold set on them answers nearly every dev question and refuses few unanswerable ones
(0.98 answered, 0.12 refused on the held-out dev part). The dev "eval" part stays unseen
for `qa eval --unseen`.

    .venv/bin/python bench/calibrate.py --data-dir /tmp/qa-calibrate   # ~5 min
    .venv/bin/python bench/calibrate.py --cached                       # refit on the last run's signals
    .venv/bin/python bench/calibrate.py --cached --keep-weights        # only set the biases again
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fitting_corpus  # noqa: E402

from qa.answer import CALIBRATION, SIGNAL_NAMES  # noqa: E402
from qa.evaluate import Question  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.text import detect_language  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out" / "calibration-signals.pkl"
Rows = dict[str, tuple[np.ndarray, np.ndarray]]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 5000) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (standardised inside)."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + l2 * w)
        b -= 0.5 * float((p - y).mean())
    return w / std, b - float((w / std) @ mean)


def signal_rows(
    service: QAService, runs: dict[str, list[Question]], names: Sequence[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per language: each question's answer signals `names` (abstention off) and whether it is answerable."""
    rows = {}
    for language, qs in runs.items():
        x, y = [], []
        for q in qs:
            answer = service.ask(q.text, 5, min_confidence=0.0)
            if answer.signals:
                x.append([answer.signals[name] for name in names])
                y.append(0.0 if q.impossible else 1.0)
        rows[language] = (np.array(x), np.array(y))
    return rows


def fit_per_language(
    rows: dict[str, Rows], answer_rate: float, threshold: float, keep: np.ndarray | None = None
) -> dict[str, tuple[np.ndarray, float, dict[str, float]]]:
    """One logistic fit over every part's and language's (signals, answerable) rows, then a
    bias per language.

    `rows` is {part: {language: (signals, answerable)}}. Each language's bias is shifted so
    that `threshold` answers `answer_rate` of its answerable questions of the "calibration"
    part: a confidence then means the same in every language. Shared weights because a
    language with few calibration questions (English here) cannot fit its own. With `keep`,
    those weights are kept and only the biases are set.
    Returns {language: (weights, bias, {part: share of unanswerable refused at the threshold})}.
    """
    x = np.concatenate([r[0] for part in rows.values() for r in part.values()])
    y = np.concatenate([r[1] for part in rows.values() for r in part.values()])
    weights, bias = fit_logistic(x, y) if keep is None else (keep, 0.0)
    target = float(np.log(threshold / (1 - threshold)))
    out = {}
    for language, (xl, yl) in rows["calibration"].items():
        z = xl @ weights + bias
        answerable = np.sort(z[yl == 1])
        b = bias + target - float(answerable[int((1 - answer_rate) * len(answerable))])
        refused = {}
        for part, by_language in rows.items():
            xp, yp = by_language[language]
            refused[part] = float(np.mean(xp[yp == 0] @ weights + b < target)) if (yp == 0).any() else 0.0
        out[language] = (weights, b, refused)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-calibrate"))
    parser.add_argument("--answer-rate", type=float, default=0.9)
    parser.add_argument("--threshold", type=float, default=0.53, help="QA_MIN_CONFIDENCE's default")
    parser.add_argument("--cached", action="store_true", help=f"reuse the signals of the last run ({CACHE})")
    parser.add_argument(
        "--keep-weights", action="store_true", help="keep qa/answer.py's weights, set only each language's bias"
    )
    args = parser.parse_args()

    if args.cached:
        rows = pickle.loads(CACHE.read_bytes())
    else:
        service, parts = fitting_corpus(args.data_dir)
        rows = {}
        for part in ("calibration", "written-heldout"):
            runs = {lang: [q for q in parts[part] if detect_language(q.text) == lang] for lang in ("fa", "en")}
            rows[part] = signal_rows(service, runs, SIGNAL_NAMES)
        CACHE.parent.mkdir(exist_ok=True)
        CACHE.write_bytes(pickle.dumps(rows))
    keep = np.asarray(CALIBRATION["fa"].weights) if args.keep_weights else None
    for language, (w, b, abstained) in fit_per_language(rows, args.answer_rate, args.threshold, keep).items():
        weights = ", ".join(f"{v:.2f}" for v in w)
        sizes = ", ".join(f"{part} {len(by_language[language][1])}" for part, by_language in rows.items())
        refused = ", ".join(f"{part} {share:.1%}" for part, share in abstained.items())
        print(f'"{language}": Calibration(bias={b:.2f}, weights=({weights})),')
        print(
            f"  # n: {sizes}; {args.threshold} answers {args.answer_rate:.0%} of the calibration part's "
            f"answerable and refuses of the unanswerable: {refused}"
        )


if __name__ == "__main__":
    main()

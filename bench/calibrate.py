"""Fit the answer-confidence calibration (qa/answer.py CALIBRATION) on dev questions.

Asks every question of a SQuAD/PersianQA file (Persian) and of an English translations
file with abstention off, records each answer's signals, fits one logistic regression
per question language (answerable = 1, unanswerable = 0), and prints the parameters and
the threshold at which the given share of answerable Persian questions is answered.

    .venv/bin/python bench/calibrate.py ../shared/data/persianqa_dev.json \
        --en tests/data/en_questions.jsonl --data-dir /tmp/qa-calibrate
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.answer import SIGNAL_NAMES  # noqa: E402
from qa.evaluate import english_questions, load_questions  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--en", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-calibrate"))
    parser.add_argument("--answer-rate", type=float, default=0.9)
    args = parser.parse_args()

    service = QAService(Settings(data_dir=args.data_dir))
    service.ensure_seeded()
    service.ingest_documents(service.read_file(args.file.read_bytes(), args.file.name))
    questions = list(load_questions(args.file))
    runs = {"fa": questions}
    if args.en:
        runs["en"] = english_questions(args.en, questions)
    for language, qs in runs.items():
        x, y = [], []
        for q in qs:
            answer = service.ask(q.text, 5, min_confidence=0.0)
            if answer.signals:
                x.append([answer.signals[name] for name in SIGNAL_NAMES])
                y.append(0.0 if q.impossible else 1.0)
        xa, ya = np.array(x), np.array(y)
        w, b = fit_logistic(xa, ya)
        p = 1 / (1 + np.exp(-(xa @ w + b)))
        answerable = np.sort(p[ya == 1])
        threshold = float(answerable[int((1 - args.answer_rate) * len(answerable))])
        abstained = float(np.mean(p[ya == 0] < threshold))
        weights = ", ".join(f"{v:.2f}" for v in w)
        print(f'"{language}": Calibration(bias={b:.2f}, weights=({weights})),')
        print(
            f"  # n={len(ya)}; answering {args.answer_rate:.0%} of answerable needs threshold "
            f"{threshold:.3f}, which abstains on {abstained:.1%} of unanswerable"
        )


if __name__ == "__main__":
    main()

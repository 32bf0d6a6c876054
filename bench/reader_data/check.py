"""Checks a hand-written reader training file and prints what it holds.

Each line of a `*.jsonl` file here is one paragraph written for this project:

    {"title": "...", "lang": "fa" | "en", "context": "...",
     "qas": [{"question_fa": "...", "question_en": "...", "answer": "exact substring of context" | null}]}

`answer: null` marks a question the paragraph does not answer (SQuAD 2.0 "impossible").
Usage: python bench/reader_data/check.py bench/reader_data/*.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def check(path: str) -> list[str]:
    problems: list[str] = []
    paragraphs = answerable = impossible = 0
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{n}: not JSON ({exc})")
            continue
        for key in ("title", "lang", "context", "qas"):
            if key not in row:
                problems.append(f"{path}:{n}: missing {key!r}")
        context = row.get("context", "")
        words = len(context.split())
        if not 60 <= words <= 260:
            problems.append(f"{path}:{n}: context has {words} words (want 60-260)")
        if row.get("lang") not in ("fa", "en"):
            problems.append(f"{path}:{n}: lang must be 'fa' or 'en'")
        paragraphs += 1
        for i, qa in enumerate(row.get("qas", [])):
            for key in ("question_fa", "question_en", "answer"):
                if key not in qa:
                    problems.append(f"{path}:{n}: question {i} lacks {key!r}")
            if not (qa.get("question_fa") or "").strip() or not (qa.get("question_en") or "").strip():
                problems.append(f"{path}:{n}: question {i} has an empty question")
            answer = qa.get("answer")
            if answer is None:
                impossible += 1
            elif not answer.strip() or answer not in context:
                problems.append(f"{path}:{n}: question {i}: answer {answer!r} is not an exact substring of the context")
            else:
                answerable += 1
    print(f"{path}: {paragraphs} paragraphs, {answerable} answerable, {impossible} unanswerable questions")
    return problems


if __name__ == "__main__":
    found = [p for path in sys.argv[1:] for p in check(path)]
    print("\n".join(found) if found else "ok")
    sys.exit(1 if found else 0)

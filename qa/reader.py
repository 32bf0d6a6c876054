"""Optional extractive reader: a local question-answering model picks the answer span.

When `QA_READER_MODEL` names a folder (or cached name) of a transformers
`AutoModelForQuestionAnswering`, for instance a Persian SQuAD-style model a user has
downloaded, it reads the top passages and returns the best span with its score and the
model's own no-answer score. Without it the service answers with the sentence selector
of `qa.answer`. Loaded from local files only, and only when configured: importing
transformers and torch costs seconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from qa.errors import ModelUnavailable
from qa.models import Paragraph
from qa.text import Span

MAX_LENGTH = 384
STRIDE = 128
MAX_ANSWER_TOKENS = 30
TOP_TOKENS = 20


@dataclass(slots=True)
class ReaderSpan:
    """The reader's best span in one paragraph, with its span and no-answer scores."""

    paragraph: Paragraph
    span: Span
    score: float
    null_score: float

    @property
    def confidence(self) -> float:
        """How much the model prefers this span to "no answer", as a probability."""
        gap = self.score - self.null_score
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, gap))))


class ExtractiveReader:
    """A transformers question-answering model over (question, paragraph) pairs."""

    def __init__(self, name: str, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
            self._model = AutoModelForQuestionAnswering.from_pretrained(name, local_files_only=True).to(device)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"cannot load the reader model {name!r} from local files ({exc}). Give a folder holding "
                "a question-answering model (AutoModelForQuestionAnswering), or unset QA_READER_MODEL."
            ) from exc
        if not getattr(self._tokenizer, "is_fast", False):
            raise ModelUnavailable(f"the reader model {name!r} needs a fast tokenizer (for character offsets).")
        self._model.eval()
        positions = getattr(self._model.config, "max_position_embeddings", MAX_LENGTH)
        self.max_length = min(MAX_LENGTH, positions, self._tokenizer.model_max_length)
        self._torch = torch
        self._device = device
        self.name = name

    def read(self, question: str, paragraphs: Sequence[Paragraph]) -> ReaderSpan | None:
        """The best span over the paragraphs (long ones are read in overlapping windows)."""
        if not paragraphs:
            return None
        encoded = self._tokenizer(
            [question] * len(paragraphs),
            [p.text for p in paragraphs],
            truncation="only_second",
            max_length=self.max_length,
            stride=min(STRIDE, self.max_length // 3),
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )
        owners = encoded.pop("overflow_to_sample_mapping").tolist()
        offsets = encoded.pop("offset_mapping").tolist()
        with self._torch.no_grad():
            output = self._model(**{k: v.to(self._device) for k, v in encoded.items()})
        starts, ends = output.start_logits.tolist(), output.end_logits.tolist()
        best: ReaderSpan | None = None
        null = max(s[0] + e[0] for s, e in zip(starts, ends, strict=True))
        for row, owner in enumerate(owners):
            context = {i for i, seq in enumerate(encoded.sequence_ids(row)) if seq == 1}
            paragraph = paragraphs[owner]
            # The usual shortlist: the best start and end tokens, then their valid pairs.
            top_starts = sorted(context, key=lambda i: -starts[row][i])[:TOP_TOKENS]
            top_ends = sorted(context, key=lambda j: -ends[row][j])[:TOP_TOKENS]
            for i in top_starts:
                for j in top_ends:
                    if j < i or j - i >= MAX_ANSWER_TOKENS:
                        continue
                    score = starts[row][i] + ends[row][j]
                    if best is None or score > best.score:
                        start, end = offsets[row][i][0], offsets[row][j][1]
                        if end > start:
                            span = Span(start, end, paragraph.text[start:end])
                            best = ReaderSpan(paragraph, span, score, null)
        return best

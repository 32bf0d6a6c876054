"""Optional extractive reader: a local question-answering model picks the answer span.

When `QA_READER_MODEL` names a folder (or cached name) of a transformers
`AutoModelForQuestionAnswering`, for instance a Persian SQuAD-style model a user has
downloaded, it reads the top passages and returns the best span with its score and the
model's own no-answer score. Without it the service answers with the sentence selector
of `qa.answer`. Loaded from local files only, and only when configured: importing
transformers and torch costs seconds.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import logistic
from qa.errors import ModelUnavailable
from qa.models import Paragraph
from qa.text import Span, sentences

MAX_LENGTH = 384
STRIDE = 128
MAX_ANSWER_TOKENS = 30
TOP_TOKENS = 20
CONTEXT_REACH = 2  # paragraphs either side a short passage may be read with (TrainedReader)

Context = tuple[Sequence[str], Sequence[str]]  # sentences before a passage (nearest last), after it (nearest first)


def reading_contexts(paragraphs: Sequence[Paragraph], neighbours: dict[int, list[Paragraph]]) -> list[Context]:
    """Per paragraph, the citable sentences of its neighbours (`Store.neighbours`) before and
    after it: what `TrainedReader` reads a short passage with."""
    out: list[Context] = []
    for paragraph in paragraphs:
        around = neighbours.get(paragraph.id, [])  # in page order
        before = [s.text for q in around if q.n < paragraph.n for s in sentences(q.text, q.citable_start)]
        after = [s.text for q in around if q.n > paragraph.n for s in sentences(q.text, q.citable_start)]
        out.append((before, after))
    return out


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
        return logistic(self.score - self.null_score)


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


MAX_SPAN_TOKENS = 24
_EDGE_PUNCTUATION = " \t\n،,.;؛:!?؟«»\"'()[]{}"


@dataclass(slots=True)
class ReaderAnswer:
    """The trained reader's choice: the sentence that answers, the span in it, and scores.

    `answer_logit` is the chosen sentence's score minus its window's "no answer" score
    (log-odds that this sentence answers); `runner_up` the same for the next best sentence.
    """

    paragraph: Paragraph
    rank: int  # the passage's place in the retrieved list
    sentence: Span
    span: Span
    answer_logit: float
    runner_up: float
    null_probability: float
    span_score: float


@dataclass(slots=True)
class ReaderPass:
    """One read of some paragraphs with a question: its windows and the heads' outputs."""

    windows: list[Any]  # embeddings.reader_net.Window, each with some sentences of one paragraph
    owners: list[int]  # per window, the index of its paragraph
    spans_of: list[list[tuple[int, int]]]  # per paragraph, its citable sentences' offsets
    choice: np.ndarray  # (windows, 1 + sentences): no-answer logit, then each sentence slot's
    start: np.ndarray  # (windows, tokens): span start logits
    end: np.ndarray  # (windows, tokens): span end logits
    paragraph_ids: list[int]  # the paragraphs read, in the order `owners` counts them

    def owner_of(self, paragraph_id: int) -> int:
        """The index (what `owners` and `word_scores` count) of the read paragraph `paragraph_id`."""
        return self.paragraph_ids.index(paragraph_id)

    def sentence_log_odds(self, w: int, k: int) -> float:
        """Window w's sentence slot k: its log-odds of answering against the window's "no answer"."""
        return float(self.choice[w, k + 1] - self.choice[w, 0])

    def sentence_logits(self) -> list[dict[int, float]]:
        """Per paragraph, each citable sentence's log-odds of answering (by the sentence's start
        offset; a sentence read in two windows keeps its better score)."""
        out: list[dict[int, float]] = [{} for _ in self.spans_of]
        for w, window in enumerate(self.windows):
            scores = out[self.owners[w]]
            for k, index in enumerate(window.sentence_index):
                start = self.spans_of[self.owners[w]][index][0]
                logit = self.sentence_log_odds(w, k)
                scores[start] = max(scores.get(start, logit), logit)
        return out

    def word_scores(self, owner: int, words: Sequence[Span]) -> tuple[np.ndarray, np.ndarray]:
        """The span head's start and end scores of each of `words` (offsets into paragraph
        `owner`'s text): a word's start is the best start score of its tokens, its end the best
        end score; over every window that read it. -inf for a word no window read."""
        starts = np.full(len(words), -np.inf)
        ends = np.full(len(words), -np.inf)
        if not words:
            return starts, ends
        firsts = [word.start for word in words]
        for w, window in enumerate(self.windows):
            if self.owners[w] != owner:
                continue
            for t, offset in enumerate(window.offsets):
                if offset is None or offset[1] <= offset[0]:
                    continue
                k = bisect_right(firsts, offset[0]) - 1
                if k < 0 or offset[0] >= words[k].end:
                    continue
                starts[k] = max(starts[k], float(self.start[w, t]))
                last = bisect_right(firsts, offset[1] - 1) - 1
                if last >= 0 and offset[1] <= words[last].end:
                    ends[last] = max(ends[last], float(self.end[w, t]))
        return starts, ends


def _word_bounds(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """`start:end` widened to whole words inside `lo:hi`, without edge punctuation."""
    while start > lo and not text[start - 1].isspace():
        start -= 1
    while end < hi and not text[end].isspace() and text[end] not in "،,;؛:!?؟»)":
        end += 1
    while start < end and text[start] in _EDGE_PUNCTUATION:
        start += 1
    while end > start and text[end - 1] in _EDGE_PUNCTUATION:
        end -= 1
    return start, end


class TrainedReader:
    """The reader trained by bench/train_reader.py from the bundled encoder (`models/reader/`).

    It reads each passage (in windows of whole sentences) with the question, scores every
    sentence against "no answer", and cuts the answer span out of the best sentence.
    """

    def __init__(self, folder: Path, encoder: tuple[Any, Any] | None = None) -> None:
        """Load `folder` onto the bundled encoder, or onto `encoder` (a BertModel and an
        E5Tokenizer-like tokenizer: the tests use a tiny one)."""
        import torch
        from safetensors.torch import load_file

        from embeddings.e5_encoder import load_encoder
        from embeddings.reader_net import WEIGHTS_FILE, ReaderConfig, build_heads, load_trained_state

        try:
            self.config = ReaderConfig.load(folder)
            state = load_file(str(folder / WEIGHTS_FILE))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailable(
                f"cannot load the trained reader from {folder} ({exc}); rebuild it with "
                "`.venv/bin/python bench/train_reader.py`, or set QA_READER=off."
            ) from exc
        self._model, self._tokenizer = encoder or load_encoder()
        self._heads = build_heads(self._model.config.hidden_size)
        load_trained_state(self._model, self._heads, state)
        self._model.eval()
        self._heads.eval()
        self._torch = torch
        self.name = str(folder)

    def sentence_logits(
        self, question: str, paragraphs: Sequence[Paragraph], contexts: Sequence[Context] | None = None
    ) -> list[dict[int, float]]:
        """Per paragraph, each citable sentence's log-odds of answering the question against
        its window's "no answer" (`ReaderPass.sentence_logits`): what the sentence selector
        weighs beside its own. `contexts` (one per paragraph) is the text around each in its
        document."""
        read = self.read_passages(question, paragraphs, contexts)
        return read.sentence_logits() if read is not None else [{} for _ in paragraphs]

    def read_passages(
        self, question: str, paragraphs: Sequence[Paragraph], contexts: Sequence[Context] | None = None
    ) -> ReaderPass | None:
        """The windows of the paragraphs read with the question (each with its context, when
        given), and the heads' outputs."""
        from embeddings.reader_net import batch_tensors, encode_in_context, read_windows

        windows, owners, spans_of = [], [], []
        for rank, paragraph in enumerate(paragraphs):
            # A glued date stamp or agency tag (before citable_start) is never read as an answer.
            spans = [(s.start, s.end) for s in sentences(paragraph.text, paragraph.citable_start)]
            spans_of.append(spans)
            before, after = contexts[rank] if contexts else ((), ())
            for window in encode_in_context(
                self._tokenizer, question, paragraph.title, paragraph.text, spans, before, after, self.config.max_length
            ):
                if window.sentences:
                    windows.append(window)
                    owners.append(rank)
        if not windows:
            return None
        torch = self._torch
        batch = batch_tensors(windows, self._tokenizer.pad)
        with torch.inference_mode():
            choice, start, end = read_windows(self._model, self._heads, batch)
        return ReaderPass(
            windows, owners, spans_of, choice.numpy(), start.numpy(), end.numpy(), [p.id for p in paragraphs]
        )

    def read(
        self, question: str, paragraphs: Sequence[Paragraph], contexts: Sequence[Context] | None = None
    ) -> ReaderAnswer | None:
        """The best answering sentence of the paragraphs and the span in it, with scores."""
        read = self.read_passages(question, paragraphs, contexts)
        if read is None:
            return None
        windows, owners, spans_of = read.windows, read.owners, read.spans_of
        choice, start, end = read.choice, read.start, read.end
        options = []  # (log-odds, window, sentence slot)
        for w, window in enumerate(windows):
            for k in range(len(window.sentences)):
                options.append((read.sentence_log_odds(w, k), w, k))
        options.sort(key=lambda o: -o[0])
        best, w, k = options[0]
        rank = owners[w]
        # The runner-up is the best other sentence (the same sentence read in another window is not).
        chosen_sentence = (rank, windows[w].sentence_index[k])
        runner_up = next(
            (o[0] for o in options[1:] if (owners[o[1]], windows[o[1]].sentence_index[o[2]]) != chosen_sentence),
            best - 10.0,
        )
        window, paragraph = windows[w], paragraphs[rank]
        first, stop = window.sentences[k]
        s_start, s_end = spans_of[rank][window.sentence_index[k]]
        best_span, best_score = (first, first), float("-inf")
        for i in range(first, stop):
            for j in range(i, min(stop, i + MAX_SPAN_TOKENS)):
                score = float(start[w, i] + end[w, j])
                if score > best_score:
                    best_span, best_score = (i, j), score
        a, b = window.offsets[best_span[0]][0], window.offsets[best_span[1]][1]
        a, b = _word_bounds(paragraph.text, max(a, s_start), min(b, s_end), s_start, s_end)
        if b <= a:
            a, b = s_start, s_end
        row = choice[w, : len(window.sentences) + 1]
        null_probability = float(np.exp(row[0] - row.max()) / np.exp(row - row.max()).sum())
        return ReaderAnswer(
            paragraph=paragraph,
            rank=rank,
            sentence=Span(s_start, s_end, paragraph.text[s_start:s_end]),
            span=Span(a, b, paragraph.text[a:b]),
            answer_logit=best,
            runner_up=runner_up,
            null_probability=null_probability,
            span_score=best_score - float(start[w, 0] + end[w, 0]),
        )


@dataclass(frozen=True, slots=True)
class ReaderBlend:
    """How the trained reader joins the sentence selector for one question language.

    The reader alone picks the answering sentence less often than the selector, but it reads
    question and passage together, which the selector's cosines and word overlaps cannot; so
    it adds `beta` times its log-odds to the ranker's score of every candidate sentence, and
    the confidence reweighs the selector's calibrated log-odds beside the reader's log-odds
    of the chosen sentence. Fitted by bench/blend_reader.py on questions neither the reader
    nor the selector was fitted on, stored in the reader folder's config.json.
    """

    beta: float
    selector: float
    reader: float
    bias: float

    @classmethod
    def of(cls, calibration: dict[str, dict[str, Any]], language: str) -> ReaderBlend | None:
        """The blend for `language` (English's for a language without its own), or None."""
        params = calibration.get(language) or calibration.get("en")
        if not params or "beta" not in params:
            return None
        return cls(float(params["beta"]), float(params["selector"]), float(params["reader"]), float(params["bias"]))

    def confidence(self, selector_logit: float, reader_logit: float) -> float:
        return logistic(self.bias + self.selector * selector_logit + self.reader * reader_logit)


MISSING_LOGIT = -10.0  # a candidate sentence the reader did not score (it reads the same passages)


def candidate_logits(read: ReaderPass | None, candidates: Sequence[Any]) -> np.ndarray:
    """The reader's log-odds for each selector candidate (qa.answer.Candidate), from the reading
    `read` (`TrainedReader.read_passages`) of their paragraphs; MISSING_LOGIT where it read none."""
    if read is None:
        return np.full(len(candidates), MISSING_LOGIT)
    logits = read.sentence_logits()
    by_id = {paragraph_id: i for i, paragraph_id in enumerate(read.paragraph_ids)}
    return np.array(
        [
            logits[by_id[c.paragraph.id]].get(c.span.start, MISSING_LOGIT) if c.paragraph.id in by_id else MISSING_LOGIT
            for c in candidates
        ]
    )

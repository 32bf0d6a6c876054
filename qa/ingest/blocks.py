"""The blocks of a page, each labelled body, heading or furniture, with the reason why.

A scraped news page is mostly not its article: a breadcrumb, image captions, related-news
lists, newsletter and messenger promos, share rows, bylines, tags, comment forms. Which
block is which is decided from structure and language, the way jusText and trafilatura
decide, not from phrases of particular sites:

- a block's own shape: its words, whether it ends a sentence, its stop-word density
  (hazm's Persian list and jusText's English one), its share of digits and symbols and of
  URLs, and the shapes of a field (`label: value`), a caption (`name، description`), a
  breadcrumb (`home / section / headline`) and a row of links (`a | b | c`);
- the corpus: a short block that other documents hold too is site furniture;
- its neighbours: a short line above body text is a section heading, one with nothing
  under it is furniture, and the last short line above the first body text is the
  headline. A section marker (other news, related, comments, newsletter, tags, share)
  opens a furniture section that lasts until the next body block; the comments section
  (a form, its rules, the comments) lasts to the end of the page.

Only the section markers, messenger names and "back to top" lines are word lists: they
name kinds of page furniture that every news site has, in Persian and English.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from qa.models import Block
from qa.text import normalize, stopwords

BODY, HEADING, FURNITURE = "body", "heading", "furniture"

HEADING_MAX_WORDS = 10  # a section heading is a few words; longer non-sentences are captions or teasers
HEADLINE_MAX_WORDS = 20
HEADLINE_MIN_WORDS = 3  # shorter lines above the article are site names and section labels
MARKER_MAX_WORDS = 6
RECURRENCE_MAX_WORDS = 30  # longer blocks are prose even when another page repeats them (syndicated copy)
PROSE_WORDS = 15  # a sentence this long is prose even when other documents hold it (syndicated copy)
LONG_PROSE_WORDS = 15  # this long, with stop words, is prose even without a final stop
SECTION_END_WORDS = 6  # a sentence ending in a full stop this long ends a furniture section
SECTION_END_LONG_WORDS = 25  # or any prose this long
MIN_STOP_DENSITY = 0.2
FEATURE_CHARS = 2000  # features of a long block are read from its opening
MAX_WORD_CHARS = 40  # the longest words of either language are far shorter

_SENTENCE_END = re.compile(r"[.!?؟…][\"'»”’)\]]*$")
_FULL_STOP = re.compile(r"[.۔][\"'»”’)\]]*$")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|ir|org|net|io|me|info|news|tv)(?:/\S*)?|(?<!\w)@[A-Za-z0-9_]{3,}",
    re.I,
)
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
_FIELD = re.compile(r"^[\-–—•*·\s]*(?P<label>[^:：\n]{1,40}?)\s*[:：]\s*(?P<value>.*)$")
_BREADCRUMB = re.compile(r"\s+[/>»›]\s+")
_LINK_ROW = re.compile(r"\s+[|·•]\s+")
_APPOSITION = re.compile(r"\s*[،,]\s*")
_CREDIT = re.compile(r"^\W*(?:©|\(c\)|copyright\b)", re.I)
_BYLINE = re.compile(r"^(?:by|posted by|written by|reported by)\s+\S", re.I)
MONTHS = (  # noqa: SIM905 (one string per calendar reads better than 48 list items)
    "فروردین اردیبهشت خرداد تیر مرداد شهریور مهر آبان آذر دی بهمن اسفند "
    "ژانویه فوریه مارس آوریل مه ژوئن ژوئیه اوت سپتامبر اکتبر نوامبر دسامبر "
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
_MONTH = "|".join(MONTHS)
# On normalised text (digits folded to ASCII): "12 آذر 1403", "12 March 2024", "Dec 2, 2024".
_DATE = re.compile(rf"(?<!\w)(?:\d{{1,2}}\s+(?:{_MONTH})\s+\d{{2,4}}|(?:{_MONTH})\.?\s+\d{{1,2}},?\s+\d{{4}})(?!\w)")

SECTION_MARKERS: dict[str, tuple[str, ...]] = {
    "related news": (
        "خبرهای دیگر",
        "اخبار دیگر",
        "اخبار مرتبط",
        "خبرهای مرتبط",
        "مطالب مرتبط",
        "مطالب پیشنهادی",
        "بیشتر بخوانید",
        "پربازدیدترین",
        "پربازدیدها",
        "آخرین اخبار",
        "پیشنهاد سردبیر",
        "related",
        "read more",
        "read also",
        "more stories",
        "more news",
        "most read",
        "most popular",
        "latest news",
        "you may also like",
        "recommended",
    ),
    "newsletter": ("خبرنامه", "newsletter", "subscribe", "sign up"),
    "tags": ("برچسب ها", "برچسب", "تگ ها", "کلیدواژه ها", "کلید واژه", "کلمات کلیدی", "tags", "topics", "keywords"),
    "share": ("اشتراک گذاری", "به اشتراک بگذارید", "چاپ خبر", "ارسال به دوستان", "share", "print"),
}
# Matched as the whole block (digits and punctuation aside): the section runs to the page's end,
# so "نظرات کارشناسان" (experts' views), a heading that merely holds the word, must not open it.
COMMENT_MARKERS = (
    "نظرات",
    "نظر شما",
    "ارسال نظر",
    "دیدگاه",
    "دیدگاه ها",
    "نظرات کاربران",
    "comments",
    "comment",
    "leave a comment",
    "leave a reply",
    "your comment",
    "post a comment",
)
NAVIGATION = ("بازگشت به بالا", "برگشت به بالا", "بالای صفحه", "back to top", "to top", "top")
MESSENGERS = ("تلگرام", "ایتا", "روبیکا", "اینستاگرام", "واتساپ", "telegram", "whatsapp", "instagram", "eitaa")


def _phrase_pattern(phrases: tuple[str, ...], whole: bool) -> re.Pattern[str]:
    """One regex for normalised phrases, a space matching a space, a ZWNJ or nothing."""
    alternatives = sorted({re.escape(normalize(p)).replace(r"\ ", r"\s?") for p in phrases}, key=len, reverse=True)
    body = "|".join(alternatives)
    return re.compile(rf"^(?:{body})$" if whole else rf"(?<!\w)(?:{body})(?!\w)")


_MARKED_BODY = {"item": "a list item", "cell": "a table cell", "quote": "a quote"}
_SECTION_PATTERNS = {kind: _phrase_pattern(phrases, whole=False) for kind, phrases in SECTION_MARKERS.items()}
_COMMENTS = _phrase_pattern(COMMENT_MARKERS, whole=True)
_NAVIGATION = _phrase_pattern(NAVIGATION, whole=True)
_MESSENGER = _phrase_pattern(MESSENGERS, whole=False)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """hazm's Persian stop words (normalised, via `qa.text`) and jusText's English list."""
    import justext

    return stopwords() | {w.lower() for w in justext.get_stoplist("English")}


def block_key(text: str) -> str:
    """What a block shares with its copies on other pages: a hash of its normalised words.

    Only short blocks get one ("" otherwise): only they can be furniture by recurring.
    """
    if len(text.split()) > RECURRENCE_MAX_WORDS:
        return ""
    words = " ".join(_WORD.findall(normalize(text)))
    return hashlib.sha1(words.encode()).hexdigest()[:16] if words else ""


def split_blocks(text: str) -> list[str]:
    """The non-empty lines of extracted text, each trimmed, inner runs of spaces collapsed."""
    blocks = (" ".join(line.split()) for line in text.splitlines())
    return [b for b in blocks if b]


@dataclass(slots=True)
class _Block:
    n: int
    text: str
    markup: str
    key: str
    words: int
    ends_sentence: bool
    stop_density: float
    label: str = ""  # "" while undecided: a short non-sentence, placed by its neighbours
    reason: str = ""
    opens: str = ""  # the kind of furniture section a marker opens
    weak: bool = False  # furniture only for want of body text: kept when a page has none
    in_section: bool = False
    is_title: bool = False
    crumbs: list[str] = field(default_factory=list)
    section: str = ""

    @property
    def strong_body(self) -> bool:
        """Body text that ends a furniture section (a related headline rarely ends in a full stop)."""
        return self.label == BODY and (
            self.words >= SECTION_END_LONG_WORDS
            or (self.words >= SECTION_END_WORDS and bool(_FULL_STOP.search(self.text)))
        )

    def set(self, label: str, reason: str, weak: bool = False) -> None:
        self.label, self.reason, self.weak = label, reason, weak


@dataclass(slots=True)
class Page:
    """A page's labelled blocks, its headline as the page spells it ("" when none) and the blocks' keys."""

    blocks: list[Block]
    headline: str = ""
    keys: list[str] = field(default_factory=list)


def _features(n: int, text: str, markup: str) -> _Block:
    head = text[:FEATURE_CHARS]
    words = _WORD.findall(normalize(head))
    stop = stop_words()
    density = sum(w in stop for w in words) / len(words) if words else 0.0
    return _Block(
        n=n,
        text=text,
        markup=markup,
        key=block_key(text),
        words=len(text.split()),
        ends_sentence=bool(_SENTENCE_END.search(text)),
        stop_density=density,
    )


def _share(pattern: re.Pattern[str], text: str) -> float:
    """The share of the visible characters (of the block's opening) that `pattern` matches."""
    text = text[:FEATURE_CHARS]
    chars = len(text) - text.count(" ")
    return sum(len(m.group()) - m.group().count(" ") for m in pattern.finditer(text)) / max(chars, 1)


def _symbol_share(text: str) -> float:
    """Digits and symbols among the visible characters: high in date stamps, ids, counters."""
    visible = [c for c in text[:FEATURE_CHARS] if not c.isspace()]
    return sum(not _LETTER.match(c) for c in visible) / max(len(visible), 1)


def _marker(b: _Block) -> str:
    """The kind of furniture section a short line opens, or ""."""
    if b.words > MARKER_MAX_WORDS or b.ends_sentence:
        return ""
    key = normalize(b.text)
    bare = " ".join(re.findall(r"[^\W\d_]+", key))
    if _COMMENTS.match(bare):
        return "comments"
    for kind, pattern in _SECTION_PATTERNS.items():
        if pattern.search(key):
            return kind
    return ""


def _field(b: _Block) -> tuple[str, str] | None:
    """(label, value) of a `label: value` line such as a byline, a source or a news id."""
    match = _FIELD.match(b.text)
    if not match or b.words > 12:
        return None
    label, value = match.group("label").strip(), match.group("value").strip()
    if not label or len(label.split()) > 3 or not _LETTER.search(label):
        return None
    if b.ends_sentence and len(value.split()) > 2:
        return None
    return label, value


def _breadcrumb(text: str) -> list[str]:
    """The segments of a breadcrumb trail (home / section / page), or []."""
    parts = _BREADCRUMB.split(text)
    if len(parts) >= 3 and all(len(p.split()) <= 4 for p in parts[:-1]):
        return parts
    return []


def _intrinsic(b: _Block, recurring: Mapping[str, int]) -> None:
    """Label a block by its own shape (and the corpus); leave short non-sentences undecided."""
    text = b.text
    if not _WORD.search(text):
        return b.set(FURNITURE, "no words, only punctuation or symbols")
    if (url := _share(_URL, text)) >= 0.5:
        return b.set(FURNITURE, f"a link: {url:.0%} of its characters are a URL or a handle")
    if len(text) > MAX_WORD_CHARS * b.words:
        return b.set(FURNITURE, f"not words: over {MAX_WORD_CHARS} characters a word (a blob or a run-on token)")
    if (symbols := _symbol_share(text)) >= 0.5:
        return b.set(FURNITURE, f"{symbols:.0%} digits and symbols: a date stamp, a news id or a counter")
    if _CREDIT.match(text) and b.words <= 12:
        return b.set(FURNITURE, "a credit or copyright line (©)")
    if not b.ends_sentence and b.words <= 12 and (_BYLINE.match(text) or _DATE.search(normalize(text))):
        return b.set(FURNITURE, "a date line or byline (when, by whom), not prose")
    parts = _field(b)
    if (kind := _marker(b)) and b.markup != "cell" and not (parts and parts[1]):
        b.opens = kind
        return b.set(FURNITURE, f"opens a {kind} section")
    bare = " ".join(re.findall(r"[^\W\d_]+", normalize(text)))
    if b.words <= 4 and _NAVIGATION.match(bare):
        return b.set(FURNITURE, "a 'back to top' button")
    if crumbs := _breadcrumb(text):
        b.crumbs = crumbs
        return b.set(FURNITURE, f"a breadcrumb trail of {len(crumbs)} segments")
    if len(row := _LINK_ROW.split(text)) >= 3 and all(len(p.split()) <= 3 for p in row):
        return b.set(FURNITURE, f"a row of {len(row)} short links (a menu or share bar)")
    if parts:
        label, value = parts
        what = f"a label with no value («{label}:»)" if not value else f"a 'label: value' field («{label}: …»)"
        return b.set(FURNITURE, f"{what}: a byline, source, date, news id or tag line")
    if b.words <= 15 and _MESSENGER.search(normalize(text)) and (url > 0 or not b.ends_sentence):
        return b.set(FURNITURE, "a messenger-channel promo")
    prose = b.ends_sentence and b.words >= PROSE_WORDS
    if b.key and not prose and (others := recurring.get(b.key, 0)):
        # weak: a document that is all recurring text is a copy of another, not furniture
        what = f"recurs in {others} other document{'s' * (others > 1)} of the corpus: site furniture"
        return b.set(FURNITURE, what, weak=True)
    if b.markup == "heading":
        return b.set(HEADING, "marked as a heading by the file's markup")
    if kind := _MARKED_BODY.get(b.markup):
        return b.set(BODY, f"{kind} in the file's markup")
    if not b.ends_sentence and 2 <= b.words <= 8 and b.stop_density <= MIN_STOP_DENSITY:
        parts_ = _APPOSITION.split(text)
        if len(parts_) == 2 and all(1 <= len(p.split()) <= 5 for p in parts_):
            return b.set(FURNITURE, "a name and a description, no sentence: an image caption")
    if b.ends_sentence and b.words >= 3:
        return b.set(BODY, f"a sentence of {b.words} words ({b.stop_density:.0%} stop words)")
    if text.endswith((":", "：")) and b.words >= 4:
        return b.set(BODY, f"{b.words} words introducing what follows")
    if b.words >= LONG_PROSE_WORDS:
        if b.stop_density >= MIN_STOP_DENSITY:
            return b.set(BODY, f"prose of {b.words} words ({b.stop_density:.0%} stop words) without a final stop")
        return b.set(FURNITURE, f"{b.words} words with few stop words ({b.stop_density:.0%}): a list, not prose")
    return None  # a short line that ends no sentence: heading, headline or furniture by its neighbours


def _sections(blocks: list[_Block]) -> None:
    """A marker's section: every block up to the next body text (comments: to the end) is furniture."""
    opened: _Block | None = None
    for b in blocks:
        if b.opens and (opened is None or opened.opens != "comments"):
            opened = b
            continue
        if opened is None:
            continue
        if opened.opens != "comments" and (b.strong_body or b.markup == "heading"):
            opened = None
        elif b.label != FURNITURE or b.opens:
            b.set(FURNITURE, f"in the {opened.opens} section opened by block {opened.n} («{opened.text}»)")
            b.in_section = True


def _same(a: str, b: str) -> bool:
    return bool(a) and normalize(a).strip(" .") == normalize(b).strip(" .")


def _header(blocks: list[_Block], title: str) -> str:
    """Label the undecided lines above the first body text; the headline among them, or ""."""
    first_body = next((i for i, b in enumerate(blocks) if b.label == BODY), len(blocks))
    crumbs = next((b.crumbs for b in blocks[:first_body] if b.crumbs), [])
    headline = crumbs[-1] if crumbs and len(crumbs[-1].split()) >= HEADLINE_MIN_WORDS else ""
    header = [b for b in blocks[:first_body] if not b.label]
    chosen = next((b for b in header if _same(title, b.text)), None)
    chosen = chosen or next((b for b in header if _same(headline, b.text)), None)
    if chosen is None and not title and not headline:
        fits = [b for b in header if HEADLINE_MIN_WORDS <= b.words <= HEADLINE_MAX_WORDS]
        chosen = fits[-1] if fits else None
    for b in header:
        if b is chosen:
            b.set(HEADING, "the page's headline: the document's title")
            b.is_title = True
        else:
            b.set(FURNITURE, "above the headline and the first body text: page header (site name, section, date)", True)
    return chosen.text if chosen else headline


def _below(blocks: list[_Block], i: int) -> _Block | None:
    """The next block that is not passive furniture (a caption, credit or field may stand between)."""
    for b in blocks[i + 1 :]:
        if b.label != FURNITURE or b.opens or b.in_section or b.weak:
            return b
    return None


def _headings(blocks: list[_Block], title: str) -> None:
    """Undecided lines below the header: a heading when body text follows, else furniture."""
    for i, b in enumerate(blocks):
        if b.label:
            continue
        if _same(title, b.text):
            b.set(HEADING, "the document's title")
            b.is_title = True
            continue
        below = _below(blocks, i)
        if below is None or below.label != BODY:
            b.set(FURNITURE, "a short line with no body text under it", True)
        elif b.words > HEADING_MAX_WORDS:
            b.set(FURNITURE, f"{b.words} words, no sentence, too long for a heading: a caption or teaser")
        else:
            b.set(HEADING, f"a short line ({b.words} words, no sentence end) above body text: a section heading")


def classify(
    texts: list[str],
    marked: Mapping[str, str] | None = None,
    recurring: Mapping[str, int] | None = None,
    title: str = "",
) -> Page:
    """Label each block of a page body, heading or furniture, with the reason.

    `marked` is the file's markup (block text -> "heading", "item", "cell", "quote"),
    `recurring` how many other documents of the corpus hold each `block_key`, `title` the
    title the file or the user gave (its block is a heading, not body).

    Example:
        >>> page = classify(["خبرهای دیگر", "تیتر یک خبر دیگر", "متن اصلی خبر در اینجا آمده است."])
        >>> [b.label for b in page.blocks]
        ['furniture', 'furniture', 'body']
    """
    marked, recurring = marked or {}, recurring or {}
    blocks = [_features(n, text, marked.get(text, "")) for n, text in enumerate(texts)]
    sentences = [b for b in blocks if b.ends_sentence]
    if sum(bool(recurring.get(b.key)) for b in sentences) * 2 >= len(sentences) > 0:
        # Most of its prose is in other documents too: a copy of one of them, whose sentences
        # are its content; only its non-sentences may still be site furniture by recurring.
        recurring = {b.key: n for b in blocks if not b.ends_sentence and (n := recurring.get(b.key, 0))}
    for b in blocks:
        _intrinsic(b, recurring)
    _sections(blocks)
    headline = _header(blocks, title)
    _headings(blocks, title or headline)
    for b in blocks:
        if b.label == HEADING and not b.is_title and _same(title or headline, b.text):
            b.set(HEADING, "the page's headline: the document's title")
            b.is_title = True
    headline = next((b.text for b in blocks if b.is_title), headline)
    if not any(b.label == BODY for b in blocks):  # a note of a line or two: all the text there is
        for b in blocks:
            if b.weak or (b.label == HEADING and not b.is_title):
                b.set(BODY, "the only text there is: kept though it ends no sentence")
    section = ""
    for b in blocks:
        if b.label == HEADING and not b.is_title:
            section = b.text
        elif b.label == BODY:
            b.section = section
    return Page([Block(b.n, b.text, b.label, b.reason, b.section) for b in blocks], headline, [b.key for b in blocks])

"""Match a name written in Latin letters with the same name in Persian script.

An English question over Persian text shares no word with it, yet it names the people and
places the answer is about: "al-Sudani" is «السودانی», "Pezeshkian" «پزشکیان». Persian
writes few vowels, so both sides are reduced to a consonant skeleton: vowels (and the
letters that stand for them, ا و ی ه ع) are dropped, letters that sound alike fold into one
class (س ص ث → s, ز ذ ض ظ → z, ت ط → t, ق غ گ and g → g, ج ژ and j → j), doubled letters
collapse, and an Arabic article «ال» may be left off. No dictionary, no model: it works for
names the project has never seen, at the cost of chance matches between short skeletons
(«اسد» "sd" is also «سعید»), which is why a name counts by its skeleton's length.

Example:
    >>> latin_skeleton("Pezeshkian") == persian_skeleton("پزشکیان")
    True
    >>> latin_skeleton("Sudani") in persian_skeletons("السودانی")
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from qa.text import tokens

MIN_CONSONANTS = 2

_LATIN_DIGRAPHS = (("sh", "S"), ("ch", "C"), ("kh", "x"), ("gh", "g"), ("zh", "j"), ("ph", "f"), ("th", "t"))
_LATIN = str.maketrans({"q": "g", "c": "k", "w": "v"})
_LATIN_DROP = re.compile(r"[aeiouyh'`\-]")
_PERSIAN = str.maketrans(
    {
        "ب": "b",
        "پ": "p",
        "ت": "t",
        "ط": "t",
        "ث": "s",
        "س": "s",
        "ص": "s",
        "ج": "j",
        "ژ": "j",
        "چ": "C",
        "خ": "x",
        "د": "d",
        "ذ": "z",
        "ز": "z",
        "ض": "z",
        "ظ": "z",
        "ر": "r",
        "ش": "S",
        "غ": "g",
        "ق": "g",
        "گ": "g",
        "ف": "f",
        "ک": "k",
        "ك": "k",
        "ل": "l",
        "م": "m",
        "ن": "n",
        "ح": "",
        "ه": "",
        "ة": "",
        "ا": "",
        "آ": "",
        "أ": "",
        "إ": "",
        "ء": "",
        "ئ": "",
        "ؤ": "",
        "ع": "",
        "و": "",
        "ی": "",
        "ي": "",
        "ى": "",
    }
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'`]+")
_POSSESSIVE = re.compile(r"['`’]s\b")
_SOFT_C = re.compile(r"c(?=[eiy])")


def _collapse(text: str) -> str:
    return re.sub(r"(.)\1+", r"\1", text)


def latin_skeleton(word: str) -> str:
    """The consonant skeleton of a word in Latin letters: "Assad" -> "sd"."""
    text = _SOFT_C.sub("s", word.lower())  # "UNICEF": the c of ce, ci, cy sounds s
    for digraph, sound in _LATIN_DIGRAPHS:
        text = text.replace(digraph, sound)
    return _collapse(_LATIN_DROP.sub("", text).translate(_LATIN))


_DEMONYM_ENDINGS = ("ian", "ean", "an", "ese", "ish", "ic", "i")
_OPENING_H = "h"  # the skeleton letter of an opening h, «ه» or «ح» (elsewhere they are dropped as vowels are)


def latin_skeletons(word: str) -> frozenset[str]:
    """A Latin-letter name's skeleton and the variants Persian spellings of it come to
    (MIN_CONSONANTS or more): a w Persian writes as a vowel «و» ("Rowling" «رولینگ»), an opening
    v or w it writes «و» ("Voldemort" «ولدمورت»: «و» opening a word is dropped like any other),
    an x it writes «کس» ("Maxwell" «ماکسول»), an English plural s ("Huns"), and the place a
    demonym is made from ("Syrian" «سوریه», "Iraqi" «عراق», "Lebanese" «لبنان», "Kurdish" «کرد»,
    "Hunnic" «هون»). An opening h counts as a consonant in one more variant: a short name is then
    long enough to be found ("Huns" «هون‌ها», "Harry" «هری»), as Persian writes it «ه» or «ح»."""
    lowered = word.lower()
    out: set[str] = set()
    stems = [lowered[: -len(end)] for end in _DEMONYM_ENDINGS if lowered.endswith(end) and len(lowered) - len(end) >= 3]
    for base in {lowered, lowered.replace("x", "ks"), *stems}:
        for form in {base, base.replace("w", ""), base[1:] if base[:1] in "vw" else base}:
            for spelled in (form, form[:-1]) if form.endswith("s") else (form,):
                out.add(latin_skeleton(spelled))
                if spelled[:1] == "h" and spelled[1:2] not in ("", "h"):  # latin_skeleton drops every h
                    out.add(_OPENING_H + latin_skeleton(spelled[1:]))
    return frozenset(s for s in out if len(s) >= MIN_CONSONANTS)


def persian_skeleton(word: str) -> str:
    """The consonant skeleton of a word in Persian script: «اسد» -> "sd"."""
    letters = "".join(ch for ch in word if "\u0600" <= ch <= "\u06ff" and ch.isalpha())  # no digits, no «،»
    return _collapse(letters.translate(_PERSIAN))


@lru_cache(maxsize=65536)
def persian_skeletons(word: str) -> frozenset[str]:
    """A Persian word's skeletons: as written, for «ال...» without the Arabic article, and for a
    word of three letters or more opening with «ه» or «ح» with that letter as a consonant
    (latin_skeletons' opening h; not «هر» "every" nor «هم» "also", which would be "Harry" and "Hamas")."""
    out = {persian_skeleton(word)}
    if word.startswith("ال") and len(word) > 4:
        out.add(persian_skeleton(word[2:]))
    if word[:1] in "هح" and len(word) >= 3:
        out.add(_OPENING_H + persian_skeleton(word[1:]))
    return frozenset(s for s in out if s)


def _name_text(text: str) -> str:
    """A text as its names are read: no possessive ("Saladin's" names Saladin), hyphens as spaces
    ("al-Sudani")."""
    return _POSSESSIVE.sub("", text.replace("’", "'")).replace("-", " ")


def latin_names(text: str, stopwords: frozenset[str]) -> list[str]:
    """The skeletons of the names a text writes in Latin letters: its capitalised words that
    are not stop words, or all its words but stop words when it has none (a question typed in
    lower case), of two consonants or more ("al-Sudani" gives "Sudani"; "al" is too short)."""
    text = _name_text(text)
    words = [w for w in _LATIN_WORD.findall(text) if w.lower() not in stopwords]
    capitalised = [w for w in words if w[0].isupper()]
    out = []
    for word in capitalised or words:
        skeleton = latin_skeleton(word)
        if len(skeleton) >= MIN_CONSONANTS and skeleton not in out:
            out.append(skeleton)
    return out


_ROMAN_NUMERAL = re.compile(r"[IVXLC]+")


def name_runs(text: str, stopwords: frozenset[str]) -> list[tuple[str, ...]]:
    """The names a question writes in Latin letters, as runs of capitalised words that are not
    stop words ("Real Madrid", "James Clerk Maxwell", "the Divine Comedy"): one name however
    many words it has, so that "Divine", which no paragraph spells, does not count apart from
    "Comedy". Its first word is capitalised as any sentence's is and does not count; nor a
    Roman numeral ("Philip II")."""
    text = _name_text(text)
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for i, match in enumerate(re.finditer(r"[A-Za-z][A-Za-z'`]*|[^\sA-Za-z]+", text)):
        word = match.group()
        named = i > 0 and word[0].isupper() and word.lower() not in stopwords and not _ROMAN_NUMERAL.fullmatch(word)
        if named:
            current.append(word)
        elif current:
            runs.append(tuple(current))
            current = []
    if current:
        runs.append(tuple(current))
    return runs


def persian_names(text: str) -> frozenset[str]:
    """The skeletons of every word of a Persian text."""
    out: set[str] = set()
    for word in text.split():
        out |= persian_skeletons(word)
    return frozenset(out)


SEARCH_CONSONANTS = 3  # a name searched for by its spelling needs a longer skeleton: "sd" spells too many words


def searched_names(question: str, stopwords: frozenset[str]) -> list[str]:
    """The skeletons of the names a question writes that are long enough to search for by spelling."""
    return [n for n in latin_names(question, stopwords) if len(n) >= SEARCH_CONSONANTS]


def persian_spellings(question: str, texts: Sequence[str], stopwords: frozenset[str]) -> list[str]:
    """The words of some Persian texts (qa.text.tokens, as BM25 indexes them) that spell a name
    the question writes in Latin letters, by consonant skeleton: "Where is Baalbek?" finds
    «بعلبک», "the capital of Spain" «اسپانیا». Only names of SEARCH_CONSONANTS or more.

    Example:
        >>> persian_spellings("Where is Baalbek?", ["پدرش حاکم بعلبک شد."], frozenset())
        ['بعلبک']
    """
    names = set(searched_names(question, stopwords))
    if not names:
        return []
    return list(dict.fromkeys(t for text in texts for t in tokens(text) if persian_skeletons(t) & names))


class SpellingIndex:
    """The Persian words of a whole corpus by consonant skeleton (SEARCH_CONSONANTS or more), so
    that a name an English question writes is searched by its spelling wherever the corpus writes
    it, not only in the first search's best passages: those are the model's pick, and the model
    ranks a passage low exactly when it does not know the name ("Where is Baalbek?").

    Example:
        >>> SpellingIndex(["پدرش حاکم بعلبک شد.", "تیم قهرمان شد."]).spellings("Where is Baalbek?", frozenset())
        ['بعلبک']
    """

    def __init__(self, texts: Iterable[str]) -> None:
        words: dict[str, set[str]] = {}
        for text in texts:
            for token in tokens(text):
                for skeleton in persian_skeletons(token):
                    if len(skeleton) >= SEARCH_CONSONANTS:
                        words.setdefault(skeleton, set()).add(token)
        self._words = {skeleton: tuple(sorted(found)) for skeleton, found in words.items()}

    def __len__(self) -> int:
        return len(self._words)

    def spellings(self, question: str, stopwords: frozenset[str]) -> list[str]:
        """The corpus's words (as BM25 indexes them) that spell a name the question writes."""
        names = searched_names(question, stopwords)
        return list(dict.fromkeys(t for name in names for t in self._words.get(name, ())))


def name_weights(names: list[str]) -> dict[str, float]:
    """A weight per name skeleton: longer skeletons match by chance less often."""
    return {name: float(len(name) - 1) for name in names}

"""English words in Persian from a written lexicon, so that an English question's common nouns,
verbs and adjectives find the Persian words its passage is written in.

`qa.align` matches an English question's words into the Persian words of the first search's best
passages by the bundled model's meaning; that finds names and frequent words ("team" «تیم»), but
the 4-bit model does not tie many common words to their Persian ones ("frog" «قورباغه», "compass"
«قطب‌نما», "volleyball" «والیبال»), and it can only find a word in passages the first search
already ranked high. A lexicon of ~6,200 English headwords (`lexicon/en_fa.tsv`: encyclopedic and
news topics, common verbs and adjectives, countries and places; written for this project, MIT) gives each word its usual
Persian equivalents; the forms of them the corpus holds (with the plural and other endings Persian
text adds, «قورباغه» -> «قورباغه‌ها») join the second BM25 search and the words the sentence
selector weighs (`qa.answering`). Only forms some paragraph holds are added, so a word the corpus
lacks costs nothing. Dev "eval" part, English: hit@1 0.886 -> 0.986 (README, Quality).

Example:
    "What is a frog's long tongue used for?" over a corpus holding «قورباغه‌ها» and «زبان»:
    frog -> «قورباغهها» (normalised), tongue -> «زبان», long -> «بلند» ... as BM25 terms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qa.align import QUESTION_WORDS
from qa.text import normalize, stopwords

LEXICON = Path(__file__).with_name("lexicon") / "en_fa.tsv"
TERMS_PER_WORD = 4  # Persian forms a word adds at most: more would outweigh the question's other words

# Endings Persian text adds to a word the lexicon gives bare (normalised: no ZWNJ): plurals,
# the ezafe and indefinite «ی», superlatives, possessives, and a past stem's participle and plural.
PERSIAN_ENDINGS = ("", "ها", "های", "هایی", "ان", "ی", "ای", "یی", "ترین", "تر", "ش", "شان", "ه", "ند", "هاند")

_WORD = re.compile(r"[A-Za-z]+(?:[-'’][A-Za-z]+)*")
# Irregular English forms a question may use, to the headword the lexicon lists.
_IRREGULAR = {
    "won": "win",
    "built": "build",
    "made": "make",
    "born": "bear",
    "fought": "fight",
    "led": "lead",
    "wrote": "write",
    "written": "write",
    "spoke": "speak",
    "spoken": "speak",
    "began": "begin",
    "begun": "begin",
    "gave": "give",
    "given": "give",
    "held": "hold",
    "took": "take",
    "taken": "take",
    "brought": "bring",
    "bought": "buy",
    "sold": "sell",
    "caught": "catch",
    "thought": "think",
    "told": "tell",
    "lost": "lose",
    "left": "leave",
    "met": "meet",
    "ran": "run",
    "became": "become",
    "came": "come",
    "chose": "choose",
    "chosen": "choose",
    "drew": "draw",
    "drawn": "draw",
    "fell": "fall",
    "fallen": "fall",
    "felt": "feel",
    "flew": "fly",
    "grew": "grow",
    "grown": "grow",
    "knew": "know",
    "known": "know",
    "rose": "rise",
    "said": "say",
    "saw": "see",
    "seen": "see",
    "sent": "send",
    "shot": "shoot",
    "stood": "stand",
    "struck": "strike",
    "taught": "teach",
    "threw": "throw",
    "thrown": "throw",
    "understood": "understand",
    "went": "go",
    "gone": "go",
    "ate": "eat",
    "eaten": "eat",
    "found": "find",
    "fled": "flee",
    "fed": "feed",
    "bred": "breed",
    "hid": "hide",
    "hidden": "hide",
    "kept": "keep",
    "paid": "pay",
    "spent": "spend",
    "sank": "sink",
    "sunk": "sink",
    "swam": "swim",
    "won't": "win",
    "children": "child",
    "men": "man",
    "women": "woman",
    "people": "person",
    "mice": "mouse",
    "teeth": "tooth",
    "feet": "foot",
    "geese": "goose",
    "lives": "life",
    "wives": "wife",
    "leaves": "leaf",
    "wolves": "wolf",
    "better": "good",
    "best": "good",
    "worse": "bad",
    "worst": "bad",
    "larger": "large",
    "largest": "large",
}


@dataclass(frozen=True, slots=True)
class Lexicon:
    """English headwords to their Persian equivalents, most usual first."""

    entries: dict[str, tuple[str, ...]]

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Lexicon:
        """`english<TAB>persian|persian|...` per line; a headword listed twice keeps both lists."""
        entries: dict[str, list[str]] = {}
        for line in lines:
            head, _, rest = line.rstrip("\n").partition("\t")
            head = head.strip().lower()
            words = [w.strip() for w in rest.split("|") if w.strip()]
            if head and words:
                known = entries.setdefault(head, [])
                known.extend(w for w in words if w not in known)
        return cls({head: tuple(words) for head, words in entries.items()})

    def translations(self, word: str) -> tuple[str, ...]:
        """The Persian equivalents of an English word in any common inflection ("frogs",
        "founded", "largest"): those of the first of its possible headwords the lexicon lists,
        and of its irregular stem too when the form is a headword of its own ("found": found
        and find)."""
        heads = [h for h in headwords(word) if h in self.entries]
        if not heads:
            return ()
        chosen = heads[:1] + [h for h in heads[1:] if h == _IRREGULAR.get(word.lower())]
        return tuple(dict.fromkeys(w for h in chosen for w in self.entries[h]))

    def equivalents(self, words: Sequence[str]) -> list[str]:
        """Every Persian equivalent of some words, the compounds' first (`phrases`): what a name
        of several words ("Real Madrid", "Egypt") may be written as."""
        return [persian for _, found in self.phrases(words) for persian in found]

    def phrases(self, words: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
        """(English, its Persian equivalents) for the question's two-word compounds the lexicon
        lists ("prime minister", "world cup") and then each of its other words it lists."""
        lowered = [w.lower() for w in words]
        out, used = [], set()
        for i in range(len(lowered) - 1):
            pair = f"{lowered[i]} {lowered[i + 1]}"
            if pair in self.entries:
                out.append((pair, self.entries[pair]))
                used |= {i, i + 1}
        for i, word in enumerate(lowered):
            if i not in used and (found := self.translations(word)):
                out.append((word, found))
        return out

    def terms(
        self, question: str, held: Callable[[list[str]], set[str]], skip: frozenset[str] | None = None
    ) -> list[str]:
        """The Persian search terms (normalised tokens) of an English question's words: the forms
        of their equivalents some paragraph holds (`held`, asked once), up to TERMS_PER_WORD a
        word, in the lexicon's order. An equivalent that is a Persian stop word counts with its
        endings only («بزرگ» no, «بزرگترین» yes: the index holds no stop word). Words in `skip`
        (lowercase; by default the stop and question words) are not looked up."""
        stop = skipped_words() if skip is None else skip
        found = _WORD.findall(question)
        # "how old", "how long": the word after "how" asks for a number, it is not a topic
        words = [
            w
            for i, w in enumerate(found)
            if w.lower() not in stop and len(w) > 2 and not (i and found[i - 1].lower() == "how")
        ]
        persian_stop = stopwords()
        wanted: list[list[str]] = []
        for _, persian in self.phrases(words):
            forms = [form for p in persian for form in _forms(normalize(p).split(), persian_stop)]
            wanted.append(list(dict.fromkeys(forms)))
        present = held(list(dict.fromkeys(f for forms in wanted for f in forms))) if wanted else set()
        out: list[str] = []
        for forms in wanted:
            out.extend([f for f in forms if f in present and f not in out][:TERMS_PER_WORD])
        return out


def _forms(words: list[str], stop: frozenset[str]) -> list[str]:
    """The forms (word + ending) of one Persian equivalent to look for in the corpus. The
    light verb or preposition of a phrase («به دنیا آمدن»، «خداحافظی کردن») is left out,
    endings and all: «بهای» and «کرده‌اند» are other words. A lone equivalent that is a stop
    word keeps its endings («بزرگ» -> «بزرگترین»)."""
    if len(words) > 1:
        words = [w for w in words if w not in stop]
    return [w + ending for w in words if len(w) > 2 for ending in PERSIAN_ENDINGS]


def headwords(word: str) -> list[str]:
    """The headwords an English word form may be listed under, most likely first."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    out = [w]
    if w in _IRREGULAR:
        out.append(_IRREGULAR[w])
    if w.endswith("ies") and len(w) > 4:
        out.append(w[:-3] + "y")
    if w.endswith("es") and len(w) > 4:
        out.append(w[:-2])
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        out.append(w[:-1])
    if w.endswith("ied") and len(w) > 4:
        out.append(w[:-3] + "y")
    if w.endswith("ed") and len(w) > 3:  # "used", "died" too
        out += [w[:-2], w[:-1]] + ([w[:-3]] if w[-3] == w[-4] else [])
    if w.endswith("ing") and len(w) > 5:
        out += [w[:-3], w[:-3] + "e"] + ([w[:-4]] if w[-4] == w[-5] else [])
    if w.endswith("est") and len(w) > 5:
        out += [w[:-3], w[:-3] + "e"] + ([w[:-4]] if w[-4] == w[-5] else [])
        out += [w[:-4] + "y"] if w.endswith("iest") else []
    if w.endswith("er") and len(w) > 4:
        out += [w[:-2], w[:-1]]
    if w.endswith("ly") and len(w) > 4:
        out.append(w[:-2])
    return list(dict.fromkeys(out))


@lru_cache(maxsize=1)
def skipped_words() -> frozenset[str]:
    """The English words never looked up: stop words and question words (lowercase)."""
    return stopwords() | QUESTION_WORDS


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The shipped lexicon, read once per process."""
    return Lexicon.parse(LEXICON.read_text(encoding="utf-8").splitlines())

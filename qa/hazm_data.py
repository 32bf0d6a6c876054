"""hazm's normalisation tables and stop words, cached so that serving need not import hazm.

`qa.text` matches words through hazm's character unification and its Persian stop-word
list. Importing hazm costs ~1.8 s on 2 cores (its `__init__` loads its POS tagger,
chunker and parser, and with them scikit-learn, NLTK and gensim), more than half of
`qa serve`'s start. The data this project takes from hazm is small and fixed per hazm
version, so the first process that needs it imports hazm once, reads the data out and
writes it to a JSON file named after the installed hazm version; later processes read
that file. A missing, unreadable or corrupt file is rebuilt from hazm; a directory that
cannot be written only costs the slow import.

The cache lives in `$XDG_CACHE_HOME/qa-persian` (default `~/.cache/qa-persian`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

FORMAT = 1


@dataclass(frozen=True, slots=True)
class HazmData:
    """What `qa.text` uses of hazm."""

    translation: dict[int, str]  # hazm Normalizer's character table (code point -> text)
    replacements: tuple[tuple[str, str], ...]  # its `unicodes_replacement` (regex, text) pairs
    stopwords: tuple[str, ...]  # hazm.stopwords_list()

    def as_json(self, version: str) -> dict[str, object]:
        return {
            "format": FORMAT,
            "hazm": version,
            "translation": {str(k): v for k, v in self.translation.items()},
            "replacements": [list(pair) for pair in self.replacements],
            "stopwords": list(self.stopwords),
        }

    @classmethod
    def from_json(cls, data: dict[str, object], version: str) -> HazmData:
        if data.get("format") != FORMAT or data.get("hazm") != version:
            raise ValueError("cache of another hazm or format")
        translation = data["translation"]
        replacements = data["replacements"]
        stopwords = data["stopwords"]
        if not isinstance(translation, dict) or not isinstance(replacements, list) or not isinstance(stopwords, list):
            raise ValueError("malformed cache")
        return cls(
            translation={int(k): str(v) for k, v in translation.items()},
            replacements=tuple((str(a), str(b)) for a, b in replacements),
            stopwords=tuple(str(w) for w in stopwords),
        )


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qa-persian"


def hazm_version() -> str:
    return metadata.version("hazm")


def from_hazm() -> HazmData:
    """Read the data out of hazm itself (the slow import)."""
    import hazm

    normalizer = hazm.Normalizer(unicodes_replacement=True)
    return HazmData(
        translation=hazm.utils.maketrans(normalizer.translation_src, normalizer.translation_dst),
        replacements=tuple((str(old), str(new)) for old, new in normalizer.replacements),
        stopwords=tuple(hazm.stopwords_list()),
    )


def _write(path: Path, data: HazmData, version: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data.as_json(version), f, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@lru_cache(maxsize=1)
def load() -> HazmData:
    """hazm's data: from the cache file when it matches the installed hazm, else from hazm."""
    version = hazm_version()
    path = cache_dir() / f"hazm-{version}.json"
    try:
        return HazmData.from_json(json.loads(path.read_text(encoding="utf-8")), version)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    data = from_hazm()
    with contextlib.suppress(OSError):  # read-only home: every start pays the import, nothing breaks
        _write(path, data, version)
    return data

"""Ingestion: files and texts in, clean, deduplicated, citable paragraphs out.

`prepare` turns whatever a reader extracted into a `PreparedDocument` with a stable id;
`find_files` walks the paths a user gave without leaving them through symlinks.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.errors import InvalidInput
from qa.ingest.clean import clean_paragraphs, headline, split_blocks
from qa.ingest.readers import SUPPORTED, read_bytes
from qa.models import SourceDocument
from qa.text import require_unicode

__all__ = ["PreparedDocument", "find_files", "prepare", "read_bytes", "slug", "SUPPORTED"]

MAX_ID_CHARS = 200


@dataclass(slots=True)
class PreparedDocument:
    """A document ready to embed: its id, title, source and clean paragraphs."""

    id: str
    title: str
    source: str
    paragraphs: list[str]

    @property
    def content_hash(self) -> str:
        """Changes exactly when what would be stored changes."""
        digest = hashlib.sha256("\x1e".join([self.title, self.source, *self.paragraphs]).encode())
        return digest.hexdigest()


def slug(text: str) -> str:
    """A readable id from a name: word characters kept (Persian too), the rest dashed.

    Example:
        >>> slug("Annual Report 2024.pdf"), slug("گزارش سالانه")
        ('annual-report-2024-pdf', 'گزارش-سالانه')
    """
    return re.sub(r"[\W_]+", "-", text.strip().lower()).strip("-")[:MAX_ID_CHARS]


def validate_id(doc_id: str) -> str:
    """A document id as given by a user, refused when unusable in a URL path."""
    doc_id = require_unicode(doc_id.strip(), "the document id")
    if (
        not doc_id
        or doc_id in {".", ".."}
        or len(doc_id) > MAX_ID_CHARS
        or "/" in doc_id
        or any(ord(c) < 32 for c in doc_id)
    ):
        raise InvalidInput(
            f"invalid document id {doc_id[:50]!r}: use 1-{MAX_ID_CHARS} characters without '/' or control characters."
        )
    return doc_id


def prepare(doc: SourceDocument, max_words: int, fallback_id: str | None = None) -> PreparedDocument:
    """Clean a source document into paragraphs and give it a stable id.

    The id is, in order: the document's own, `fallback_id`, or a hash of its text
    (so posting the same text twice replaces rather than duplicates).
    """
    text = require_unicode("\n".join(doc.text_paragraphs), "the document's text")
    title = require_unicode(doc.title.strip(), "the title")
    require_unicode(doc.source, "the source")
    lines = split_blocks(text)
    if not title:
        title = headline(lines)
    paragraphs = clean_paragraphs(text, max_words)
    # The headline is the title, not a paragraph, unless it is all the text there is.
    paragraphs = [p for p in paragraphs if p != title] or paragraphs
    doc_id = doc.id or fallback_id or "doc-" + hashlib.sha1(text.encode()).hexdigest()[:12]
    return PreparedDocument(validate_id(doc_id), title[:500], doc.source, paragraphs)


def find_files(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Supported files under the given paths, each with the id it gets, in a stable order.

    A file named directly gets its name's stem; a file found in a folder gets its path
    relative to that folder (so 2023/report.txt and 2024/report.txt stay two documents).
    Inside a folder, a symlink is followed only if it stays inside that folder.
    """
    seen: set[str] = set()
    for file, name in _walk(paths):
        doc_id = slug(name) or "document"
        if doc_id in seen:  # report.txt beside report.md
            doc_id = slug(f"{name}{file.suffix}")
        seen.add(doc_id)
        yield file, doc_id


def _walk(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    for path in paths:
        if not path.exists():
            raise InvalidInput(f"{path}: no such file or folder.")
        if path.is_file():
            yield path, path.stem
            continue
        root = path.resolve()
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                file = Path(folder) / name
                if file.suffix.lower() not in SUPPORTED:
                    continue
                if not file.resolve().is_relative_to(root):
                    continue
                yield file, str(file.relative_to(path).with_suffix(""))

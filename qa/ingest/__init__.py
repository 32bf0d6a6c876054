"""Ingestion: files and texts in, labelled blocks and clean, deduplicated, citable paragraphs out.

`prepare` turns whatever a reader extracted into a `PreparedDocument` with a stable id: its
blocks labelled body, heading or furniture (`qa.ingest.blocks`), the paragraphs of its body
(`qa.ingest.clean`) and its title; `find_files` walks the paths a user gave without leaving
them through symlinks.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import InvalidInput
from qa.ingest.blocks import block_key, classify, split_blocks
from qa.ingest.clean import CleanParagraph, citable_paragraphs, citable_sentences
from qa.ingest.readers import SUPPORTED, read_bytes
from qa.models import Block, SourceDocument
from qa.text import normalize, require_unicode, sentences, word_count

__all__ = [
    "CleanParagraph",
    "PreparedDocument",
    "Recurrence",
    "SUPPORTED",
    "citable_sentences",
    "document_id",
    "find_files",
    "prepare",
    "read_bytes",
    "recurring_keys",
    "slug",
]

MAX_ID_CHARS = 200
LEAD_TITLE_MAX_WORDS = 30

# How many other documents of the corpus hold each of the given block keys, asked with the
# id of the document being prepared (its own earlier version does not count).
Recurrence = Callable[[str, set[str]], Mapping[str, int]]


@dataclass(slots=True)
class PreparedDocument:
    """A document ready to embed: its id, title, source, clean paragraphs and labelled blocks."""

    id: str
    title: str
    source: str
    clean: list[CleanParagraph]
    blocks: list[Block] = field(default_factory=list)
    block_keys: list[str] = field(default_factory=list)

    @property
    def paragraphs(self) -> list[str]:
        """The raw texts of the paragraphs to store."""
        return [p.text for p in self.clean]

    @property
    def content_hash(self) -> str:
        """Changes exactly when what would be stored changes: paragraphs, their sections and
        citable starts, the blocks' labels (not the wording of a reason: a block that recurs in
        another document gives a new reason, and re-ingesting unchanged files embeds nothing)."""
        parts = [self.title, self.source]
        parts += [f"{p.start}\x1f{p.section}\x1f{p.text}" for p in self.clean]
        parts += [f"{b.label}\x1f{b.text}" for b in self.blocks]
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()


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


def document_id(doc: SourceDocument, fallback_id: str | None = None) -> str:
    """The id a document gets: its own, `fallback_id`, or a hash of its text (so posting the
    same text twice replaces rather than duplicates)."""
    text = require_unicode("\n".join(doc.text_paragraphs), "the document's text")
    return validate_id(doc.id or fallback_id or "doc-" + hashlib.sha1(text.encode()).hexdigest()[:12])


def recurring_keys(doc: SourceDocument) -> set[str]:
    """The keys of a document's blocks that recurrence in the corpus can make furniture."""
    return {k for k in map(block_key, split_blocks("\n".join(doc.text_paragraphs))) if k}


def _lead_title(paragraphs: list[CleanParagraph]) -> str:
    """A news lead's first sentence, when a tag glued to it marks it as one: the best title a
    page without a headline has ("19 دی آنلاین: دفتر ریاست جمهوری ... خبر داد.")."""
    if not paragraphs or not paragraphs[0].start:
        return ""
    lead = sentences(paragraphs[0].citable)
    if not lead or word_count(lead[0].text) > LEAD_TITLE_MAX_WORDS:
        return ""
    return lead[0].text.rstrip(" .۔")


def prepare(
    doc: SourceDocument,
    max_words: int,
    fallback_id: str | None = None,
    keep_furniture: bool = False,
    recurrence: Recurrence | None = None,
) -> PreparedDocument:
    """Label a source document's blocks, keep its body as paragraphs and give it a stable id.

    The title is, in order: the one the file or the user gave, the page's headline (the last
    segment of its breadcrumb, or its last short line above the body), a news lead's first
    sentence, else "" (clients then show the id, which comes from the file name).
    `keep_furniture` stores every block as a paragraph (QA_KEEP_FURNITURE).
    """
    text = require_unicode("\n".join(doc.text_paragraphs), "the document's text")
    title = require_unicode(doc.title.strip(), "the title")
    require_unicode(doc.source, "the source")
    doc_id = document_id(doc, fallback_id)
    texts = split_blocks(text)
    keys = {k for k in map(block_key, texts) if k}
    recurring = recurrence(doc_id, keys) if recurrence and keys else {}
    page = classify(texts, {" ".join(k.split()): v for k, v in doc.marked.items()}, recurring, title)
    paragraphs = citable_paragraphs(page.blocks, max_words, keep_furniture)
    if title and page.headline and normalize(title) == normalize(page.headline):
        title = page.headline  # as the page spells it (a <title> may have lost its ZWNJs)
    title = title or page.headline or _lead_title(paragraphs)
    return PreparedDocument(doc_id, title[:500], doc.source, paragraphs, page.blocks, page.keys)


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

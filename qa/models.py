"""The plain data that flows between ingest, store, retrieval, answers, the CLI and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(slots=True)
class SourceDocument:
    """A document as read from a file or a request, before it is stored."""

    text_paragraphs: list[str]
    title: str = ""
    source: str = ""
    id: str | None = None
    # Blocks the file's markup names, by their text: "heading", "item" (a list item),
    # "cell" (a table cell) or "quote". Plain text has none: its structure is inferred.
    marked: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Document:
    """A stored document: its id, where it came from and how many paragraphs it kept."""

    id: str
    title: str
    source: str
    paragraphs: int
    created_at: str
    updated_at: str


@dataclass(slots=True)
class Block:
    """One block of a page as ingest saw it: its label (body, heading or furniture) and why.

    `section` is the heading a body block stands under; `paragraph` the number of the stored
    paragraph it became (None when it was not stored: a heading, furniture or a repeat).
    """

    n: int
    text: str
    label: str
    reason: str
    section: str = ""
    paragraph: int | None = None


@dataclass(slots=True)
class Paragraph:
    """One stored paragraph: `text` is the raw text every citation offset refers to.

    `section` is the heading it stands under on its page; answers quote only from
    `citable_start` on (a date stamp or agency tag glued to a lead sentence comes before).
    """

    id: int
    doc_id: str
    n: int
    text: str
    title: str = ""
    source: str = ""
    section: str = ""
    citable_start: int = 0


@dataclass(slots=True)
class Passage:
    """A retrieved paragraph with its fused score, best first in a result list."""

    paragraph: Paragraph
    score: float
    dense: float = 0.0
    lexical: float = 0.0


@dataclass(slots=True)
class Citation:
    """The exact stored text an answer rests on: `quote == paragraph.text[start:end]`."""

    n: int
    doc_id: str
    title: str
    source: str
    paragraph: int
    start: int
    end: int
    quote: str
    answer_start: int | None = None  # the answer's span inside the paragraph, within start:end
    answer_end: int | None = None
    section: str = ""


@dataclass(slots=True)
class Answer:
    """The service's reply to a question; `answer` is None when the corpus lacks one."""

    question: str
    language: str
    answered: bool
    answer: str | None
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    took_ms: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)


def passage_json(passage: Passage) -> dict[str, object]:
    """A passage as the contract's JSON shape (`passages[]` of /ask and /search)."""
    p = passage.paragraph
    return {
        "doc_id": p.doc_id,
        "title": p.title,
        "section": p.section,
        "source": p.source,
        "paragraph": p.n,
        "text": p.text,
        "score": round(float(passage.score), 6),
        "dense": round(float(passage.dense), 6),
        "lexical": round(float(passage.lexical), 6),
    }


def answer_json(answer: Answer) -> dict[str, object]:
    """An answer as the contract's JSON shape: the body of `POST /ask`."""
    return {
        "question": answer.question,
        "language": answer.language,
        "answered": answer.answered,
        "answer": answer.answer,
        "confidence": answer.confidence,
        "citations": [asdict(c) for c in answer.citations],
        "passages": [passage_json(p) for p in answer.passages],
        "took_ms": answer.took_ms,
        "signals": answer.signals,
    }


def document_json(doc: Document) -> dict[str, object]:
    """A stored document's summary for listings."""
    return asdict(doc)


def block_json(block: Block) -> dict[str, object]:
    """A block of a stored document with its label and the reason for it."""
    return asdict(block)

"""One settings object for the whole service, read from `QA_*` environment variables.

Every knob a user may turn lives here, so the CLI, the API and the tests agree on
defaults and a deployment is configured in one place.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Service configuration; each field is read from `QA_<FIELD>` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where the store and the index live.")
    seeds_dir: Path = Field(REPO_ROOT / "seeds", description="Default corpus for an empty store.")
    model: str | None = Field(
        None,
        description="Embedding model: unset uses the one the index was built with (the "
        "bundled multilingual-e5-small for a new index); else a sentence-transformers "
        "model folder or cached name.",
    )
    device: str = Field("cpu", description="Torch device for the sentence-transformers backend.")
    batch_size: int = Field(32, ge=1, le=1024, description="Paragraphs per embedding call.")
    max_paragraph_words: int = Field(180, ge=20, description="Longer paragraphs are split at sentence ends.")
    keep_furniture: bool = Field(
        False,
        description="Store every block of a page as a paragraph, headings and site furniture (captions, "
        "related-news lists, bylines) included; `qa documents ID --blocks` shows what was labelled what.",
    )
    max_answer_words: int = Field(25, ge=3, description="An answer longer than this is trimmed.")
    min_confidence: float = Field(
        0.53,
        ge=0.0,
        le=1.0,
        description="Below this the service says the corpus lacks the answer (chosen on the "
        "dev data to answer 90% of answerable Persian questions).",
    )
    ann_threshold: int = Field(
        50_000,
        ge=1,
        description="From this many paragraphs on, search an IVF index (approximate) instead of "
        "an exact one; bench/scale.py measures the trade.",
    )
    ann_nprobe: int = Field(16, ge=1, description="Inverted lists an IVF search visits.")
    database_url: str | None = Field(
        None,
        description="A PostgreSQL URL (postgresql://user:password@host:5432/db): documents, vectors (pgvector) "
        "and the lexical statistics live there, and any number of `qa serve` nodes share them. Unset: the "
        "embedded SQLite store and FAISS index in data_dir.",
    )
    hnsw_m: int = Field(16, ge=2, le=100, description="pgvector HNSW: links per node (built into the index).")
    hnsw_ef_construction: int = Field(
        64, ge=4, le=1000, description="pgvector HNSW: candidates kept while building (at least 2 * hnsw_m)."
    )
    hnsw_ef_search: int = Field(
        100, ge=1, le=1000, description="pgvector HNSW: candidates a search keeps (more: slower, higher recall)."
    )
    recall_min: float = Field(
        0.95,
        ge=0.0,
        le=1.0,
        description="PostgreSQL: below this sampled recall@10 against exact search the HNSW index is rebuilt "
        "(REINDEX CONCURRENTLY).",
    )
    recall_sample: int = Field(
        50, ge=1, le=10_000, description="Queries (stored paragraph vectors) a recall check asks."
    )
    recall_check_rows: int = Field(
        1000,
        ge=1,
        description="PostgreSQL: after this many paragraphs written by one node its recall is checked again.",
    )
    candidates: int = Field(50, ge=1, description="Passages each retriever proposes for fusion.")
    align_passages: int = Field(
        10,
        ge=0,
        le=100,
        description="An English question over Persian text (or a Persian one over English text): its words are "
        "matched by meaning to the other language's words of this many passages the first search ranked best, "
        "and BM25 searches again with them added (qa.align); 0: off.",
    )
    align_vocabulary: int = Field(
        5000,
        ge=0,
        description="A Persian question is matched into every English word of the corpus when it holds at most "
        "this many (their vectors are computed once per change of the corpus, ~1 s per 1,000 new words on 2 cores); "
        "above that, or at 0, into the English words of its first search's best passages only (qa.align).",
    )
    spelling_passages: int = Field(
        10_000,
        ge=0,
        description="An English question's names (Latin letters) are searched by their Persian spelling in every "
        "word of the corpus when it holds at most this many paragraphs (read once per change of the corpus); "
        "above that, or at 0, in the words of its first search's best passages only (qa.transliterate).",
    )
    lexicon: bool = Field(
        True,
        description="An English question over Persian text also searches the Persian equivalents of its words "
        "from the shipped English-Persian lexicon (qa.lexicon), as far as the corpus holds them; false: only "
        "what the model matches by meaning and the names' spellings.",
    )
    cross_language_offset: float = Field(
        0.02,
        ge=0.0,
        le=0.2,
        description="Added to the score of a passage in the other language than the question's (English or "
        "Persian): the model scores such pairs lower, so in a mixed corpus the question's own language wins on form.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes for `qa serve`. Each holds its own copy of the index and "
        "model and sees the others' writes through the store; more than one uses more cores for "
        "HTTP and answer work (Prometheus counters are then per process).",
    )
    max_question_chars: int = Field(2000, ge=1)
    max_top_k: int = Field(50, ge=1)
    max_upload_mb: float = Field(20.0, gt=0)
    api_key: str | None = Field(None, description="Bearer key required for writes when set.")
    api_key_reads: bool = Field(False, description="Also require the key for reads.")
    cors_origins: list[str] = Field(default_factory=list)
    reader_model: str | None = Field(
        None,
        description="A local extractive question-answering model (transformers) that picks the "
        "answer span and says when there is none; unset uses the built-in sentence selector.",
    )
    reader: Literal["trained", "off"] = Field(
        "trained",
        description="`trained` (default): the reader trained from the bundled encoder (models/reader, built "
        "by bench/train_reader.py and bench/blend_reader.py) reads the top passages with questions in "
        "QA_READER_LANGUAGES, and its log-odds per sentence join the sentence selector's choice and "
        "confidence (~0.3 s more per question on 2 cores; needs torch, else the selector answers); "
        "`off`: the sentence selector alone, for every question. QA_READER_MODEL, when set, takes precedence.",
    )
    reader_languages: str = Field(
        "fa,en",
        pattern=r"^(fa|en)(,(fa|en))*$",
        description="Question languages the trained reader chooses the answer's sentence and confidence "
        "for, comma-separated: both by default (since run 14; `fa` alone before). In a language left out "
        "the sentence selector chooses, and the reader still cuts the answer out of its sentence.",
    )
    reader_dir: Path = Field(REPO_ROOT / "models" / "reader", description="The trained reader's folder.")
    max_documents_per_upload: int = Field(
        1000, ge=1, description="Most documents one POST /documents may hold (a .jsonl or SQuAD .json file)."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as plain text, or one JSON object per line for a log collector."
    )
    log_questions: bool = Field(
        False, description="Put the question text in the request log lines (off: questions may be private)."
    )

    @property
    def database_url_redacted(self) -> str | None:
        """The database URL without its password, for messages and logs."""
        if not self.database_url:
            return None
        return redact_url(self.database_url)


def redact_url(url: str) -> str:
    """Example: postgresql://qa:secret@db:5432/qa -> postgresql://qa:***@db:5432/qa"""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

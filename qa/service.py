"""The one service object behind the CLI and the HTTP API, so the two never disagree.

It composes the concerns, each in its own module: the backend (`qa.backends`: store, dense and
lexical search, chosen by the settings through `open_backend`), the embedding model
(`qa.embedding`), the writes (`qa.indexing`) and the question path (`qa.answering`); here only
the model guard, the repairs and the report that span them.
"""

from __future__ import annotations

from embeddings.base import Embedder
from embeddings.e5 import E5_NAME
from embeddings.factory import canonical_model_name, describe_embedder
from qa.answering import Answerer
from qa.backends.base import DoctorReport, VectorSearch
from qa.backends.factory import open_backend
from qa.embedding import Embedding, Progress
from qa.errors import DocumentNotFound, ModelMismatch
from qa.indexing import Indexer, IngestResult, passage_input
from qa.models import Block, Document, Paragraph
from qa.reader import TrainedReader
from qa.retrieve import Fusion
from qa.settings import Settings
from qa.text import tokens

__all__ = ["DoctorReport", "IngestResult", "QAService", "passage_input"]


class QAService:
    """Documents in, cited answers out, for one data directory or one database."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, trained_reader: TrainedReader | None = None
    ) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        self.backend = open_backend(settings)
        self.store = self.backend.store
        stored = self.store.model
        configured = canonical_model_name(settings.model) if settings.model else None
        if embedder is not None:
            configured = embedder.name
        model_name = configured or (stored[0] if stored else E5_NAME)
        self._mismatch = stored is not None and stored[0] != model_name and self.store.counts()[1] > 0
        self.embedding = Embedding(settings, model_name, embedder)
        self.indexer = Indexer(settings, self.backend, self.embedding, self.check_model)
        self.answerer = Answerer(settings, self.backend, self.embedding, self.check_model, trained_reader)
        # The writes and the questions, as the CLI, the API and the tests call them.
        self.ingest_documents = self.indexer.ingest_documents
        self.ingest_paths = self.indexer.ingest_paths
        self.ingest_text = self.indexer.ingest_text
        self.read_file = self.indexer.read_file
        self.delete = self.indexer.delete
        self.ensure_seeded = self.indexer.ensure_seeded
        self.validate_question = self.answerer.validate_question
        self.search = self.answerer.search
        self.ask = self.answerer.ask
        self.embed_query = self.embedding.embed_query

    @property
    def model_name(self) -> str:
        return self.embedding.model_name

    @property
    def embedder(self) -> Embedder:
        return self.embedding.embedder

    @property
    def index(self) -> VectorSearch:
        return self.backend.index

    @property
    def fusion(self) -> Fusion:
        return self.answerer.fusion

    @fusion.setter
    def fusion(self, value: Fusion) -> None:
        self.answerer.fusion = value

    @property
    def reader_enabled(self) -> bool:
        return self.answerer.reader_enabled

    @reader_enabled.setter
    def reader_enabled(self, value: bool) -> None:
        self.answerer.reader_enabled = value

    @property
    def trained_reader(self) -> TrainedReader | None:
        return self.answerer.trained_reader

    def warm_up(self) -> None:
        """Load the model and run it once, so the first question is not the slow one."""
        self.embed_query("warm-up")
        tokens("warm-up")  # builds the stop-word set
        self.trained_reader  # noqa: B018 - when QA_READER=trained, loads torch and the reader (~3 s) now

    def check_model(self) -> None:
        """Refuse to mix vectors of two models in one index."""
        if self._mismatch:
            stored = self.store.model
            where = self.settings.database_url_redacted or self.data_dir
            raise ModelMismatch(
                f"the index in {where} was built with {stored[0]!r} ({stored[1]} dims) but "
                f"the configured model is {self.model_name!r}. Unset QA_MODEL to keep using the "
                f"index's model, or run `qa index rebuild --model {self.model_name}` to re-embed."
            )

    def rebuild(self, model: str | None = None, progress: Progress | None = None) -> int:
        """Re-embed every paragraph with `model` (default: the current one) and swap atomically."""
        count = self.indexer.rebuild(model, progress)
        self._mismatch = False
        return count

    # -- reads --------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        return self.store.documents()

    def document(self, doc_id: str) -> tuple[Document, list[Paragraph]]:
        found = self.store.document(doc_id)
        if found is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}; `qa documents` lists them.")
        return found

    def blocks(self, doc_id: str) -> list[Block]:
        """Every block of a document with its label and the reason, as ingest saw the page."""
        self.document(doc_id)  # DocumentNotFound for an unknown id
        return self.store.blocks(doc_id)

    def doctor(self, repair: bool = True) -> DoctorReport:
        """Compare the searches with the store (the truth) and repair them on request."""
        return self.backend.check(repair, self.indexer.re_embed)

    def health(self) -> dict[str, object]:
        documents, paragraphs = self.store.counts()
        loaded = self.embedding.loaded
        return {
            "status": "ok",
            "model": self.model_name,
            "embedder": describe_embedder(loaded) if loaded is not None else "not loaded yet",
            "documents": documents,
            "paragraphs": paragraphs,
            **self.backend.health(),
        }

"""The service's embedding model: loaded on first use, questions cached, passages batched.

One concern of `QAService`: the rest asks this for vectors and never loads a model itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from embeddings.base import Embedder
from embeddings.factory import make_embedder
from qa.settings import Settings

Progress = Callable[[int, int], None]
QUERY_CACHE_SIZE = 1024


class Embedding:
    """The configured model and a small LRU cache of question vectors."""

    def __init__(self, settings: Settings, model_name: str, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.model_name = model_name
        self._embedder = embedder
        self.lock = threading.Lock()  # also guards the lazy loading of the readers
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def loaded(self) -> Embedder | None:
        return self._embedder

    @property
    def embedder(self) -> Embedder:
        """The configured embedding model, loaded on first use."""
        with self.lock:
            if self._embedder is None:
                self._embedder = self.make(self.model_name)
            return self._embedder

    def make(self, name: str) -> Embedder:
        return make_embedder(name, device=self.settings.device, batch_size=self.settings.batch_size)

    def use(self, embedder: Embedder, name: str) -> None:
        """From now on embed with `embedder`, model `name` (a rebuild swapped models); cached questions are dropped."""
        with self.lock:
            self._embedder, self.model_name = embedder, name
        with self._cache_lock:
            self._cache.clear()

    def embed_query(self, question: str) -> np.ndarray:
        """The question's vector, from a small LRU cache when it was asked before."""
        with self._cache_lock:
            if question in self._cache:
                self._cache.move_to_end(question)
                return self._cache[question]
        vector = self.embedder.embed_queries([question])[0]
        with self._cache_lock:
            self._cache[question] = vector
            if len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)
        return vector

    def embed_passages(
        self, texts: list[str], progress: Progress | None, embedder: Embedder | None = None
    ) -> np.ndarray:
        """Passage vectors in input order (by `embedder`, default this one's model), batched by
        similar length to cut padding."""
        model = embedder or self.embedder
        out = np.zeros((len(texts), model.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = self.settings.batch_size
        for at in range(0, len(order), size):
            batch = order[at : at + size]
            out[batch] = model.embed_passages([texts[i] for i in batch])
            if progress:
                progress(len(batch), len(texts))
        return out

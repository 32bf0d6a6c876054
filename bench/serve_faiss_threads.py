"""`qa serve` with every FAISS search limited to N OpenMP threads in the thread that makes it.

An experiment, not a deployment: `bench/query.py --faiss-threads N` runs the server through
this script to measure a change proposed for `embeddings/index.py` (set the FAISS thread
count inside `VectorIndex.search`). OpenMP thread counts belong to the calling thread, so
one `faiss.omp_set_num_threads` call in the main thread never reaches the request threads
that search; this wraps the method the request threads call instead.

    .venv/bin/python bench/serve_faiss_threads.py 1 serve --data-dir D --port P
"""

from __future__ import annotations

import sys
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embeddings.index import VectorIndex  # noqa: E402
from qa.cli import main  # noqa: E402


def limit_search_threads(threads: int) -> None:
    """Make `VectorIndex.search` set the calling thread's FAISS thread count first."""
    search = VectorIndex.search

    def search_with_threads(self: VectorIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        faiss.omp_set_num_threads(threads)
        return search(self, queries, k)

    VectorIndex.search = search_with_threads  # type: ignore[method-assign]


if __name__ == "__main__":
    limit_search_threads(int(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))

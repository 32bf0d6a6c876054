"""bench/soup_reader.py averages two readers trained over the same layers: the trained layers
and the heads become the weighted mean, the frozen layers below stay the bundled encoder's.

A soup that mixed a frozen layer, or averaged a parameter with the wrong partner, would still
load and answer, only worse; nothing else would say why.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from bench_script import bench_script


@pytest.fixture(scope="module")
def soup_reader() -> ModuleType:
    return bench_script("soup_reader")


def _trained(seed: int):
    """The tiny encoder with its top layer and heads moved as a training run would move them."""
    torch = pytest.importorskip("torch")
    from tiny_encoder import tiny_encoder

    from embeddings.reader_net import build_heads

    model, _ = tiny_encoder()
    torch.manual_seed(seed)
    heads = build_heads(32)
    with torch.no_grad():
        for p in model.encoder.layer[1].parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model, heads


def _flat(module) -> list:
    return [p.detach().clone() for p in module.parameters()]


def test_the_soup_is_the_weighted_mean_of_the_trained_layers_and_heads_only(soup_reader: ModuleType) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    a, heads_a = _trained(1)
    b, heads_b = _trained(2)
    before = {
        "frozen": _flat(a.encoder.layer[0]),
        "top a": _flat(a.encoder.layer[1]),
        "top b": _flat(b.encoder.layer[1]),
        "heads a": _flat(heads_a),
        "heads b": _flat(heads_b),
    }
    assert not all(torch.equal(x, y) for x, y in zip(before["top a"], before["top b"], strict=True))

    soup_reader.average_into(a, heads_a, b, heads_b, 1, 0.25)

    for p, frozen in zip(a.encoder.layer[0].parameters(), before["frozen"], strict=True):
        assert torch.equal(p, frozen), "a layer below the trained ones is the bundled encoder's in both"
    for p, x, y in zip(a.encoder.layer[1].parameters(), before["top a"], before["top b"], strict=True):
        assert torch.allclose(p, 0.75 * x + 0.25 * y, atol=1e-6)
    for p, x, y in zip(heads_a.parameters(), before["heads a"], before["heads b"], strict=True):
        assert torch.allclose(p, 0.75 * x + 0.25 * y, atol=1e-6)
    for p, y in zip(b.encoder.layer[1].parameters(), before["top b"], strict=True):
        assert torch.equal(p, y), "the second reader is read, not changed"


def test_a_soup_with_no_share_of_the_second_reader_is_the_first(soup_reader: ModuleType) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    a, heads_a = _trained(1)
    b, heads_b = _trained(2)
    top, heads = _flat(a.encoder.layer[1]), _flat(heads_a)
    soup_reader.average_into(a, heads_a, b, heads_b, 1, 0.0)
    assert all(torch.equal(p, x) for p, x in zip(a.encoder.layer[1].parameters(), top, strict=True))
    assert all(torch.equal(p, x) for p, x in zip(heads_a.parameters(), heads, strict=True))

"""How bench/blend_reader.py sets the reader's weight in the choice of sentence (beta): each
fitting part counts the same, however many questions it holds.

The written held-out questions outnumber the dev calibration part's nearly four to one; pooled,
they alone would set how far the reader is trusted on real pages. Nothing downstream would say
so: the blend still loads and answers, only with the reader weighed for the wrong kind of text.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from bench_script import bench_script


@pytest.fixture(scope="module")
def blend_reader() -> ModuleType:
    return bench_script("blend_reader")


def _accuracy(rows: list[str], beta: float) -> float:
    """Written questions ("w") are answered best by the selector alone; real pages' ("d") by
    trusting the reader up to beta 0.05."""
    if rows[0] == "w":
        return 0.9 - beta
    return 0.5 + 4 * min(beta, 0.05)


def test_a_part_holding_more_questions_does_not_outweigh_the_other(blend_reader: ModuleType) -> None:
    written, dev = ["w"] * 260, ["d"] * 70
    beta = blend_reader.fitted_beta([dev, written], _accuracy)
    assert beta == pytest.approx(0.05), "the mean of the two parts' accuracies peaks where the dev part's stops rising"
    assert blend_reader.fitted_beta([dev, written * 10], _accuracy) == beta


def test_the_smaller_beta_wins_a_tie(blend_reader: ModuleType) -> None:
    assert blend_reader.fitted_beta([["d"]], lambda rows, beta: 0.7) == 0.0

"""The scoring helpers of benchmarks/accuracy.py: known answers on small hand-made cases."""

from __future__ import annotations

import math
from types import ModuleType

import pytest

from tests.benchmarks._scripts import load_script


@pytest.fixture(scope="module")
def acc() -> ModuleType:
    return load_script("accuracy")


def test_auc_of_perfect_random_and_reversed_scores(acc: ModuleType) -> None:
    truth = [False, False, True, True]
    assert acc.auc(truth, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert acc.auc(truth, [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert acc.auc(truth, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert math.isnan(acc.auc([True, True], [0.1, 0.2]))


def test_best_recall_keeps_the_precision(acc: ModuleType) -> None:
    # Positives 0.9, 0.7, 0.4; negatives 0.8, 0.3. At 0.4: all 3 caught, 1 false (P 0.75);
    # at 0.7 and 0.8 the precision is lower (2/3, 1/2); at 0.9: 1 caught, none false.
    truth = [True, True, True, False, False]
    score = [0.9, 0.7, 0.4, 0.8, 0.3]
    assert acc.best_recall(truth, score, min_precision=0.75) == (1.0, 0.4)
    assert acc.best_recall(truth, score, min_precision=0.8) == (pytest.approx(1 / 3), 0.9)
    assert acc.best_recall([False, False], [0.1, 0.2], min_precision=0.9) == (0.0, math.inf)


def test_snr_worst_cell_is_the_noise_and_level_with_the_largest_median_error(
    acc: ModuleType,
) -> None:
    def clip(noise: str, true_db: float, measured_db: float) -> object:
        label = {"kind": "noisy", "noise_type": noise, "snr_db": true_db}
        return acc.Outcome(label=label, metrics={"snr_db": measured_db})

    outcomes = [
        clip("white", 0.2, 0.0),
        clip("white", 19.8, 20.5),
        clip("babble", 0.1, 4.1),  # +4: the worst cell, though the overall median is small
        clip("babble", -0.2, 3.8),
        clip("pink", 10.0, 9.0),
    ]
    rep = acc.Report()
    acc.check_snr(rep, outcomes)
    assert rep.figures["snr_worst_cell_median_db"] == pytest.approx(4.0)
    assert rep.figures["snr_abs_err_median_db"] == pytest.approx(1.0)
    assert any(
        "worst cell" in line and "babble 00 dB" in line and "FAIL" in line for line in rep.lines
    )

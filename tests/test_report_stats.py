"""The statistics behind the report: the t-interval over seeds and the paired bootstrap over utterances,
on synthetic data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asr_bench.errors import AsrBenchError
from asr_bench.report.stats import ci95_half_width, paired_bootstrap, sample_std


def test_ci95_uses_student_t_by_hand() -> None:
    # 3 seeds: t(0.975, 2) = 4.303; values 10, 12, 14 have sample std 2 -> 4.303 * 2 / sqrt(3).
    assert ci95_half_width([10.0, 12.0, 14.0]) == pytest.approx(4.303 * 2 / math.sqrt(3))
    assert ci95_half_width([10.0, 12.0, 14.0]) == pytest.approx(4.9687, abs=1e-4)
    # 2 seeds: t(0.975, 1) = 12.706; std of (20, 22) is sqrt(2), so the half-width is exactly t.
    assert ci95_half_width([20.0, 22.0]) == pytest.approx(12.706)
    # 5 seeds: t(0.975, 4) = 2.776; values 1..5 have std sqrt(2.5).
    assert ci95_half_width([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))
    # 41 seeds is past the table (df = 40 > 30): the normal 1.96. Twenty-one 0s and twenty 2s have
    # sample variance 4 * 21 * 20 / (41 * 40) = 42 / 41.
    values = [float(2 * (i % 2)) for i in range(41)]
    assert ci95_half_width(values) == pytest.approx(1.96 * math.sqrt(42 / 41) / math.sqrt(41))
    assert ci95_half_width([7.0]) is None
    assert ci95_half_width([5.0, 5.0, 5.0]) == 0.0
    assert sample_std([10.0, 12.0, 14.0]) == pytest.approx(2.0)
    assert sample_std([7.0]) is None


def _test_set(utterances: int = 300, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per-utterance (edits, reference words) of a system near 25% WER on utterances of 4-20 words."""
    rng = np.random.default_rng(seed)
    units = rng.integers(4, 21, size=utterances)
    return rng.binomial(units, 0.25), units


def test_identical_systems_give_no_reduction_and_p_one() -> None:
    edits, units = _test_set()
    result = paired_bootstrap(edits, units, edits, units, replicates=2000)
    assert result.relative_reduction == 0.0
    assert result.ci95 == (0.0, 0.0)  # every replicate scores both alike
    assert result.probability_of_improvement == 0.0
    assert result.p_value == 1.0
    assert result.baseline_rate == pytest.approx(100 * edits.sum() / units.sum())
    assert (result.utterances, result.replicates) == (300, 2000)


def test_systems_equal_on_average_have_an_interval_around_zero_and_p_near_half() -> None:
    """The same errors on other utterances (a shuffle): same corpus rate, a symmetric difference."""
    edits, units = _test_set(utterances=400)
    rng = np.random.default_rng(7)
    # Swap edits only between utterances of equal length, so each stays within its reference.
    shuffled = edits.copy()
    for length in np.unique(units):
        where = np.flatnonzero(units == length)
        shuffled[where] = edits[where][rng.permutation(len(where))]
    assert shuffled.sum() == edits.sum() and not np.array_equal(shuffled, edits)
    result = paired_bootstrap(edits, units, shuffled, units, replicates=4000, seed=3)
    assert result.relative_reduction == 0.0
    low, high = result.ci95
    assert low < 0.0 < high
    assert 0.3 < result.p_value < 0.7
    assert result.p_value == pytest.approx(1 - result.probability_of_improvement, abs=1e-3)


def test_fewer_edits_on_every_utterance_give_p_near_zero() -> None:
    edits, units = _test_set()
    better = edits - (edits > 0)  # one edit fewer wherever there was one
    result = paired_bootstrap(edits + 1, units, better, units, replicates=3000)
    assert result.probability_of_improvement == 1.0
    assert result.p_value == pytest.approx(1 / 3001)
    assert 0.0 < result.ci95[0] <= result.relative_reduction <= result.ci95[1]


def test_a_constant_ratio_is_exact_in_every_replicate() -> None:
    """Half the edits on every utterance: every replicate, and so the interval, says 50%."""
    edits, units = _test_set()
    result = paired_bootstrap(2 * edits, 2 * units, edits, 2 * units, replicates=500)
    assert result.relative_reduction == pytest.approx(0.5)
    assert result.ci95 == (pytest.approx(0.5), pytest.approx(0.5))


def test_seeds_pool_their_edits_and_their_spread_widens_the_interval() -> None:
    # Baseline seeds: 3 and 1 edits on utterance 0, 1 and 3 on utterance 1, 10 words each: 8 / 40 = 20%.
    # System (one seed): 1 edit on each: 2 / 20 = 10%, so the reduction is 50%.
    base_edits, base_units = np.array([[3, 1], [1, 3]]), np.full((2, 2), 10)
    system = (np.array([[1, 1]]), np.array([[10, 10]]))
    result = paired_bootstrap(base_edits, base_units, *system, replicates=1000)
    assert (result.baseline_rate, result.system_rate) == (pytest.approx(20.0), pytest.approx(10.0))
    assert result.relative_reduction == pytest.approx(0.5)
    # Drawing the baseline's first seed twice with utterance 0 twice gives 30% against 10%: the seeds
    # disagree, so the interval is wider than the utterances alone would make it (which is exactly 50%).
    assert result.ci95[0] < 0.5 < result.ci95[1]
    # Seeds that agree leave every replicate at 50%.
    agreeing = paired_bootstrap(np.full((2, 2), 2), base_units, *system, replicates=1000)
    assert agreeing.ci95 == (pytest.approx(0.5), pytest.approx(0.5))


def test_replicates_without_baseline_errors_count_as_no_improvement() -> None:
    """Two utterances: baseline (2, 0) edits, system (0, 1), 2 words each. Resampling both utterances
    (probability 1/2) gives 50%; utterance 0 twice (1/4) gives 100%; utterance 1 twice (1/4) a baseline
    without errors against a system with some, an unbounded loss."""
    result = paired_bootstrap(np.array([2, 0]), np.array([2, 2]), np.array([0, 1]), np.array([2, 2]),
                              replicates=8000, seed=11)
    assert result.relative_reduction == pytest.approx(0.5)
    assert result.probability_of_improvement == pytest.approx(0.75, abs=0.02)
    assert result.ci95 == (-math.inf, 1.0)


def test_resampling_is_seeded() -> None:
    edits, units = _test_set()
    other, _ = _test_set(seed=2)
    first = paired_bootstrap(edits, units, other, units, replicates=500, seed=5)
    assert paired_bootstrap(edits, units, other, units, replicates=500, seed=5) == first
    assert paired_bootstrap(edits, units, other, units, replicates=500, seed=6).ci95 != first.ci95


def test_unpaired_or_degenerate_input_is_refused() -> None:
    edits, units = _test_set(utterances=10)
    with pytest.raises(AsrBenchError, match="do not pair up"):
        paired_bootstrap(edits, units, edits[:9], units[:9])
    with pytest.raises(AsrBenchError, match="makes no errors"):
        paired_bootstrap(np.zeros(10), units, edits, units)

"""Statistics over seeds and utterances: the t-interval of a mean, and the paired bootstrap of two systems.

The paired bootstrap follows Bisani & Ney (2004), "Bootstrap estimates for confidence intervals in ASR
performance evaluation" (ICASSP): resample the test utterances with replacement; in each replicate
both systems are scored on the same sampled utterances, so the spread of their difference reflects
the test set's sampling, not the difference between two independent draws. Where a system was trained
with several seeds, each replicate also resamples its seeds with replacement, so the interval covers
the spread between training runs too; with one seed a side, it covers the test set alone.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from asr_bench.errors import AsrBenchError

# Two-sided 95% Student-t quantiles t_{0.975, df}, df = 1..30; beyond that the normal 1.96 is within 2%.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def ci95_half_width(values: list[float]) -> float | None:
    """Half-width of the t-based 95% interval for the mean; None for a single seed."""
    if len(values) < 2:
        return None
    df = len(values) - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.96
    return t * statistics.stdev(values) / math.sqrt(len(values))


def sample_std(values: list[float]) -> float | None:
    """Standard deviation over seeds (n - 1 in the denominator); None for a single seed."""
    return statistics.stdev(values) if len(values) > 1 else None


@dataclass(frozen=True)
class PairedBootstrap:
    """A system against a baseline on the same utterances; rates in percent, reductions as fractions.

    relative_reduction is (baseline - system) / baseline on the full test set (positive: the system
    makes fewer errors); ci95 holds the 2.5th and 97.5th percentiles of its bootstrap replicates.
    probability_of_improvement is the share of replicates where the system makes fewer errors, and
    p_value the one-sided (1 + #replicates without improvement) / (1 + replicates), never 0.
    """

    baseline_rate: float
    system_rate: float
    relative_reduction: float
    ci95: tuple[float, float]
    probability_of_improvement: float
    p_value: float
    utterances: int
    replicates: int


def paired_bootstrap(
    baseline_edits: np.ndarray,
    baseline_units: np.ndarray,
    system_edits: np.ndarray,
    system_units: np.ndarray,
    replicates: int = 10_000,
    seed: int = 0,
) -> PairedBootstrap:
    """Bootstrap the relative error reduction of `system` over `baseline`.

    Each array is (seeds, utterances), utterances in the same order on both sides; the two sides may
    have different numbers of seeds. In every replicate each system's error rate is its summed edits
    over the sampled utterances and its sampled seeds, divided by their summed reference units.
    """
    arrays = [np.atleast_2d(np.asarray(a, dtype=np.float64))
              for a in (baseline_edits, baseline_units, system_edits, system_units)]
    utterances = arrays[0].shape[1]
    if any(a.shape[1] != utterances for a in arrays) or arrays[0].shape != arrays[1].shape \
            or arrays[2].shape != arrays[3].shape:
        raise AsrBenchError(f"paired bootstrap: arrays of shapes {[a.shape for a in arrays]} do not pair up: "
                            "expected (seeds, utterances) with the same utterances on both sides")
    if utterances == 0 or replicates < 1:
        raise AsrBenchError(f"paired bootstrap needs utterances and replicates, got {utterances} and {replicates}")
    base_rate, system_rate = _rates(np.array([[a.sum() for a in arrays]]))
    if base_rate[0] == 0:
        raise AsrBenchError("paired bootstrap: the baseline makes no errors, so a relative reduction is undefined")
    rng = np.random.default_rng(seed)
    seeds = max(arrays[0].shape[0], arrays[2].shape[0])
    chunk = max(1, 2_000_000 // (utterances * seeds))  # replicates per draw: memory stays near 50 MB
    sums = []
    for start in range(0, replicates, chunk):
        count = min(chunk, replicates - start)
        sample = rng.integers(0, utterances, size=(count, utterances))
        columns = []
        for edits, units in (arrays[:2], arrays[2:]):
            # per seed and replicate, the sampled utterances' sums; then the replicate's draw of seeds
            per_seed = np.stack([edits[:, sample].sum(axis=2), units[:, sample].sum(axis=2)])  # (2, seeds, count)
            drawn = rng.integers(0, edits.shape[0], size=(count, edits.shape[0]))
            columns += list(np.take_along_axis(per_seed, drawn.T[None], axis=1).sum(axis=1))  # 2 x (count,)
        sums.append(np.stack(columns, axis=1))  # (count, 4)
    base, system = _rates(np.concatenate(sums))
    reduction = np.empty_like(base)
    scored = base > 0
    reduction[scored] = (base[scored] - system[scored]) / base[scored]
    # A replicate with no baseline errors: no reduction if the system has none either, else unbounded loss.
    reduction[~scored] = np.where(system[~scored] > 0, -np.inf, 0.0)
    improved = int((reduction > 0).sum())
    return PairedBootstrap(
        baseline_rate=100.0 * float(base_rate[0]),
        system_rate=100.0 * float(system_rate[0]),
        relative_reduction=float((base_rate[0] - system_rate[0]) / base_rate[0]),
        # Order statistics, not interpolation: exact with ties and with the unbounded replicates above.
        ci95=(float(np.percentile(reduction, 2.5, method="lower")),
              float(np.percentile(reduction, 97.5, method="higher"))),
        probability_of_improvement=improved / replicates,
        p_value=(1 + replicates - improved) / (1 + replicates),
        utterances=utterances,
        replicates=replicates,
    )


def _rates(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(baseline, system) error rates from rows of summed (baseline edits, units, system edits, units)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums[:, 0] / sums[:, 1], sums[:, 2] / sums[:, 3]

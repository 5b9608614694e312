"""wav2vec against log-mel on the same utterances: each row beside its baseline, with the paired bootstrap.

A row's baseline is the log-mel row of the same labelled hours, split, decoder and metric whose
definition differs from it in the fewest keys outside `features.*` (ideally none). The bootstrap runs
on the per-utterance counts each decode wrote; where they are missing, stale or cover other utterances
the comparison keeps the relative reduction of the means and says why it has no interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr_bench.identity import differing_keys
from asr_bench.report.pooling import Row
from asr_bench.report.stats import PairedBootstrap, paired_bootstrap
from asr_bench.report.utterances import UtteranceCounts, read_utterance_counts, utterance_file

BASELINE_FEATURES = "logmel"
# How far a per-utterance file's corpus rate may sit from results.json (percent points) before it is stale.
RATE_TOLERANCE_PERCENT = 0.01


@dataclass(frozen=True)
class Comparison:
    row: Row
    baseline: Row | None
    bootstrap: PairedBootstrap | None
    note: str  # why there is no baseline or no interval, or what else the baseline differs in; "" if nothing

    @property
    def mean_reduction(self) -> float | None:
        """(baseline mean - row mean) / baseline mean over seeds; None without a baseline or with a perfect one."""
        if self.baseline is None or self.baseline.mean == 0:
            return None
        return (self.baseline.mean - self.row.mean) / self.baseline.mean


# Per-utterance counts by (file, metric): a baseline's files serve every feature set beside it.
_Counts = dict[tuple[Path, str], UtteranceCounts]


def compare_with_baseline(rows: list[Row], replicates: int = 10_000, seed: int = 0) -> list[Comparison]:
    """A comparison for every row whose features are not the baseline's."""
    read: _Counts = {}
    return [_compare(row, rows, replicates, seed, read) for row in rows if row.features != BASELINE_FEATURES]


def _compare(row: Row, rows: list[Row], replicates: int, seed: int, read: _Counts) -> Comparison:
    candidates = [
        r for r in rows
        if r.features == BASELINE_FEATURES
        and (r.labelled_hours, r.split, r.decoder, r.metric) == (row.labelled_hours, row.split, row.decoder, row.metric)
    ]
    if not candidates:
        return Comparison(row, None, None, "no log-mel row of this size, split and decoder")
    others = {id(c): [k for k in differing_keys(c.key, row.key) if not k.startswith("features.")] for c in candidates}
    fewest = min(len(keys) for keys in others.values())
    best = [c for c in candidates if len(others[id(c)]) == fewest]
    if len(best) > 1:
        return Comparison(row, None, None, "several log-mel rows fit equally: " + "; ".join(c.label for c in best))
    baseline = best[0]
    caveat = f"log-mel also differs in {', '.join(others[id(baseline)])}" if fewest else ""
    counts, problem = _utterance_counts(baseline, row, read)
    if counts is None:
        return Comparison(row, baseline, None, "; ".join(filter(None, [problem, caveat])))
    base_counts, row_counts = counts
    ids = base_counts[0].ids
    base = [c.aligned_to(ids) for c in base_counts]
    system = [c.aligned_to(ids) for c in row_counts]
    if any(not np.array_equal(units, base[0][1]) for _, units in base + system):
        return Comparison(row, baseline, None, "; ".join(filter(None, [
            f"reference lengths differ between {base_counts[0].path} and the other decodes", caveat])))
    result = paired_bootstrap(
        np.stack([e for e, _ in base]), np.stack([u for _, u in base]),
        np.stack([e for e, _ in system]), np.stack([u for _, u in system]),
        replicates=replicates, seed=seed,
    )
    return Comparison(row, baseline, result, caveat)


def _utterance_counts(
    baseline: Row, row: Row, read: _Counts
) -> tuple[tuple[list[UtteranceCounts], list[UtteranceCounts]] | None, str]:
    """Both rows' per-utterance counts, or None and why they cannot be compared."""
    sides: list[list[UtteranceCounts]] = []
    for side in (baseline, row):
        counts = []
        for run in side.runs:
            path = utterance_file(run.directory, side.split, side.decoder)
            if not path.is_file():
                return None, f"no per-utterance counts: {path} is missing"
            if (path, side.metric) not in read:
                read[path, side.metric] = read_utterance_counts(path, side.metric)
            found = read[path, side.metric]
            recorded = float(run.splits[side.split][side.decoder][side.metric])
            if abs(found.corpus_rate_percent - recorded) > RATE_TOLERANCE_PERCENT:
                return None, (f"{path} gives {side.metric.upper()} {found.corpus_rate_percent:.2f}, results.json "
                              f"{recorded:.2f}: stale, decode again")
            counts.append(found)
        sides.append(counts)
    reference = sides[0][0]
    for counts in sides[0][1:] + sides[1]:
        if set(counts.ids) != set(reference.ids):
            only_here = len(set(counts.ids) - set(reference.ids))
            only_there = len(set(reference.ids) - set(counts.ids))
            return None, (f"utterance sets differ: {counts.path} has {only_here} utterances {reference.path} "
                          f"lacks, and lacks {only_there} of its")
    return (sides[0], sides[1]), ""

"""Per-utterance error counts a decode writes: `<run>/decode/<split>/<decoder>.utt.jsonl`.

One JSON line per utterance, in manifest order:
  {"id": ..., "ref": ..., "hyp": ..., "wer": {"sub": 1, "del": 0, "ins": 2, "ref": 9}, "cer": {...}}
with "wer" and "cer" for letter models and "per" for phone models. Summed edits (sub + del + ins)
over the lines, divided by the summed "ref", is the split's corpus error rate in results.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr_bench.errors import AsrBenchError

EDIT_KINDS = ("sub", "del", "ins")


def utterance_file(run_dir: Path, split: str, decoder: str) -> Path:
    return run_dir / "decode" / split / f"{decoder}.utt.jsonl"


@dataclass(frozen=True)
class UtteranceCounts:
    """One metric's counts per utterance: edits[i] and reference_units[i] for utterance ids[i]."""

    path: Path
    ids: tuple[str, ...]
    edits: np.ndarray  # (utterances,) int64: substitutions + deletions + insertions
    reference_units: np.ndarray  # (utterances,) int64: words, letters or phones of the reference

    @property
    def corpus_rate_percent(self) -> float:
        total = int(self.reference_units.sum())
        return 100.0 * int(self.edits.sum()) / total if total else float("nan")

    def aligned_to(self, ids: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(edits, reference_units) in the order of `ids`, which must be the same set as self.ids."""
        position = {utt: i for i, utt in enumerate(self.ids)}
        order = np.fromiter((position[utt] for utt in ids), dtype=np.int64, count=len(ids))
        return self.edits[order], self.reference_units[order]


def read_utterance_counts(path: Path, metric: str) -> UtteranceCounts:
    """`metric`'s counts from one .utt.jsonl; a malformed line is an error naming the file and line."""
    ids: list[str] = []
    edits: list[int] = []
    units: list[int] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AsrBenchError(f"{where}: not valid JSON ({exc.msg})") from None
            counts = record.get(metric) if isinstance(record, dict) else None
            if not isinstance(counts, dict) or "id" not in record:
                raise AsrBenchError(f"{where}: expected an object with 'id' and {metric!r}: "
                                    "{sub, del, ins, ref} counts")
            values = [counts.get(k) for k in (*EDIT_KINDS, "ref")]
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
                raise AsrBenchError(f"{where}: {metric} counts should be non-negative integers "
                                    f"sub, del, ins, ref; got {counts!r}")
            ids.append(str(record["id"]))
            edits.append(sum(values[:3]))
            units.append(values[3])
    if len(set(ids)) != len(ids):
        raise AsrBenchError(f"{path}: an utterance id appears more than once")
    return UtteranceCounts(path, tuple(ids), np.array(edits, dtype=np.int64), np.array(units, dtype=np.int64))

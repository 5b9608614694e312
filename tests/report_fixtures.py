"""Synthetic run folders for report tests: results.json and per-utterance .utt.jsonl in the layout decode writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LOGMEL = {"features": {"kind": "logmel"}, "data": {"train_manifest": "train_1h.jsonl"}}
WAV2VEC = {"features": {"kind": "wav2vec", "wav2vec": {"representation": "c"}}, "data": {"train_manifest": "train_1h.jsonl"}}


def write_run(root: Path, name: str, config: dict, seed: int, hours: float | None, splits: dict) -> Path:
    """A run folder's results.json (splits -> decoder -> entry); returns the file."""
    run = root / name
    run.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"config": {**config, "seed": seed}, "seed": seed, "splits": splits}
    if hours is not None:
        results["labelled_hours"] = hours
    (run / "results.json").write_text(json.dumps(results))
    return run / "results.json"


def write_utterances(run_dir: Path, split: str, decoder: str, counts: dict[str, list[tuple[int, int]]],
                     ids: list[str] | None = None) -> dict[str, float]:
    """<run>/decode/<split>/<decoder>.utt.jsonl from {metric: [(edits, reference units) per utterance]}.

    Edits are written as substitutions, except that odd counts put one of them in insertions and
    deletions alternately, so every kind is summed. Returns each metric's corpus rate in percent.
    """
    number = len(next(iter(counts.values())))
    ids = ids or [f"utt{i:04d}" for i in range(number)]
    out = run_dir / "decode" / split
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, utt in enumerate(ids):
        line: dict[str, Any] = {"id": utt, "ref": "a reference", "hyp": "a hypothesis"}
        for metric, pairs in counts.items():
            edits, units = pairs[i]
            odd = edits % 2
            line[metric] = {"sub": edits - odd, "del": odd * (i % 2), "ins": odd * (1 - i % 2), "ref": units}
        lines.append(json.dumps(line))
    (out / f"{decoder}.utt.jsonl").write_text("\n".join(lines) + "\n")
    return {m: 100.0 * sum(e for e, _ in pairs) / sum(u for _, u in pairs) for m, pairs in counts.items()}


def write_decoded_run(root: Path, name: str, config: dict, seed: int, hours: float,
                      decodes: dict[tuple[str, str], dict[str, list[tuple[int, int]]]],
                      settings: dict[str, dict[str, Any]] | None = None) -> Path:
    """A run with per-utterance counts for each (split, decoder), and results.json rates that agree with them."""
    splits: dict[str, dict[str, Any]] = {}
    for (split, decoder), counts in decodes.items():
        rates = write_utterances(root / name, split, decoder, counts)
        splits.setdefault(split, {})[decoder] = {**rates, **(settings or {}).get(decoder, {})}
    return write_run(root, name, config, seed, hours, splits)

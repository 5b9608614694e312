"""What defines a run: its config, minus the settings that may change without changing what it computes.

One place for this fact, because two things depend on it and must agree:
- a run folder refuses to be reused for a run with another definition (resuming it would mix two
  experiments under one name), while a rerun that only moves the cache or sets a time limit resumes;
- `asr-bench report` pools runs into one row (mean over seeds) only when their definitions differ in
  the seed alone.

Configs are the nested dicts of `config.to_dict` (or a run's `config.yaml`); keys are written dotted.
"""

from __future__ import annotations

import copy
from typing import Any

# Where the run lives, where caches go, how long a sitting may last, how it reports progress, and
# how features are batched or placed (exact for any batch and device): none changes the result.
NON_DEFINING_KEYS = (
    "out_dir",
    "features.cache_dir",
    "data.waveform_cache_dir",
    "data.num_workers",
    "features.wav2vec.device",
    "features.wav2vec.batch_size",
    "features.wav2vec.chunk_samples",
    "trainer.max_time",
    "trainer.progress_bar",
    "trainer.log_every_n_steps",
)


def _drop(values: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    node: Any = values
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(leaf, None)


def definition(config: dict[str, Any], also_ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """`config` without the non-defining keys (and `also_ignore`, e.g. ("seed",) for pooling over seeds)."""
    kept = copy.deepcopy(config)
    for key in (*NON_DEFINING_KEYS, *also_ignore):
        _drop(kept, key)
    return kept


def flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists and scalars are leaves."""
    if not isinstance(values, dict):
        return {prefix.rstrip("."): values}
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differing_keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two definitions (a key present in one only counts)."""
    flat_a, flat_b = flatten(a), flatten(b)
    return sorted(k for k in flat_a.keys() | flat_b.keys() if flat_a.get(k, _MISSING) != flat_b.get(k, _MISSING))


_MISSING = object()

"""Pooling runs into rows: one row per definition, over the seeds that alone tell its runs apart.

Two decodes share a row only when their runs' definitions (asr_bench.identity, seed left out), their
labelled hours and their decode settings (LM, beam, tuned weights, checkpoint, manifest) are equal.
Rows that would read alike in a table (same features, size, split, decoder) but differ in anything
else carry a `setting` naming what differs, so a reader can tell them apart.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr_bench.decode.beam import BeamSearchConfig
from asr_bench.errors import AsrBenchError
from asr_bench.identity import definition, flatten
from asr_bench.report.runs import METRICS, Run
from asr_bench.report.stats import ci95_half_width, sample_std

# The settings of a decode that change its result; lm_weight and word_score are results of tuning
# where tuned_on names the split they were tuned on, so each seed's own tuned values still pool.
DECODE_SETTINGS = ("lm_dir", "tuned_on", *(f.name for f in dataclasses.fields(BeamSearchConfig)))
TUNED_SETTINGS = ("lm_weight", "word_score")
HOURS_DECIMALS = 3  # subsets drawn to one size differ in the 4th decimal: one labelled-data point
_UNSET = "unset"


def feature_name(config: dict[str, Any]) -> str:
    """"logmel", or "wav2vec-<representation> (<model>)", so that features of different models never share a name.

    The model is the pretraining run a checkpoint came from (<run>/checkpoints/last.ckpt), else the file's stem.
    """
    features = config.get("features", {})
    if features.get("kind") != "wav2vec":
        return str(features.get("kind", "logmel"))
    settings = features.get("wav2vec", {})
    name = f"wav2vec-{settings.get('representation', 'c')}"
    if not settings.get("checkpoint"):
        return name
    checkpoint = Path(settings["checkpoint"])
    return f"{name} ({checkpoint.parent.parent.name if checkpoint.parent.name == 'checkpoints' else checkpoint.stem})"


def labelled_hours(run: Run) -> float | None:
    return None if run.labelled_hours is None else round(run.labelled_hours, HOURS_DECIMALS)


def run_definition(run: Run) -> dict[str, Any]:
    """The run's flat definition without its seed, with its labelled hours (a rewritten subset differs)."""
    return {**flatten(definition(run.config, also_ignore=("seed",))), "labelled_hours": labelled_hours(run)}


def decode_settings(run: Run, split: str, decoder: str) -> dict[str, Any]:
    """What the (split, decoder) decode was run with, its test manifest aside; beam entries take the checkpoint
    from greedy, whose emissions they search."""
    entry = run.splits[split][decoder]
    settings = {k: entry[k] for k in DECODE_SETTINGS if k in entry}
    if entry.get("tuned_on"):
        for key in TUNED_SETTINGS:
            settings.pop(key, None)
    checkpoint = entry.get("checkpoint") or run.splits[split].get("greedy", {}).get("checkpoint")
    if checkpoint:
        settings["checkpoint"] = Path(checkpoint).name  # best.ckpt or last.ckpt; the folder is the run's own
    return settings


def decode_manifest(run: Run, split: str, decoder: str) -> str | None:
    """The manifest the split was decoded from, as recorded (greedy records it for the beam searches too)."""
    manifest = run.splits[split][decoder].get("manifest") or run.splits[split].get("greedy", {}).get("manifest")
    return None if manifest is None else str(manifest)


def system_definition(run: Run, split: str, decoder: str) -> dict[str, Any]:
    """What makes a system of a table: the run's definition and the decode's settings, flat."""
    return {**run_definition(run), **{f"decode.{k}": v for k, v in decode_settings(run, split, decoder).items()}}


@dataclass(frozen=True, eq=False)
class Row:
    """One metric of one (definition, split, decoder): a value per run, one run per seed."""

    features: str
    setting: str  # what tells this row from others of the same features, size, split and decoder; "" if nothing
    labelled_hours: float | None
    split: str
    decoder: str
    metric: str
    runs: tuple[Run, ...]
    values: tuple[float, ...]
    key: dict[str, Any]  # the flat definition the runs share (run definition and decode.* settings)

    @property
    def label(self) -> str:
        return f"{self.features} [{self.setting}]" if self.setting else self.features

    @property
    def seeds(self) -> list[int | None]:
        return [run.seed for run in self.runs]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float | None:
        return sample_std(list(self.values))

    @property
    def ci95(self) -> float | None:
        return ci95_half_width(list(self.values))


def _canonical(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def distinguishing_settings(keys: list[dict[str, Any]]) -> list[str]:
    """For definitions that would read alike: per definition, `key=value` for each key whose value is not
    the same in all of them ("" for all when there is only one)."""
    if len(keys) < 2:
        return [""] * len(keys)
    names = sorted(set().union(*keys))
    varying = [n for n in names if len({_canonical({"v": k.get(n, _UNSET)}) for k in keys}) > 1]
    return [", ".join(f"{n}={_show(k.get(n, _UNSET))}" for n in varying) for k in keys]


def _settings(alike: list[tuple], definitions: list[dict[str, Any]]) -> list[str]:
    """For each item, what tells its definition from those of the items with the same `alike` key."""
    indices_by_key: dict[tuple, list[int]] = defaultdict(list)
    for index, key in enumerate(alike):
        indices_by_key[key].append(index)
    settings = [""] * len(alike)
    for indices in indices_by_key.values():
        for index, setting in zip(indices, distinguishing_settings([definitions[i] for i in indices])):
            settings[index] = setting
    return settings


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _system_order(features: str, setting: str, hours: float | None) -> tuple:
    """log-mel first, then features by name and setting; sizes ascending, unknown last."""
    return (features != "logmel", features, setting, hours is None, hours or 0.0)


def _seed_order(run: Run) -> tuple:
    return (run.seed is None, run.seed or 0)


def pool(runs: list[Run]) -> list[Row]:
    """Rows over seeds; two runs of one definition and seed (the same run twice) are an error naming both.

    A row's `setting` names what its system differs in from the others of the same features, size and
    decoder (the same for every split and metric), and its manifest where two share a split's name.
    """
    groups: dict[str, list[tuple[Run, str, str]]] = defaultdict(list)
    system_of: dict[str, str] = {}  # group -> its system's canonical form
    definitions: dict[str, dict[str, Any]] = {}  # system -> its definition
    alike: dict[str, tuple] = {}  # system -> what it reads as in a table: features, size, decoder
    manifests: dict[str, str | None] = {}
    for run in runs:
        for split, decoders in run.splits.items():
            for decoder in decoders:
                defined = system_definition(run, split, decoder)
                system = _canonical({"definition": defined, "decoder": decoder})
                manifest = decode_manifest(run, split, decoder)
                canonical = _canonical({"system": system, "split": split, "manifest": manifest})
                groups[canonical].append((run, split, decoder))
                system_of[canonical], manifests[canonical] = system, manifest
                definitions[system] = defined
                alike[system] = (feature_name(run.config), labelled_hours(run), decoder)
    system_settings = dict(zip(alike, _settings(list(alike.values()), [definitions[s] for s in alike])))
    rows = []
    for canonical, members in groups.items():
        _refuse_repeated_seeds(members)
        members.sort(key=lambda m: _seed_order(m[0]))
        run, split, decoder = members[0]
        for metric in METRICS:
            having = tuple(m for m, _, _ in members if metric in m.splits[split][decoder])
            if having:
                rows.append(Row(
                    features=feature_name(run.config),
                    setting=system_settings[system_of[canonical]],
                    labelled_hours=labelled_hours(run),
                    split=split,
                    decoder=decoder,
                    metric=metric,
                    runs=having,
                    values=tuple(float(r.splits[split][decoder][metric]) for r in having),
                    key={**definitions[system_of[canonical]], "decode.manifest": manifests[canonical]},
                ))
    rows = _name_manifests(rows)
    return sorted(rows, key=lambda r: (*_system_order(r.features, r.setting, r.labelled_hours),
                                       r.split, r.decoder, METRICS.index(r.metric)))


def _name_manifests(rows: list[Row]) -> list[Row]:
    """Rows that would still read alike (one system decoded from two manifests under one split name) get
    their manifest added to the setting."""
    alike: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        alike[(row.label, row.labelled_hours, row.split, row.decoder, row.metric)].append(row)
    renamed = {}
    for same in alike.values():
        if len(same) > 1:
            for row in same:
                manifest = f"decode.manifest={row.key['decode.manifest']}"
                renamed[id(row)] = dataclasses.replace(row, setting=", ".join(filter(None, [row.setting, manifest])))
    return [renamed.get(id(row), row) for row in rows]


@dataclass(frozen=True)
class RunGroup:
    """Runs of one definition (seeds apart), labelled like rows: features, size and what tells them apart."""

    features: str
    setting: str
    labelled_hours: float | None
    runs: tuple[Run, ...]

    @property
    def label(self) -> str:
        return f"{self.features} [{self.setting}]" if self.setting else self.features


def run_groups(runs: list[Run]) -> list[RunGroup]:
    """The runs grouped by definition without the seed (decode settings aside: training is shared)."""
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        groups[_canonical(run_definition(run))].append(run)
    members = [sorted(g, key=_seed_order) for g in groups.values()]
    settings = _settings([(feature_name(g[0].config), labelled_hours(g[0])) for g in members],
                         [run_definition(g[0]) for g in members])
    result = [RunGroup(feature_name(g[0].config), settings[i], labelled_hours(g[0]), tuple(g))
              for i, g in enumerate(members)]
    return sorted(result, key=lambda g: _system_order(g.features, g.setting, g.labelled_hours))


def _refuse_repeated_seeds(members: list[tuple[Run, str, str]]) -> None:
    by_seed: dict[Any, Run] = {}
    for run, split, decoder in members:
        if run.seed in by_seed:
            raise AsrBenchError(
                f"{by_seed[run.seed].results_file} and {run.results_file} hold the same run (same definition, "
                f"seed {run.seed}, {split} {decoder} decode): pass one of them, or give repeats their own seeds"
            )
        by_seed[run.seed] = run


def compact_names(names: list[str]) -> str:
    """["logmel_1h_s0", "logmel_1h_s1"] -> "logmel_1h_s{0,1}": the common prefix and suffix written once."""
    if len(names) < 2:
        return names[0] if names else ""
    prefix = _common_prefix(names).rstrip("0123456789")  # numbers stay whole: s{0,10}, not s{,1}0
    rests = [n[len(prefix):] for n in names]
    suffix = _common_prefix([r[::-1] for r in rests])[::-1].lstrip("0123456789")
    middles = [r[: len(r) - len(suffix)] for r in rests]
    return f"{prefix}{{{','.join(middles)}}}{suffix}"


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]

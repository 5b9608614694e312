"""Held-out speakers and labelled-data subsets: the rules that make results comparable.

* `speaker_disjoint_split`: a corpus without dev/test (mini LibriSpeech) gets them by
  holding out whole speakers, balanced by gender (2 F + 2 M for mini LibriSpeech:
  dev 1 F + 1 M, test 1 F + 1 M), so no test speaker is ever heard in training.
* `nested_subsets`: training subsets by labelled hours (10 min inside 30 min inside
  1 h ...), so a sweep over hours changes only the amount of data, never which
  speakers or sentences the smaller runs saw; each subset spreads its hours over
  as many speakers as evenly as it can, within a tolerance of the asked duration
  (2% by default; the WSJ recipe's 8 h low-resource subset asks for 1%).

Both are seeded and deterministic: the same manifest and seed give the same
utterances on any machine (Python's `random.Random`, on sorted inputs).
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

from asr_bench.data.manifest import Utterance
from asr_bench.errors import ConfigError, ManifestError

log = logging.getLogger(__name__)

# Largest relative gap between a subset's duration and the duration asked for, unless a caller asks for another.
SUBSET_TOLERANCE = 0.02


def _speaker_genders(utterances: Sequence[Utterance]) -> dict[str, str | None]:
    """speaker -> gender (None when unknown); a speaker with two genders is a manifest error."""
    genders: dict[str, set[str | None]] = defaultdict(set)
    for utt in utterances:
        genders[utt.speaker].add(utt.gender)
    result: dict[str, str | None] = {}
    for speaker, found in genders.items():
        known = found - {None}
        if len(known) > 1:
            raise ManifestError(f"speaker {speaker} has utterances of gender {sorted(known)}: expected one gender")
        result[speaker] = next(iter(known)) if known and None not in found else None
    return result


def speaker_disjoint_split(
    utterances: Sequence[Utterance],
    num_dev_speakers_per_gender: int = 1,
    num_test_speakers_per_gender: int = 1,
    seed: int = 0,
) -> dict[str, list[Utterance]]:
    """Split into {"train", "dev", "test"} with no speaker in two of them.

    Each gender contributes `num_dev_speakers_per_gender` speakers to dev and
    `num_test_speakers_per_gender` to test, drawn at random (seeded) from that
    gender's speakers, so held-out WER is not a one-gender number. Every gender must
    keep at least one training speaker.

    When any speaker's gender is unknown (no SPEAKERS.TXT, a corpus without it),
    genders are ignored and dev/test get `2 * num_..._per_gender` speakers each: the
    same number of speakers as a two-gender corpus, so the held-out size does not
    depend on whether the metadata was there.

    Utterances keep their input order within each split.
    """
    if num_dev_speakers_per_gender < 0 or num_test_speakers_per_gender < 0:
        raise ConfigError("dev/test speakers per gender must be >= 0")
    if not utterances:
        raise ManifestError("cannot split an empty manifest")
    genders = _speaker_genders(utterances)
    rng = random.Random(seed)

    if all(g is not None for g in genders.values()):
        groups: dict[str | None, list[str]] = defaultdict(list)
        for speaker, gender in genders.items():
            groups[gender].append(speaker)
        num_dev, num_test = num_dev_speakers_per_gender, num_test_speakers_per_gender
    else:
        unknown = sum(g is None for g in genders.values())
        log.warning(
            "%d of %d speakers have no gender: holding out speakers without gender balance", unknown, len(genders)
        )
        groups = {None: list(genders)}
        num_dev, num_test = 2 * num_dev_speakers_per_gender, 2 * num_test_speakers_per_gender

    dev_speakers, test_speakers = hold_out_speakers(groups, num_dev, num_test, rng)
    split: dict[str, list[Utterance]] = {"train": [], "dev": [], "test": []}
    for utt in utterances:
        name = "dev" if utt.speaker in dev_speakers else "test" if utt.speaker in test_speakers else "train"
        split[name].append(utt)
    return split


def hold_out_speakers(
    groups: Mapping[str | None, Sequence[str]], num_dev: int, num_test: int, rng: random.Random
) -> tuple[set[str], set[str]]:
    """(dev speakers, test speakers): `num_dev` and `num_test` drawn from each group (by gender, or by gender and
    age), so held-out error rates weigh every group alike. Each group must keep a training speaker."""
    dev_speakers: set[str] = set()
    test_speakers: set[str] = set()
    for group in sorted(groups, key=str):
        speakers = sorted(groups[group])
        needed = num_dev + num_test + 1
        if len(speakers) < needed:
            label = f"{group} speakers" if group is not None else "speakers"
            raise ManifestError(
                f"need at least {needed} {label} ({num_dev} dev + {num_test} test + 1 train), "
                f"the manifest has {len(speakers)}: {', '.join(speakers)}"
            )
        rng.shuffle(speakers)
        dev_speakers.update(speakers[:num_dev])
        test_speakers.update(speakers[num_dev : num_dev + num_test])
    return dev_speakers, test_speakers


def nested_subsets(
    utterances: Sequence[Utterance], hours: Sequence[float], seed: int = 0, tolerance: float = SUBSET_TOLERANCE
) -> dict[float, list[Utterance]]:
    """Nested, speaker-balanced subsets of about `hours` each: {hours: utterances}, smallest first.

    One seeded pass grows a single selection and snapshots it at each target, so every
    subset contains all smaller ones. Each step takes the speaker with the fewest
    seconds selected so far (ties broken by a seeded speaker order) and adds that
    speaker's next utterance (speaker's utterances in a seeded order) that still fits
    under target * (1 + tolerance); it stops once the target is reached, so a subset
    holds between its target and target * (1 + tolerance). A subset thus spreads
    over as many speakers, as evenly in hours, as the corpus allows. A target larger
    than the whole manifest is a ConfigError (there is no honest subset of it); one
    that cannot be met within the tolerance (a tiny corpus of long utterances) is too.

    Utterances keep their input order within each subset.
    """
    if not hours:
        return {}
    if any(not h > 0 for h in hours):
        raise ConfigError(f"subset hours must be positive, got {list(hours)}")
    if not 0 < tolerance < 1:
        raise ConfigError(f"subset tolerance must be a fraction between 0 and 1, got {tolerance}")
    total_s = sum(u.duration for u in utterances)
    targets = sorted(set(hours))
    if targets[-1] * 3600.0 > total_s:
        raise ConfigError(
            f"a {targets[-1]:g} h subset was asked for but the manifest holds only {total_s / 3600.0:.3f} h"
        )

    rng = random.Random(seed)
    by_speaker: dict[str, list[int]] = defaultdict(list)
    for index, utt in enumerate(utterances):
        by_speaker[utt.speaker].append(index)
    speaker_order = sorted(by_speaker)
    rng.shuffle(speaker_order)
    rank = {speaker: r for r, speaker in enumerate(speaker_order)}
    queues = {speaker: rng.sample(by_speaker[speaker], len(by_speaker[speaker])) for speaker in speaker_order}
    speaker_s = dict.fromkeys(speaker_order, 0.0)

    selected: list[int] = []
    selected_s = 0.0
    subsets: dict[float, list[Utterance]] = {}
    for target_h in targets:
        target_s = target_h * 3600.0
        limit_s = target_s * (1.0 + tolerance)
        while selected_s < target_s:
            pick = _next_pick(queues, speaker_s, rank, limit_s - selected_s, utterances)
            if pick is None:
                break
            speaker, position = pick
            index = queues[speaker].pop(position)
            selected.append(index)
            selected_s += utterances[index].duration
            speaker_s[speaker] += utterances[index].duration
        if abs(selected_s - target_s) > tolerance * target_s:
            raise ConfigError(
                f"cannot fill a {target_h:g} h subset within {tolerance:.1%}: reached "
                f"{selected_s / 3600.0:.4f} h with no remaining utterance short enough"
            )
        subsets[target_h] = [utterances[i] for i in sorted(selected)]
    return subsets


def _next_pick(
    queues: dict[str, list[int]],
    speaker_s: dict[str, float],
    rank: dict[str, int],
    room_s: float,
    utterances: Sequence[Utterance],
) -> tuple[str, int] | None:
    """(speaker, queue position) of the next utterance: least-served speaker first, first utterance that fits."""
    for speaker in sorted((s for s in queues if queues[s]), key=lambda s: (speaker_s[s], rank[s])):
        for position, index in enumerate(queues[speaker]):
            if utterances[index].duration <= room_s:
                return speaker, position
    return None


def subset_name(hours: float) -> str:
    """File-name label for a subset: `10min` below an hour when the minutes are whole, else `1h`, `0.75h`."""
    minutes = hours * 60.0
    if hours < 1.0 and abs(minutes - round(minutes)) < 1e-6:
        return f"{round(minutes)}min"
    return f"{hours:g}h"


def parse_duration_hours(text: str) -> float:
    """'10min', '30m', '1h', '2' (hours) -> hours; for command lines, where 10 min is not 0.167 h."""
    value = text.strip().lower()
    try:
        for suffix, scale in (("min", 1 / 60), ("m", 1 / 60), ("h", 1.0)):
            if value.endswith(suffix):
                return float(value[: -len(suffix)]) * scale
        return float(value)
    except ValueError as exc:
        raise ConfigError(f"subset duration {text!r}: expected hours (2, 0.5h) or minutes (10min)") from exc

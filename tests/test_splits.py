"""Speaker-disjoint splits and nested labelled-hours subsets: the rules results are compared under."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from asr_bench.cli import main
from asr_bench.data.manifest import Utterance, read_manifest, write_manifest
from asr_bench.data.splits import (
    SUBSET_TOLERANCE,
    nested_subsets,
    parse_duration_hours,
    speaker_disjoint_split,
    subset_name,
)
from asr_bench.errors import ConfigError, ManifestError


def corpus(num_female: int = 10, num_male: int = 8, per_speaker: int = 40, seed: int = 1, gender: bool = True):
    """LibriSpeech-like durations (2-16 s), a different amount of speech per speaker."""
    rng = random.Random(seed)
    utterances = []
    for index in range(num_female + num_male):
        speaker = str(100 + index)
        sex = "F" if index < num_female else "M"
        for number in range(per_speaker - index):
            utterances.append(
                Utterance(
                    id=f"{speaker}-1-{number:04d}",
                    audio=f"/audio/{speaker}-1-{number:04d}.flac",
                    duration=round(rng.uniform(2.0, 16.0), 3),
                    speaker=speaker,
                    text="A TEXT",
                    gender=sex if gender else None,
                )
            )
    return utterances


def speakers(utterances: list[Utterance]) -> set[str]:
    return {u.speaker for u in utterances}


# ---------------------------------------------------------------------------------------------
# speaker-disjoint split


def test_split_holds_out_one_speaker_per_gender_for_dev_and_test() -> None:
    utterances = corpus()
    split = speaker_disjoint_split(utterances, seed=0)

    assert set(split) == {"train", "dev", "test"}
    assert not speakers(split["train"]) & speakers(split["dev"])
    assert not speakers(split["train"]) & speakers(split["test"])
    assert not speakers(split["dev"]) & speakers(split["test"])
    for name in ("dev", "test"):
        assert sorted({u.gender for u in split[name]}) == ["F", "M"]
        assert len(speakers(split[name])) == 2
    # nothing lost, nothing doubled, input order kept
    assert sorted(u.id for part in split.values() for u in part) == sorted(u.id for u in utterances)
    order = {u.id: i for i, u in enumerate(utterances)}
    for part in split.values():
        assert [order[u.id] for u in part] == sorted(order[u.id] for u in part)


def test_split_is_seeded() -> None:
    utterances = corpus()
    first = speaker_disjoint_split(utterances, seed=3)
    assert speaker_disjoint_split(utterances, seed=3) == first
    # the held-out speakers depend on the seed, not on the manifest's line order
    reordered = speaker_disjoint_split(list(reversed(utterances)), seed=3)
    assert speakers(reordered["dev"]) == speakers(first["dev"])
    assert speakers(reordered["test"]) == speakers(first["test"])
    held_out = {
        seed: (frozenset(speakers(s["dev"])), frozenset(speakers(s["test"])))
        for seed in range(6)
        for s in [speaker_disjoint_split(utterances, seed=seed)]
    }
    assert len(set(held_out.values())) > 1


def test_split_more_speakers_per_gender() -> None:
    split = speaker_disjoint_split(corpus(), num_dev_speakers_per_gender=2, num_test_speakers_per_gender=3)
    assert Counter({u.speaker: u.gender for u in split["dev"]}.values()) == {"F": 2, "M": 2}
    assert Counter({u.speaker: u.gender for u in split["test"]}.values()) == {"F": 3, "M": 3}


def test_split_without_gender_holds_out_twice_the_per_gender_count() -> None:
    split = speaker_disjoint_split(corpus(gender=False), seed=0)
    assert len(speakers(split["dev"])) == 2 and len(speakers(split["test"])) == 2
    assert not speakers(split["dev"]) & speakers(split["test"])


def test_split_errors() -> None:
    with pytest.raises(ManifestError, match=r"need at least 3 M speakers \(1 dev \+ 1 test \+ 1 train\), .* has 2"):
        speaker_disjoint_split(corpus(num_female=5, num_male=2))
    with pytest.raises(ManifestError, match="need at least 5 speakers"):
        speaker_disjoint_split(corpus(num_female=2, num_male=2, gender=False))
    mixed = corpus(num_female=4, num_male=4)
    mixed.append(Utterance("100-9-0000", "/a.flac", 3.0, "100", "X", gender="M"))
    with pytest.raises(ManifestError, match="speaker 100 has utterances of gender"):
        speaker_disjoint_split(mixed)
    with pytest.raises(ManifestError, match="empty"):
        speaker_disjoint_split([])


# ---------------------------------------------------------------------------------------------
# nested subsets

HOURS = [1 / 6, 0.5, 1.0]


def test_subsets_are_nested_and_within_tolerance() -> None:
    utterances = corpus()
    subsets = nested_subsets(utterances, [1.0, 1 / 6, 0.5], seed=0)
    assert list(subsets) == HOURS  # smallest first, whatever the order asked
    previous: set[str] = set()
    for hours, subset in subsets.items():
        ids = {u.id for u in subset}
        assert len(ids) == len(subset)
        assert previous <= ids
        previous = ids
        total_h = sum(u.duration for u in subset) / 3600
        assert abs(total_h - hours) <= SUBSET_TOLERANCE * hours


def test_subsets_are_speaker_balanced() -> None:
    utterances = corpus()
    for hours, subset in nested_subsets(utterances, HOURS, seed=0).items():
        seconds = Counter()
        for utt in subset:
            seconds[utt.speaker] += utt.duration
        assert set(seconds) == speakers(utterances), f"{hours} h leaves out speakers"
        # each speaker within about one utterance (max 16 s) of an even share
        assert max(seconds.values()) - min(seconds.values()) <= 2 * 16.0


def test_subsets_are_seeded() -> None:
    utterances = corpus()
    first = nested_subsets(utterances, HOURS, seed=0)
    assert nested_subsets(utterances, HOURS, seed=0) == first
    other = nested_subsets(utterances, HOURS, seed=1)
    assert {u.id for u in other[0.5]} != {u.id for u in first[0.5]}


def test_subset_errors() -> None:
    utterances = corpus(num_female=2, num_male=1, per_speaker=10)
    total_h = sum(u.duration for u in utterances) / 3600
    with pytest.raises(ConfigError, match=rf"a 1 h subset was asked for but the manifest holds only {total_h:.3f} h"):
        nested_subsets(utterances, [0.01, 1.0])
    with pytest.raises(ConfigError, match="positive"):
        nested_subsets(utterances, [0.0])
    # a target below the shortest utterance cannot be met within 2%
    long_only = [Utterance(f"1-1-{i}", "/a", 100.0, "1", "X") for i in range(3)]
    with pytest.raises(ConfigError, match="cannot fill"):
        nested_subsets(long_only, [10 / 3600])
    assert nested_subsets(utterances, []) == {}


def test_names_and_parsing() -> None:
    names = [subset_name(h) for h in (1 / 6, 0.5, 1.0, 2.0, 0.167, 1.5)]
    assert names == ["10min", "30min", "1h", "2h", "0.167h", "1.5h"]
    assert parse_duration_hours("10min") == pytest.approx(1 / 6)
    assert parse_duration_hours("30m") == 0.5 and parse_duration_hours("2h") == 2.0 and parse_duration_hours("1") == 1.0
    with pytest.raises(ConfigError, match="expected hours"):
        parse_duration_hours("ten")


# ---------------------------------------------------------------------------------------------
# command line


def test_cli_split_writes_parts_subsets_and_provenance(tmp_path: Path, capsys) -> None:
    manifest = write_manifest(tmp_path / "all.jsonl", corpus())
    out = tmp_path / "split"
    argv = ["split", "--manifest", str(manifest), "--out-dir", str(out), "--subset-hours", "10min,0.5,1h"]
    assert main([*argv, "--seed", "2"]) == 0
    printed = capsys.readouterr().out
    for name in ("train", "dev", "test", "train_10min", "train_30min", "train_1h"):
        assert f"{name}: " in printed
        assert (out / f"{name}.jsonl").is_file()
    train = {u.id for u in read_manifest(out / "train.jsonl")}
    assert {u.id for u in read_manifest(out / "train_1h.jsonl")} <= train
    info = json.loads((out / "split.json").read_text())
    assert info["seed"] == 2 and sorted(info["speakers"]["dev"].values()) == ["F", "M"]

    assert main(["split", "--manifest", str(manifest), "--out-dir", str(out), "--subset-hours", "100h"]) == 2
    assert "100 h subset was asked for" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# WSJ's low-resource subsets: a manifest the size of si284, durations only


def si284_sized(seed: int = 0) -> list[Utterance]:
    """37416 utterances of 283 speakers as WSJ has them: 83 WSJ0 speakers with 7138 utterances (TI's 28 read about
    50 each, MIT's and SRI's about 104), 200 WSJ1 speakers with 30278; about 7.8 s each (81 h), each speaker at a
    speaking rate of their own."""
    rng = random.Random(seed)
    counts = [50] * 28 + [104 + (i < 18) for i in range(55)] + [151 + (i < 78) for i in range(200)]
    assert (len(counts), sum(counts[:83]), sum(counts)) == (283, 7138, 37416)
    utterances = []
    for index, count in enumerate(counts):
        speaker = f"{index:03x}"
        rate = rng.uniform(0.8, 1.25)
        for number in range(count):
            duration = min(max(rng.lognormvariate(2.0, 0.35) * rate, 1.5), 30.0)
            utterances.append(Utterance(f"{speaker}c{number:04x}", "", round(duration, 3), speaker, "A TEXT",
                                        gender="F" if index % 2 else "M"))
    return utterances


def test_wsj_8h_subset_is_within_one_percent_nested_and_speaker_balanced() -> None:
    utterances = si284_sized()
    total_h = sum(u.duration for u in utterances) / 3600
    assert 75 < total_h < 90, "about si284's 81 h"
    subsets = nested_subsets(utterances, [1.0, 2.0, 4.0, 8.0], seed=0, tolerance=0.01)
    previous: set[str] = set()
    for hours, subset in subsets.items():
        subset_h = sum(u.duration for u in subset) / 3600
        print(f"{hours:g} h asked: {subset_h:.4f} h, {len(subset)} utterances, {len(speakers(subset))} speakers")
        assert hours <= subset_h <= 1.01 * hours
        ids = {u.id for u in subset}
        assert previous < ids
        previous = ids
    eight = subsets[8.0]
    seconds = Counter()
    for utt in eight:
        seconds[utt.speaker] += utt.duration
    assert set(seconds) == speakers(utterances), "every si284 speaker reads part of the 8 h"
    assert max(seconds.values()) - min(seconds.values()) <= 30.0, "within one utterance of an even share"
    assert nested_subsets(utterances, [8.0], seed=0, tolerance=0.01)[8.0] == eight, "same seed, same subset"


def test_cli_split_without_hold_out_cuts_subsets_of_the_whole_manifest(tmp_path: Path, capsys) -> None:
    manifest = write_manifest(tmp_path / "si84.jsonl", corpus())
    out = tmp_path / "subsets"
    assert main(["split", "-m", str(manifest), "--out-dir", str(out), "--no-hold-out", "--subset-hours", "10min,1h",
                 "--subset-tolerance", "0.01"]) == 0
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["si84_10min.jsonl", "si84_1h.jsonl"]
    one_hour = read_manifest(out / "si84_1h.jsonl")
    assert 1.0 <= sum(u.duration for u in one_hour) / 3600 <= 1.01
    info = json.loads((out / "split.json").read_text())
    assert info["hold_out"] is False and info["subset_tolerance"] == 0.01 and info["speakers"] == {}
    assert main(["split", "-m", str(manifest), "--out-dir", str(out), "--no-hold-out", "--subset-hours", "1h",
                 "--subset-tolerance", "2"]) == 2
    assert "tolerance must be a fraction" in capsys.readouterr().err

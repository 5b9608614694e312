"""The shared corpus layer: checks, skip lists kept on disk, segments of recordings, the registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asr_bench.data.audio import load_utterance
from asr_bench.data.corpora.records import (
    MISSING_AUDIO,
    SEGMENT_OUTSIDE_AUDIO,
    Candidate,
    Problem,
    check_candidates,
    natural_key,
    read_summary,
    write_prepared,
)
from asr_bench.data.corpora.registry import corpora
from asr_bench.data.manifest import Utterance, read_manifest
from asr_bench.errors import BadAudioError, CorpusLayoutError


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """Two seconds of distinct samples (a ramp), so any offset error shows in the values."""
    samples = (np.arange(32_000, dtype=np.float32) / 32_000.0 - 0.5).astype(np.float32)
    path = tmp_path / "rec.wav"
    soundfile.write(path, samples, 16_000, subtype="FLOAT")
    return path, samples


def test_segments_read_their_span_and_are_checked_against_the_recording(recording, tmp_path: Path) -> None:
    path, samples = recording
    candidates = [
        Candidate("a", "s1", "first half", path, offset_s=0.0, duration_s=1.0),
        Candidate("b", "s1", "second part", path, offset_s=1.25, duration_s=0.5),
        Candidate("c", "s1", "past the end", path, offset_s=1.5, duration_s=1.0),
    ]
    with pytest.raises(BadAudioError, match=r"rec\.wav: segment c spans 1\.500-2\.500 s but the audio is 2\.000 s"):
        check_candidates(candidates, skip_bad=False, progress=False)
    prepared = check_candidates(candidates, skip_bad=True, progress=False)
    assert [u.id for u in prepared.utterances] == ["a", "b"]
    assert list(prepared.skipped) == [SEGMENT_OUTSIDE_AUDIO]
    assert prepared.skipped[SEGMENT_OUTSIDE_AUDIO][0].startswith("c: ")

    write_prepared(tmp_path / "out", "test", {"train": prepared})
    a, b = read_manifest(tmp_path / "out" / "train.jsonl")
    assert (a.offset, a.duration, b.offset, b.duration) == (0.0, 1.0, 1.25, 0.5)
    np.testing.assert_array_equal(load_utterance(b).numpy(), samples[20_000:28_000])
    whole = Utterance("w", str(path), 2.0, "s1", "whole")
    assert load_utterance(whole).shape == (32_000,)


def test_skips_are_listed_in_summary_json_and_merged_across_calls(recording, tmp_path: Path) -> None:
    path, _ = recording
    missing = Candidate("gone", "s2", "text", None, problem=Problem(MISSING_AUDIO, "list.txt:3: no audio for gone"))
    with pytest.raises(BadAudioError, match="list.txt:3: no audio for gone.*--skip-bad"):
        check_candidates([missing], skip_bad=False, progress=False)
    train = check_candidates([Candidate("ok", "s1", "text", path), missing], skip_bad=True, progress=False)
    write_prepared(tmp_path, "test", {"train": train}, corpus_dir=path.parent)
    dev = check_candidates([Candidate("d1", "s3", "text", path)], skip_bad=False, progress=False)
    write_prepared(tmp_path, "test", {"dev": dev})

    recorded = json.loads((tmp_path / "summary.json").read_text())
    assert recorded["corpus"] == "test" and recorded["corpus_dir"] == str(path.parent)
    summaries = read_summary(tmp_path)
    assert set(summaries) == {"train", "dev"}
    assert summaries["train"].skipped == {MISSING_AUDIO: 1}
    assert summaries["train"].skipped_utterances == {MISSING_AUDIO: ["gone: list.txt:3: no audio for gone"]}
    assert summaries["dev"].num_utterances == 1 and summaries["dev"].skipped == {}


def test_duplicate_ids_are_refused_naming_both_files(recording) -> None:
    path, _ = recording
    with pytest.raises(CorpusLayoutError, match=r"utterance id x appears twice .*rec\.wav"):
        check_candidates([Candidate("x", "s", "t", path), Candidate("x", "s", "t", path)], skip_bad=True, progress=False)


def test_natural_order() -> None:
    ids = ["19-198-0010", "19-198-0002", "103-1240-0000", "SI1027", "SI648", "SX4"]
    assert sorted(ids, key=natural_key) == ["19-198-0002", "19-198-0010", "103-1240-0000", "SI648", "SI1027", "SX4"]


def test_registry_finds_every_corpus_module() -> None:
    found = corpora()
    assert "librispeech" in found
    for corpus in found.values():
        assert corpus.options and all(option.help for option in corpus.options)

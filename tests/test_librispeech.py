"""prepare_librispeech on real audio: the OpenSLR layout, Hugging Face copies of it, and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asr_bench.cli import main
from asr_bench.data.corpora.librispeech import prepare_librispeech
from asr_bench.data.corpora.records import (
    CORRUPT_AUDIO,
    EMPTY_TRANSCRIPT,
    MISSING_AUDIO,
    NO_TRANSCRIPT,
    UNREADABLE_AUDIO,
    WRONG_SAMPLE_RATE,
    ZERO_LENGTH_AUDIO,
)
from asr_bench.data.manifest import Utterance, read_manifest
from asr_bench.errors import BadAudioError, CorpusLayoutError
from corpus_fixtures import REAL_MINI, build_openslr_tree, speaker_lines

# Split folder -> speakers of ../shared/data/ci taken into it (two split folders: any names must work).
SPLITS = {"train-clean-5": ("1088", "1737"), "dev-clean-2": ("118",)}
UTTERANCES_PER_SPEAKER = 2


@pytest.fixture
def openslr(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> tuple[Path, dict[str, list[dict[str, str]]]]:
    used = build_openslr_tree(tmp_path / "corpus", ci_librispeech_rows, shared_data, SPLITS, UTTERANCES_PER_SPEAKER)
    return tmp_path / "corpus" / "LibriSpeech", used


def _chapter_dir(corpus: Path, utt_id: str) -> Path:
    speaker, chapter, _ = utt_id.split("-")
    split = next(name for name, speakers in SPLITS.items() if speaker in speakers)
    return corpus / split / speaker / chapter


def _without_audio(utterances: list[Utterance]) -> list[tuple]:
    return [(u.id, u.text, u.speaker, u.duration, u.gender) for u in utterances]


# ---------------------------------------------------------------------------------------------
# OpenSLR layout


def test_openslr_manifests_match_the_audio_and_transcripts(openslr, tmp_path: Path, shared_data: Path) -> None:
    corpus, used = openslr
    summaries = prepare_librispeech(corpus, tmp_path / "out", progress=False)

    assert set(summaries) == set(SPLITS)
    lines = speaker_lines(shared_data, {s for group in SPLITS.values() for s in group})
    genders = {line.split("|")[0].strip(): line.split("|")[1].strip() for line in lines}
    for split, rows in used.items():
        manifest = read_manifest(tmp_path / "out" / f"{split}.jsonl")
        assert [u.id for u in manifest] == sorted(r["utt_id"] for r in rows)
        by_id = {r["utt_id"]: r for r in rows}
        for utt in manifest:
            row = by_id[utt.id]
            info = soundfile.info(utt.audio)
            assert Path(utt.audio).is_absolute() and Path(utt.audio).name == f"{utt.id}.flac"
            assert utt.duration == pytest.approx(info.frames / info.samplerate, abs=1e-9)
            assert utt.duration == pytest.approx(float(row["duration_s"]), abs=1e-3)
            assert (utt.text, utt.speaker, utt.gender) == (row["text"], row["speaker"], genders[row["speaker"]])
        summary = summaries[split]
        assert summary.num_utterances == len(rows)
        assert summary.num_speakers == len(SPLITS[split])
        assert summary.hours == pytest.approx(sum(u.duration for u in manifest) / 3600)
        assert summary.skipped == {}


def test_split_dir_parent_dir_and_split_selection(openslr, tmp_path: Path) -> None:
    corpus, used = openslr
    reference = {s: read_manifest(p) for s, p in _prepared(corpus, tmp_path / "ref").items()}

    only = prepare_librispeech(corpus / "dev-clean-2", tmp_path / "one", progress=False)
    assert list(only) == ["dev-clean-2"]
    # gender still found: SPEAKERS.TXT sits above the split folder
    assert read_manifest(tmp_path / "one" / "dev-clean-2.jsonl") == reference["dev-clean-2"]

    parent = prepare_librispeech(corpus.parent, tmp_path / "parent", splits=["train-clean-5"], progress=False)
    assert list(parent) == ["train-clean-5"]
    assert read_manifest(tmp_path / "parent" / "train-clean-5.jsonl") == reference["train-clean-5"]

    with pytest.raises(CorpusLayoutError, match="no split.*test-other.*found: dev-clean-2, train-clean-5"):
        prepare_librispeech(corpus, tmp_path / "x", splits=["test-other"], progress=False)


def _prepared(corpus: Path, out_dir: Path, **kwargs) -> dict[str, Path]:
    summaries = prepare_librispeech(corpus, out_dir, progress=False, **kwargs)
    return {split: out_dir / f"{split}.jsonl" for split in summaries}


def test_any_audio_extension(openslr, tmp_path: Path) -> None:
    """The shared copy is Opus: an extension other than .flac must work the same way."""
    corpus, used = openslr
    utt_id = used["dev-clean-2"][0]["utt_id"]
    flac = _chapter_dir(corpus, utt_id) / f"{utt_id}.flac"
    samples, rate = soundfile.read(flac)
    flac.unlink()
    soundfile.write(flac.with_suffix(".wav"), samples, rate)
    prepare_librispeech(corpus, tmp_path / "out", progress=False)
    utt = next(u for u in read_manifest(tmp_path / "out" / "dev-clean-2.jsonl") if u.id == utt_id)
    assert utt.audio.endswith(".wav") and utt.duration == len(samples) / rate


# ---------------------------------------------------------------------------------------------
# Hugging Face copies


def _hf_table(used: dict[str, list[dict[str, str]]], shared_data: Path) -> dict[str, dict[str, list]]:
    """LibriSpeech's HF columns, with the audio bytes embedded as `save_to_disk` stores them."""
    tables = {}
    for split, rows in used.items():
        # a different row order from OpenSLR's: the manifests must come out sorted the same way anyway
        rows = sorted(rows, key=lambda r: r["utt_id"], reverse=True)
        files = [shared_data / "ci" / r["path"] for r in rows]
        tables[split] = {
            "file": [str(f) for f in files],
            "audio": [{"bytes": f.read_bytes(), "path": f.name} for f in files],
            "text": [r["text"] for r in rows],
            "speaker_id": [int(r["speaker"]) for r in rows],
            "chapter_id": [int(r["utt_id"].split("-")[1]) for r in rows],
            "id": [r["utt_id"] for r in rows],
        }
    return tables


def _hf_dataset(table: dict[str, list]):
    import datasets

    # from_dict with an Audio feature would encode through torchcodec: build the struct, then cast.
    return datasets.Dataset.from_dict(table).cast_column("audio", datasets.Audio(sampling_rate=16_000))


@pytest.fixture
def hf_tables(openslr, shared_data: Path) -> dict[str, dict[str, list]]:
    return _hf_table(openslr[1], shared_data)


def test_hf_save_to_disk_gives_the_same_manifests(openslr, hf_tables, tmp_path: Path) -> None:
    import datasets

    corpus, _ = openslr
    reference = {s: read_manifest(p) for s, p in _prepared(corpus, tmp_path / "ref").items()}
    hf_dir = tmp_path / "hf"
    datasets.DatasetDict({s: _hf_dataset(t) for s, t in hf_tables.items()}).save_to_disk(str(hf_dir))

    out = tmp_path / "out"
    prepare_librispeech(hf_dir, out, speakers_file=corpus / "SPEAKERS.TXT", progress=False)
    for split, expected in reference.items():
        got = read_manifest(out / f"{split}.jsonl")
        assert _without_audio(got) == _without_audio(expected)
        for utt, ref in zip(got, expected):
            assert Path(utt.audio).parent.parent == out / "audio" / split
            assert Path(utt.audio).read_bytes() == Path(ref.audio).read_bytes()

    # a single Dataset saved on its own is one split, named after its folder
    single = tmp_path / "dev-clean-2"
    _hf_dataset(hf_tables["dev-clean-2"]).save_to_disk(str(single))
    prepare_librispeech(single, tmp_path / "single", speakers_file=corpus / "SPEAKERS.TXT", progress=False)
    assert _without_audio(read_manifest(tmp_path / "single" / "dev-clean-2.jsonl")) == _without_audio(
        reference["dev-clean-2"]
    )


def test_hf_parquet_gives_the_same_manifests(openslr, hf_tables, tmp_path: Path) -> None:
    corpus, _ = openslr
    reference = {s: read_manifest(p) for s, p in _prepared(corpus, tmp_path / "ref").items()}
    parquet_dir = tmp_path / "parquet" / "data"
    parquet_dir.mkdir(parents=True)
    for split, table in hf_tables.items():  # the hub's data/<split>-00000-of-00001.parquet naming
        _hf_dataset(table).to_parquet(str(parquet_dir / f"{split}-00000-of-00001.parquet"))

    summaries = prepare_librispeech(tmp_path / "parquet", tmp_path / "out", progress=False)
    assert set(summaries) == set(SPLITS)
    for split, expected in reference.items():
        got = read_manifest(tmp_path / "out" / f"{split}.jsonl")
        # no SPEAKERS.TXT given: everything but gender agrees
        assert [t[:4] for t in _without_audio(got)] == [t[:4] for t in _without_audio(expected)]
        assert all(u.gender is None for u in got)


def test_hf_bad_rows(openslr, hf_tables, tmp_path: Path) -> None:
    table = hf_tables["dev-clean-2"]
    table["text"][0] = " "
    table["audio"][1] = {"bytes": b"not audio at all", "path": "x.flac"}
    hf_dir = tmp_path / "dev-clean-2"
    _hf_dataset(table).save_to_disk(str(hf_dir))
    with pytest.raises(CorpusLayoutError, match=rf"{hf_dir} row 0 .*empty transcript"):
        prepare_librispeech(hf_dir, tmp_path / "out", progress=False)
    summaries = prepare_librispeech(hf_dir, tmp_path / "out", skip_bad=True, progress=False)
    assert summaries["dev-clean-2"].skipped == {EMPTY_TRANSCRIPT: 1, UNREADABLE_AUDIO: 1}
    assert summaries["dev-clean-2"].num_utterances == 0

    del table["speaker_id"]
    bad_columns = tmp_path / "bad-columns"
    _hf_dataset(table).save_to_disk(str(bad_columns))
    with pytest.raises(CorpusLayoutError, match="lacks column.*speaker_id"):
        prepare_librispeech(bad_columns, tmp_path / "out", progress=False)


# ---------------------------------------------------------------------------------------------
# bad input


def test_missing_or_empty_corpus_dir(tmp_path: Path) -> None:
    with pytest.raises(CorpusLayoutError, match=rf"{tmp_path / 'nope'} does not exist: expected the OpenSLR"):
        prepare_librispeech(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty" / "train-clean-5" / "19").mkdir(parents=True)
    with pytest.raises(CorpusLayoutError, match=rf"{tmp_path / 'empty'} has no split folders: expected"):
        prepare_librispeech(tmp_path / "empty", tmp_path / "out")


def _break_garbage(audio: Path, trans: Path, utt_id: str) -> None:
    audio.write_bytes(b"this is not a flac file" * 50)


def _break_empty_file(audio: Path, trans: Path, utt_id: str) -> None:
    audio.unlink()
    audio.write_bytes(b"")


def _break_zero_samples(audio: Path, trans: Path, utt_id: str) -> None:
    audio.unlink()
    soundfile.write(audio.with_suffix(".wav"), np.zeros(0, dtype="float32"), 16_000)


def _break_rate(audio: Path, trans: Path, utt_id: str) -> None:
    audio.unlink()
    soundfile.write(audio.with_suffix(".wav"), np.zeros(8_000, dtype="float32"), 8_000)


def _break_empty_text(audio: Path, trans: Path, utt_id: str) -> None:
    lines = trans.read_text().splitlines()
    trans.write_text("\n".join(utt_id if line.startswith(utt_id) else line for line in lines) + "\n")


def _break_no_line(audio: Path, trans: Path, utt_id: str) -> None:
    lines = trans.read_text().splitlines()
    trans.write_text("\n".join(line for line in lines if not line.startswith(utt_id)) + "\n")


def _break_no_trans_file(audio: Path, trans: Path, utt_id: str) -> None:
    trans.unlink()


def _break_no_audio(audio: Path, trans: Path, utt_id: str) -> None:
    audio.unlink()


BREAKAGES = [
    # (how, error type, message pattern, skipped reason, utterances lost)
    (_break_garbage, BadAudioError, r"\.flac: unreadable audio", UNREADABLE_AUDIO, 1),
    (_break_empty_file, BadAudioError, r"\.flac: zero-length audio", ZERO_LENGTH_AUDIO, 1),
    (_break_zero_samples, BadAudioError, r"\.wav: zero-length audio", ZERO_LENGTH_AUDIO, 1),
    (_break_rate, BadAudioError, r"\.wav: sample rate 8000 Hz, expected 16000 Hz", WRONG_SAMPLE_RATE, 1),
    (_break_empty_text, CorpusLayoutError, r"trans\.txt:\d+: empty transcript", EMPTY_TRANSCRIPT, 1),
    (_break_no_line, CorpusLayoutError, r"\.flac: no transcript, expected a line", NO_TRANSCRIPT, 1),
    (_break_no_trans_file, CorpusLayoutError, r"\.flac: no transcript, .*trans\.txt does not exist", NO_TRANSCRIPT, 2),
    (_break_no_audio, BadAudioError, r"trans\.txt:\d+: no audio file for", MISSING_AUDIO, 1),
]


@pytest.mark.parametrize(
    ("breakage", "error", "pattern", "reason", "lost"),
    BREAKAGES,
    ids=[b[0].__name__.removeprefix("_break_") for b in BREAKAGES],
)
def test_bad_utterance_raises_or_is_skipped_and_counted(
    openslr, tmp_path: Path, breakage, error, pattern, reason, lost
) -> None:
    corpus, used = openslr
    rows = used["train-clean-5"]
    utt_id = rows[0]["utt_id"]
    chapter_dir = _chapter_dir(corpus, utt_id)
    speaker, chapter, _ = utt_id.split("-")
    audio = chapter_dir / f"{utt_id}.flac"
    # a real copy, not the symlink: breakages write into it
    target = audio.resolve()
    audio.unlink()
    shutil.copyfile(target, audio)
    breakage(audio, chapter_dir / f"{speaker}-{chapter}.trans.txt", utt_id)

    with pytest.raises(error, match=pattern) as caught:
        prepare_librispeech(corpus, tmp_path / "out", progress=False)
    assert str(chapter_dir) in str(caught.value)
    assert "skip" in str(caught.value)

    summaries = prepare_librispeech(corpus, tmp_path / "out", skip_bad=True, progress=False)
    assert summaries["train-clean-5"].skipped == {reason: lost}
    assert summaries["train-clean-5"].num_utterances == len(rows) - lost
    assert summaries["dev-clean-2"].skipped == {}
    assert utt_id not in {u.id for u in read_manifest(tmp_path / "out" / "train-clean-5.jsonl")}


def test_truncated_body_is_caught_by_verify_audio(openslr, tmp_path: Path) -> None:
    corpus, used = openslr
    utt_id = used["dev-clean-2"][0]["utt_id"]
    audio = _chapter_dir(corpus, utt_id) / f"{utt_id}.flac"
    data = audio.read_bytes()
    audio.unlink()
    audio.write_bytes(data[: len(data) // 2])  # header intact, so durations alone cannot tell

    prepare_librispeech(corpus, tmp_path / "out", progress=False)
    with pytest.raises(BadAudioError, match=rf"{audio}"):
        prepare_librispeech(corpus, tmp_path / "out", verify_audio=True, progress=False)
    summaries = prepare_librispeech(corpus, tmp_path / "out", verify_audio=True, skip_bad=True, progress=False)
    assert summaries["dev-clean-2"].skipped == {CORRUPT_AUDIO: 1}


# ---------------------------------------------------------------------------------------------
# command line and the real corpus


def test_cli_prepare_prints_each_split_and_overall(openslr, tmp_path: Path, capsys) -> None:
    corpus, used = openslr
    assert main(["prepare", "librispeech", "--corpus-dir", str(corpus), "--out-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "train-clean-5: 4 utterances, 2 speakers" in out
    assert "dev-clean-2: 2 utterances, 1 speakers" in out
    assert "all: 6 utterances, 3 speakers" in out

    assert main(["prepare", "librispeech", "--corpus-dir", str(tmp_path / "nope"), "--out-dir", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_real_mini_librispeech_summary(shared_data: Path, tmp_path: Path) -> None:
    """The numbers the shared data's README states (1519 utterances, 28 speakers, 16 F / 12 M, 5.31 h)."""
    summaries = prepare_librispeech(shared_data / REAL_MINI, tmp_path / "out", progress=False)
    assert list(summaries) == ["train-clean-5"]
    summary = summaries["train-clean-5"]
    assert (summary.num_utterances, summary.num_speakers, round(summary.hours, 2)) == (1519, 28, 5.31)
    assert summary.skipped == {}
    utterances = read_manifest(tmp_path / "out" / "train-clean-5.jsonl")
    genders = {u.speaker: u.gender for u in utterances}
    assert sorted(genders.values()).count("F") == 16 and sorted(genders.values()).count("M") == 12

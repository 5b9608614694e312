"""Kaldi data directories on real audio: plain paths, the sph2pipe and sox forms, segments, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asr_bench.cli import main
from asr_bench.data.audio import load_audio, load_utterance
from asr_bench.data.corpora.kaldi import prepare_kaldi
from asr_bench.data.corpora.records import MISSING_AUDIO, NO_TRANSCRIPT, UNSUPPORTED_AUDIO_ENTRY
from asr_bench.data.manifest import read_manifest
from asr_bench.errors import BadAudioError, CorpusLayoutError


@pytest.fixture
def three_rows(ci_librispeech_rows) -> list[dict[str, str]]:
    """Three real utterances of two speakers."""
    rows = sorted(ci_librispeech_rows, key=lambda r: r["utt_id"])
    by_speaker = [r for r in rows if r["speaker"] == rows[0]["speaker"]][:2]
    other = next(r for r in rows if r["speaker"] != rows[0]["speaker"])
    return [*by_speaker, other]


def write_dir(data_dir: Path, files: dict[str, list[str]]) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (data_dir / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return data_dir


@pytest.fixture
def kaldi_dir(tmp_path: Path, three_rows, shared_data: Path) -> tuple[Path, list[dict[str, str]]]:
    """data/train with one plain relative path (FLAC), one `sph2pipe -f wav X.sph |` and one `sox X.wav -t wav - |`."""
    corpus = tmp_path / "corpus"
    (corpus / "audio").mkdir(parents=True)
    plain, sphere, wav = three_rows
    (corpus / "audio" / "a.flac").symlink_to(shared_data / "ci" / plain["path"])
    samples, rate = soundfile.read(shared_data / "ci" / sphere["path"], dtype="int16")
    soundfile.write(corpus / "audio" / "b.sph", samples, rate, format="NIST", subtype="PCM_16")
    samples, rate = soundfile.read(shared_data / "ci" / wav["path"], dtype="int16")
    soundfile.write(corpus / "audio" / "c.wav", samples, rate)
    data_dir = write_dir(corpus / "train", {
        "wav.scp": [f"{plain['utt_id']} audio/a.flac",
                    f"{sphere['utt_id']} /opt/kaldi/tools/sph2pipe_v2.5/sph2pipe -f wav {corpus}/audio/b.sph |",
                    f"{wav['utt_id']} sox {corpus}/audio/c.wav -t wav - |"],
        "text": [f"{r['utt_id']} {r['text']}" for r in three_rows],
        "utt2spk": [f"{r['utt_id']} {r['speaker']}" for r in three_rows],
        "spk2gender": [f"{three_rows[0]['speaker']} f", f"{wav['speaker']} M"],
    })
    return data_dir, three_rows


def test_plain_sph2pipe_and_sox_entries_read_the_files(kaldi_dir, tmp_path: Path, shared_data: Path, capsys) -> None:
    data_dir, rows = kaldi_dir
    assert main(["prepare", "kaldi", "--data-dir", str(data_dir), "--out-dir", str(tmp_path / "out")]) == 0
    assert "train: 3 utterances, 2 speakers" in capsys.readouterr().out
    utterances = {u.id: u for u in read_manifest(tmp_path / "out" / "train.jsonl")}
    assert sorted(utterances) == sorted(r["utt_id"] for r in rows)
    for row, name in zip(rows, ("a.flac", "b.sph", "c.wav")):
        utt = utterances[row["utt_id"]]
        assert Path(utt.audio) == data_dir.parent / "audio" / name
        assert (utt.text, utt.speaker, utt.offset) == (row["text"], row["speaker"], None)
        assert utt.duration == pytest.approx(float(row["duration_s"]), abs=1e-3)
        original = load_audio(shared_data / "ci" / row["path"])
        np.testing.assert_allclose(load_utterance(utt).numpy(), original.numpy(), atol=1 / 32768)
    assert [utterances[r["utt_id"]].gender for r in rows] == ["F", "F", "M"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["corpus"] == "kaldi" and summary["splits"]["train"]["num_utterances"] == 3


def test_audio_base_and_name_options(kaldi_dir, tmp_path: Path) -> None:
    data_dir, _ = kaldi_dir
    moved = tmp_path / "elsewhere" / "train"
    moved.parent.mkdir()
    data_dir.rename(moved)
    with pytest.raises(BadAudioError, match=rf"{moved}/wav.scp:1: audio file .*a\.flac .*does not exist "
                                                rf"\(relative paths are read from {moved.parent}\)"):
        prepare_kaldi(moved, tmp_path / "out", progress=False)
    summaries = prepare_kaldi(moved, tmp_path / "out", name="dev", audio_base=tmp_path / "corpus", progress=False)
    assert list(summaries) == ["dev"] and summaries["dev"].num_utterances == 3


def test_segments_are_spans_of_a_recording(tmp_path: Path, three_rows, shared_data: Path) -> None:
    """Two utterances cut from one recording (the first ends at -1: the end of the file), one whole-file segment."""
    first, second, third = (load_audio(shared_data / "ci" / r["path"]).numpy() for r in three_rows)
    soundfile.write(tmp_path / "rec1.wav", np.concatenate([first, second]), 16_000, subtype="FLOAT")
    soundfile.write(tmp_path / "rec2.wav", third, 16_000, subtype="FLOAT")
    split_s = len(first) / 16_000
    data_dir = write_dir(tmp_path / "data" / "segmented", {
        "wav.scp": [f"rec1 {tmp_path}/rec1.wav", f"rec2 {tmp_path}/rec2.wav"],
        "segments": [f"u1 rec1 0.0 {split_s}", f"u2 rec1 {split_s} -1", "u3 rec2 0 -1"],
        "text": [f"u{i + 1} {r['text']}" for i, r in enumerate(three_rows)],
        "utt2spk": ["u1 s1", "u2 s1", "u3 s2"],
    })
    prepare_kaldi(data_dir, tmp_path / "out", progress=False)
    u1, u2, u3 = read_manifest(tmp_path / "out" / "segmented.jsonl")
    assert (u1.offset, u2.offset, u3.offset) == (0.0, split_s, 0.0)
    assert (u1.duration, u3.duration) == (pytest.approx(split_s), pytest.approx(len(third) / 16_000))
    assert u2.duration == pytest.approx(len(second) / 16_000)
    for utt, samples in ((u1, first), (u2, second), (u3, third)):
        np.testing.assert_array_equal(load_utterance(utt).numpy(), samples)

    (data_dir / "segments").write_text(f"u1 rec1 0.0 {split_s}\nu2 rec1 {split_s} 99.0\nu3 rec9 0 1\n")
    with pytest.raises(BadAudioError, match=r"rec1\.wav: segment u2 spans .* but the audio is"):
        prepare_kaldi(data_dir, tmp_path / "out", progress=False)
    summaries = prepare_kaldi(data_dir, tmp_path / "out", skip_bad=True, progress=False)
    assert summaries["segmented"].num_utterances == 1
    listed = summaries["segmented"].skipped_utterances[MISSING_AUDIO]
    assert listed == [f"u3: {data_dir}/segments:3: segment u3 is of recording rec9, which wav.scp does not list"]


def _missing_file(files: dict[str, list[str]], utt_id: str) -> None:
    files["wav.scp"][0] = f"{utt_id} audio/gone.flac"


def _unsupported_pipe(files: dict[str, list[str]], utt_id: str) -> None:
    files["wav.scp"][0] = f"{utt_id} gunzip -c audio/a.wav.gz |"


def _sph2pipe_channel(files: dict[str, list[str]], utt_id: str) -> None:
    files["wav.scp"][0] = f"{utt_id} sph2pipe -f wav -c 2 audio/a.flac |"


def _ark_offset(files: dict[str, list[str]], utt_id: str) -> None:
    files["wav.scp"][0] = f"{utt_id} data/wav.ark:1234"


def _text_without_audio(files: dict[str, list[str]], utt_id: str) -> None:
    del files["wav.scp"][0]


def _audio_without_text(files: dict[str, list[str]], utt_id: str) -> None:
    del files["text"][0]


BAD_INPUT = [
    # (breakage, error type, message pattern (file:line), skip reason)
    (_missing_file, BadAudioError, r"wav\.scp:1: audio file .*gone\.flac of \S+ does not exist", MISSING_AUDIO),
    (_unsupported_pipe, CorpusLayoutError, r"wav\.scp:1: unsupported command 'gunzip -c audio/a\.wav\.gz \|'",
     UNSUPPORTED_AUDIO_ENTRY),
    (_sph2pipe_channel, CorpusLayoutError, r"wav\.scp:1: unsupported command 'sph2pipe -f wav -c 2", UNSUPPORTED_AUDIO_ENTRY),
    (_ark_offset, CorpusLayoutError, r"wav\.scp:1: 'data/wav\.ark:1234' .* is an archive offset", UNSUPPORTED_AUDIO_ENTRY),
    (_text_without_audio, BadAudioError, r"text:1: utterance \S+ has no audio: it is not in wav\.scp", MISSING_AUDIO),
    (_audio_without_text, CorpusLayoutError, r"wav\.scp:1: utterance \S+ has audio but no line in the text file",
     NO_TRANSCRIPT),
]


@pytest.mark.parametrize(("breakage", "error", "pattern", "reason"), BAD_INPUT,
                         ids=[b[0].__name__.removeprefix("_") for b in BAD_INPUT])
def test_bad_entries_raise_naming_file_and_line_or_are_skipped_and_listed(
    kaldi_dir, tmp_path: Path, capsys, breakage, error, pattern, reason
) -> None:
    data_dir, rows = kaldi_dir
    files = {name: (data_dir / name).read_text().splitlines() for name in ("wav.scp", "text", "utt2spk")}
    utt_id = rows[0]["utt_id"]
    breakage(files, utt_id)
    write_dir(data_dir, files)

    with pytest.raises(error, match=pattern) as caught:
        prepare_kaldi(data_dir, tmp_path / "out", progress=False)
    assert str(data_dir) in str(caught.value) and "--skip-bad" in str(caught.value)
    assert main(["prepare", "kaldi", "--data-dir", str(data_dir), "--out-dir", str(tmp_path / "out")]) == 2
    assert str(data_dir) in capsys.readouterr().err

    out = tmp_path / "out"
    assert main(["prepare", "kaldi", "--data-dir", str(data_dir), "--out-dir", str(out), "--skip-bad"]) == 0
    assert f"skipped 1 {reason}" in capsys.readouterr().out
    recorded = json.loads((out / "summary.json").read_text())["splits"]["train"]
    assert recorded["num_utterances"] == 2 and recorded["skipped"] == {reason: 1}
    (listed,) = recorded["skipped_utterances"][reason]
    assert listed.startswith(f"{utt_id}: {data_dir}/")
    assert utt_id not in {u.id for u in read_manifest(out / "train.jsonl")}


def test_malformed_dirs_are_named(kaldi_dir, tmp_path: Path) -> None:
    data_dir, rows = kaldi_dir
    with pytest.raises(CorpusLayoutError, match=r"Kaldi data dir .*nope does not exist: expected a Kaldi data directory"):
        prepare_kaldi(tmp_path / "nope", tmp_path / "out", progress=False)
    (data_dir / "utt2spk").write_text(f"{rows[1]['utt_id']} {rows[1]['speaker']}\n{rows[2]['utt_id']} x\n")
    with pytest.raises(CorpusLayoutError, match=rf"text:1: utterance {rows[0]['utt_id']} has no line in .*utt2spk"):
        prepare_kaldi(data_dir, tmp_path / "out", progress=False)
    (data_dir / "utt2spk").unlink()
    with pytest.raises(CorpusLayoutError, match=r"utt2spk does not exist: expected a Kaldi data directory"):
        prepare_kaldi(data_dir, tmp_path / "out", progress=False)
    (data_dir / "text").write_text("a one\nb two\na three\n")
    with pytest.raises(CorpusLayoutError, match=r"text:3: a is listed twice \(first on line 1\)"):
        prepare_kaldi(data_dir, tmp_path / "out", progress=False)

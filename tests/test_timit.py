"""prepare_timit on generated TIMIT trees: every layout variant of real copies, the full-size skeleton, bad input."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asr_bench.cli import main
from asr_bench.data.corpora.records import BAD_LABELS, EMPTY_TRANSCRIPT, MISSING_AUDIO, NO_TRANSCRIPT, SUMMARY_FILE
from asr_bench.data.corpora.timit import TWINS_DIFFER, prepare_timit, standard_sets
from asr_bench.data.manifest import read_manifest
from asr_bench.errors import BadAudioError, CorpusLayoutError
from timit_fixtures import (
    TRAIN_SPEAKERS_PER_REGION,
    VARIANTS,
    build_skeleton,
    build_tree,
    librivox_utterances,
    sphere_header,
    write_sphere,
)

STANDARD = ("train", "dev", "test")
# A dev utterance the bad-input tests break, and where it lives in the "ldc" variant.
BROKEN_ID = "FAKS0_SI1573"
BROKEN_DIR = Path("timit", "TIMIT", "TEST", "DR1", "FAKS0")


@pytest.fixture(scope="module")
def trees(tmp_path_factory, shared_data: Path):
    """Variant name -> (folder to pass to prepare, expected manifests), each tree built once per module."""
    built: dict[str, tuple[Path, dict]] = {}

    def tree(name: str) -> tuple[Path, dict]:
        if name not in built:
            corpus = tmp_path_factory.mktemp(name) / "corpus"
            # twins are compared sample by sample: one second of each real utterance keeps that quick
            max_samples = 16_000 if VARIANTS[name].audio == "twins" else None
            built[name] = (corpus, build_tree(corpus, VARIANTS[name], shared_data, max_samples=max_samples))
        return built[name]

    return tree


def _copy(trees, name: str, tmp_path: Path) -> tuple[Path, dict]:
    """A private copy of a built tree for a test to break: its files are hard links and its audio symlinks,
    so a test replaces a file (`_rewrite`), never edits one in place."""
    corpus, expected = trees(name)
    shutil.copytree(corpus, tmp_path / "corpus", symlinks=True, copy_function=os.link)
    return tmp_path / "corpus", expected


def _rewrite(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text)


def _summary_json(out_dir: Path) -> dict:
    return json.loads((out_dir / SUMMARY_FILE).read_text())


# ---------------------------------------------------------------------------------------------
# the header, the lists


def test_sphere_writer_gives_timit_header_that_soundfile_reads(shared_data: Path, tmp_path: Path) -> None:
    real = shared_data / "sphere" / "timit_style.wav"
    samples, rate = soundfile.read(real, dtype="int16")
    write_sphere(tmp_path / "SA1.WAV", samples, "test_sa1")
    assert (tmp_path / "SA1.WAV").read_bytes() == real.read_bytes()

    header = sphere_header(46797, -2191, 2790, "cjf0_sa1").decode("ascii")
    assert header.startswith("NIST_1A\n   1024\ndatabase_id -s5 TIMIT\ndatabase_version -s3 1.0\nutterance_id -s8 cjf0_sa1\n")
    assert "sample_coding" not in header and len(header) == 1024
    info = soundfile.info(tmp_path / "SA1.WAV")
    assert (info.format, info.subtype, info.samplerate, info.frames) == ("NIST", "PCM_16", 16_000, len(samples))


def test_standard_lists_are_the_published_ones() -> None:
    sets = standard_sets()
    dev, core = sets["dev"], sets["core_test"]
    assert (len(dev), len(core)) == (50, 24) and not set(dev) & set(core)
    assert Counter(s[0] for s in dev) == {"F": 18, "M": 32}
    for region in (f"DR{n}" for n in range(1, 9)):
        assert sorted(s[0] for s, (r, _) in core.items() if r == region) == ["F", "M", "M"]
    for speaker, (region, sentences) in {**dev, **core}.items():
        assert len(set(sentences)) == 8 and sum(s.startswith("SI") for s in sentences) == 3, speaker
        assert all(s.startswith("SX") for s in sentences if not s.startswith("SI"))
    assert core["MDAB0"] == ("DR1", ("SI1039", "SI1669", "SI2299", "SX139", "SX229", "SX319", "SX409", "SX49"))
    assert dev["MAJC0"][0] == "DR8" and dev["MRJM4"][0] == "DR7"


# ---------------------------------------------------------------------------------------------
# layout variants of real copies


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_gives_the_standard_sets_of_its_real_speech(trees, name: str, tmp_path: Path) -> None:
    corpus, expected = trees(name)
    variant = VARIANTS[name]
    summaries = prepare_timit(corpus, tmp_path / "out", progress=False)

    assert list(summaries) == list(STANDARD)
    assert (summaries["dev"].num_utterances, summaries["dev"].num_speakers) == (400, 50)
    assert (summaries["test"].num_utterances, summaries["test"].num_speakers) == (192, 24)
    for split in STANDARD:
        manifest = read_manifest(tmp_path / "out" / f"{split}.jsonl")
        assert sorted(u.id for u in manifest) == sorted(expected[split])
        for utt in manifest:
            want = expected[split][utt.id]
            sentence = utt.id.split("_")[1]
            assert (utt.speaker, utt.gender, utt.text) == (want.speaker, want.speaker[0], want.text)
            assert utt.phones == list(want.phones)
            assert utt.duration == pytest.approx(want.num_samples / 16_000, abs=1e-9)
            assert Path(utt.audio).name == variant.spell(f"{sentence}.WAV")  # never the .WAV.wav twin
            assert Path(utt.audio).parent.name == variant.spell(utt.speaker) and Path(utt.audio).is_file()
        assert summaries[split].skipped == {}
        magic = Path(manifest[0].audio).read_bytes()[:4]
        assert magic == (b"RIFF" if variant.audio == "riff_in_place" else b"NIST")
    recorded = _summary_json(tmp_path / "out")
    assert (recorded["corpus"], recorded["root"]) == ("timit", str(corpus.joinpath(*variant.above_root).resolve()))


def test_real_labels_are_read_unchanged(trees, shared_data: Path, tmp_path: Path) -> None:
    corpus, _ = trees("ldc")
    prepare_timit(corpus, tmp_path / "out", progress=False)
    by_length = {len(u.samples): u for u in librivox_utterances(shared_data)}
    for utt in read_manifest(tmp_path / "out" / "dev.jsonl")[:5]:
        source = by_length[round(utt.duration * 16_000)]
        assert utt.text == " ".join(w for _, _, w in source.words)
        assert utt.phones[0] == utt.phones[-1] == "h#" and "sil" not in utt.phones
        assert len(utt.phones) == len(source.phones)


def test_keep_sa_and_complete_test(trees, tmp_path: Path) -> None:
    corpus, expected = trees("ldc")
    summaries = prepare_timit(corpus, tmp_path / "out", keep_sa=True, complete_test=True, progress=False)
    assert list(summaries) == [*STANDARD, "complete_test"]
    assert sorted(u.id for u in read_manifest(tmp_path / "out" / "train.jsonl")) == sorted(expected["train_with_sa"])
    complete = read_manifest(tmp_path / "out" / "complete_test.jsonl")
    assert sorted(u.id for u in complete) == sorted(expected["complete_test"])
    assert not any(u.id.endswith(("_SA1", "_SA2")) for u in complete)
    dev = read_manifest(tmp_path / "out" / "dev.jsonl")
    assert not any(u.id.endswith(("_SA1", "_SA2")) for u in dev)  # keep_sa is for train only


# ---------------------------------------------------------------------------------------------
# the full-size skeleton


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory) -> tuple[Path, dict[str, set[str]]]:
    parent = tmp_path_factory.mktemp("skeleton")
    return parent, build_skeleton(parent / "timit" / "TIMIT")


def test_skeleton_gives_the_published_counts(skeleton, tmp_path: Path, capsys) -> None:
    parent, speakers = skeleton
    assert len(speakers["train"]) == sum(TRAIN_SPEAKERS_PER_REGION) == 462
    assert len(speakers["complete_test"]) == 168
    out = tmp_path / "out"
    assert main(["prepare", "timit", "--corpus-dir", str(parent), "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "train: 3696 utterances, 462 speakers" in printed
    assert "dev: 400 utterances, 50 speakers" in printed
    assert "test: 192 utterances, 24 speakers" in printed
    for split in STANDARD:
        manifest = read_manifest(out / f"{split}.jsonl")
        assert {u.speaker for u in manifest} == speakers[split]
        assert all(u.gender == u.speaker[0] and u.phones == ["h#", "ae", "h#"] and u.text == "a" for u in manifest)

    assert main(["prepare", "timit", "--corpus-dir", str(parent), "--out-dir", str(out), "--keep-sa", "--complete-test"]) == 0
    printed = capsys.readouterr().out
    assert "train: 4620 utterances, 462 speakers" in printed
    assert "complete_test: 1344 utterances, 168 speakers" in printed
    assert {u.speaker for u in read_manifest(out / "complete_test.jsonl")} == speakers["complete_test"]


# ---------------------------------------------------------------------------------------------
# bad input


def test_a_folder_that_is_not_timit_says_what_it_found(tmp_path: Path) -> None:
    with pytest.raises(CorpusLayoutError, match=rf"{tmp_path / 'nope'} does not exist: expected the LDC93S1 layout"):
        prepare_timit(tmp_path / "nope", tmp_path / "out")
    other = tmp_path / "other"
    (other / "wav").mkdir(parents=True)
    (other / "list.txt").write_text("x\n")
    with pytest.raises(CorpusLayoutError, match=r"no TRAIN or TEST folder .* found: list\.txt, wav/; expected the LDC93S1"):
        prepare_timit(other, tmp_path / "out")


def test_a_split_folder_or_half_a_tree_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "corpus" / "timit" / "TIMIT"
    for split in ("TRAIN", "TEST"):
        (root / split / "DR1" / "FCJF0").mkdir(parents=True)
    with pytest.raises(CorpusLayoutError, match=r"DR1\.\.DR8\): it is a TRAIN or TEST folder; pass the folder above it"):
        prepare_timit(root / "TRAIN", tmp_path / "out")
    (tmp_path / "second" / "timit" / "TIMIT" / "TEST" / "DR1").mkdir(parents=True)  # as deep as the first
    with pytest.raises(CorpusLayoutError, match=r"holds 2 TIMIT trees"):
        prepare_timit(tmp_path, tmp_path / "out")
    shutil.rmtree(root / "TEST")
    with pytest.raises(CorpusLayoutError, match=rf"TIMIT root {root} has no TEST folder with DR1\.\.DR8"):
        prepare_timit(tmp_path / "corpus", tmp_path / "out")


def test_names_differing_only_in_case_are_refused(trees, tmp_path: Path) -> None:
    corpus, _ = _copy(trees, "ldc", tmp_path)
    os.link(corpus / BROKEN_DIR / "SI1573.PHN", corpus / BROKEN_DIR / "si1573.phn")
    with pytest.raises(CorpusLayoutError, match=r"FAKS0: SI1573\.PHN and si1573\.phn differ only in case"):
        prepare_timit(corpus, tmp_path / "out")


def test_a_standard_speaker_in_another_region_is_refused(trees, tmp_path: Path) -> None:
    corpus, _ = _copy(trees, "ldc", tmp_path)
    (corpus / BROKEN_DIR).rename(corpus / BROKEN_DIR.parent.parent / "DR2" / "FAKS0")
    with pytest.raises(CorpusLayoutError, match=r"DR2/FAKS0: the standard dev set has FAKS0 in DR1, not DR2"):
        prepare_timit(corpus, tmp_path / "out")


def _edit_line(path: Path, number: int, edit) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = edit(lines[number - 1])
    _rewrite(path, "\n".join(lines) + "\n")


def _last_line_past_the_end(path: Path) -> None:
    num_samples = soundfile.info(path.with_suffix(".WAV")).frames
    def past_the_end(line: str) -> str:
        start, _, label = line.split(maxsplit=2)
        return f"{start} {num_samples + 1} {label}"

    _edit_line(path, len(path.read_text().splitlines()), past_the_end)


BREAKAGES = {
    # name: (how, error type, message pattern, skip reason)
    "phone outside the 61": (
        lambda d: _edit_line(d / "SI1573.PHN", 2, lambda line: line.rsplit(" ", 1)[0] + " xx"),
        CorpusLayoutError, r"SI1573\.PHN:2: label 'xx' is not one of TIMIT's 61 phone labels", BAD_LABELS,
    ),
    "malformed line": (
        lambda d: _edit_line(d / "SI1573.WRD", 3, lambda line: line.split(" ", 1)[1]),
        CorpusLayoutError, r"SI1573\.WRD:3: '\d+ \w+' is not '<start sample> <end sample> <label>'", BAD_LABELS,
    ),
    "phone ending before it starts": (
        lambda d: _edit_line(d / "SI1573.PHN", 2, lambda line: " ".join(line.split()[1::-1] + line.split()[2:])),
        CorpusLayoutError, r"SI1573\.PHN:2: '\w+' ends \(sample \d+\) before it starts \(\d+\)", BAD_LABELS,
    ),
    "phone past the audio": (
        lambda d: _last_line_past_the_end(d / "SI1573.PHN"),
        CorpusLayoutError, r"SI1573\.PHN:\d+: 'h#' ends at sample \d+, past the end of the audio \(.*SI1573\.WAV has",
        BAD_LABELS,
    ),
    "word past the audio": (
        lambda d: _last_line_past_the_end(d / "SI1573.WRD"),
        CorpusLayoutError, r"SI1573\.WRD:\d+: '\w+' ends at sample \d+, past the end of the audio", BAD_LABELS,
    ),
    "sentence past the audio": (
        lambda d: _last_line_past_the_end(d / "SI1573.TXT"),
        CorpusLayoutError, r"SI1573\.TXT:1: '[^']+' ends at sample \d+, past the end of the audio", BAD_LABELS,
    ),
    "no words": (
        lambda d: _rewrite(d / "SI1573.WRD", "\n"),
        CorpusLayoutError, r"SI1573\.WRD: no '<start> <end> <label>' lines", EMPTY_TRANSCRIPT,
    ),
    "missing PHN": (
        lambda d: (d / "SI1573.PHN").unlink(),
        CorpusLayoutError, r"FAKS0/SI1573\.PHN does not exist: expected \.PHN, \.WRD and \.TXT beside .*SI1573\.WAV",
        NO_TRANSCRIPT,
    ),
    "missing WRD": (
        lambda d: (d / "SI1573.WRD").unlink(), CorpusLayoutError, r"FAKS0/SI1573\.WRD does not exist", NO_TRANSCRIPT,
    ),
    "missing TXT": (
        lambda d: (d / "SI1573.TXT").unlink(), CorpusLayoutError, r"FAKS0/SI1573\.TXT does not exist", NO_TRANSCRIPT,
    ),
    "missing WAV": (
        lambda d: (d / "SI1573.WAV").unlink(),
        BadAudioError, r"FAKS0/SI1573\.WAV does not exist: no audio for this utterance", MISSING_AUDIO,
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_bad_utterance_raises_naming_the_file_or_is_skipped_and_listed(trees, name: str, tmp_path: Path) -> None:
    corpus, _ = _copy(trees, "ldc", tmp_path)
    breakage, error, pattern, reason = BREAKAGES[name]
    breakage(corpus / BROKEN_DIR)

    with pytest.raises(error, match=pattern) as caught:
        prepare_timit(corpus, tmp_path / "out", progress=False)
    assert "--skip-bad" in str(caught.value)

    summaries = prepare_timit(corpus, tmp_path / "out", skip_bad=True, progress=False)
    assert summaries["dev"].skipped == {reason: 1} and summaries["dev"].num_utterances == 399
    assert summaries["train"].skipped == summaries["test"].skipped == {}
    listed = _summary_json(tmp_path / "out")["splits"]["dev"]["skipped_utterances"][reason]
    assert len(listed) == 1 and listed[0].startswith(f"{BROKEN_ID}: ") and "SI1573" in listed[0].split(": ", 1)[1]
    assert BROKEN_ID not in {u.id for u in read_manifest(tmp_path / "out" / "dev.jsonl")}


def test_a_missing_standard_speaker_is_missing_audio_not_a_smaller_set(trees, tmp_path: Path) -> None:
    corpus, _ = _copy(trees, "ldc", tmp_path)
    shutil.rmtree(corpus / BROKEN_DIR)
    with pytest.raises(BadAudioError, match=r"TEST/DR1/FAKS0/SI\d+\.WAV does not exist"):
        prepare_timit(corpus, tmp_path / "out", progress=False)
    summaries = prepare_timit(corpus, tmp_path / "out", skip_bad=True, progress=False)
    assert summaries["dev"].skipped == {MISSING_AUDIO: 8}
    assert (summaries["dev"].num_utterances, summaries["dev"].num_speakers) == (392, 49)


def test_twins_whose_samples_differ_are_refused_naming_both(trees, tmp_path: Path) -> None:
    corpus, _ = _copy(trees, "twins", tmp_path)
    folder = corpus / "data" / "TEST" / "DR1" / "FAKS0"
    twin = folder / "SI1573.WAV.wav"
    samples, rate = soundfile.read(twin, dtype="int16")
    samples[100] += 1
    twin.unlink()
    soundfile.write(twin, samples, rate, subtype="PCM_16", format="WAV")

    pattern = rf"{folder / 'SI1573.WAV'} and {twin} are two copies of one utterance whose samples differ \(first difference at sample 100\)"
    with pytest.raises(CorpusLayoutError, match=pattern):
        prepare_timit(corpus, tmp_path / "out", progress=False)
    summaries = prepare_timit(corpus, tmp_path / "out", skip_bad=True, progress=False)
    assert summaries["dev"].skipped == {TWINS_DIFFER: 1}

    twin.unlink()
    soundfile.write(twin, np.concatenate([samples, samples[:10]]), rate, subtype="PCM_16", format="WAV")
    with pytest.raises(CorpusLayoutError, match=r"SI1573\.WAV\.wav are two copies .* differ \(\d+ and \d+ samples\)"):
        prepare_timit(corpus, tmp_path / "out", progress=False)


def test_sentences_outside_the_standard_lists_are_left_out_with_a_warning(trees, tmp_path: Path, caplog) -> None:
    corpus, _ = _copy(trees, "ldc", tmp_path)
    for extension in ("WAV", "PHN", "WRD", "TXT"):
        os.link(corpus / BROKEN_DIR / f"SI1573.{extension}", corpus / BROKEN_DIR / f"SX999.{extension}")
    summaries = prepare_timit(corpus, tmp_path / "out", complete_test=True, progress=False)
    assert summaries["dev"].num_utterances == 400
    assert "FAKS0: SX999 not in the standard dev set, left out" in caplog.text
    assert "FAKS0_SX999" in {u.id for u in read_manifest(tmp_path / "out" / "complete_test.jsonl")}

"""WSJ preparation on generated copies of the LDC discs (tests/wsj_fixtures.py) whose `.wv1` files are the real
shorten sample: both layouts, the disc-name variants, set membership, the index fix-ups, transcripts, genders,
the LM text, and every kind of bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
import unlzw3

from asr_bench.cli import main
from asr_bench.data.audio import load_utterance
from asr_bench.data.corpora.records import AUDIO_REASONS
from asr_bench.data.corpora.wsj import prepare_wsj
from asr_bench.data.corpora.wsj_discs import disc_id
from asr_bench.data.manifest import read_manifest
from asr_bench.errors import BadAudioError, CorpusLayoutError
from sphere_fixtures import replace_header
from wsj_fixtures import FOLDERS, LM_SENTENCES, VOCABULARY_20K_WORDS, FixtureUtt, WsjFixture, build_wsj, compress_lzw

ALL_SETS = list(FOLDERS)
SAMPLE = Path("sphere") / "wsj_style.wv1"
REFERENCE = Path("sphere") / "fixtures" / "qlpc_ar2.wav"


@pytest.fixture
def sample(shared_data: Path) -> bytes:
    return (shared_data / SAMPLE).read_bytes()


def prepare(fixture: WsjFixture, out_dir: Path, **options) -> dict:
    return prepare_wsj(out_dir, **{name: str(path) for name, path in fixture.roots.items()}, progress=False, **options)


def manifests(out_dir: Path, sets: list[str]) -> dict[str, dict[str, tuple]]:
    """set -> utt_id -> (text, speaker, gender, duration): everything but the audio path."""
    return {
        name: {u.id: (u.text, u.speaker, u.gender, u.duration) for u in read_manifest(out_dir / f"{name}.jsonl")}
        for name in sets
    }


def disc_of(audio: str) -> str | None:
    return next((disc_id(part) for part in Path(audio).parts if disc_id(part)), None)


def summary(out_dir: Path) -> dict:
    return json.loads((out_dir / "summary.json").read_text())


WSJ1_SPELLINGS = {
    "13-34.1 (LDC94S13A, Kaldi's copy of LDC94S13B)": lambda disc: f"{disc[:2]}-{int(disc.split('_')[1])}.{disc[-1]}",
    "13_34.1 (wav2letter's LDC94S13B)": lambda disc: f"{disc[:2]}_{int(disc.split('_')[1])}.{disc[-1]}",
}


@pytest.mark.parametrize("spelling", list(WSJ1_SPELLINGS))
def test_disc_layout_gives_kaldis_sets_with_their_fix_ups(tmp_path: Path, sample: bytes, spelling: str) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample, "discs", WSJ1_SPELLINGS[spelling])
    prepare(fixture, tmp_path / "out", sets=ALL_SETS)
    got = manifests(tmp_path / "out", ALL_SETS)
    for name in ALL_SETS:
        assert {i: entry[0] for i, entry in got[name].items()} == fixture.expected(name), name
    # si84 is inside si284; dev93 (disc 13-16.1, upper case) and the Nov'92 sets (entries without .wv1) resolve.
    assert set(got["si84"]) < set(got["si284"])
    assert set(got["dev93"]) == {"4k0c0301", "4k0c0302", "4k2c0301"}
    assert set(got["eval92"]) == {"440c0201", "441c0201"}
    # Speaker 401: listed on 11_2_1 and 11_3_1, read once, from 11-3.1.
    indices = summary(tmp_path / "out")["indices"]
    assert indices["si84"]["dropped_speaker_401_entries_on_11_2_1"] == 2
    assert indices["si84"]["index_entries"] == 6 and indices["si84"]["kaldi_utterances"] == 7138
    audio = {u.id: u.audio for u in read_manifest(tmp_path / "out" / "si84.jsonl")}
    assert disc_of(audio["401c0201"]) == "11_3_1"
    # The Nov'93 evaluation audio is on 13-33.1 although its index says 13_32_1.
    assert disc_of(read_manifest(tmp_path / "out" / "eval93.jsonl")[0].audio) == "13_33_1"
    # Genders from every spkrinfo.txt; 4k9 is in none of them.
    genders = fixture.genders()
    for name in ALL_SETS:
        for utt_id, (_, speaker, gender, duration) in got[name].items():
            assert speaker == utt_id[:3] and gender == genders.get(speaker) and duration == 4096 / 16000
    assert got["eval93_5k"]["4k9c0201"][2] is None


def test_flattened_copy_gives_the_same_manifests(tmp_path: Path, sample: bytes) -> None:
    discs = build_wsj(tmp_path / "ldc", sample, "discs")
    flat = build_wsj(tmp_path / "flat", sample, "flattened")
    prepare(discs, tmp_path / "from_discs", sets=ALL_SETS)
    prepare(flat, tmp_path / "from_flat", sets=ALL_SETS)
    assert manifests(tmp_path / "from_flat", ALL_SETS) == manifests(tmp_path / "from_discs", ALL_SETS)
    # The corpus folders themselves may be given too.
    corpus = flat.roots["corpus_dir"]
    prepare_wsj(tmp_path / "from_folders", wsj0=corpus / "wsj0", wsj1=corpus / "wsj1", progress=False)
    assert manifests(tmp_path / "from_folders", ["si284"]) == manifests(tmp_path / "from_flat", ["si284"])


def test_default_sets_and_what_wsj_itself_leaves_out(tmp_path: Path, sample: bytes) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    summaries = prepare(fixture, tmp_path / "out")  # no skip_bad: WSJ's own defects are listed, not fatal
    assert list(summaries) == ["si84", "si284", "dev93", "eval92"]
    skipped = summary(tmp_path / "out")["splits"]["si284"]["skipped_utterances"]
    assert [line.split(":")[0] for line in skipped["null transcript"]] == ["4a8c020c"]
    assert [line.split(":")[0] for line in skipped["zero-length audio"]] == ["46uc030b"]
    assert summaries["si284"].skipped == {"null transcript": 1, "zero-length audio": 1}
    assert (tmp_path / "out" / "vocab_20k.txt").read_text().split() == VOCABULARY_20K_WORDS


def test_decoded_manifest_audio_equals_the_reference_samples(tmp_path: Path, sample: bytes, shared_data: Path) -> None:
    prepare(build_wsj(tmp_path / "ldc", sample), tmp_path / "out", sets=["dev93"])
    reference, _ = soundfile.read(str(shared_data / REFERENCE), dtype="int16")
    for utt in read_manifest(tmp_path / "out" / "dev93.jsonl"):
        np.testing.assert_array_equal(load_utterance(utt).numpy(), reference.astype(np.float32) / 32768)


def test_lm_text_is_decompressed_and_normalised(tmp_path: Path, sample: bytes) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    prepare(fixture, tmp_path / "out", sets=["dev93"], lm_text=tmp_path / "lm" / "lm_text.txt")
    assert (tmp_path / "lm" / "lm_text.txt").read_text().splitlines() == LM_SENTENCES
    assert summary(tmp_path / "out")["lm_text"]["sentences"] == len(LM_SENTENCES)
    shutil.rmtree(disc(fixture, "13-32.1"))
    with pytest.raises(CorpusLayoutError, match="WSJ1 disc 13-32.1 is not in .* LM training text"):
        prepare(fixture, tmp_path / "out", sets=["dev93"], lm_text=tmp_path / "lm" / "lm_text.txt")


def test_the_lzw_fixture_is_unix_compress_data() -> None:
    text = b"".join(b"line %d of the LM text\n" % i for i in range(100))
    packed = compress_lzw(text)
    assert unlzw3.unlzw(packed) == text
    assert subprocess.run(["gzip", "-dc"], input=packed, capture_output=True, check=True).stdout == text


def test_cli_prepares_wsj_and_prints_the_sets(tmp_path: Path, sample: bytes, capsys) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    out = tmp_path / "out"
    assert main(["prepare", "wsj", "--wsj0", str(fixture.roots["wsj0"]), "--wsj1", str(fixture.roots["wsj1"]),
                 "--out-dir", str(out), "--sets", "si84,si284,dev93"]) == 0
    printed = capsys.readouterr().out
    assert "si284: 9 utterances, 5 speakers" in printed and "skipped 1 null transcript, 1 zero-length audio" in printed
    assert "dev93: 3 utterances, 2 speakers" in printed
    assert "all: 12 utterances, 7 speakers" in printed, "si84's utterances counted once, though in si284 too"


# --- bad input ---------------------------------------------------------------------------------------------


def disc(fixture: WsjFixture, name: str) -> Path:
    root = fixture.roots["wsj0"] / "csr_1" if name.startswith("11") else fixture.roots["wsj1"]
    return root / name


def test_a_missing_index_disc_is_named_with_what_it_holds(tmp_path: Path, sample: bytes) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    shutil.rmtree(disc(fixture, "13-34.1"))
    with pytest.raises(CorpusLayoutError) as caught:
        prepare(fixture, tmp_path / "out")
    message = str(caught.value)
    assert "WSJ1 disc 13-34.1" in message and "index files" in message and "wsj1/doc/indices/si_tr_s.ndx" in message


def test_a_missing_audio_disc_is_named_with_the_sets_that_need_it(tmp_path: Path, sample: bytes) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    shutil.rmtree(disc(fixture, "11-14.1"))
    for skip_bad in (False, True):
        with pytest.raises(CorpusLayoutError) as caught:
            prepare(fixture, tmp_path / "out", skip_bad=skip_bad)
        message = str(caught.value)
        assert "WSJ0 disc 11-14.1" in message and "Nov'92 evaluation audio" in message
        assert "eval92 lists 2 utterances on it" in message and "si_et_20.ndx" in message
    prepare(fixture, tmp_path / "out", sets=["si84", "dev93"])  # the other sets do not need it


def remove_dot_line(fixture: WsjFixture, utt_id: str) -> None:
    for dot in fixture.roots["wsj0"].parent.rglob("*.dot"):
        lines = dot.read_text().splitlines()
        if any(line.endswith(f"({utt_id})") for line in lines):
            dot.write_text("".join(f"{line}\n" for line in lines if not line.endswith(f"({utt_id})")))


BAD_INPUT = {
    # name: (how to break the fixture, skip reason, what the error must say)
    "index entry without audio": (lambda f: f.files["01mc0202"].unlink(), "missing audio", "11-2.1"),
    "transcript without audio": (lambda f: f.files["4a8c0202"].unlink(), "missing audio", "its transcript is at"),
    "index entry with neither": (lambda f: (f.files["01ic0202"].unlink(), remove_dot_line(f, "01ic0202")),
                                 "missing audio", "no .dot file has its transcript"),
    "audio without transcript": (lambda f: remove_dot_line(f, "4a8c0201"), "no transcript", "4a8c0200.dot"),
    "corrupt shorten stream": (lambda f: f.files["401c0201"].write_bytes(f.files["401c0201"].read_bytes()[:1024] + b"\0" * 900),
                               "unreadable audio", "ajkg"),
    "unsupported SPHERE coding": (lambda f: replace_header(f.files["01ic0201"], sample_coding="pcm,embedded-wavpack-1.00"),
                                  "unreadable audio", "pcm,embedded-wavpack-1.00"),
    "sample rate other than 16 kHz": (lambda f: replace_header(f.files["46uc0301"], sample_rate=8000),
                                      "wrong sample rate", "expected 16000 Hz"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_an_error_naming_the_file_or_a_counted_skip(tmp_path: Path, sample: bytes, case: str) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    breaks, reason, expected = BAD_INPUT[case]
    breaks(fixture)
    error = BadAudioError if reason in AUDIO_REASONS else CorpusLayoutError
    with pytest.raises(error, match="skip-bad") as caught:
        prepare(fixture, tmp_path / "out", sets=["si284"])
    assert expected in str(caught.value)
    summaries = prepare(fixture, tmp_path / "out", sets=["si284"], skip_bad=True)
    assert summaries["si284"].skipped[reason] == 1
    listed = summary(tmp_path / "out")["splits"]["si284"]["skipped_utterances"][reason]
    assert len(listed) == 1 and expected in listed[0]
    assert summaries["si284"].num_utterances == 8


def test_a_truncated_shorten_stream_is_caught_by_verify_audio(tmp_path: Path, sample: bytes) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    path = fixture.files["4k2c0301"]
    path.write_bytes(path.read_bytes()[:3000])
    prepare(fixture, tmp_path / "out", sets=["dev93"])  # the header alone is intact
    with pytest.raises(BadAudioError, match="corrupt shorten") as caught:
        prepare(fixture, tmp_path / "out", sets=["dev93"], verify_audio=True)
    assert str(path) in str(caught.value)
    summaries = prepare(fixture, tmp_path / "out", sets=["dev93"], verify_audio=True, skip_bad=True)
    assert summaries["dev93"].skipped == {"corrupt audio": 1}


def test_malformed_index_dot_and_lm_files_are_named(tmp_path: Path, sample: bytes) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    index = disc(fixture, "13-34.1") / "wsj1" / "doc" / "indices" / "h1_p0.ndx"
    index.write_text(index.read_text() + "wsj1/si_dt_20/4k0/4k0c0303.wv1\n")
    with pytest.raises(CorpusLayoutError, match="expected '<disc id>:<path>'") as caught:
        prepare(fixture, tmp_path / "out", sets=["dev93"])
    assert f"{index}:5" in str(caught.value)

    fixture = build_wsj(tmp_path / "ldc2", sample)
    dot = next(disc(fixture, "13-34.1").rglob("4k0c0300.dot"))
    dot.write_text(dot.read_text() + "a line without its id\n")
    with pytest.raises(CorpusLayoutError, match=r"expected '<transcript> \(<utterance id>\)'") as caught:
        prepare(fixture, tmp_path / "out", sets=["dev93"])
    assert str(dot) in str(caught.value)

    lm_file = next(disc(fixture, "13-32.1").rglob("*.z"))
    lm_file.write_bytes(b"not compressed")
    dot.write_text("".join(line + "\n" for line in dot.read_text().splitlines()[:-1]))
    with pytest.raises(CorpusLayoutError, match="not a Unix compress") as caught:
        prepare(fixture, tmp_path / "out", sets=["dev93"], lm_text=tmp_path / "lm.txt")
    assert str(lm_file) in str(caught.value)


def test_conflicting_transcripts_and_genders_are_errors(tmp_path: Path, sample: bytes) -> None:
    fixture = build_wsj(tmp_path / "ldc", sample)
    copy = disc(fixture, "13-34.1") / "wsj1" / "trans" / "wsj1" / "si_dt_20" / "4k0" / "4k0c0300.dot"
    twin = disc(fixture, "13-32.1") / "wsj1" / "trans" / "wsj1" / "si_dt_20" / "4k0" / "4k0c0300.dot"
    twin.parent.mkdir(parents=True)
    twin.write_text(copy.read_text())  # the same transcripts on two discs are fine
    prepare(fixture, tmp_path / "out", sets=["dev93"])
    twin.write_text(copy.read_text().replace("the [<door_slam] door", "a door"))
    with pytest.raises(CorpusLayoutError, match="4k0c0301 has different transcripts") as caught:
        prepare(fixture, tmp_path / "out", sets=["dev93"])
    assert str(copy) in str(caught.value) and str(twin) in str(caught.value)

    twin.unlink()
    info = disc(fixture, "13-34.1") / "wsj1" / "doc" / "train" / "spkrinfo.txt"
    info.write_text(info.read_text() + "4K0   M\n")
    with pytest.raises(CorpusLayoutError, match="speaker 4k0 is F at .* but M at"):
        prepare(fixture, tmp_path / "out", sets=["dev93"])


def test_not_a_wsj_folder_and_unknown_sets_are_errors(tmp_path: Path, sample: bytes) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusLayoutError, match="holds no disc folders"):
        prepare_wsj(tmp_path / "out", corpus_dir=tmp_path / "empty", progress=False)
    with pytest.raises(CorpusLayoutError, match="no WSJ folder given"):
        prepare_wsj(tmp_path / "out", progress=False)
    fixture = build_wsj(tmp_path / "ldc", sample)
    with pytest.raises(CorpusLayoutError, match="no split"):
        prepare(fixture, tmp_path / "out", sets=["si85"])
    assert main(["prepare", "wsj", "--corpus-dir", str(tmp_path / "empty"), "--out-dir", str(tmp_path / "out")]) == 2


def test_an_utterance_of_noises_only_has_no_words(tmp_path: Path, sample: bytes) -> None:
    noises = [FixtureUtt("dev93", "4k0c0301", "13_16_1", "[loud_breath] ~", "")]
    fixture = build_wsj(tmp_path / "ldc", sample, utterances=noises)
    with pytest.raises(CorpusLayoutError, match="no words in the transcript of 4k0c0301"):
        prepare(fixture, tmp_path / "out", sets=["dev93"])
    assert prepare(fixture, tmp_path / "out", sets=["dev93"], skip_bad=True)["dev93"].skipped == {"empty transcript": 1}


def test_shorten_files_are_decoded_once_however_many_epochs(tmp_path: Path, sample: bytes, monkeypatch) -> None:
    """Decoding shorten costs real time (benchmarks/shorten_decode.py): the caches decode each file once."""
    import asr_bench.data.audio as audio
    from asr_bench.config import from_dict
    from asr_bench.features.waveform import waveform_store
    from asr_bench.tasks.train_ctc import TrainConfig, train

    prepare(build_wsj(tmp_path / "ldc", sample), tmp_path / "out", sets=["dev93"])
    manifest = tmp_path / "out" / "dev93.jsonl"
    decoded: list[str] = []
    real_decode = audio._decode_shorten
    monkeypatch.setattr(audio, "_decode_shorten", lambda path: decoded.append(path.name) or real_decode(path))
    config = {
        "out_dir": str(tmp_path / "am"),
        "data": {"train_manifest": str(manifest), "valid_manifest": str(manifest), "max_frames_per_batch": 2000},
        "features": {"cache_dir": str(tmp_path / "features")},
        "model": {"layers": [{"channels": 16, "kernel": 3}]},
        "trainer": {"max_epochs": 3, "progress_bar": False},
    }
    train(from_dict(TrainConfig, config))
    assert sorted(name.lower() for name in decoded) == ["4k0c0301.wv1", "4k0c0302.wv1", "4k2c0301.wv1"], "once each, for all three epochs"
    utterances = read_manifest(manifest)
    for _ in range(2):
        store = waveform_store(utterances, tmp_path / "waveforms", progress=False, workers=1)
    assert len(decoded) == 6 and store.num_frames("4k0c0301") == 4096

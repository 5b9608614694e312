"""recipes/wsj/run.sh end to end, every stage, on a generated WSJ copy of real speech: the 30 LibriSpeech utterances
of ../shared/data/ci written as shorten `.wv1` files on the LDC discs, with a tiny acoustic model and wav2vec and a
few updates each. It runs 13 `asr-bench` processes, each importing torch and Lightning, so it takes one to two
minutes on two idle cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile

from asr_bench.data.manifest import read_manifest
from recipe_fixtures import run_recipe
from sphere_fixtures import encode_shorten, sphere_header, wsj_header_fields
from wsj_fixtures import FixtureUtt, build_wsj

# LibriSpeech speaker -> (WSJ set, WSJ speaker id, disc of its audio)
ASSIGNMENT = {
    "118": ("si84", "01a", "11_1_1"),
    "1737": ("si84", "01b", "11_1_1"),
    "163": ("si84", "01c", "11_2_1"),
    "1867": ("si284", "4a0", "13_11_1"),
    "1898": ("dev93", "4k0", "13_16_1"),
    "1088": ("eval92", "440", "11_14_1"),
}
TINY_WAV2VEC = """
seed: 0
data: {crop_samples: 16000, max_samples_per_batch: 64000, num_workers: 0}
model:
  encoder_layers: [{channels: 16, kernel: 10, stride: 5}, {channels: 16, kernel: 8, stride: 4},
                   {channels: 16, kernel: 4, stride: 2}, {channels: 16, kernel: 4, stride: 2},
                   {channels: 16, kernel: 4, stride: 2}]
  context_layers: [{channels: 16, kernel: 3}]
  prediction_steps: 4
  num_negatives: 4
optim: {lr: 1.0e-3, warmup_steps: 1}
trainer: {max_epochs: -1, max_steps: 3, val_check_interval: 3, check_val_every_n_epoch: null, progress_bar: false}
"""
TINY_AM = [
    "model.layers=[{channels: 32, kernel: 5, stride: 2}, {channels: 32, kernel: 1}]",
    "trainer.max_epochs=-1", "trainer.max_steps=3", "trainer.progress_bar=false", "data.max_frames_per_batch=4000",
]


def speech_as_wsj(ci_librispeech_rows: list[dict[str, str]], shared_data: Path) -> list[FixtureUtt]:
    """Each ci utterance as a WSJ utterance of the set its speaker is assigned to, audio shorten-coded."""
    utterances = []
    for row in sorted(ci_librispeech_rows, key=lambda r: r["utt_id"]):
        set_name, speaker, disc = ASSIGNMENT[row["speaker"]]
        samples, rate = soundfile.read(str(shared_data / "ci" / row["path"]), dtype="int16")
        audio = sphere_header(wsj_header_fields(len(samples), rate)) + encode_shorten(samples)
        number = sum(u.speaker == speaker for u in utterances)
        utterances.append(FixtureUtt(set_name, f"{speaker}c02{number:02d}", disc, row["text"], row["text"].lower(), audio))
    return utterances


def test_wsj_recipe_end_to_end(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> None:
    fixture = build_wsj(tmp_path / "ldc", b"", utterances=speech_as_wsj(ci_librispeech_rows, shared_data))
    (tmp_path / "wav2vec_tiny.yaml").write_text(TINY_WAV2VEC)
    exp = tmp_path / "exp"
    done = run_recipe(
        "wsj", tmp_path,
        "--wsj0", str(fixture.roots["wsj0"]), "--wsj1", str(fixture.roots["wsj1"]), "--exp-dir", str(exp),
        "--subset-hours", "0.005h,0.01h", "--low-resource", "0.01h", "--subset-tolerance", "0.1",
        "--pretrain-config", str(tmp_path / "wav2vec_tiny.yaml"), "--tune-budget", "2", "--", *TINY_AM,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    stages = [line for line in done.stdout.splitlines() if "] stage " in line]
    assert [line.split("stage ")[1].split(":")[0] for line in stages] == [str(n) for n in range(1, 11)]

    corpus = exp / "data" / "corpus"
    assert {u.id[:3] for u in read_manifest(corpus / "si284.jsonl")} == {"01a", "01b", "01c", "4a0"}
    assert len(read_manifest(corpus / "dev93.jsonl")) == 5 and len(read_manifest(corpus / "eval92.jsonl")) == 5
    small, large = (read_manifest(exp / "data" / "subsets" / f"si84_{size}.jsonl") for size in ("0.005h", "0.01h"))
    assert {u.id for u in small} < {u.id for u in large} <= {u.id for u in read_manifest(corpus / "si84.jsonl")}
    assert 36.0 <= sum(u.duration for u in large) <= 39.6
    lexicon = (exp / "lm" / "lexicon.txt").read_text().splitlines()
    assert len(lexicon) == len({w for name in ("si284", "dev93") for u in read_manifest(corpus / f"{name}.jsonl")
                                for w in u.text.split()})

    for run in ("logmel", "wav2vec", "sweep/0.01h/logmel/seed0", "sweep/0.01h/wav2vec/seed0"):
        results = json.loads((exp / run / "results.json").read_text())
        assert set(results["splits"]) == {"dev93", "eval92"}, run
        for split in ("dev93", "eval92"):
            assert {"greedy", "beam"} <= set(results["splits"][split]), (run, split)
        assert results["config"]["features"]["kind"] == ("wav2vec" if "wav2vec" in run else "logmel")
    assert json.loads((exp / "sweep/0.01h/logmel/seed0" / "results.json").read_text())["labelled_hours"] < 0.0111
    assert (exp / "report" / "RESULTS.md").is_file()
    report = (exp / "report" / "results.md").read_text()
    print(report)
    assert "nov92" in report and "dev93" in report and "eval92" in report

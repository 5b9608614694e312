"""The whole pipeline through the `asr-bench` command on real speech: prepare -> split -> featurize ->
train -> decode -> report, on an OpenSLR tree generated from ../shared/data/ci."""

from __future__ import annotations

import json
from pathlib import Path

from asr_bench.cli import main
from asr_bench.data.manifest import read_manifest
from asr_bench.decode.run import read_utterances
from corpus_fixtures import build_openslr_tree

# All six ci LibriSpeech speakers (3 F, 3 M) in one split: dev and test take 1 F + 1 M each.
SPLITS = {"train-clean-5": ("1088", "118", "163", "1737", "1867", "1898")}


def test_cli_pipeline_end_to_end(tmp_path: Path, ci_librispeech_rows, shared_data: Path, capsys) -> None:
    build_openslr_tree(tmp_path / "corpus", ci_librispeech_rows, shared_data, SPLITS, utterances_per_speaker=5)
    data, exp = tmp_path / "data", tmp_path / "exp"
    assert main(["prepare", "librispeech", "--corpus-dir", str(tmp_path / "corpus" / "LibriSpeech"),
                 "--out-dir", str(data / "corpus")]) == 0
    assert "30 utterances, 6 speakers" in capsys.readouterr().out
    assert main(["split", "-m", str(data / "corpus" / "train-clean-5.jsonl"), "--out-dir", str(data)]) == 0
    cache = str(tmp_path / "features")
    assert main(["featurize", "-m", str(data / "train.jsonl"), "-m", str(data / "dev.jsonl"),
                 f"cache_dir={cache}"]) == 0
    assert "dim 80" in capsys.readouterr().out
    model = "model.layers=[{channels: 64, kernel: 5, stride: 2}, {channels: 64, kernel: 5}]"
    assert main(["train", f"out_dir={exp / 'am'}", f"data.train_manifest={data / 'train.jsonl'}",
                 f"data.valid_manifest={data / 'dev.jsonl'}", f"features.cache_dir={cache}", model,
                 "trainer.max_epochs=2", "trainer.progress_bar=false", "data.max_frames_per_batch=8000"]) == 0
    assert (exp / "am" / "checkpoints" / "best.ckpt").is_file()
    assert main(["decode", "--run-dir", str(exp / "am"), "-m", f"dev={data / 'dev.jsonl'}",
                 "-m", f"test={data / 'test.jsonl'}"]) == 0
    out = capsys.readouterr().out
    assert f"checkpoint: {exp / 'am' / 'checkpoints' / 'best.ckpt'}" in out
    results = json.loads((exp / "am" / "results.json").read_text())
    for split in ("dev", "test"):
        entry = results["splits"][split]["greedy"]
        assert entry["num_utterances"] == 10 and entry["checkpoint"] == str(exp / "am" / "checkpoints" / "best.ckpt")
        # The per-utterance counts, in manifest order, add up to the corpus rates exactly.
        rows = read_utterances(exp / "am" / "decode" / split / "greedy.utt.jsonl")
        assert [row["id"] for row in rows] == [u.id for u in read_manifest(data / f"{split}.jsonl")]
        for metric in ("wer", "cer"):
            edits = sum(row[metric]["sub"] + row[metric]["del"] + row[metric]["ins"] for row in rows)
            assert entry[metric] == 100 * edits / sum(row[metric]["ref"] for row in rows)
    assert results["config"]["features"]["kind"] == "logmel"
    assert results["labelled_hours"] > 0
    assert main(["report", str(exp / "am"), "--out-dir", str(tmp_path / "report"), "--metric", "cer"]) == 0
    table = (tmp_path / "report" / "results.md").read_text()
    assert "| logmel |" in table and "| dev | greedy | CER |" in table
    assert (tmp_path / "report" / "cer_test_greedy.png").is_file()


def test_cli_reports_bad_input_clearly(tmp_path: Path, capsys) -> None:
    assert main(["prepare", "librispeech", "--corpus-dir", str(tmp_path / "nope"), "--out-dir", str(tmp_path)]) == 2
    assert str(tmp_path / "nope") in capsys.readouterr().err
    assert main(["train", f"out_dir={tmp_path / 'am'}", "data.train_manifest=" + str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    assert main(["train", "model.channels=3"]) == 2
    assert "unknown key" in capsys.readouterr().err

"""recipes/timit: run.sh on a generated TIMIT tree of real speech, and its configs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from asr_bench.config import from_dict, load_config
from asr_bench.models.wav2letter import Wav2Letter, Wav2LetterConfig
from asr_bench.tasks.train_ctc import TrainConfig
from recipe_fixtures import REPO_ROOT, run_recipe, write_tiny_wav2vec_config
from timit_fixtures import VARIANTS, build_tree

RECIPE = REPO_ROOT / "recipes" / "timit"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_recipe("timit", tmp_path, "--exp-dir", str(tmp_path / "exp"), *args)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, shared_data: Path) -> tuple[Path, dict]:
    """The LDC layout with the first 0.625 s of each real utterance (a word or more each): quick to featurize."""
    folder = tmp_path_factory.mktemp("timit") / "LDC93S1"
    return folder, build_tree(folder, VARIANTS["ldc"], shared_data, max_samples=10_000)


def test_stage_1_prepares_the_standard_sets(corpus, tmp_path: Path) -> None:
    folder, expected = corpus
    done = _run(tmp_path, "--corpus-dir", str(folder), "--stop-stage", "1")
    assert done.returncode == 0, done.stderr
    assert "stage 1: prepare" in done.stdout
    assert "dev: 400 utterances, 50 speakers" in done.stdout and "test: 192 utterances, 24 speakers" in done.stdout
    data = tmp_path / "exp" / "data"
    for split in ("train", "dev", "test"):
        ids = [json.loads(line)["id"] for line in (data / f"{split}.jsonl").read_text().splitlines()]
        assert sorted(ids) == sorted(expected[split])
    assert json.loads((data / "summary.json").read_text())["corpus"] == "timit"


def test_a_given_checkpoint_replaces_pretraining(tmp_path: Path) -> None:
    missing = _run(tmp_path, "--stage", "3", "--stop-stage", "3", "--checkpoint", str(tmp_path / "none.pt"))
    assert missing.returncode == 2 and f"--checkpoint {tmp_path / 'none.pt'} does not exist" in missing.stderr
    (tmp_path / "wav2vec_large.pt").write_bytes(b"")
    given = _run(tmp_path, "--stage", "3", "--stop-stage", "3", "--checkpoint", str(tmp_path / "wav2vec_large.pt"))
    assert given.returncode == 0, given.stderr
    assert "no pretraining: wav2vec from" in given.stdout and not (tmp_path / "exp" / "pretrain").exists()


def test_decode_without_a_model_says_which_stages_train_one(tmp_path: Path) -> None:
    done = _run(tmp_path, "--stage", "5", "--stop-stage", "5")
    assert done.returncode == 2 and "no trained model under" in done.stderr


def test_the_paper_config_is_the_papers_model() -> None:
    recorded = yaml.safe_load((RECIPE / "conf" / "acoustic_model_paper.yaml").read_text())
    model = from_dict(Wav2LetterConfig, recorded["model"])
    assert model.activation == "prelu" and not model.layer_norm
    assert [(l.channels, l.kernel, l.stride, l.dropout) for l in model.layers] == [(1000, 5, 1, 0.7)] * 7
    assert recorded["data"]["phone_set"] == "timit39"  # the paper's output layer: 39 phones
    # 7 convolutions (weights + biases), one PReLU slope each, the projection to 39 phones and the blank
    network = Wav2Letter(512, 40, model)
    expected = 512 * 1000 * 5 + 6 * 1000 * 1000 * 5 + 7 * 1000 + 7 + 1000 * 40 + 40
    assert sum(p.numel() for p in network.parameters()) == expected
    assert network(torch.randn(1, 512, 50)).shape == (1, 50, 40)  # stride 1: one output per input frame


@pytest.mark.parametrize("name", ["acoustic_model.yaml", "acoustic_model_paper.yaml"])
def test_configs_load_as_training_configs(name: str) -> None:
    config = load_config(TrainConfig, RECIPE / "conf" / name, [])
    assert config.data.tokens == "phones" and config.data.phone_set in ("timit48", "timit39")


def test_whole_recipe_on_a_generated_tree(corpus, tmp_path: Path) -> None:
    folder, _ = corpus
    pretrain = write_tiny_wav2vec_config(tmp_path / "wav2vec_tiny.yaml")
    done = _run(
        tmp_path, "--corpus-dir", str(folder), "--pretrain-config", str(pretrain), "--",
        "model.layers=[{channels: 16, kernel: 5, stride: 2}]", "trainer.max_epochs=1", "trainer.progress_bar=false",
        "data.max_frames_per_batch=8000",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp = tmp_path / "exp"
    for run in ("logmel", "wav2vec"):
        results = json.loads((exp / run / "results.json").read_text())
        assert set(results["splits"]) == {"dev", "test"}
    assert (exp / "pretrain" / "checkpoints" / "last.ckpt").is_file()
    assert "PER" in (exp / "report" / "results.md").read_text()

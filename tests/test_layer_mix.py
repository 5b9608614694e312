"""The learned weighted sum of wav2vec layers (SUPERB): its arithmetic, its gradients, and a training run
whose checkpoint rebuilds the same model. Features are synthetic stacks of layers, as the feature
cache holds them for features.wav2vec.representation=all."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
import torch

from asr_bench.config import from_dict
from asr_bench.data.manifest import Utterance, write_manifest
from asr_bench.errors import ConfigError
from asr_bench.features.cache import featurize_batches_to_cache
from asr_bench.models.fairseq_checkpoint import save_fairseq_wav2vec
from asr_bench.models.layer_mix import WeightedLayerSum
from asr_bench.models.wav2letter import ConvLayer, Wav2Letter, Wav2LetterConfig
from asr_bench.models.wav2vec import ContextLayer, EncoderLayer, Wav2Vec, Wav2VecConfig
from asr_bench.tasks import train_ctc
from asr_bench.tasks.ctc_data import CTCDataset, collate
from asr_bench.tasks.train_ctc import TrainConfig, load_acoustic_model

TINY = Wav2LetterConfig(layers=[ConvLayer(16, 3, 2), ConvLayer(16, 1)])


def test_weighted_sum_equals_the_hand_computation() -> None:
    mix = WeightedLayerSum(3)
    with torch.no_grad():
        mix.weights.copy_(torch.tensor([0.5, -1.0, 2.0]))
    features = torch.randn(2, 3 * 4, 7)
    exp = [torch.exp(torch.tensor(w)) for w in (0.5, -1.0, 2.0)]
    expected = sum(e / sum(exp) * features[:, 4 * layer : 4 * (layer + 1)] for layer, e in enumerate(exp))
    assert torch.allclose(mix(features), expected, atol=1e-6)
    assert mix(features).shape == (2, 4, 7)


def test_weights_start_as_the_mean_and_receive_gradients() -> None:
    model = Wav2Letter(3 * 8, 5, TINY, feature_layers=3)
    assert model.weighted_sum is not None
    assert torch.allclose(model.weighted_sum.layer_weights(), torch.full((3,), 1 / 3))
    features = torch.randn(2, 24, 20)
    features[:, 16:] *= 5.0  # layers that differ, so that moving the weights changes the output
    model(features).logsumexp(-1).sum().backward()
    grad = model.weighted_sum.weights.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().max() > 0


def test_stacked_layers_must_split_evenly() -> None:
    with pytest.raises(ConfigError, match="do not split into 3"):
        Wav2Letter(25, 5, TINY, feature_layers=3)
    with pytest.raises(ConfigError, match="at least 2 layers"):
        WeightedLayerSum(1)


def _wav2vec(tmp_path: Path, context_widths: tuple[int, ...]) -> Path:
    config = Wav2VecConfig(
        encoder_layers=[EncoderLayer(8, k, s) for k, s in ((10, 5), (8, 4), (4, 2), (4, 2), (4, 2))],
        context_layers=[ContextLayer(width, 3) for width in context_widths],
    )
    return save_fairseq_wav2vec(Wav2Vec(config), tmp_path / "wav2vec.pt")


def test_representation_all_trains_the_weighted_sum_and_its_checkpoint_rebuilds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = _wav2vec(tmp_path, (8, 8))  # z and two context layers, 8 channels each
    utterances = [Utterance(f"u{i}", f"/nowhere/u{i}.flac", 1.0, "s", text) for i, text in enumerate(["ab", "ba", "abba"])]
    manifest = write_manifest(tmp_path / "train.jsonl", utterances)

    def stacked_layers(batch: list[Utterance]) -> list[torch.Tensor]:
        """(frames, 3 * 8) per utterance: three layers of different scale, fixed by the utterance id."""
        out = []
        for utt in batch:
            generator = torch.Generator().manual_seed(zlib.crc32(utt.id.encode()))
            out.append(torch.randn(30, 3, 8, generator=generator).mul(torch.tensor([1.0, 2.0, 4.0])[:, None]).flatten(1))
        return out

    def featurize(manifests, config, progress=True):  # stands in for the wav2vec featurizer
        return [featurize_batches_to_cache(tmp_path / "features", utts, {"synthetic": 3}, stacked_layers, 1)
                for _, utts in manifests]

    built: list[Wav2Letter] = []

    class Recorded(Wav2Letter):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(train_ctc, "featurize_manifests", featurize)
    monkeypatch.setattr(train_ctc, "Wav2Letter", Recorded)
    config = from_dict(TrainConfig, {
        "out_dir": str(tmp_path / "run"),
        "data": {"train_manifest": str(manifest), "max_frames_per_batch": 1000},
        "features": {"kind": "wav2vec", "wav2vec": {"checkpoint": str(checkpoint), "representation": "all"}},
        "model": {"layers": [{"channels": 16, "kernel": 3, "stride": 2}]},
        "optim": {"lr": 0.05, "warmup_steps": 0, "schedule": "constant"},
        "trainer": {"max_epochs": -1, "max_steps": 4, "progress_bar": False, "precision": "32-true"},
    })
    run_dir = train_ctc.train(config)

    weights = json.loads((run_dir / "train_summary.json").read_text())["layer_weights"]
    assert list(weights) == ["z", "0", "1"]
    assert sum(weights.values()) == pytest.approx(1.0)
    assert max(weights.values()) - min(weights.values()) > 1e-4, "the weights did not move from the mean"

    rebuilt, tokenizer, _ = load_acoustic_model(run_dir / "checkpoints" / "last.ckpt")
    trained = built[0].eval()
    assert rebuilt.weighted_sum is not None and rebuilt.weighted_sum.num_layers == 3
    assert torch.allclose(rebuilt.weighted_sum.layer_weights(), torch.tensor(list(weights.values())))
    store = featurize([("", utterances)], config.features)[0]
    batch = collate([CTCDataset(utterances, store, tokenizer)[i] for i in range(len(utterances))])
    with torch.no_grad():
        assert torch.equal(rebuilt(batch.features), trained(batch.features))


def test_representation_all_needs_layers_of_one_width(tmp_path: Path) -> None:
    checkpoint = _wav2vec(tmp_path, (8, 12))
    config = from_dict(TrainConfig, {"features": {"kind": "wav2vec", "wav2vec": {"checkpoint": str(checkpoint),
                                                                                 "representation": "all"}}})
    with pytest.raises(ConfigError, match=r"\[8, 8, 12\] channels"):
        train_ctc.feature_layers(config.features)

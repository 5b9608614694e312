"""wav2vec 1.0 model: frame geometry, parameter counts, causality, negatives and step logits against direct loops."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from asr_bench.config import from_dict
from asr_bench.errors import BadAudioError, ConfigError
from asr_bench.models.wav2vec import (
    ContextLayer,
    EncoderLayer,
    Wav2Vec,
    Wav2VecConfig,
    sample_negatives,
    split_utterance_norm,
)


def tiny_config(**changes: object) -> Wav2VecConfig:
    """Paper strides at 8 channels, a skip-connected context with a channel change (so a residual projection)."""
    config = Wav2VecConfig(
        encoder_layers=[*Wav2VecConfig.small(channels=8).encoder_layers, EncoderLayer(8, 1, 1)],
        context_layers=[ContextLayer(8, 2), ContextLayer(12, 3), ContextLayer(12, 4)],
        skip_connections=True,
        log_compression=True,
        prediction_steps=4,
        num_negatives=3,
        cross_sample_negatives=2,
    )
    return replace(config, **changes)


def replace_modules(model: Wav2Vec, kinds: tuple[type[nn.Module], ...]) -> Wav2Vec:
    """Swap every module of `kinds` inside the conv blocks for Identity, in place."""
    for block in [*model.feature_extractor.conv_layers, *model.feature_aggregator.conv_layers]:
        for index, module in enumerate(block):
            if isinstance(module, kinds):
                block[index] = nn.Identity()
    return model


def test_frame_count_is_the_papers_formula() -> None:
    base = Wav2Vec()
    assert (base.receptive_field_samples, base.hop_samples) == (465, 160)
    assert base.num_frames(16_000) == 98
    small = Wav2Vec(Wav2VecConfig.small(channels=4, context_layers=1))
    for num_samples in (465, 466, 624, 625, 784, 1000, 16_000, 16_123, 150_000):
        expected = (num_samples - 465) // 160 + 1
        assert base.num_frames(num_samples) == expected
        if num_samples <= 16_123:
            assert small.encode(torch.zeros(1, num_samples)).shape[-1] == expected
    assert base.num_frames(464) == 0 and base.num_frames(0) == 0
    with pytest.raises(BadAudioError, match="465 samples"):
        small.encode(torch.zeros(1, 464))


def test_encoder_receptive_field_and_hop_by_impulse() -> None:
    # GroupNorm normalises over the whole utterance and ReLU can hide an input, so measure the
    # reach of the convolutions themselves on the network with both removed (then linear).
    torch.manual_seed(0)
    model = replace_modules(Wav2Vec(tiny_config()), (nn.GroupNorm, nn.ReLU))
    wav = torch.randn(1, 2000)
    with torch.no_grad():
        reference = model.encode(wav)
        for sample in (0, 464, 465, 700, 1234, 1999):
            moved = wav.clone()
            moved[0, sample] += 1.0
            changed = (model.encode(moved) - reference).abs().amax(dim=1)[0] > 1e-6
            expected = [160 * t <= sample < 160 * t + 465 for t in range(reference.shape[-1])]
            assert changed.tolist() == expected, sample


@pytest.mark.parametrize(
    ("config", "frames", "paper_ms"),
    # 1 + sum(kernel - 1) frames of z; in audio, the paper's ~210 ms (base) and ~810 ms (large).
    [(Wav2VecConfig.base(), 19, 210), (Wav2VecConfig.large(), 79, 810), (tiny_config(), 7, None)],
    ids=["base", "large", "tiny"],
)
def test_context_receptive_field(config: Wav2VecConfig, frames: int, paper_ms: int | None) -> None:
    model = Wav2Vec(config)
    assert model.context_receptive_field_frames == frames
    audio_samples = (frames - 1) * model.hop_samples + model.receptive_field_samples
    if paper_ms is not None:
        assert audio_samples / 16 == pytest.approx(paper_ms, abs=5)


def test_context_receptive_field_by_impulse() -> None:
    torch.manual_seed(0)
    model = replace_modules(Wav2Vec(tiny_config()), (nn.GroupNorm, nn.ReLU))
    z = torch.randn(1, 8, 30)
    reach = model.context_receptive_field_frames
    with torch.no_grad():
        reference = model.contextualize(z)
        for frame in (0, 5, 29):
            moved = z.clone()
            moved[0, :, frame] += 1.0
            changed = (model.contextualize(moved) - reference).abs().amax(dim=1)[0] > 1e-6
            assert changed.tolist() == [frame <= t < frame + reach for t in range(30)], frame


def fairseq_parameter_count(config: Wav2VecConfig) -> int:
    """What fairseq's Wav2VecModel with the same args holds, from its module definitions.

    Encoder blocks: Conv1d(bias=False) + affine GroupNorm; context blocks: Conv1d(bias)
    + GroupNorm, plus a bias-free 1x1 residual projection where channels change (skip
    connections only); predictions: ConvTranspose2d(C_context, C, (1, K)) with bias.
    """
    total, channels = 0, 1
    for layer in config.encoder_layers:
        total += channels * layer.channels * layer.kernel + 2 * layer.channels
        channels = layer.channels
    target_channels = channels
    for context in config.context_layers:
        total += channels * context.channels * context.kernel + 3 * context.channels
        if config.skip_connections and channels != context.channels:
            total += channels * context.channels
        channels = context.channels
    return total + channels * target_channels * config.prediction_steps + target_channels


@pytest.mark.parametrize(
    ("config", "paper_millions"),
    # The wav2vec paper's reference-implementation counts (../shared/reference/wav2vec-paper.md).
    [(Wav2VecConfig.base(), 15.5), (Wav2VecConfig.large(), 32.5), (tiny_config(), None)],
    ids=["base", "large", "tiny"],
)
def test_parameter_counts_match_fairseq_and_the_paper(config: Wav2VecConfig, paper_millions: float | None) -> None:
    count = sum(p.numel() for p in Wav2Vec(config).parameters())
    assert count == fairseq_parameter_count(config)
    if paper_millions is not None:
        assert count == pytest.approx(paper_millions * 1e6, rel=0.01)


def test_state_dict_uses_fairseq_names() -> None:
    names = set(Wav2Vec(tiny_config()).state_dict())
    assert {
        "feature_extractor.conv_layers.0.0.weight",
        "feature_extractor.conv_layers.0.2.weight",
        "feature_extractor.conv_layers.0.2.bias",
        "feature_aggregator.conv_layers.0.1.weight",
        "feature_aggregator.conv_layers.0.1.bias",
        "feature_aggregator.conv_layers.0.3.weight",
        "feature_aggregator.residual_proj.1.weight",
        "wav2vec_predictions.project_to_steps.weight",
        "wav2vec_predictions.project_to_steps.bias",
    } <= names
    assert "feature_extractor.conv_layers.0.0.bias" not in names
    assert not any(name.startswith(("feature_aggregator.residual_proj.0", "feature_aggregator.residual_proj.2")) for name in names)


def test_context_is_causal() -> None:
    # c_t reads audio samples up to 160 t + 464: changing anything later must leave c_t as it was.
    # Group norm is removed: it normalises over the whole utterance, the one non-causal part of wav2vec.
    torch.manual_seed(0)
    model = replace_modules(Wav2Vec(tiny_config()), (nn.GroupNorm,))
    wav = torch.randn(2, 4000)
    with torch.no_grad():
        _, reference = model(wav)
        for cut in (1000, 2345, 3600):
            moved = wav.clone()
            moved[:, cut:] = torch.randn(2, 4000 - cut)
            _, c = model(moved)
            seen = sum(1 for t in range(c.shape[-1]) if 160 * t + 465 <= cut)
            torch.testing.assert_close(c[..., :seen], reference[..., :seen], rtol=0, atol=1e-6)
            assert (c[..., seen:] - reference[..., seen:]).abs().amax() > 1e-3


@pytest.mark.parametrize(("num_negatives", "cross_sample_negatives"), [(10, 0), (2, 400), (0, 5)])
def test_negatives_are_never_the_positive_and_stay_where_drawn(num_negatives: int, cross_sample_negatives: int) -> None:
    batch, frames = 3, 5
    indices = sample_negatives(batch, frames, num_negatives, cross_sample_negatives, torch.Generator().manual_seed(1))
    assert indices.shape == (batch, frames, num_negatives + cross_sample_negatives)
    assert not (indices == torch.arange(batch * frames).view(batch, frames, 1)).any()
    assert ((indices[..., :num_negatives] // frames) == torch.arange(batch).view(batch, 1, 1)).all()
    cross = indices[..., num_negatives:]
    assert cross.numel() == 0 or (cross.min() >= 0 and cross.max() < batch * frames)
    if cross_sample_negatives >= 400:  # with that many draws, every utterance of the batch shows up
        assert set((cross // frames).unique().tolist()) == {0, 1, 2}


def test_negatives_are_uniform_over_the_other_frames() -> None:
    frames = 7
    indices = sample_negatives(1, frames, 20_000, 0, torch.Generator().manual_seed(0))[0]  # (F, N)
    for t in range(frames):
        counts = torch.bincount(indices[t], minlength=frames).float()
        assert counts[t] == 0
        others = torch.cat([counts[:t], counts[t + 1 :]]) / indices.shape[1]
        assert (others - 1 / (frames - 1)).abs().max() < 0.015


def test_negatives_need_a_second_frame() -> None:
    with pytest.raises(ConfigError, match="longer crops"):
        sample_negatives(2, 1, 10, 0)


def slow_scores(model: Wav2Vec, z: torch.Tensor, c: torch.Tensor, negatives: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """positive (K, B, F), negative (K, B, F, N) by a loop over k, b, i, n, with h_k as fairseq computes it."""
    steps, (batch, channels, frames) = model.config.prediction_steps, z.shape
    h = model.wav2vec_predictions.project_to_steps(c.unsqueeze(-1))  # (B, C, F, K): fairseq's layout
    z_flat = z.transpose(1, 2).reshape(batch * frames, channels)
    positive = torch.zeros(steps, batch, frames)
    negative = torch.zeros(steps, batch, frames, negatives.shape[-1])
    for k in range(1, steps + 1):
        for b in range(batch):
            for i in range(frames):
                target = i + model.prediction_offset + k - 1
                if target >= frames:
                    continue
                prediction = h[b, :, i, k - 1]
                positive[k - 1, b, i] = prediction @ z[b, :, target]
                for n, index in enumerate(negatives[b, target].tolist()):
                    negative[k - 1, b, i, n] = prediction @ z_flat[index]
    return positive, negative


@pytest.mark.parametrize("offset", [1, "auto", 6])
def test_contrastive_scores_equal_a_direct_loop(offset: int | str) -> None:
    torch.manual_seed(0)
    model = Wav2Vec(tiny_config(offset=offset)).eval()
    assert model.prediction_offset == (3 if offset == "auto" else offset)
    wav = torch.randn(2, 465 + 160 * 8)  # 9 frames: with offset 6 and K = 4, steps 4 has no target in the crop
    z, c = model(wav)
    scores = model.contrastive_scores(z, c, torch.Generator().manual_seed(5))
    negatives = sample_negatives(2, 9, 3, 2, torch.Generator().manual_seed(5))
    positive, negative = slow_scores(model, z.detach(), c.detach(), negatives)

    assert scores.positive.shape == (4, 2, 9) and scores.negative.shape == (4, 2, 9, 5)
    expected_valid = torch.tensor([[i + model.prediction_offset + k < 9 for i in range(9)] for k in range(4)])
    assert torch.equal(scores.valid, expected_valid)
    torch.testing.assert_close(scores.positive, positive, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(scores.negative, negative, rtol=1e-5, atol=1e-5)


def test_contrastive_scores_gradients_equal_the_loops() -> None:
    torch.manual_seed(0)
    model = Wav2Vec(tiny_config()).eval()
    z = torch.randn(2, 8, 7, requires_grad=True)
    c = torch.randn(2, 12, 7, requires_grad=True)
    weights = torch.randn(4, 2, 7, 6)
    scores = model.contrastive_scores(z, c, torch.Generator().manual_seed(2))
    fast = (torch.cat([scores.positive.unsqueeze(-1), scores.negative], -1) * weights).sum()
    fast_grads = torch.autograd.grad(fast, [z, c])
    positive, negative = slow_scores(model, z, c, sample_negatives(2, 7, 3, 2, torch.Generator().manual_seed(2)))
    slow = (torch.cat([positive.unsqueeze(-1), negative], -1) * weights).sum()
    for fast_grad, slow_grad in zip(fast_grads, torch.autograd.grad(slow, [z, c])):
        torch.testing.assert_close(fast_grad, slow_grad, rtol=1e-4, atol=1e-5)


def test_offset_auto_is_the_encoders_reach_in_frames() -> None:
    # ceil(465 / 160) = 3 for the paper's encoders: predict z_{i+3}..z_{i+14} instead of z_{i+1}..z_{i+12}.
    assert Wav2Vec(replace(Wav2VecConfig.base(), offset="auto")).prediction_offset == 3
    assert Wav2Vec(replace(Wav2VecConfig.large(), offset="auto")).prediction_offset == 3
    assert Wav2Vec(Wav2VecConfig.base()).prediction_offset == 1
    with pytest.raises(ConfigError, match="offset"):
        Wav2VecConfig(offset=0)


def test_features_pick_the_representation() -> None:
    torch.manual_seed(0)
    model = Wav2Vec(tiny_config()).eval()
    wav = torch.randn(2, 2000)
    with torch.no_grad():
        z, c = model(wav)
        torch.testing.assert_close(model.features(wav, "z"), z.transpose(1, 2))
        torch.testing.assert_close(model.features(wav, "c"), c.transpose(1, 2))
        torch.testing.assert_close(model.features(wav, 2), c.transpose(1, 2))
        assert model.features(wav, 0).shape == (2, z.shape[-1], 8)
        assert model.features(wav, 1).shape == (2, z.shape[-1], 12)
    for bad in ("q", 3, -1):
        with pytest.raises(ConfigError):
            model.features(wav, bad)


def test_step_projection_is_fairseqs_conv_transpose() -> None:
    torch.manual_seed(0)
    model = Wav2Vec(tiny_config())
    c = torch.randn(2, 12, 5)
    h = model.wav2vec_predictions(c)  # (B, F, K, C)
    reference = model.wav2vec_predictions.project_to_steps(c.unsqueeze(-1))  # (B, C, F, K)
    torch.testing.assert_close(h, reference.permute(0, 2, 3, 1))


def test_config_loads_from_yaml_values() -> None:
    config = from_dict(
        Wav2VecConfig,
        {
            "encoder_layers": [{"channels": 32, "kernel": 10, "stride": 5}, {"channels": 32, "kernel": 8, "stride": 4}],
            "context_layers": [{"channels": 32, "kernel": 3}],
            "offset": "auto",
        },
    )
    assert config.encoder_layers[1] == EncoderLayer(32, 8, 4) and config.offset == "auto"
    assert from_dict(Wav2VecConfig, {"offset": 2}).offset == 2
    with pytest.raises(ConfigError):
        from_dict(Wav2VecConfig, {"offset": "sometimes"})


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_split_utterance_norm_equals_group_norm(dtype: torch.dtype) -> None:
    """The GPU's norm (var_mean statistics) is the one-group GroupNorm, values and gradients."""
    torch.manual_seed(0)
    norm = nn.GroupNorm(1, 16)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)
    x = (torch.randn(3, 16, 250) * 3 + 1).to(dtype).requires_grad_()
    upstream = torch.randn(3, 16, 250)

    ours = split_utterance_norm(x, norm.weight, norm.bias, norm.eps)
    ours_grads = torch.autograd.grad((ours.float() * upstream).sum(), [x, norm.weight, norm.bias])
    reference = F.group_norm(x.float(), 1, norm.weight, norm.bias, norm.eps)
    reference_grads = torch.autograd.grad((reference * upstream).sum(), [x, norm.weight, norm.bias])

    assert ours.dtype == dtype
    tolerance = 1e-5 if dtype == torch.float32 else 1e-2
    torch.testing.assert_close(ours.float(), reference.to(dtype).float(), rtol=tolerance, atol=tolerance)
    for got, expected in zip(ours_grads, reference_grads):
        torch.testing.assert_close(got.float(), expected.to(got.dtype).float(), rtol=tolerance, atol=tolerance * 10)

"""The time-major path (GEMM convolutions, fused norms, target-frame loss) against the reference path, in float64.

Both paths read the same parameters, so the reference modules are the oracle: z, c, the loss, its summaries and
every parameter's gradient must agree to float64 rounding, for the paper's base and large architectures.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from asr_bench.models.checkpoint import load_wav2vec
from asr_bench.models.conv import causal_conv, conv_channels_last, encoder_conv
from asr_bench.models.fairseq_checkpoint import save_fairseq_wav2vec
from asr_bench.models.norm import utterance_norm_relu
from asr_bench.models.wav2vec import Wav2Vec, Wav2VecConfig, sample_negatives
from asr_bench.tasks.pretrain_loss import (
    LOSSES,
    compiled_time_major_loss,
    time_major_loss,
    time_major_summary,
)
from test_wav2vec_model import tiny_config  # paper strides at 8 channels, a 1x1 layer, skips with a projection

ARCHITECTURES = {"base": Wav2VecConfig.base, "large": Wav2VecConfig.large}


def float64_model(config: Wav2VecConfig) -> Wav2Vec:
    """A model with random, non-trivial norm affines, in float64."""
    torch.manual_seed(0)
    model = Wav2Vec(config).double()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return model


def assert_equal64(got: torch.Tensor, expected: torch.Tensor) -> None:
    scale = float(expected.abs().max()) or 1.0
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) <= 1e-10 * scale


def test_tiled_lengths_leave_no_sample_at_any_layer() -> None:
    model = Wav2Vec()
    assert model.tiled_samples(150_000) == 149_905 == 160 * 935 + 305  # the paper's crop, snapped
    for samples in (465, 1_000, 16_000, 48_000, 150_000):
        tiled = model.tiled_samples(samples)
        assert tiled <= samples and model.num_frames(tiled) == model.num_frames(samples)
        length = tiled
        for layer in model.config.encoder_layers:
            assert (length - layer.kernel) % layer.stride == 0  # no sample left over
            length = (length - layer.kernel) // layer.stride + 1
    assert model.tiled_samples(400) == 400  # too short for a frame: left for the error further on


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_time_major_forward_equals_the_reference(name: str) -> None:
    model = float64_model(ARCHITECTURES[name]())
    generator = torch.Generator().manual_seed(1)
    for samples in (model.samples_for_frames(16), model.samples_for_frames(16) + 123):  # tiled, and not
        wav = torch.randn(2, samples, dtype=torch.float64, generator=generator)
        with torch.no_grad():
            z_ref, c_ref = model(wav)
            z, c = model.forward_time_major(wav)
        assert_equal64(z, z_ref.transpose(1, 2))
        assert_equal64(c, c_ref.transpose(1, 2))


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_time_major_loss_summaries_and_gradients_equal_the_reference(name: str) -> None:
    model = float64_model(ARCHITECTURES[name]())
    wav = torch.randn(2, model.samples_for_frames(20), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    parameters = list(model.parameters())
    for loss in ("bce", "infonce"):
        z_ref, c_ref = model(wav)
        reference = LOSSES[loss](model.contrastive_scores(z_ref, c_ref, torch.Generator().manual_seed(3)))
        expected_grads = torch.autograd.grad(reference.loss, parameters)

        negatives = sample_negatives(2, 20, 10, 0, torch.Generator().manual_seed(3))  # the same draws
        step = time_major_loss(model, wav, negatives, loss)
        grads = torch.autograd.grad(step.loss, parameters)

        assert float(step.loss.detach()) == pytest.approx(float(reference.loss.detach()), rel=1e-12)
        assert step.scores.num_positives == reference.num_positives == 2 * sum(20 - 1 - k for k in range(12))
        summary = time_major_summary(step)
        assert float(summary["accuracy"]) == pytest.approx(float(reference.accuracy), abs=1e-6)  # a float32 mean
        assert float(summary["logit_spread"]) == pytest.approx(float(reference.logit_spread), rel=1e-10)
        assert float(summary["z_time_std"]) == pytest.approx(float(z_ref.detach().std(dim=2).mean()), rel=1e-6)
        for got, expected in zip(grads, expected_grads, strict=True):
            assert_equal64(got, expected)


def test_time_major_loss_asks_for_tiled_crops() -> None:
    model = float64_model(Wav2VecConfig.small(channels=8, context_layers=1))
    wav = torch.randn(1, model.samples_for_frames(20) + 7, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="tiled exactly"):
        time_major_loss(model, wav, sample_negatives(1, 20, 10, 0), "bce")


@pytest.mark.parametrize(
    ("kernel", "stride", "in_channels", "steps"),
    [(10, 5, 1, 1_005), (10, 5, 1, 1_003), (8, 4, 6, 84), (8, 4, 6, 87), (4, 2, 6, 40), (1, 1, 6, 9), (3, 2, 6, 21)],
    ids=["audio", "audio-untiled", "k8s4", "k8s4-untiled", "k4s2", "k1s1", "k3s2"],
)
def test_encoder_convolutions_equal_conv1d(kernel: int, stride: int, in_channels: int, steps: int) -> None:
    generator = torch.Generator().manual_seed(4)
    weight = torch.randn(5, in_channels, kernel, dtype=torch.float64, generator=generator, requires_grad=True)
    x = torch.randn(3, steps, in_channels, dtype=torch.float64, generator=generator, requires_grad=in_channels > 1)
    given = x[:, :, 0] if in_channels == 1 else x  # the first layer reads audio (B, S)
    got = encoder_conv(given, weight, stride)
    expected = F.conv1d(x.transpose(1, 2), weight, stride=stride).transpose(1, 2)
    assert_equal64(got, expected)
    upstream = torch.randn_like(expected)
    inputs = [weight, x] if in_channels > 1 else [weight]
    for g, e in zip(torch.autograd.grad(got, inputs, upstream), torch.autograd.grad(expected, inputs, upstream)):
        assert_equal64(g, e)


@pytest.mark.parametrize("kernel", [1, 2, 3, 13])
def test_causal_convolutions_equal_the_reference_block(kernel: int) -> None:
    generator = torch.Generator().manual_seed(5)
    conv = nn.Conv1d(6, 7, kernel).double()
    x = torch.randn(2, 30, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    got = causal_conv(x, conv.weight, conv.bias)
    expected = conv(nn.ReplicationPad1d((kernel - 1, 0))(x.transpose(1, 2))).transpose(1, 2)
    assert_equal64(got, expected)
    upstream = torch.randn_like(expected)
    inputs = [x, conv.weight, conv.bias]
    for g, e in zip(torch.autograd.grad(got, inputs, upstream), torch.autograd.grad(expected, inputs, upstream)):
        assert_equal64(g, e)
    # The channels-last views read (B, T, C) memory as cuDNN's NHWC wants it: no copy of the input.
    assert x.transpose(1, 2).unsqueeze(2).is_contiguous(memory_format=torch.channels_last)
    assert_equal64(conv_channels_last(x, conv.weight, 1, conv.bias), F.conv1d(x.transpose(1, 2), conv.weight, conv.bias).transpose(1, 2))


def affine_norm(channels: int, dtype: torch.dtype = torch.float64) -> nn.GroupNorm:
    norm = nn.GroupNorm(1, channels).to(dtype)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(6))
        norm.bias.uniform_(-0.3, 0.3, generator=torch.Generator().manual_seed(7))
    return norm


def test_norm_relu_equals_group_norm_then_relu() -> None:
    norm = affine_norm(24)
    y = (torch.randn(3, 50, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(8)) * 3 + 1).requires_grad_()
    got = utterance_norm_relu(y, norm, backend="torch")
    expected = torch.relu(F.group_norm(y.transpose(1, 2), 1, norm.weight, norm.bias, norm.eps)).transpose(1, 2)
    assert_equal64(got, expected)
    upstream = torch.randn_like(expected)
    inputs = [y, norm.weight, norm.bias]
    for g, e in zip(torch.autograd.grad(got, inputs, upstream), torch.autograd.grad(expected, inputs, upstream)):
        assert_equal64(g, e)


def test_masked_norm_equals_each_utterance_alone() -> None:
    norm = affine_norm(24)
    y = torch.randn(3, 50, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(9)) * 2 - 0.5
    valid = torch.tensor([50, 31, 4])
    got = utterance_norm_relu(y, norm, valid, backend="torch")
    for b, frames in enumerate(valid.tolist()):
        alone = utterance_norm_relu(y[b : b + 1, :frames], norm, backend="torch")[0]
        assert_equal64(got[b, :frames], alone)
        assert not got[b, frames:].any()  # 0 past the utterance's frames


def triton_matches_torch() -> None:
    """Run with TRITON_INTERPRET=1 (by the test below): the Triton kernels against the torch path."""
    generator = torch.Generator().manual_seed(10)
    for dtype, tolerance in ((torch.float64, 1e-12), (torch.float32, 1e-5), (torch.bfloat16, 5e-2)):
        norm = affine_norm(24, torch.float64 if dtype == torch.float64 else torch.float32)
        base = torch.randn(3, 77, 24, dtype=torch.float64, generator=generator) * 3 + 1
        padded = torch.zeros(3, 80, 24, dtype=torch.float64)  # a view with a batch stride of its own, as a GEMM leaves it
        padded[:, :77] = base
        y = padded.to(dtype)[:, :77].requires_grad_()
        upstream = torch.randn(3, 77, 24, dtype=torch.float64, generator=generator).to(dtype)
        results = {}
        for backend in ("triton", "torch"):
            out = utterance_norm_relu(y, norm, backend=backend)
            assert out.dtype == dtype and out.is_contiguous()
            grads = torch.autograd.grad(out, [y, norm.weight, norm.bias], upstream)
            results[backend] = (out, *grads)
        for got, expected in zip(results["triton"], results["torch"]):
            scale = float(expected.double().abs().max()) or 1.0
            assert float((got.double() - expected.double()).abs().max()) <= tolerance * scale, (dtype, got.shape)
        valid = torch.tensor([77, 40, 5])
        got = utterance_norm_relu(y.detach(), norm, valid, backend="triton")
        expected = utterance_norm_relu(y.detach(), norm, valid, backend="torch")
        assert float((got.double() - expected.double()).abs().max()) <= tolerance * float(expected.double().abs().max())


def test_triton_norm_kernels_under_the_interpreter() -> None:
    pytest.importorskip("triton", reason="triton is not installed (it ships with the CUDA build of torch)")
    tests = Path(__file__).parent
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests)])}
    result = subprocess.run(
        [sys.executable, "-c", "import test_wav2vec_time_major as t; t.triton_matches_torch()"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_compiled_step_is_one_graph_with_the_eager_numbers() -> None:
    """fullgraph=True: a graph break anywhere in forward and loss is an error. aot_eager traces forward and
    backward as Inductor would, without compiling kernels on the test machine; static shapes keep it quick
    (the dynamic-shape graph is in the slow test below)."""
    torch.manual_seed(0)
    model = Wav2Vec(tiny_config())
    wav = torch.randn(2, model.samples_for_frames(30))
    negatives = sample_negatives(2, 30, 3, 2, torch.Generator().manual_seed(1))
    compiled = compiled_time_major_loss(model, "bce", dynamic=False, backend="aot_eager")
    got, expected = compiled(wav, negatives), time_major_loss(model, wav, negatives, "bce")
    assert float(got.loss) == pytest.approx(float(expected.loss), rel=1e-6)
    parameters = list(model.parameters())
    for g, e in zip(torch.autograd.grad(got.loss, parameters), torch.autograd.grad(expected.loss, parameters)):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_the_dynamic_shape_graph_serves_every_crop_shape() -> None:
    """One compilation for crops of any count and tiled length (minutes of tracing on a 2-core machine)."""
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()  # reset() leaves the counts of graphs other tests compiled
    torch.manual_seed(0)
    model = Wav2Vec(tiny_config())
    compiled = compiled_time_major_loss(model, "bce", backend="aot_eager")
    for batch, frames in ((2, 30), (3, 41), (5, 25)):
        wav = torch.randn(batch, model.samples_for_frames(frames))
        negatives = sample_negatives(batch, frames, 3, 2, torch.Generator().manual_seed(frames))
        got, expected = compiled(wav, negatives), time_major_loss(model, wav, negatives, "bce")
        assert float(got.loss) == pytest.approx(float(expected.loss), rel=1e-6)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1


def test_checkpoints_written_by_the_reference_modules_give_the_same_features(tmp_path: Path) -> None:
    """A checkpoint saved before the time-major path existed holds the reference modules' state dict: ours
    (Lightning) and fairseq's both load into the same parameters, whose time-major features equal the
    reference features of the model that wrote them."""
    torch.manual_seed(0)
    writer = Wav2Vec(tiny_config()).eval()
    wav = torch.randn(2, 3_000, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        expected = writer.features(wav, "c")
    lightning_file = tmp_path / "ours.ckpt"
    hparams = {"model": dataclasses.asdict(writer.config), "data": {"normalize": True}}
    torch.save({"state_dict": {f"model.{k}": v for k, v in writer.state_dict().items()}, "hyper_parameters": hparams}, lightning_file)
    fairseq_file = save_fairseq_wav2vec(writer, tmp_path / "fairseq.pt")
    for path in (lightning_file, fairseq_file):
        loaded = load_wav2vec(path).model
        with torch.no_grad():
            _, c = loaded.forward_time_major(wav)
        torch.testing.assert_close(c, expected, rtol=1e-5, atol=1e-5)


def test_auto_picks_time_major_on_cuda_and_the_reference_elsewhere() -> None:
    from asr_bench.errors import ConfigError
    from asr_bench.models.wav2vec import resolve_implementation

    assert resolve_implementation("auto", torch.device("cuda")) == "time_major"
    assert resolve_implementation("auto", torch.device("cpu")) == "reference"
    assert resolve_implementation("time_major", torch.device("cpu")) == "time_major"
    with pytest.raises(ConfigError, match="implementation 'fast'"):
        resolve_implementation("fast", torch.device("cpu"))

"""The GPU's code paths against the CPU's: skipped without CUDA, run on a lent GPU machine
(scripts/device/run.sh runs this file first)."""

from __future__ import annotations

import pytest
import torch

from asr_bench.features.wav2vec import Wav2VecFeaturizer
from asr_bench.models.norm import utterance_norm_relu
from asr_bench.models.wav2vec import ContextLayer, EncoderLayer, Wav2Vec, Wav2VecConfig, sample_negatives
from asr_bench.tasks.pretrain_loss import compiled_time_major_loss, time_major_loss

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def paper_model(large: bool) -> Wav2Vec:
    torch.manual_seed(0)
    return Wav2Vec(Wav2VecConfig.large() if large else Wav2VecConfig.base()).eval()


def no_tf32():
    """fp32 without TF32 in cuDNN's convolutions (cuBLAS's matrix products have it off by default)."""
    return torch.backends.cudnn.flags(enabled=True, allow_tf32=False)


@pytest.mark.parametrize("large", [False, True])
def test_forward_on_the_gpu_equals_the_cpu(large: bool) -> None:
    """fp32 (TF32 off): the GPU's norms and convolutions, by both implementations, give the CPU's z and c."""
    model = paper_model(large)
    wav = torch.randn(3, model.samples_for_frames(300))
    with torch.no_grad(), no_tf32():
        expected = model(wav)
        gpu = model.cuda()
        for got in (gpu(wav.cuda()), [t.transpose(1, 2) for t in gpu.forward_time_major(wav.cuda())]):
            for g, e in zip(got, expected):
                torch.testing.assert_close(g.cpu(), e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("large", [False, True])
def test_time_major_step_on_the_gpu_equals_the_cpu(large: bool) -> None:
    """Loss and gradients of the time-major step (Triton norms, GEMM and channels-last convolutions) in fp32."""
    model = paper_model(large).train()
    wav = torch.randn(2, model.samples_for_frames(60))
    negatives = sample_negatives(2, 60, 10, 0, torch.Generator().manual_seed(1))
    parameters = list(model.parameters())
    expected = time_major_loss(model, wav, negatives, "bce").loss
    expected_grads = torch.autograd.grad(expected, parameters)
    with no_tf32():
        gpu = model.cuda()
        got = time_major_loss(gpu, wav.cuda(), negatives.cuda(), "bce").loss
        grads = torch.autograd.grad(got, list(gpu.parameters()))
    assert float(got) == pytest.approx(float(expected), rel=1e-5)
    for g, e in zip(grads, expected_grads):
        torch.testing.assert_close(g.cpu(), e, rtol=1e-3, atol=1e-5 * float(e.abs().max()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_triton_norm_equals_the_torch_norm(dtype: torch.dtype) -> None:
    """On the first layer's shape: 4 crops of 29,980 frames x 512 channels, strided as a GEMM leaves it."""
    torch.manual_seed(0)
    norm = torch.nn.GroupNorm(1, 512).cuda()
    torch.nn.init.normal_(norm.weight)
    torch.nn.init.normal_(norm.bias)
    y = (torch.randn(4, 29_981, 512, device="cuda") * 3 + 1).to(dtype)[:, :29_980].requires_grad_()
    upstream = torch.randn(4, 29_980, 512, device="cuda", dtype=dtype)
    results = {}
    for backend in ("triton", "torch"):
        out = utterance_norm_relu(y, norm, backend=backend)
        results[backend] = (out, *torch.autograd.grad(out, [y, norm.weight, norm.bias], upstream))
    tolerance = 1e-4 if dtype == torch.float32 else 2e-2
    for got, expected in zip(results["triton"], results["torch"]):
        torch.testing.assert_close(got.float(), expected.float(), rtol=tolerance, atol=tolerance * float(expected.float().abs().max()))
    valid = torch.tensor([29_980, 10_000, 17, 3_333], device="cuda")
    masked = [utterance_norm_relu(y.detach(), norm, valid, backend=backend) for backend in ("triton", "torch")]
    torch.testing.assert_close(masked[0].float(), masked[1].float(), rtol=tolerance, atol=tolerance * 10)


def test_featurizer_on_the_gpu_equals_the_cpu() -> None:
    """A batch of unequal lengths plus one utterance long enough to be chunked, bf16 on the GPU against fp32,
    for c and for every layer ("all")."""
    model = paper_model(large=False)
    waveforms = [torch.randn(n) for n in (40_000, 33_111, 52_000)]
    for representation in ("c", "all"):
        expected = Wav2VecFeaturizer(model, representation, normalize=True, device="cpu", precision="fp32").featurize_batch(waveforms)
        gpu = Wav2VecFeaturizer(model, representation, normalize=True, device="cuda", precision="bf16", chunk_samples=48_000)
        assert gpu.implementation == "time_major"
        for got, want in zip(gpu.featurize_batch(waveforms), expected):
            assert got.shape == want.shape and got.dtype in (torch.float16, torch.float32)
            assert torch.nn.functional.cosine_similarity(got.float().flatten(), want.flatten(), dim=0) > 0.99


def test_the_compiled_step_equals_the_eager_step_under_inductor() -> None:
    """One Inductor graph (dynamic batch and length) for crops of two shapes, bf16, with the eager numbers.

    Last in the file: compiling takes the longest, and the session cuts the tests at a time box."""
    torch.manual_seed(0)
    config = Wav2VecConfig(
        encoder_layers=[*Wav2VecConfig.small(channels=64).encoder_layers, EncoderLayer(64, 1, 1)],
        context_layers=[ContextLayer(64, 2), ContextLayer(64, 3)],
        skip_connections=True,
        log_compression=True,
    )
    model = Wav2Vec(config).cuda()
    compiled = compiled_time_major_loss(model, "bce")
    for batch, frames in ((4, 200), (6, 150)):
        wav = torch.randn(batch, model.samples_for_frames(frames), device="cuda")
        negatives = sample_negatives(batch, frames, 10, 0, device="cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            got, expected = compiled(wav, negatives).loss, time_major_loss(model, wav, negatives, "bce").loss
        assert float(got) == pytest.approx(float(expected), rel=2e-2)

"""The GPU's code paths against the CPU's: skipped without CUDA, run on a lent GPU machine
(scripts/device/run.sh runs this file first)."""

from __future__ import annotations

import pytest
import torch

from asr_bench.features.wav2vec import Wav2VecFeaturizer
from asr_bench.models.wav2vec import Wav2Vec, Wav2VecConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def paper_model(large: bool) -> Wav2Vec:
    torch.manual_seed(0)
    return Wav2Vec(Wav2VecConfig.large() if large else Wav2VecConfig.base()).eval()


@pytest.mark.parametrize("large", [False, True])
def test_forward_on_the_gpu_equals_the_cpu(large: bool) -> None:
    """fp32 (TF32 off): the GPU's norm and convolutions give the CPU's z and c."""
    model = paper_model(large)
    wav = torch.randn(3, 48_000)
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # the model is all convolutions
        expected = model(wav)
        got = model.cuda()(wav.cuda())
    for g, e in zip(got, expected):
        torch.testing.assert_close(g.cpu(), e, rtol=1e-4, atol=1e-4)


def test_featurizer_on_the_gpu_equals_the_cpu() -> None:
    """A batch of unequal lengths plus one utterance long enough to be chunked, bf16 on the GPU against fp32."""
    model = paper_model(large=False)
    waveforms = [torch.randn(n) for n in (40_000, 33_111, 52_000)]
    expected = Wav2VecFeaturizer(model, "c", normalize=True, device="cpu", precision="fp32").featurize_batch(waveforms)
    gpu = Wav2VecFeaturizer(model, "c", normalize=True, device="cuda", precision="bf16", chunk_samples=48_000)
    for got, want in zip(gpu.featurize_batch(waveforms), expected):
        assert got.shape == want.shape
        assert torch.nn.functional.cosine_similarity(got.flatten(), want.flatten(), dim=0) > 0.99

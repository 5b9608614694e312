"""wav2vec featurization: padded batches and chunked long audio must equal one plain forward per utterance."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from asr_bench.data.audio import load_audio
from asr_bench.data.manifest import write_manifest
from asr_bench.errors import ConfigError
from asr_bench.features.featurize import FeatureConfig, Wav2VecFeatureConfig, featurize_manifest, featurize_manifests
from asr_bench.features.h5 import export_fairseq_h5
from asr_bench.features.waveform import normalize_waveform
from asr_bench.features.wav2vec import Wav2VecFeaturizer
from asr_bench.models.fairseq_checkpoint import save_fairseq_wav2vec
from asr_bench.models.wav2vec import ContextLayer, EncoderLayer, Wav2Vec, Wav2VecConfig
from corpus_fixtures import shortest_ci_utterances


def small_model(skip_connections: bool = False, log_compression: bool = False) -> Wav2Vec:
    torch.manual_seed(0)
    config = Wav2VecConfig(
        encoder_layers=[EncoderLayer(24, k, s) for k, s in ((10, 5), (8, 4), (4, 2), (4, 2), (4, 2))],
        context_layers=[ContextLayer(24, 3), ContextLayer(32, 4), ContextLayer(32, 2)],
        skip_connections=skip_connections,
        log_compression=log_compression,
    )
    model = Wav2Vec(config).eval()
    with torch.no_grad():  # non-trivial affine norms, so a mistake in applying them shows
        for module in model.modules():
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return model


def reference(model: Wav2Vec, wav: torch.Tensor, representation: str | int) -> torch.Tensor:
    with torch.no_grad():
        return model.features(normalize_waveform(wav).unsqueeze(0), representation)[0]


@pytest.mark.parametrize("implementation", ["reference", "time_major"])
@pytest.mark.parametrize("representation", ["z", "c", 0, 1, "all"])
@pytest.mark.parametrize("large_style", [False, True])
def test_padded_batch_equals_one_forward_per_utterance(representation: str | int, large_style: bool, implementation: str) -> None:
    """Each utterance of a padded batch, by either implementation, gets the features of a forward of it alone.

    The time-major featurizer is held to 60k padded samples per forward, so the batch runs as several groups.
    """
    model = small_model(skip_connections=large_style, log_compression=large_style)
    featurizer = Wav2VecFeaturizer(
        model, representation, normalize=True, precision="fp32", implementation=implementation, max_batch_samples=60_000
    )
    generator = torch.Generator().manual_seed(1)
    waveforms = [torch.randn(n, generator=generator) * (1 + i) for i, n in enumerate((16_000, 9_731, 3_200, 12_345, 9_000))]
    for wav, features in zip(waveforms, featurizer.featurize_batch(waveforms), strict=True):
        expected = reference(model, wav, representation)
        assert features.shape == expected.shape == (model.num_frames(len(wav)), expected.shape[1])
        torch.testing.assert_close(features, expected, atol=2e-4, rtol=1e-4)


def test_all_is_z_then_every_context_layer_along_the_feature_axis() -> None:
    """The layout a layer-weighting downstream model reads: [z, layer 1, ..., layer L], each its own width."""
    model = small_model(skip_connections=True, log_compression=True)
    wav = torch.randn(8_000, generator=torch.Generator().manual_seed(3))
    features = Wav2VecFeaturizer(model, "all", precision="fp32")(wav)
    blocks = [reference(model, wav, "z")] + [reference(model, wav, layer) for layer in range(3)]
    assert features.shape[1] == 24 + 24 + 32 + 32 == sum(block.shape[1] for block in blocks)
    torch.testing.assert_close(features, torch.cat(blocks, dim=1), atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("large_style", [False, True])
def test_chunked_long_audio_equals_a_full_forward(large_style: bool) -> None:
    model = small_model(skip_connections=large_style, log_compression=large_style)
    wav = torch.randn(41_234, generator=torch.Generator().manual_seed(2))
    chunked = Wav2VecFeaturizer(model, "c", normalize=True, chunk_samples=4_000, precision="fp32")
    assert len(wav) > chunked.chunk_samples  # the long-audio path is the one under test
    torch.testing.assert_close(chunked(wav), reference(model, wav, "c"), atol=2e-4, rtol=1e-4)
    for representation in ("z", "all"):
        torch.testing.assert_close(
            Wav2VecFeaturizer(model, representation, normalize=True, chunk_samples=4_000, precision="fp32")(wav),
            reference(model, wav, representation), atol=2e-4, rtol=1e-4,
        )


def test_manifest_featurization_from_a_fairseq_checkpoint(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> None:
    model = small_model()
    checkpoint = save_fairseq_wav2vec(model, tmp_path / "wav2vec_small.pt")
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 5)
    config = FeatureConfig(
        kind="wav2vec",
        cache_dir=str(tmp_path / "cache"),
        wav2vec=Wav2VecFeatureConfig(str(checkpoint), "c", batch_size=3, normalize=False, precision="fp32"),
    )
    store = featurize_manifest(utterances, config, progress=False)
    assert store.dim == 32 and len(store) == 5
    for utt in utterances:
        wav = load_audio(utt.audio)
        with torch.no_grad():  # fairseq models read raw, unnormalised audio
            expected = model.features(wav.unsqueeze(0), "c")[0]
        torch.testing.assert_close(store[utt.id], expected, atol=5e-3, rtol=2e-3)  # the cache stores float16

    # By default each dimension is normalised over the utterance, as log-mel is.
    normalised = featurize_manifest(
        utterances, FeatureConfig(kind="wav2vec", cache_dir=str(tmp_path / "cache"), wav2vec=Wav2VecFeatureConfig(str(checkpoint), precision="fp32")),
        progress=False,
    )
    assert normalised.path != store.path
    frames = normalised[utterances[0].id]
    torch.testing.assert_close(frames.mean(0), torch.zeros(32), atol=2e-3, rtol=0)
    live = store[utterances[0].id].std(0) > 1e-3  # a dimension constant over the utterance stays 0
    torch.testing.assert_close(frames.std(0, unbiased=False)[live], torch.ones(int(live.sum())), atol=2e-2, rtol=0)

    # fairseq's featurizer layout: one .h5context per utterance, time-major flattened features and info,
    # computed in batches of 3 and kept in float32 (not read back from the float16 cache).
    [out] = export_fairseq_h5([("train", utterances)], config, tmp_path / "h5", progress=False)
    assert len(out) == 5
    with h5py.File(out[0], "r") as handle:
        info = handle["info"][()]
        features = handle["features"][()]
    frames = store.num_frames(utterances[0].id)
    assert list(info) == [100, frames, 32]
    with torch.no_grad():
        expected = model.features(load_audio(utterances[0].audio).unsqueeze(0), "c")[0]
    np.testing.assert_allclose(features.reshape(frames, 32), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_changed_checkpoint_never_reuses_cached_features(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> None:
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 2)
    first = save_fairseq_wav2vec(small_model(), tmp_path / "a.pt")
    model = small_model()
    with torch.no_grad():
        model.feature_extractor.conv_layers[0][0].weight.mul_(1.5)
    second = save_fairseq_wav2vec(model, tmp_path / "b.pt")
    stores = [
        featurize_manifest(
            utterances,
            FeatureConfig(kind="wav2vec", cache_dir=str(tmp_path / "cache"), wav2vec=Wav2VecFeatureConfig(str(path))),
            progress=False,
        )
        for path in (first, second)
    ]
    assert stores[0].path != stores[1].path


def test_bf16_features_stay_close_to_float32_and_are_cached_apart(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> None:
    """bf16 is what "auto" picks on GPUs and bf16-capable CPUs: the features move by about 1 %, never more."""
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 3)
    checkpoint = save_fairseq_wav2vec(small_model(skip_connections=True, log_compression=True), tmp_path / "w.pt")
    stores = {
        precision: featurize_manifest(
            utterances,
            FeatureConfig(
                kind="wav2vec",
                cache_dir=str(tmp_path / "cache"),
                wav2vec=Wav2VecFeatureConfig(str(checkpoint), batch_size=2, normalize=False, precision=precision),
            ),
            progress=False,
        )
        for precision in ("fp32", "bf16")
    }
    assert stores["fp32"].path != stores["bf16"].path
    for utt in utterances:
        exact, approx = stores["fp32"][utt.id], stores["bf16"][utt.id]
        assert approx.shape == exact.shape
        assert float((approx - exact).norm() / exact.norm()) < 0.03


def test_unknown_precision_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="precision"):
        Wav2VecFeaturizer(small_model(), "c", precision="fp16")


def test_cached_features_never_load_the_model(
    tmp_path: Path, ci_librispeech_rows, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding and resumed training ask for features that exist: the checkpoint is only hashed, not loaded."""
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 2)
    checkpoint = save_fairseq_wav2vec(small_model(), tmp_path / "w.pt")
    config = FeatureConfig(kind="wav2vec", cache_dir=str(tmp_path / "cache"), wav2vec=Wav2VecFeatureConfig(str(checkpoint)))
    first = featurize_manifest(utterances, config, progress=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded although its features are cached")

    monkeypatch.setattr(Wav2VecFeaturizer, "from_checkpoint", refuse)
    assert featurize_manifest(utterances, config, progress=False).path == first.path

    missing = FeatureConfig(kind="wav2vec", cache_dir=str(tmp_path / "cache"), wav2vec=Wav2VecFeatureConfig(str(tmp_path / "no.pt")))
    with pytest.raises(ConfigError, match="no.pt: wav2vec checkpoint does not exist"):
        featurize_manifest(utterances, missing, progress=False)


def test_several_manifests_load_the_model_once(
    tmp_path: Path, ci_librispeech_rows, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training featurizes train and valid, `asr-bench featurize` any number of manifests: one model load for all."""
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 4)
    checkpoint = save_fairseq_wav2vec(small_model(), tmp_path / "w.pt")
    loads = []
    load = Wav2VecFeaturizer.from_checkpoint

    def counted(*args: object, **kwargs: object) -> Wav2VecFeaturizer:
        loads.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(Wav2VecFeaturizer, "from_checkpoint", counted)
    config = FeatureConfig(kind="wav2vec", cache_dir=str(tmp_path / "cache"), wav2vec=Wav2VecFeatureConfig(str(checkpoint)))
    first, second = featurize_manifests([("a", utterances[:2]), ("b", utterances[2:])], config, progress=False)
    assert len(loads) == 1
    assert first.path != second.path
    assert [u.id in first for u in utterances] == [True, True, False, False]
    assert [u.id in second for u in utterances] == [False, False, True, True]


def test_all_layers_are_cached_apart_from_c(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> None:
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 2)
    checkpoint = save_fairseq_wav2vec(small_model(), tmp_path / "w.pt")
    stores = {
        representation: featurize_manifest(
            utterances,
            FeatureConfig(kind="wav2vec", cache_dir=str(tmp_path / "cache"),
                          wav2vec=Wav2VecFeatureConfig(str(checkpoint), representation, precision="fp32")),
            progress=False,
        )
        for representation in ("c", "all")
    }
    assert stores["c"].path != stores["all"].path
    assert (stores["c"].dim, stores["all"].dim) == (32, 24 + 24 + 32 + 32)
    assert stores["all"].meta["config"]["representation"] == "all"

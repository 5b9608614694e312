"""`featurize --export-h5` writes what fairseq's examples/wav2vec/wav2vec_featurize.py writes, unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from asr_bench.cli import main
from asr_bench.data.audio import load_audio
from asr_bench.data.manifest import write_manifest
from asr_bench.models.fairseq_checkpoint import save_fairseq_wav2vec
from corpus_fixtures import shortest_ci_utterances
from test_fairseq_checkpoint import tiny_model


def fairseq_recipe(model: torch.nn.Module, audio: str) -> np.ndarray:
    """wav2vec_featurize.py's features: c = feature_aggregator(feature_extractor(wav)) in float32, (channels, frames)."""
    with torch.no_grad():
        wav = load_audio(audio).float().unsqueeze(0)
        return model.feature_aggregator(model.feature_extractor(wav)).squeeze(0).numpy()


def read_h5context(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as handle:
        return handle["features"][()], handle["info"][()]


@pytest.fixture
def exported(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> tuple[torch.nn.Module, list, Path, Path]:
    model = tiny_model()
    checkpoint = save_fairseq_wav2vec(model, tmp_path / "wav2vec.pt")
    utterances = shortest_ci_utterances(ci_librispeech_rows, shared_data, 2)
    manifest = write_manifest(tmp_path / "dev.jsonl", utterances)
    return model, utterances, checkpoint, manifest


def test_export_h5_defaults_to_fairseqs_features(exported, tmp_path: Path) -> None:
    model, utterances, checkpoint, manifest = exported
    argv = ["featurize", "-m", str(manifest), "--features", "wav2vec", "--checkpoint", str(checkpoint),
            "--export-h5", str(tmp_path / "h5"), f"cache_dir={tmp_path / 'cache'}"]
    assert main(argv) == 0
    assert not (tmp_path / "cache").exists(), "the export computes its own float32 features, not the cache's"
    for utt in utterances:
        features, info = read_h5context(tmp_path / "h5" / "dev" / f"{utt.id}.h5context")
        expected = fairseq_recipe(model, utt.audio)
        channels, frames = expected.shape
        # fairseq writes data.T.flatten() of float32 features and info = np.array([16e3 // 160, T, channel]).
        assert features.dtype == np.float32 and info.dtype == np.float64
        np.testing.assert_array_equal(info, np.array([16e3 // 160, frames, channels]))
        # Equal to float32 rounding (bf16 arithmetic or the cache's float16 would be 1e-3 to 1e-2 off).
        np.testing.assert_allclose(features, expected.T.flatten(), rtol=1e-5, atol=1e-6)

    # Normalisation (and bf16) are options one states; they change the features.
    assert main([*argv[:-1], "wav2vec.normalize=true"]) == 0
    features, _ = read_h5context(tmp_path / "h5" / "dev" / f"{utterances[0].id}.h5context")
    normalised = features.reshape(-1, channels)
    np.testing.assert_allclose(normalised.mean(axis=0), 0.0, atol=1e-4)
    assert not np.allclose(normalised, fairseq_recipe(model, utterances[0].audio).T, atol=1e-2)


def test_export_h5_config_shows_its_defaults_and_stated_options_win(exported, tmp_path: Path, capsys) -> None:
    _, _, checkpoint, manifest = exported
    base = ["featurize", "-m", str(manifest), "--features", "wav2vec", "--checkpoint", str(checkpoint), "--print-config"]
    assert main([*base, "--export-h5", str(tmp_path / "h5")]) == 0
    shown = capsys.readouterr().out
    assert "precision: fp32" in shown and "normalize: false" in shown
    conf = tmp_path / "conf.yaml"
    conf.write_text("wav2vec:\n  precision: bf16\n")
    assert main([*base, "--export-h5", str(tmp_path / "h5"), "-c", str(conf)]) == 0
    assert "precision: bf16" in capsys.readouterr().out
    assert main(base) == 0  # filling the cache keeps the cache's defaults
    assert "precision: auto" in capsys.readouterr().out

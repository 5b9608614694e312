"""Log-mel features (frame count, bins, normalisation) and the on-disk cache that featurize writes and reuses."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import asr_bench.features.featurize as featurize
from asr_bench.data.audio import load_audio, load_utterance
from asr_bench.data.manifest import Utterance, write_manifest
from asr_bench.errors import AsrBenchError
from asr_bench.features.cache import FeatureStore, cache_key, featurize_batches_to_cache
from asr_bench.features.featurize import FeatureConfig, featurize_manifest
from asr_bench.features.logmel import LogMel, LogMelConfig

LOG_FLOOR = math.log(1e-6)  # log-mel of digital silence: log(0 + 1e-6)


@pytest.fixture(scope="module")
def ci_utterances(shared_data: Path) -> list[Utterance]:
    """Three short real utterances (speechocean762 prompts, ~2 s each) from ../shared/data/ci."""
    with (shared_data / "ci" / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["corpus"] == "speechocean762"][:3]
    return [
        Utterance(
            id=row["utt_id"],
            audio=str(shared_data / "ci" / row["path"]),
            duration=float(row["duration_s"]),
            speaker=row["speaker"],
            text=row["text"],
        )
        for row in rows
    ]


@pytest.fixture(scope="module")
def speech(ci_utterances: list[Utterance]) -> torch.Tensor:
    return load_audio(ci_utterances[0].audio)


# ---------------------------------------------------------------------------------------------
# log-mel


@pytest.mark.parametrize(
    ("num_samples", "expected_frames"),
    # 25 ms = 400 samples, 10 ms = 160 samples, no centre padding: 1 + (N - 400) // 160.
    [(0, 0), (399, 0), (400, 1), (559, 1), (560, 2), (16_000, 98), (16_079, 98), (16_080, 99)],
)
def test_frame_count_formula_and_output_agree(speech: torch.Tensor, num_samples: int, expected_frames: int) -> None:
    config = LogMelConfig()
    assert (config.window_samples, config.hop_samples) == (400, 160)
    assert config.num_frames(num_samples) == expected_frames
    features = LogMel(config)(speech[:num_samples])
    assert features.shape == (expected_frames, 80)


def test_frame_count_on_whole_real_utterances(ci_utterances: list[Utterance]) -> None:
    logmel = LogMel()
    for utt in ci_utterances:
        waveform = load_audio(utt.audio)
        features = logmel(waveform)
        assert features.shape == (LogMelConfig().num_frames(waveform.numel()), 80)
        assert features.shape[0] == 1 + (waveform.numel() - 400) // 160
        assert torch.isfinite(features).all()


def test_frame_t_covers_samples_160t_to_160t_plus_400() -> None:
    # Silence except noise in samples [1600, 2000): frames 8..12 overlap it (160*8 + 400 > 1600, 160*12 < 2000).
    waveform = torch.zeros(4000)
    waveform[1600:2000] = 0.1 * torch.randn(400, generator=torch.Generator().manual_seed(0))
    features = LogMel(LogMelConfig(normalize=False))(waveform)
    assert features.shape == (1 + (4000 - 400) // 160, 80)
    loud = [t for t in range(features.shape[0]) if float(features[t].max()) > LOG_FLOOR + 1.0]
    assert loud == [8, 9, 10, 11, 12]
    silent = [t for t in range(features.shape[0]) if t not in loud]
    torch.testing.assert_close(features[silent], torch.full((len(silent), 80), LOG_FLOOR))


@pytest.mark.parametrize("mel_bin", [20, 40, 60, 70])
def test_a_tone_peaks_in_the_mel_bin_centred_on_it(mel_bin: int) -> None:
    # HTK mel scale over 0..8 kHz: 80 triangles with centres at (i + 1) / 81 of mel(8000 Hz).
    mel_max = 2595 * math.log10(1 + 8000 / 700)
    tone_hz = 700 * (10 ** ((mel_bin + 1) * mel_max / 81 / 2595) - 1)
    time_s = torch.arange(16_000) / 16_000
    features = LogMel(LogMelConfig(normalize=False))(0.5 * torch.sin(2 * math.pi * tone_hz * time_s))
    assert int(features.mean(dim=0).argmax()) == mel_bin


def test_per_utterance_mean_and_variance_normalisation(ci_utterances: list[Utterance]) -> None:
    for utt in ci_utterances:
        waveform = load_audio(utt.audio)
        features = LogMel()(waveform)
        assert features.shape[1] == 80
        assert float(features.mean(dim=0).abs().max()) < 1e-4
        torch.testing.assert_close(features.std(dim=0, unbiased=False), torch.ones(80), rtol=0, atol=1e-3)

        raw = LogMel(LogMelConfig(normalize=False))(waveform)
        assert float(raw.mean(dim=0).abs().min()) > 1.0, "unnormalised log-mel keeps its level"
        assert float(raw.std(dim=0, unbiased=False).max()) > 1.5, "and its spread"
        # Same frames, same order: normalisation only shifts and scales each bin, so the loudest frame stays put.
        assert int(raw.sum(dim=1).argmax()) == int((features * raw.std(dim=0, unbiased=False)).sum(dim=1).argmax())


# ---------------------------------------------------------------------------------------------
# cache


def counting_loader(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every audio file featurize decodes: one decode per extracted utterance."""
    calls: list[str] = []

    def load(utt: Utterance, *args, **kwargs) -> torch.Tensor:
        calls.append(utt.audio)
        return load_utterance(utt, *args, **kwargs)

    monkeypatch.setattr(featurize, "load_utterance", load)
    return calls


def test_second_featurize_reuses_the_cache(
    ci_utterances: list[Utterance], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_loader(monkeypatch)
    config = FeatureConfig(cache_dir=str(tmp_path))

    first = featurize_manifest(ci_utterances, config, progress=False)
    assert sorted(calls) == sorted(u.audio for u in ci_utterances)
    second = featurize_manifest(ci_utterances, config, progress=False)
    assert len(calls) == len(ci_utterances), "the second run must not extract anything"
    assert second.path == first.path
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == [first.path.name]
    for utt in ci_utterances:
        torch.testing.assert_close(second[utt.id], first[utt.id], rtol=0, atol=0)


def test_read_back_equals_direct_computation(ci_utterances: list[Utterance], tmp_path: Path) -> None:
    store = featurize_manifest(ci_utterances, FeatureConfig(cache_dir=str(tmp_path)), progress=False)
    assert len(store) == len(ci_utterances) and store.dim == 80
    assert store.matrix.dtype == np.float16
    logmel = LogMel()
    for utt in ci_utterances:
        direct = logmel(load_audio(utt.audio))
        assert utt.id in store and store.num_frames(utt.id) == direct.shape[0]
        cached = store[utt.id]
        assert cached.dtype == torch.float32
        # float16 rounds to nearest: relative error at most 2**-11.
        torch.testing.assert_close(cached, direct, rtol=2**-11, atol=1e-4)
    with pytest.raises(AsrBenchError, match="no features for utterance 'nope'"):
        store["nope"]


def test_a_changed_config_never_reads_stale_features(
    ci_utterances: list[Utterance], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_loader(monkeypatch)
    base = FeatureConfig(cache_dir=str(tmp_path))
    fewer_bins = replace(base, logmel=replace(base.logmel, num_mels=40))
    longer_window = replace(base, logmel=replace(base.logmel, window_ms=50.0))

    stores = [featurize_manifest(ci_utterances, c, progress=False) for c in (base, fewer_bins, longer_window)]
    assert len(calls) == 3 * len(ci_utterances), "each new config must extract every utterance afresh"
    assert len({s.path for s in stores}) == 3
    assert [s.dim for s in stores] == [80, 40, 80]

    utt = ci_utterances[0]
    waveform = load_audio(utt.audio)
    base_store, _, window_store = stores
    # 50 ms = 800 samples: fewer frames than the 25 ms entry, and values from the 50 ms extractor.
    assert window_store.num_frames(utt.id) == 1 + (waveform.numel() - 800) // 160
    assert window_store.num_frames(utt.id) == base_store.num_frames(utt.id) - 2
    direct = LogMel(longer_window.logmel)(waveform)
    torch.testing.assert_close(window_store[utt.id], direct, rtol=2**-11, atol=1e-4)

    # Going back to the first config finds its entry again, untouched by the others.
    again = featurize_manifest(ci_utterances, base, progress=False)
    assert again.path == base_store.path and len(calls) == 3 * len(ci_utterances)


def test_a_changed_manifest_gets_its_own_entry(ci_utterances: list[Utterance]) -> None:
    config = {"kind": "logmel", "num_mels": 80}
    key = cache_key(ci_utterances, config)
    assert cache_key(list(ci_utterances), dict(config)) == key
    assert cache_key(ci_utterances[:2], config) != key
    moved = [replace(ci_utterances[0], audio="/elsewhere/a.flac"), *ci_utterances[1:]]
    assert cache_key(moved, config) != key
    trimmed = [replace(ci_utterances[0], duration=ci_utterances[0].duration - 0.01), *ci_utterances[1:]]
    assert cache_key(trimmed, config) != key
    assert cache_key(ci_utterances, {**config, "num_mels": 40}) != key


def featurize_one_at_a_time(cache_root, utterances, config, extract, progress=True) -> FeatureStore:
    """The cache fed one utterance per call, as a per-utterance feature function would feed it."""
    return featurize_batches_to_cache(cache_root, utterances, config, lambda batch: [extract(u) for u in batch], 1, progress=progress)


def test_an_interrupted_run_leaves_no_entry_to_reuse(ci_utterances: list[Utterance], tmp_path: Path) -> None:
    config = {"kind": "test"}
    seen: list[str] = []

    def failing(utt: Utterance) -> torch.Tensor:
        seen.append(utt.id)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return torch.full((3, 2), float(len(seen)))

    with pytest.raises(KeyboardInterrupt):
        featurize_one_at_a_time(tmp_path, ci_utterances, config, failing, progress=False)
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name], "Ctrl-C leaves no .partial directory"
    final = tmp_path / cache_key(ci_utterances, config)
    with pytest.raises(AsrBenchError, match="not a complete feature cache"):
        FeatureStore(final)

    def good(utt: Utterance) -> torch.Tensor:
        return torch.full((ci_utterances.index(utt) + 1, 2), 10.0 * ci_utterances.index(utt))

    store = featurize_one_at_a_time(tmp_path, ci_utterances, config, good, progress=False)
    assert store.path == final
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name], "no .partial directory may be left behind"
    for number, utt in enumerate(ci_utterances):
        torch.testing.assert_close(store[utt.id], torch.full((number + 1, 2), 10.0 * number))


def test_featurize_rejects_empty_manifests_and_bad_feature_shapes(ci_utterances: list[Utterance], tmp_path: Path) -> None:
    with pytest.raises(AsrBenchError, match="manifest is empty"):
        featurize_one_at_a_time(tmp_path, [], {}, lambda utt: torch.zeros(1, 1), progress=False)
    with pytest.raises(AsrBenchError, match=ci_utterances[0].id):
        featurize_one_at_a_time(tmp_path, ci_utterances, {"k": 1}, lambda utt: torch.zeros(0, 80), progress=False)
    dims = iter([80, 40, 80])
    with pytest.raises(AsrBenchError, match="feature dim 40 != 80"):
        featurize_one_at_a_time(tmp_path, ci_utterances, {"k": 2}, lambda utt: torch.zeros(5, next(dims)), progress=False)


CONCURRENT_WRITER = """
import sys, time
from pathlib import Path
import torch
from asr_bench.data.manifest import read_manifest
from asr_bench.features.cache import featurize_batches_to_cache

cache, manifest, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
utterances = read_manifest(manifest)

def slow(utt):
    with log.open("a") as handle:
        handle.write(utt.id + "\\n")
    time.sleep(0.2)
    return torch.full((utterances.index(utt) + 1, 2), float(utterances.index(utt)))

print(featurize_batches_to_cache(cache, utterances, {"kind": "test"}, lambda b: [slow(u) for u in b], 1, progress=False).path)
"""


def test_processes_asking_for_one_entry_at_once_compute_it_once(ci_utterances: list[Utterance], tmp_path: Path) -> None:
    """DDP ranks started together by torchrun or srun all featurize the same manifests."""
    manifest, log = tmp_path / "m.jsonl", tmp_path / "computed.txt"
    write_manifest(manifest, ci_utterances)
    command = [sys.executable, "-c", CONCURRENT_WRITER, str(tmp_path / "cache"), str(manifest), str(log)]
    ranks = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    paths = {rank.communicate(timeout=120)[0].strip() for rank in ranks}
    assert all(rank.returncode == 0 for rank in ranks)
    assert len(paths) == 1
    assert sorted(log.read_text().split()) == sorted(u.id for u in ci_utterances), "each utterance computed once"
    store = FeatureStore(paths.pop())
    for number, utt in enumerate(ci_utterances):
        torch.testing.assert_close(store[utt.id], torch.full((number + 1, 2), float(number)))

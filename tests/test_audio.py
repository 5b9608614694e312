"""Audio loading on real files: FLAC, Ogg/Opus, RIFF WAV, NIST SPHERE (uncompressed and shorten), rates, channels,
bad files."""

from __future__ import annotations

import csv
from pathlib import Path

import desphere
import numpy as np
import pytest
import soundfile
import torch

from asr_bench.data.audio import SAMPLE_RATE_HZ, AudioInfo, audio_info, load_audio
from asr_bench.errors import BadAudioError
from sphere_fixtures import replace_header, write_shorten_sphere

# A ci utterance whose lossy twin is in librispeech-mini (same samples count, Opus-coded).
UTT = "1088-134315-0055"
UTT_SAMPLES = 44_560  # 2.785 s at 16 kHz
POCKETSPHINX_RATE_HZ = 11_025
POCKETSPHINX_SAMPLES = 230_108


def int16_reference(path: Path) -> np.ndarray:
    """The file's PCM as integers / 32768: what a float loader of 16-bit audio must give."""
    samples, _ = soundfile.read(str(path), dtype="int16")
    return samples.astype(np.float32) / 32768.0


def assert_mono_float(waveform: torch.Tensor, num_samples: int) -> None:
    assert waveform.dtype == torch.float32
    assert waveform.shape == (num_samples,)
    assert waveform.is_contiguous()
    assert float(waveform.abs().max()) <= 1.0
    assert float(waveform.abs().max()) > 0.01, "real speech should not decode to near-silence"


def test_flac_reads_mono_float_at_16k_matching_manifest_durations(shared_data: Path) -> None:
    with (shared_data / "ci" / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))[::10]
    for row in rows:
        path = shared_data / "ci" / row["path"]
        info = audio_info(path)
        assert (info.sample_rate_hz, info.num_channels) == (SAMPLE_RATE_HZ, 1)
        assert info.duration_s == pytest.approx(float(row["duration_s"]), abs=5e-4)
        waveform = load_audio(path)
        assert_mono_float(waveform, info.num_samples)
        np.testing.assert_array_equal(waveform.numpy(), int16_reference(path))


def test_opus_decodes_to_the_same_length_and_signal_as_the_lossless_original(shared_data: Path) -> None:
    flac = shared_data / "ci" / "librispeech" / "1088" / f"{UTT}.flac"
    opus = shared_data / "librispeech-mini" / "LibriSpeech" / "train-clean-5" / "1088" / "134315" / f"{UTT}.opus"
    assert audio_info(opus).num_samples == UTT_SAMPLES
    lossless, lossy = load_audio(flac), load_audio(opus)
    assert_mono_float(lossy, UTT_SAMPLES)
    assert lossless.shape == lossy.shape
    # Opus at ~31 kbit/s is not sample-exact, but it is the same, time-aligned signal.
    assert np.corrcoef(lossless.numpy(), lossy.numpy())[0, 1] > 0.99
    assert not torch.equal(lossless, lossy)


@pytest.mark.parametrize("sphere_name", ["timit_style.wav", "out_sox.sph"])
def test_sphere_samples_equal_their_riff_twin(shared_data: Path, sphere_name: str) -> None:
    sphere, riff = shared_data / "sphere" / sphere_name, shared_data / "sphere" / "in.wav"
    assert soundfile.info(str(sphere)).format == "NIST", "the fixture must really be SPHERE, whatever its name"
    assert soundfile.info(str(riff)).format == "WAV"
    info = audio_info(sphere)
    assert (info.num_samples, info.sample_rate_hz, info.num_channels) == (39_520, SAMPLE_RATE_HZ, 1)
    from_sphere, from_riff = load_audio(sphere), load_audio(riff)
    assert_mono_float(from_sphere, 39_520)
    torch.testing.assert_close(from_sphere, from_riff, rtol=0, atol=0)
    np.testing.assert_array_equal(from_riff.numpy(), int16_reference(riff))


def test_other_rate_is_an_error_unless_resampling_is_asked_for(shared_data: Path) -> None:
    sphere = shared_data / "sphere" / "chan3_pocketsphinx.sph"
    riff = shared_data / "sphere" / "chan3_pocketsphinx.wav"
    info = audio_info(sphere)
    assert (info.num_samples, info.sample_rate_hz) == (POCKETSPHINX_SAMPLES, POCKETSPHINX_RATE_HZ)

    with pytest.raises(BadAudioError, match="11025 Hz, expected 16000 Hz") as caught:
        load_audio(sphere, resample=False)
    assert str(sphere) in str(caught.value)

    native = load_audio(sphere, sample_rate_hz=POCKETSPHINX_RATE_HZ, resample=False)
    torch.testing.assert_close(native, load_audio(riff, sample_rate_hz=POCKETSPHINX_RATE_HZ), rtol=0, atol=0)

    resampled = load_audio(sphere)
    assert resampled.dtype == torch.float32 and resampled.ndim == 1
    expected_length = POCKETSPHINX_SAMPLES * SAMPLE_RATE_HZ / POCKETSPHINX_RATE_HZ  # 333 943.6
    assert abs(resampled.numel() - expected_length) <= 1
    # Band-limited resampling keeps the signal's energy (everything is below 5.5 kHz already).
    rms_native, rms_resampled = native.pow(2).mean().sqrt(), resampled.pow(2).mean().sqrt()
    assert float(rms_resampled / rms_native) == pytest.approx(1.0, abs=0.01)


def test_stereo_is_averaged_to_mono(shared_data: Path, tmp_path: Path) -> None:
    speech = load_audio(shared_data / "ci" / "librispeech" / "1088" / f"{UTT}.flac").numpy()
    left, right = speech, -0.5 * speech + 0.25
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), np.stack([left, right], axis=1), SAMPLE_RATE_HZ, subtype="FLOAT")

    info = audio_info(path)
    assert (info.num_samples, info.num_channels) == (UTT_SAMPLES, 2)
    mono = load_audio(path)
    assert mono.shape == (UTT_SAMPLES,)
    np.testing.assert_allclose(mono.numpy(), 0.25 * speech + 0.125, atol=1e-7)


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "utt.flac"
    for read in (load_audio, audio_info):
        with pytest.raises(BadAudioError, match="does not exist") as caught:
            read(path)
        assert str(path) in str(caught.value)


def test_corrupt_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.flac"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    for read in (load_audio, audio_info):
        with pytest.raises(BadAudioError) as caught:
            read(path)
        assert str(path) in str(caught.value)


def test_flac_with_a_good_header_and_damaged_frames_is_an_error_naming_it(shared_data: Path, tmp_path: Path) -> None:
    original = (shared_data / "ci" / "librispeech" / "1088" / f"{UTT}.flac").read_bytes()
    path = tmp_path / "truncated.flac"
    path.write_bytes(original[: len(original) // 2])
    assert audio_info(path).num_samples == UTT_SAMPLES, "the header still promises the whole utterance"
    with pytest.raises(BadAudioError, match="corrupt") as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(("name", "container"), [("empty.wav", "WAV"), ("empty.sph", "NIST")])
def test_zero_length_audio_is_an_error_naming_it(tmp_path: Path, name: str, container: str) -> None:
    path = tmp_path / name
    soundfile.write(str(path), np.zeros(0, dtype=np.float32), SAMPLE_RATE_HZ, format=container, subtype="PCM_16")
    assert path.stat().st_size > 0, "the header alone must exist, so this is an empty file, not a missing one"
    for read in (load_audio, audio_info):
        with pytest.raises(BadAudioError, match="zero-length") as caught:
            read(path)
        assert str(path) in str(caught.value)


# --- NIST SPHERE with embedded shorten (WSJ's .wv1) -------------------------------------------------------

WSJ_SAMPLE = Path("sphere") / "wsj_style.wv1"  # shorten-coded; its samples are fixtures/qlpc_ar2.wav's
WSJ_SAMPLE_REFERENCE = Path("sphere") / "fixtures" / "qlpc_ar2.wav"


def test_shorten_sphere_decodes_bit_for_bit_to_the_reference_samples(shared_data: Path) -> None:
    path = shared_data / WSJ_SAMPLE
    with pytest.raises(soundfile.LibsndfileError):
        soundfile.info(str(path))  # libsndfile cannot read shorten: this path must not go through it
    reference = int16_reference(shared_data / WSJ_SAMPLE_REFERENCE)
    assert audio_info(path) == AudioInfo(num_samples=len(reference), sample_rate_hz=SAMPLE_RATE_HZ, num_channels=1)
    waveform = load_audio(path)
    assert waveform.dtype == torch.float32 and waveform.shape == (len(reference),)
    np.testing.assert_array_equal(waveform.numpy(), reference)
    span = load_audio(path, offset_s=0.1, duration_s=0.05)
    np.testing.assert_array_equal(span.numpy(), reference[1600:2400])


def test_shorten_duration_comes_from_the_header_without_decoding(shared_data: Path, monkeypatch) -> None:
    def no_decoding(data: bytes) -> bytes:
        raise AssertionError("audio_info decoded the shorten stream")

    monkeypatch.setattr(desphere, "transcode_bytes", no_decoding)
    assert audio_info(shared_data / WSJ_SAMPLE).num_samples == 4096


def test_real_speech_written_as_shorten_decodes_to_the_same_samples(shared_data: Path, tmp_path: Path) -> None:
    flac = shared_data / "ci" / "librispeech" / "1088" / f"{UTT}.flac"
    samples, rate = soundfile.read(str(flac), dtype="int16")
    path = write_shorten_sphere(tmp_path / "4a8c0201.wv1", samples, rate)
    assert path.stat().st_size < 0.7 * 2 * len(samples), "the stream should compress speech"
    assert audio_info(path).num_samples == UTT_SAMPLES
    np.testing.assert_array_equal(load_audio(path).numpy(), int16_reference(flac))


def bad_shorten_files(shared_data: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the error must say), each made from the real WSJ-style sample."""
    sample = (shared_data / WSJ_SAMPLE).read_bytes()
    truncated = tmp_path / "truncated.wv1"
    truncated.write_bytes(sample[: len(sample) // 2])
    scrambled = tmp_path / "scrambled.wv1"
    scrambled.write_bytes(sample[:2000] + bytes(b ^ 0x5A for b in sample[2000:2100]) + sample[2100:])
    no_stream = tmp_path / "no_stream.wv1"
    no_stream.write_bytes(sample[:1024] + b"\0" * 4000)
    return {
        "truncated": (truncated, "corrupt shorten"),
        "scrambled": (scrambled, "corrupt shorten"),
        "no stream": (no_stream, "ajkg"),
        "malformed (desphere's gate fixture)": (shared_data / "sphere" / "fixtures" / "shorten_gate.sph", "ajkg"),
    }


def test_corrupt_shorten_stream_is_an_error_naming_the_file(shared_data: Path, tmp_path: Path) -> None:
    for name, (path, expected) in bad_shorten_files(shared_data, tmp_path).items():
        with pytest.raises(BadAudioError, match=expected) as caught:
            load_audio(path)
        assert str(path) in str(caught.value), name


def test_sphere_with_an_unsupported_coding_is_refused_by_name(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "wavpack.wv1"
    path.write_bytes((shared_data / WSJ_SAMPLE).read_bytes())
    replace_header(path, sample_coding="pcm,embedded-wavpack-1.00")
    for read in (load_audio, audio_info):
        with pytest.raises(BadAudioError, match="pcm,embedded-wavpack-1.00") as caught:
            read(path)
        assert str(path) in str(caught.value) and "expected pcm" in str(caught.value)


def test_shorten_at_another_rate_is_an_error_unless_resampling_is_asked_for(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "8k.wv1"
    path.write_bytes((shared_data / WSJ_SAMPLE).read_bytes())
    replace_header(path, sample_rate=8000)
    assert audio_info(path).sample_rate_hz == 8000
    with pytest.raises(BadAudioError, match="sample rate 8000 Hz, expected 16000 Hz"):
        load_audio(path, resample=False)
    assert load_audio(path).shape == (2 * 4096,)


def test_shorten_with_no_samples_is_zero_length_audio(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "empty.wv1"
    path.write_bytes((shared_data / WSJ_SAMPLE).read_bytes())
    replace_header(path, sample_count=0)
    with pytest.raises(BadAudioError, match="zero-length") as caught:
        audio_info(path)
    assert str(path) in str(caught.value)

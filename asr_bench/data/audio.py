"""Audio loading: every corpus goes through here, so format quirks live in one place.

soundfile (libsndfile) reads FLAC, Ogg/Opus, WAV and uncompressed NIST SPHERE;
resampling, when asked for, is torchaudio's band-limited sinc resampler.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio.functional as AF

from asr_bench.errors import BadAudioError

SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True)
class AudioInfo:
    """Header facts about a file, read without decoding the samples."""

    num_samples: int
    sample_rate_hz: int
    num_channels: int

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate_hz


def audio_info(path: str | Path) -> AudioInfo:
    """Read the header; raise BadAudioError naming the file if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise BadAudioError(f"{path}: audio file does not exist")
    try:
        info = soundfile.info(str(path))
    except Exception as exc:  # libsndfile raises a bare RuntimeError/LibsndfileError
        raise BadAudioError(f"{path}: unreadable audio ({exc}); expected a format libsndfile reads") from exc
    num_samples = int(info.frames)
    if num_samples <= 0:
        # Some containers (Ogg) report -1 or 0 frames until decoded: decode to be sure.
        num_samples = len(_decode(path))
    if num_samples == 0:
        raise BadAudioError(f"{path}: zero-length audio")
    return AudioInfo(num_samples=num_samples, sample_rate_hz=int(info.samplerate), num_channels=int(info.channels))


def _decode(path: Path) -> np.ndarray:
    try:
        samples, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise BadAudioError(f"{path}: corrupt or unsupported audio ({exc})") from exc
    return samples


def load_audio(path: str | Path, sample_rate_hz: int = SAMPLE_RATE_HZ, resample: bool = True) -> torch.Tensor:
    """Decode a file to a mono float32 waveform of shape (num_samples,) at `sample_rate_hz`.

    Multi-channel audio is averaged to mono. A file at another rate is resampled only
    when `resample` is set: silently training on 8 kHz audio as if it were 16 kHz gives
    numbers that look fine and mean nothing.
    """
    path = Path(path)
    if not path.is_file():
        raise BadAudioError(f"{path}: audio file does not exist")
    try:
        file_rate = soundfile.info(str(path)).samplerate
    except Exception as exc:
        raise BadAudioError(f"{path}: unreadable audio ({exc}); expected a format libsndfile reads") from exc
    samples = _decode(path)
    if samples.shape[0] == 0:
        raise BadAudioError(f"{path}: zero-length audio")
    waveform = torch.from_numpy(samples.mean(axis=1))
    if file_rate != sample_rate_hz:
        if not resample:
            raise BadAudioError(
                f"{path}: sample rate {file_rate} Hz, expected {sample_rate_hz} Hz (enable resampling to convert)"
            )
        waveform = AF.resample(waveform, orig_freq=int(file_rate), new_freq=sample_rate_hz)
    return waveform.contiguous()

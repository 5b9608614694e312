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

from asr_bench.data.manifest import Utterance
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


def _decode(path: Path, start: int = 0, frames: int = -1) -> np.ndarray:
    """Samples [start, start + frames) as (samples, channels) float32; frames=-1 reads to the end."""
    try:
        samples, _ = soundfile.read(str(path), dtype="float32", always_2d=True, start=start, frames=frames)
    except Exception as exc:
        raise BadAudioError(f"{path}: corrupt or unsupported audio ({exc})") from exc
    return samples


def load_audio(
    path: str | Path,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    resample: bool = True,
    offset_s: float = 0.0,
    duration_s: float | None = None,
) -> torch.Tensor:
    """Decode a file (or the span [offset_s, offset_s + duration_s) of it) to a mono float32 waveform
    of shape (num_samples,) at `sample_rate_hz`.

    Multi-channel audio is averaged to mono. A file at another rate is resampled only
    when `resample` is set: silently training on 8 kHz audio as if it were 16 kHz gives
    numbers that look fine and mean nothing. A span is read by seeking, so a segment of
    a long recording costs only its own samples.
    """
    path = Path(path)
    if not path.is_file():
        raise BadAudioError(f"{path}: audio file does not exist")
    try:
        file_rate = soundfile.info(str(path)).samplerate
    except Exception as exc:
        raise BadAudioError(f"{path}: unreadable audio ({exc}); expected a format libsndfile reads") from exc
    start = round(offset_s * file_rate)
    frames = -1 if duration_s is None else round(duration_s * file_rate)
    samples = _decode(path, start, frames)
    if samples.shape[0] == 0:
        raise BadAudioError(f"{path}: zero-length audio" + (f" at {offset_s:.3f} s" if offset_s else ""))
    if frames > 0 and samples.shape[0] < frames - 1:  # one sample of slack for rounding the end time
        raise BadAudioError(
            f"{path}: segment {offset_s:.3f}-{offset_s + (duration_s or 0):.3f} s runs past the end of the audio "
            f"({(start + samples.shape[0]) / file_rate:.3f} s)"
        )
    waveform = torch.from_numpy(samples.mean(axis=1))
    if file_rate != sample_rate_hz:
        if not resample:
            raise BadAudioError(
                f"{path}: sample rate {file_rate} Hz, expected {sample_rate_hz} Hz (enable resampling to convert)"
            )
        waveform = AF.resample(waveform, orig_freq=int(file_rate), new_freq=sample_rate_hz)
    return waveform.contiguous()


def load_utterance(utt: Utterance, sample_rate_hz: int = SAMPLE_RATE_HZ) -> torch.Tensor:
    """An utterance's waveform: the whole file, or its segment when the manifest gives an offset."""
    if utt.offset is None:
        return load_audio(utt.audio, sample_rate_hz)
    return load_audio(utt.audio, sample_rate_hz, offset_s=utt.offset, duration_s=utt.duration)

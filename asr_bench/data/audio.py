"""Audio loading: every corpus goes through here, so format quirks live in one place.

soundfile (libsndfile) reads FLAC, Ogg/Opus, WAV and uncompressed NIST SPHERE (TIMIT). NIST SPHERE
with embedded shorten (`sample_coding pcm,embedded-shorten-v2.00`: WSJ's `.wv1`/`.wv2`), which
libsndfile cannot read, is decoded by desphere, which uses its Rust accelerator desphere-native when
installed (same samples, several times faster: benchmarks/shorten_decode.py). A shorten file's
duration comes from its SPHERE header (`sample_count`, `sample_rate`), so preparing a corpus decodes
nothing; other SPHERE compressions (wavpack, shortpack, shorten v1) are refused by name.
Resampling, when asked for, is torchaudio's band-limited sinc resampler.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile
import torch
import torchaudio.functional as AF

from asr_bench.data.manifest import Utterance
from asr_bench.errors import BadAudioError

if TYPE_CHECKING:
    import desphere

SAMPLE_RATE_HZ = 16_000

SPHERE_MAGIC = b"NIST_1A"
SHORTEN_COMPRESSION = "embedded-shorten-v2.00"  # the compression token of sample_coding in WSJ's headers
SHORTEN_MAGIC = b"ajkg"  # how every shorten stream begins, right after the SPHERE header


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
    shorten = shorten_header(path)
    if shorten is not None:
        if shorten.sample_count == 0:
            raise BadAudioError(f"{path}: zero-length audio (SPHERE header sample_count 0)")
        return AudioInfo(shorten.sample_count, shorten.sample_rate, shorten.channel_count)
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


def shorten_header(path: Path) -> desphere.SphereHeader | None:
    """The SPHERE header of a shorten-compressed file; None for any other file (uncompressed SPHERE included).

    Raises BadAudioError, naming the file, for a SPHERE header that does not parse, for a compression other
    than shorten v2 (no reader here would decode it right), and for a shorten file whose stream does not
    start with shorten's magic right after the header.
    """
    with path.open("rb") as handle:
        head = handle.read(1024)
        if not head.startswith(SPHERE_MAGIC):
            return None
        import desphere  # here, not at the top: only SPHERE needs it, and the GPU image has none

        try:
            size = int(head.split(b"\n", 2)[1])
            if size > len(head):
                head += handle.read(size - len(head))
            header = desphere.SphereHeader.parse(head)
        except (ValueError, IndexError, desphere.DesphereError) as exc:
            raise BadAudioError(f"{path}: unreadable NIST SPHERE header ({exc}); expected the NIST_1A layout") from exc
        tokens = [token.strip().lower() for token in header.sample_coding.split(",")]
        compression = tokens[1] if len(tokens) > 1 and tokens[1] else None
        if compression is None:
            return None
        if compression != SHORTEN_COMPRESSION:
            raise BadAudioError(
                f"{path}: SPHERE sample_coding {header.sample_coding!r} is not supported: expected pcm (uncompressed) "
                f"or pcm,{SHORTEN_COMPRESSION} (shorten, as WSJ ships it)"
            )
        handle.seek(header.header_size)
        if handle.read(len(SHORTEN_MAGIC)) != SHORTEN_MAGIC:
            raise BadAudioError(
                f"{path}: corrupt shorten SPHERE: no shorten stream after the {header.header_size}-byte header "
                f"(expected it to start with {SHORTEN_MAGIC!r})"
            )
    return header


def _file_rate(path: Path) -> int:
    shorten = shorten_header(path)
    if shorten is not None:
        return shorten.sample_rate
    try:
        return int(soundfile.info(str(path)).samplerate)
    except Exception as exc:
        raise BadAudioError(f"{path}: unreadable audio ({exc}); expected a format libsndfile reads") from exc


def _decode(path: Path, start: int = 0, frames: int = -1) -> np.ndarray:
    """Samples [start, start + frames) as (samples, channels) float32; frames=-1 reads to the end."""
    if shorten_header(path) is not None:
        return _decode_shorten(path)[start : None if frames < 0 else start + frames]
    try:
        samples, _ = soundfile.read(str(path), dtype="float32", always_2d=True, start=start, frames=frames)
    except Exception as exc:
        raise BadAudioError(f"{path}: corrupt or unsupported audio ({exc})") from exc
    return samples


def _decode_shorten(path: Path) -> np.ndarray:
    """A whole shorten SPHERE file as (samples, channels) float32 (shorten streams cannot be seeked into)."""
    import desphere

    try:
        wav = desphere.transcode_bytes(path.read_bytes())
    except desphere.DesphereError as exc:
        raise BadAudioError(
            f"{path}: corrupt shorten SPHERE ({exc}); expected a complete pcm,{SHORTEN_COMPRESSION} stream"
        ) from exc
    samples, _ = soundfile.read(io.BytesIO(wav), dtype="float32", always_2d=True)
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
    a long recording costs only its own samples (a shorten stream cannot be seeked: it is
    decoded whole, then cut).
    """
    path = Path(path)
    if not path.is_file():
        raise BadAudioError(f"{path}: audio file does not exist")
    file_rate = _file_rate(path)
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

"""80-bin log-mel filterbanks, 25 ms window / 10 ms hop: the paper's baseline input.

Frames are taken without centre padding (Kaldi's convention), so an utterance of N
samples gives 1 + (N - 400) // 160 frames and frame t covers samples [160 t, 160 t + 400).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio

from asr_bench.data.audio import SAMPLE_RATE_HZ

from asr_bench.features.normalize import utterance_mvn


@dataclass(frozen=True)
class LogMelConfig:
    num_mels: int = 80
    window_ms: float = 25.0
    hop_ms: float = 10.0
    sample_rate_hz: int = SAMPLE_RATE_HZ
    normalize: bool = True  # per-utterance mean/variance normalisation

    @property
    def window_samples(self) -> int:
        return round(self.sample_rate_hz * self.window_ms / 1000)

    @property
    def hop_samples(self) -> int:
        return round(self.sample_rate_hz * self.hop_ms / 1000)

    def num_frames(self, num_samples: int) -> int:
        """The one place the log-mel frame-count formula lives."""
        if num_samples < self.window_samples:
            return 0
        return 1 + (num_samples - self.window_samples) // self.hop_samples


class LogMel(torch.nn.Module):
    """Waveform (num_samples,) -> log-mel features (num_frames, num_mels)."""

    def __init__(self, config: LogMelConfig = LogMelConfig()) -> None:
        super().__init__()
        self.config = config
        self.melspec = torchaudio.transforms.MelSpectrogram(
            sample_rate=config.sample_rate_hz,
            n_fft=config.window_samples,
            win_length=config.window_samples,
            hop_length=config.hop_samples,
            n_mels=config.num_mels,
            center=False,
            power=2.0,
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if waveform.numel() < self.config.window_samples:
            return waveform.new_zeros(0, self.config.num_mels)
        features = torch.log(self.melspec(waveform) + 1e-6).transpose(0, 1)
        if self.config.normalize:
            features = utterance_mvn(features)
        return features.contiguous()

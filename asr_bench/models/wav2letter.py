"""Wav2letter-style fully convolutional acoustic model for CTC.

Collobert, Puhrsch, Synnaeve (2016), "Wav2Letter: an End-to-End ConvNet-based Speech
Recognition System", arXiv 1609.03193: a stack of 1-D convolutions over feature
frames, the first strided, the last two with kernel 1 acting as per-frame MLPs,
ending in token scores. `Wav2LetterConfig.paper()` is that paper's stack (as in
torchaudio's `Wav2Letter`): 250 x k48 s2, 7 x (250 x k7), 2000 x k32, 2000 x k1.
Gated linear units (Dauphin et al. 2017), as in the gated ConvNets of wav2letter++
that the wav2vec paper trains on WSJ, are an option (`activation="glu"`), and so is PReLU (He et al.
2015), the activation of the paper's TIMIT model (`activation="prelu"`).

All convolutions are padded "same", so the only change in length is the stride.

Features that stack several layers of a frozen upstream model (wav2vec's z and every context layer)
first go through a learned weighted sum of those layers (`models/layer_mix.py`, as SUPERB does),
trained with the acoustic model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from asr_bench.errors import ConfigError
from asr_bench.models.layer_mix import WeightedLayerSum


@dataclass(frozen=True)
class ConvLayer:
    """One convolution: output channels, kernel and stride in frames, dropout after it."""

    channels: int
    kernel: int
    stride: int = 1
    dropout: float = 0.0


# GLU halves the channels (the conv emits twice as many); PReLU learns one slope per layer (PyTorch's default).
_ACTIVATIONS = {"relu": nn.ReLU, "prelu": nn.PReLU, "glu": lambda: nn.GLU(dim=1)}


def _paper_layers() -> list[ConvLayer]:
    return [ConvLayer(250, 48, 2), *[ConvLayer(250, 7) for _ in range(7)], ConvLayer(2000, 32), ConvLayer(2000, 1)]


@dataclass(frozen=True)
class Wav2LetterConfig:
    """Hidden layers (the token projection is added after them), activation, normalisation."""

    layers: list[ConvLayer] = field(default_factory=_paper_layers)
    activation: Literal["relu", "prelu", "glu"] = "relu"
    layer_norm: bool = False  # per-frame LayerNorm over channels: independent of padding and batch

    @classmethod
    def paper(cls) -> "Wav2LetterConfig":
        return cls()


class _ChannelLayerNorm(nn.Module):
    """LayerNorm over channels of a (batch, channel, time) tensor."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class Wav2Letter(nn.Module):
    """Features (batch, num_features, frames) -> log-probabilities (batch, frames // stride, num_tokens).

    Output is time-major per batch element after the transpose so that it can be fed to
    `torch.nn.functional.ctc_loss` after a `.transpose(0, 1)`. With `feature_layers` > 1, the
    num_features channels are that many equal layers stacked, which a `WeightedLayerSum` mixes
    into one before the first convolution.
    """

    def __init__(
        self, num_features: int, num_tokens: int, config: Wav2LetterConfig = Wav2LetterConfig(), feature_layers: int = 1
    ) -> None:
        super().__init__()
        if num_features % feature_layers:
            raise ConfigError(f"{num_features} feature channels do not split into {feature_layers} equal layers")
        self.config = config
        self.weighted_sum = WeightedLayerSum(feature_layers) if feature_layers > 1 else None
        blocks: list[nn.Module] = []
        in_channels = num_features // feature_layers
        for layer in config.layers:
            out_channels = layer.channels * (2 if config.activation == "glu" else 1)
            blocks.append(nn.Conv1d(in_channels, out_channels, layer.kernel, layer.stride, padding=layer.kernel // 2))
            blocks.append(_ACTIVATIONS[config.activation]())
            if config.layer_norm:
                blocks.append(_ChannelLayerNorm(layer.channels))
            if layer.dropout > 0:
                blocks.append(nn.Dropout(layer.dropout))
            in_channels = layer.channels
        blocks.append(nn.Conv1d(in_channels, num_tokens, kernel_size=1))
        self.network = nn.Sequential(*blocks)

    def output_lengths(self, input_lengths: torch.Tensor) -> torch.Tensor:
        """Frames out for frames in, applying each layer's "same"-padded strided conv length rule."""
        lengths = input_lengths
        for layer in self.config.layers:
            padding = layer.kernel // 2
            lengths = torch.div(lengths + 2 * padding - layer.kernel, layer.stride, rounding_mode="floor") + 1
        return lengths

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.weighted_sum is not None:
            features = self.weighted_sum(features)
        logits = self.network(features)
        return torch.log_softmax(logits.float(), dim=1).transpose(1, 2)

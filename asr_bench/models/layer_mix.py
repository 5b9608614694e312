"""A learned, softmax-weighted sum of a frozen upstream model's layers: SUPERB's weighted sum.

Yang et al. (2021), "SUPERB: Speech processing Universal PERformance Benchmark", Section 3: the
pretrained (upstream) model stays frozen, and the downstream model sees sum_l softmax(w)_l h_l over
all its layers h_l, with one learnable weight w_l per layer trained together with the downstream
model (s3prl's `Featurizer`). The weights start equal (all zero: the plain mean of the layers), and
after training they show which layers the task drew on.

The layers arrive stacked along the feature axis, as the feature cache stores them: input
(batch, num_layers * dim, frames), layer l in channels [l * dim, (l + 1) * dim); output
(batch, dim, frames).
"""

from __future__ import annotations

import torch
from torch import nn

from asr_bench.errors import ConfigError


class WeightedLayerSum(nn.Module):
    """(batch, num_layers * dim, frames) -> (batch, dim, frames): sum over layers of softmax(weights) * layer."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        if num_layers < 2:
            raise ConfigError(f"a weighted sum of layers needs at least 2 layers, got {num_layers}")
        self.num_layers = num_layers
        self.weights = nn.Parameter(torch.zeros(num_layers))

    def layer_weights(self) -> torch.Tensor:
        """The mixing weights, (num_layers,), non-negative and summing to 1."""
        return torch.softmax(self.weights.float(), dim=0)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch, channels, frames = features.shape
        layers = features.reshape(batch, self.num_layers, channels // self.num_layers, frames)
        weights = self.layer_weights().to(layers.dtype).view(1, self.num_layers, 1, 1)
        return (weights * layers).sum(dim=1)

"""wav2vec 1.0: a convolutional encoder, a causal context network and K step predictors.

Schneider, Baevski, Collobert, Auli (2019), "wav2vec: Unsupervised Pre-training for
Speech Recognition", arXiv 1904.05862. Raw 16 kHz audio (batch, samples) goes through

- the encoder f: valid-padded, bias-free Conv1d layers, each followed by one-group
  GroupNorm and ReLU, giving z (batch, channel, frames) at one frame per `hop_samples`
  (160 samples = 10 ms for the paper's strides), optionally log-compressed as log(|z| + 1);
- the context network g: causal Conv1d layers (left replication padding of kernel - 1
  frames), GroupNorm, ReLU, optionally with scaled residual connections, giving c
  (batch, channel, frames) with the same frame count as z;
- K step projections h_k(c) = W_k c + b, stored as fairseq's `ConvTranspose2d(C, C, (1, K))`.

The model produces the contrastive logits (`Wav2Vec.contrastive_scores`); the loss over
them lives in `asr_bench.tasks.pretrain_loss`.

Two implementations of the same function share the parameters:
- the reference: `forward`, module by module on (batch, channel, frames) activations, `nn.Conv1d` and
  `nn.GroupNorm`; scored by `contrastive_scores` (positions of the prediction, boolean-masked loss);
- time-major: `forward_time_major`, activations (batch, frames, channel) end to end, convolutions as GEMMs
  or channels-last cuDNN calls without layout transposes (`asr_bench.models.conv`), fused norm + ReLU
  kernels (`asr_bench.models.norm`); scored by `target_logits` (indexed by target frame, masked by
  multiplication, so a training step needs no host synchronisation and compiles as one graph).
`resolve_implementation("auto", device)` picks time-major on CUDA and the reference elsewhere, where it
gives exactly the numbers of earlier versions.

Module and parameter names follow the reference implementation (fairseq's
`models/wav2vec/wav2vec.py`: `feature_extractor`, `feature_aggregator`,
`wav2vec_predictions`) so that its state dicts load without renaming
(`asr_bench.models.fairseq_checkpoint`). Like fairseq, `config.dropout` acts in the context
network and after the step projections, never in the encoder.
"""

from __future__ import annotations

import collections
import itertools
import math
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from asr_bench.errors import BadAudioError, ConfigError
from asr_bench.models.conv import causal_conv, encoder_conv
from asr_bench.models.norm import accumulation_dtype, utterance_norm_relu

IMPLEMENTATIONS = ("auto", "reference", "time_major")
REPRESENTATIONS_HELP = "'z', 'c', 'all' or a context layer index"


def resolve_implementation(implementation: str, device: torch.device) -> str:
    """"auto" -> "time_major" on CUDA, "reference" elsewhere; the others as given."""
    if implementation not in IMPLEMENTATIONS:
        raise ConfigError(f"wav2vec implementation {implementation!r}: expected one of {IMPLEMENTATIONS}")
    if implementation == "auto":
        return "time_major" if device.type == "cuda" else "reference"
    return implementation


@dataclass(frozen=True)
class EncoderLayer:
    """One encoder convolution: output channels, kernel and stride in samples of its input."""

    channels: int
    kernel: int
    stride: int


@dataclass(frozen=True)
class ContextLayer:
    """One causal context convolution (stride 1): output channels, kernel in frames."""

    channels: int
    kernel: int


def _paper_encoder(channels: int = 512) -> list[EncoderLayer]:
    return [EncoderLayer(channels, kernel, stride) for kernel, stride in ((10, 5), (8, 4), (4, 2), (4, 2), (4, 2))]


def _paper_context() -> list[ContextLayer]:
    return [ContextLayer(512, 3) for _ in range(9)]


@dataclass(frozen=True)
class Wav2VecConfig:
    """The paper's hyper-parameters; defaults are wav2vec (base), `large()` is wav2vec large.

    `offset` is how far the first prediction reaches: step k (1..K) at frame i predicts
    z_{i + offset + k - 1}. The paper's formula uses offset 1 (z_{i+1}..z_{i+K}); "auto" is
    the reference implementation's default, ceil(encoder receptive field / hop) = 3 for the
    paper's encoder, which skips the targets whose audio overlaps c_i's own.
    `residual_scale` multiplies (layer(x) + x) directly (sqrt(0.5), the paper's figure);
    fairseq's `--residual-scale 0.5` is its square.
    `cross_sample_negatives` are drawn from every frame of the batch (other utterances
    included) except the positive, in addition to the `num_negatives` drawn from the
    target's own utterance.
    """

    encoder_layers: list[EncoderLayer] = field(default_factory=_paper_encoder)
    context_layers: list[ContextLayer] = field(default_factory=_paper_context)
    skip_connections: bool = False
    residual_scale: float = 0.5**0.5
    log_compression: bool = False
    prediction_steps: int = 12
    num_negatives: int = 10
    cross_sample_negatives: int = 0
    offset: int | Literal["auto"] = 1
    dropout: float = 0.0

    def __post_init__(self) -> None:
        where = "wav2vec model config"
        if not self.encoder_layers or not self.context_layers:
            raise ConfigError(f"{where}: needs at least one encoder layer and one context layer")
        for i, layer in enumerate(self.encoder_layers):
            if min(layer.channels, layer.kernel, layer.stride) < 1:
                raise ConfigError(f"{where}: encoder_layers[{i}] = {layer}: channels, kernel and stride must be >= 1")
        for i, context in enumerate(self.context_layers):
            if min(context.channels, context.kernel) < 1:
                raise ConfigError(f"{where}: context_layers[{i}] = {context}: channels and kernel must be >= 1")
        if self.prediction_steps < 1:
            raise ConfigError(f"{where}: prediction_steps must be >= 1, got {self.prediction_steps}")
        if self.num_negatives < 0 or self.cross_sample_negatives < 0 or self.num_negatives + self.cross_sample_negatives < 1:
            raise ConfigError(
                f"{where}: need num_negatives >= 0, cross_sample_negatives >= 0 and at least one negative in all, "
                f"got {self.num_negatives} and {self.cross_sample_negatives}"
            )
        if self.offset != "auto" and (not isinstance(self.offset, int) or self.offset < 1):
            # offset 0 would ask c_i to predict z_i, which c_i has already seen.
            raise ConfigError(f"{where}: offset must be 'auto' or an integer >= 1, got {self.offset!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{where}: dropout must be in [0, 1), got {self.dropout}")
        if self.residual_scale <= 0:
            raise ConfigError(f"{where}: residual_scale must be > 0, got {self.residual_scale}")

    @classmethod
    def base(cls) -> "Wav2VecConfig":
        return cls()

    @classmethod
    def large(cls) -> "Wav2VecConfig":
        """wav2vec large: two extra 1x1 encoder layers, 12 context layers of kernels 2..13, skips, log compression."""
        return cls(
            encoder_layers=[*_paper_encoder(), EncoderLayer(512, 1, 1), EncoderLayer(512, 1, 1)],
            context_layers=[ContextLayer(512, kernel) for kernel in range(2, 14)],
            skip_connections=True,
            log_compression=True,
        )

    @classmethod
    def small(cls, channels: int = 64, context_layers: int = 4, prediction_steps: int = 12) -> "Wav2VecConfig":
        """CPU-scale: the paper's encoder kernels and strides (same 160-sample hop), fewer channels and layers."""
        return cls(
            encoder_layers=_paper_encoder(channels),
            context_layers=[ContextLayer(channels, 3) for _ in range(context_layers)],
            prediction_steps=prediction_steps,
        )


class StepScores(NamedTuple):
    """Contrastive logits for each step k = 1..K (index k - 1) and prediction position i.

    positive[k-1, b, i] = h_k(c_i) . z_{i + offset + k - 1} of utterance b, shape (K, B, F);
    negative[k-1, b, i, n] = h_k(c_i) . z~_n, shape (K, B, F, N + N_cross), where z~_n are
    the negatives sampled for that target frame i + offset + k - 1 (shared by every step
    that targets the frame, as in fairseq);
    valid[k-1, i] (K, F) is True where the target frame i + offset + k - 1 lies inside the
    crop (< F). Scores at invalid positions are 0 and must be masked out of the loss.
    """

    positive: torch.Tensor
    negative: torch.Tensor
    valid: torch.Tensor


class TargetLogits(NamedTuple):
    """Contrastive logits indexed by target frame t, for the time-major path.

    logits[b, t, k-1, 0] = h_k(c_{t - s_k}) . z_t of utterance b and logits[b, t, k-1, 1 + n] = h_k(c_{t - s_k}) . z~_n,
    with s_k = offset + k - 1 and z~_n the negatives sampled for frame t: (B, F, K, 1 + N + N_cross), in float32
    (float64 for a float64 model). mask[t, k-1] (F, K) is 1 where t >= s_k (the prediction comes from inside
    the crop), 0 elsewhere; `num_positives` = B * sum_k max(0, F - s_k), the number of positive terms.
    The same terms as `StepScores`, which indexes them by prediction position i = t - s_k.
    """

    logits: torch.Tensor
    mask: torch.Tensor
    num_positives: int


class _UtteranceNorm(nn.GroupNorm):
    """GroupNorm with one group, as fairseq's Fp32GroupNorm(1, channels): each utterance is normalised over
    all its channels and frames, with float32 statistics, and the output keeps the input's dtype.

    Float32 statistics, because half precision loses the mean and variance of hundreds of thousands of
    values; the input's dtype out, so that the rest of the network (and the big negatives tensor) stays in
    mixed precision. A GroupNorm subclass, for the parameter names and `num_groups` that checkpoints carry.
    """

    def __init__(self, channels: int) -> None:
        super().__init__(1, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:
            return split_utterance_norm(x, self.weight, self.bias, self.eps)
        acc = accumulation_dtype(x.dtype)
        return F.group_norm(x.to(acc), 1, self.weight.to(acc), self.bias.to(acc), self.eps).to(x.dtype)


def split_utterance_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """One-group GroupNorm of (batch, channels, frames) from `var_mean`, for the GPU.

    `F.group_norm`'s CUDA kernel reduces each (utterance, group) row in one thread block: with one group, a
    batch of 10 crops kept 10 of an H200's 132 multiprocessors busy, and the norms took 55 % of a base
    training step (benchmarks/RESULTS.md). `var_mean` splits a long reduction across blocks. On the CPU the
    native kernel is the faster one (4x on a base encoder's first layer).
    """
    acc = accumulation_dtype(x.dtype)
    x_acc = x.to(acc)
    var, mean = torch.var_mean(x_acc, dim=(1, 2), keepdim=True, correction=0)
    scale = weight.to(acc)[:, None] * torch.rsqrt(var + eps)  # (batch, channels, 1)
    shift = bias.to(acc)[:, None] - mean * scale
    return torch.addcmul(shift, x_acc, scale).to(x.dtype)


class FeatureEncoder(nn.Module):
    """Encoder f: audio (batch, samples) -> z (batch, channels, frames); fairseq's `feature_extractor`.

    Each block is (Conv1d without bias, placeholder, GroupNorm(1 group), ReLU). The
    placeholder stands where fairseq has a Dropout fixed at p = 0, so that the norm
    parameters keep fairseq's names (`conv_layers.<i>.2.weight`).
    """

    def __init__(self, layers: list[EncoderLayer], log_compression: bool) -> None:
        super().__init__()
        blocks = []
        in_channels = 1
        for layer in layers:
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(in_channels, layer.channels, layer.kernel, stride=layer.stride, bias=False),
                    nn.Identity(),
                    _UtteranceNorm(layer.channels),
                    nn.ReLU(),
                )
            )
            in_channels = layer.channels
        self.conv_layers = nn.ModuleList(blocks)
        self.log_compression = log_compression

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        x = wav.unsqueeze(1)
        for block in self.conv_layers:
            x = block(x)
        if self.log_compression:
            x = torch.log1p(x.abs())
        return x

    def time_major(self, wav: torch.Tensor, valid_frames: torch.Tensor | None = None) -> torch.Tensor:
        """Audio (B, samples) -> z (B, frames, channels): `forward`'s function, laid out time-major.

        `valid_frames` (layers, B), for padded batches: how many output frames of each layer belong to
        each utterance; the norms take their statistics over those frames only and write 0 past them.
        """
        x = wav
        for index, block in enumerate(self.conv_layers):
            conv = block[0]
            y = encoder_conv(x, conv.weight, conv.stride[0])
            x = utterance_norm_relu(y, block[2], None if valid_frames is None else valid_frames[index])
        if self.log_compression:
            x = torch.log1p(x.abs())
        return x


class ContextNetwork(nn.Module):
    """Context network g: z (batch, channels, frames) -> c (batch, channels, frames); fairseq's `feature_aggregator`.

    Each block is (ReplicationPad1d((kernel - 1, 0)), Conv1d, Dropout, GroupNorm, ReLU):
    the left-only padding makes c_t depend on z_{t - receptive + 1}..z_t and keeps the
    frame count. With skip connections, x = (block(x) + residual) * residual_scale, the
    residual going through a bias-free 1x1 conv (`residual_proj.<i>`) where the channel
    count changes; `residual_proj` holds None for the other layers, as fairseq's does.
    """

    def __init__(
        self, in_channels: int, layers: list[ContextLayer], skip_connections: bool, residual_scale: float, dropout: float
    ) -> None:
        super().__init__()
        blocks, projections = [], []
        for layer in layers:
            blocks.append(
                nn.Sequential(
                    nn.ReplicationPad1d((layer.kernel - 1, 0)),
                    nn.Conv1d(in_channels, layer.channels, layer.kernel),
                    nn.Dropout(dropout),
                    _UtteranceNorm(layer.channels),
                    nn.ReLU(),
                )
            )
            needs_projection = skip_connections and in_channels != layer.channels
            projections.append(nn.Conv1d(in_channels, layer.channels, 1, bias=False) if needs_projection else None)
            in_channels = layer.channels
        self.conv_layers = nn.ModuleList(blocks)
        self.residual_proj = nn.ModuleList(projections)
        self.skip_connections = skip_connections
        self.residual_scale = residual_scale

    def forward(self, z: torch.Tensor, num_layers: int | None = None) -> torch.Tensor:
        """Output of the first `num_layers` blocks (all when None)."""
        return _last(itertools.islice(self.layers(z), num_layers))

    def layers(self, z: torch.Tensor) -> Iterator[torch.Tensor]:
        """z (B, C, F) -> each layer's output in turn, (B, C_layer, F)."""
        x = z
        for block, projection in zip(self.conv_layers, self.residual_proj):
            residual = x
            x = block(x)
            if self.skip_connections:
                if projection is not None:
                    residual = projection(residual)
                x = (x + residual) * self.residual_scale
            yield x

    def time_major_layers(self, z: torch.Tensor, valid_frames: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
        """z (B, frames, C) -> each layer's output in turn, (B, frames, C_layer): `forward`'s function, time-major.

        `valid_frames` (B,): frames of each utterance of a padded batch (statistics over those only).
        """
        x = z
        for block, projection in zip(self.conv_layers, self.residual_proj):
            conv = block[1]
            y = utterance_norm_relu(block[2](causal_conv(x, conv.weight, conv.bias)), block[3], valid_frames)
            if self.skip_connections:
                residual = x if projection is None else x @ projection.weight[:, :, 0].t()
                y = (y + residual) * self.residual_scale
            x = y
            yield x


class StepPredictions(nn.Module):
    """The K step projections h_k(c) = W_k c + b; fairseq's `wav2vec_predictions`.

    The weights are fairseq's `ConvTranspose2d(C_context, C_target, (1, K))` applied to
    c.unsqueeze(-1): weight (C_context, C_target, 1, K), one bias (C_target,) shared by
    the steps. Kept in that layout so fairseq's weights load as they are; applied here as
    one linear map to K * C_target outputs, which is the same arithmetic.
    """

    def __init__(self, context_channels: int, target_channels: int, prediction_steps: int, dropout: float) -> None:
        super().__init__()
        self.project_to_steps = nn.ConvTranspose2d(context_channels, target_channels, (1, prediction_steps))
        self.dropout = nn.Dropout(dropout)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """c (B, C_context, F) -> h (B, F, K, C_target) with h[b, i, k-1] = h_k(c_i)."""
        return self.time_major(c.transpose(1, 2))

    def time_major(self, c: torch.Tensor) -> torch.Tensor:
        """c (B, F, C_context) -> h (B, F, K, C_target) with h[b, i, k-1] = h_k(c_i)."""
        weight = self.project_to_steps.weight  # (C_context, C_target, 1, K)
        context_channels, target_channels, _, steps = weight.shape
        weight = weight[:, :, 0, :].permute(2, 1, 0).reshape(steps * target_channels, context_channels)
        bias = self.project_to_steps.bias.repeat(steps)
        h = F.linear(c, weight, bias)  # (B, F, K * C_target), step-major
        return self.dropout(h.unflatten(-1, (steps, target_channels)))


def _last(outputs: Iterator[torch.Tensor]) -> torch.Tensor:
    """The last of a network's layer outputs (the earlier ones are freed as it goes)."""
    return collections.deque(outputs, maxlen=1)[0]


def _encoder_geometry(layers: list[EncoderLayer]) -> tuple[int, int]:
    """(receptive field, hop) of stacked valid convolutions, in input samples."""
    receptive_samples, hop_samples = 1, 1
    for layer in layers:
        receptive_samples += (layer.kernel - 1) * hop_samples
        hop_samples *= layer.stride
    return receptive_samples, hop_samples


def _shift_frames(x: torch.Tensor, shift: int) -> torch.Tensor:
    """x (B, F, D) moved `shift` frames later (earlier if negative) along F, zero-filled, F kept.

    One constant-pad op each way (pad one end, crop the other), so the backward pass is one
    op too; in-place writes into slices of a preallocated tensor would make autograd clone
    the whole tensor's gradient once per write.
    """
    frames = x.shape[1]
    if abs(shift) >= frames:
        return torch.zeros_like(x)
    return F.pad(x, (0, 0, shift, -shift))


def sample_negatives(
    batch_size: int,
    num_frames: int,
    num_negatives: int,
    cross_sample_negatives: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Indices of negatives for every target frame: (B, F, N + N_cross) into the flattened (B * F) frames.

    Entry [b, t, :N] are uniform over the other F - 1 frames of utterance b: drawn from
    F - 1 values and shifted past t, so the positive (frame t itself) is never drawn and
    no rejection is needed (fairseq's scheme). Entry [b, t, N:] are uniform over the other
    B * F - 1 frames of the whole batch, drawn the same way around the positive b * F + t.
    """
    needed = 2 if num_negatives > 0 else 1
    if num_frames < needed or batch_size * num_frames < 2:
        raise ConfigError(
            f"cannot sample negatives from {batch_size} utterance(s) of {num_frames} frame(s): "
            "each target needs another frame to contrast with (use longer crops)"
        )
    positives = torch.arange(batch_size * num_frames, device=device).view(batch_size, num_frames, 1)
    parts = []
    if num_negatives > 0:
        drawn = torch.randint(
            0, num_frames - 1, (batch_size, num_frames, num_negatives), generator=generator, device=device
        )
        frame = torch.arange(num_frames, device=device).view(1, num_frames, 1)
        drawn = drawn + (drawn >= frame).long()
        parts.append(drawn + (positives - frame))  # utterance b starts at b * F
    if cross_sample_negatives > 0:
        drawn = torch.randint(
            0,
            batch_size * num_frames - 1,
            (batch_size, num_frames, cross_sample_negatives),
            generator=generator,
            device=device,
        )
        parts.append(drawn + (drawn >= positives).long())
    return torch.cat(parts, dim=2)


class Wav2Vec(nn.Module):
    """wav2vec 1.0: audio (B, samples) -> z (B, C, F) and c (B, C, F), plus the step logits for training.

    F = num_frames(samples) = floor((samples - receptive_field_samples) / hop_samples) + 1
    for the paper's encoder (465-sample receptive field, 160-sample hop: 16000 -> 98).
    """

    def __init__(self, config: Wav2VecConfig = Wav2VecConfig()) -> None:
        super().__init__()
        self.config = config
        target_channels = config.encoder_layers[-1].channels
        self.feature_extractor = FeatureEncoder(config.encoder_layers, config.log_compression)
        self.feature_aggregator = ContextNetwork(
            target_channels, config.context_layers, config.skip_connections, config.residual_scale, config.dropout
        )
        self.wav2vec_predictions = StepPredictions(
            config.context_layers[-1].channels, target_channels, config.prediction_steps, config.dropout
        )
        self.receptive_field_samples, self.hop_samples = _encoder_geometry(config.encoder_layers)
        self.context_receptive_field_frames = 1 + sum(layer.kernel - 1 for layer in config.context_layers)
        if config.offset == "auto":
            self.prediction_offset = math.ceil(self.receptive_field_samples / self.hop_samples)
        else:
            self.prediction_offset = config.offset

    def num_frames(self, num_samples: int) -> int:
        """Frames of z (and c) for `num_samples` of audio: each valid conv's floor((n - kernel) / stride) + 1."""
        frames = num_samples
        for layer in self.config.encoder_layers:
            if frames < layer.kernel:
                return 0
            frames = (frames - layer.kernel) // layer.stride + 1
        return frames

    def num_frames_of(self, wav: torch.Tensor) -> int:
        """Frames of z for audio (B, samples); an error for other shapes and for audio too short for one frame."""
        if wav.dim() != 2:
            raise ValueError(f"expected audio of shape (batch, samples), got {tuple(wav.shape)}")
        frames = self.num_frames(wav.shape[1])
        if frames == 0:
            raise BadAudioError(
                f"audio of {wav.shape[1]} samples is shorter than the wav2vec encoder's receptive field "
                f"({self.receptive_field_samples} samples)"
            )
        return frames

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Audio (B, samples) -> z (B, C, F)."""
        self.num_frames_of(wav)
        return self.feature_extractor(wav)

    def contextualize(self, z: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """z (B, C, F) -> output of context layer `layer` (0-based; None = the last, i.e. c), (B, C_layer, F)."""
        if layer is None:
            return self.feature_aggregator(z)
        num_layers = len(self.config.context_layers)
        if not 0 <= layer < num_layers:
            raise ConfigError(f"context layer {layer} does not exist: this wav2vec has layers 0..{num_layers - 1}")
        return self.feature_aggregator(z, num_layers=layer + 1)

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio (B, samples) -> (z, c), both (B, C, F)."""
        z = self.encode(wav)
        return z, self.contextualize(z)

    def features(self, wav: torch.Tensor, representation: str | int) -> torch.Tensor:
        """Audio (B, samples) -> features (B, F, D), time-major, by the reference path.

        "z", "c", a 0-based context layer, or "all": z and every context layer's output concatenated along
        the feature axis in the order [z, layer 1, ..., layer L], D = C_z + C_1 + ... + C_L (for the paper's
        models (L + 1) x 512), for a downstream model that learns a weighted sum of the layers.
        """
        if isinstance(representation, bool) or not (representation in ("z", "c", "all") or isinstance(representation, int)):
            raise ConfigError(f"wav2vec representation {representation!r}: expected {REPRESENTATIONS_HELP}")
        z = self.encode(wav)
        if representation == "z":
            return z.transpose(1, 2)
        if representation == "all":
            return torch.cat([z, *self.feature_aggregator.layers(z)], dim=1).transpose(1, 2)
        return self.contextualize(z, None if representation == "c" else representation).transpose(1, 2)

    def tiled_samples(self, num_samples: int) -> int:
        """The longest length <= num_samples on which every encoder layer tiles its input exactly.

        On such a length no sample is left over at any layer (for the paper's encoder: 160 F + 305 samples,
        149,905 for 150,000), so the time-major encoder reads free views, and training shapes repeat.
        """
        frames = self.num_frames(num_samples)
        return self.samples_for_frames(frames) if frames else num_samples

    def samples_for_frames(self, num_frames: int) -> int:
        """The exactly tiled length that gives `num_frames` frames: each layer's (frames - 1) x stride + kernel."""
        samples = num_frames
        for layer in reversed(self.config.encoder_layers):
            samples = (samples - 1) * layer.stride + layer.kernel
        return samples

    def forward_time_major(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio (B, samples) -> (z, c), both (B, F, C): `forward`'s function by the time-major path."""
        self.num_frames_of(wav)
        z = self.feature_extractor.time_major(wav)
        return z, _last(self.feature_aggregator.time_major_layers(z))

    def contrastive_scores(self, z: torch.Tensor, c: torch.Tensor, generator: torch.Generator | None = None) -> StepScores:
        """Logits of the true and the sampled future frames for every step: z, c (B, C, F) -> StepScores.

        Negatives are sampled once per target frame (`sample_negatives`, drawing from
        `generator`) and shared by all steps that target that frame.

        Approach (one gather, one batched matmul; the negatives are never copied per step):
        1. h = all K projections in one matmul, (B, F, K, C).
        2. Re-index h by target frame: by_target[b, t, k-1] = h_k(c_{t - s_k}) with
           s_k = offset + k - 1, zero where t < s_k: one pad-and-crop per step on h-sized data.
        3. Gather the candidates of each target frame once: its own z (the positive) and
           its N + N_cross negatives, (B*F, 1 + N + N_cross, C).
        4. One bmm, (B*F, K, C) x (B*F, C, 1 + N + N_cross), scores every step's prediction
           against every candidate of the frame it targets; the candidates are read once.
        5. Move the (small) logits back from target frame t to prediction position
           i = t - s_k, again one pad-and-crop per step.
        Memory: h and by_target (2 x B*F*K*C), the candidates (B*F*(1+N+N_cross)*C, the
        size of the reference's stacked targets tensor) and the logits; kept for backward
        are by_target, the candidates and the indices. The reference implementation
        (fairseq's Wav2VecPredictionsModel) also holds the negatives apart from the targets
        and, through its per-step einsum on shifted slices, a copy of the targets per step,
        all K kept for backward: about 5x this method's saved memory for the base model.
        """
        batch, channels, frames = z.shape
        shifts = self._step_shifts()
        positions = torch.arange(frames, device=z.device)
        valid = positions.unsqueeze(0) + torch.tensor(shifts, device=z.device).unsqueeze(1) < frames  # (K, F)
        h = self.wav2vec_predictions(c)  # (B, F, K, C)
        negatives = sample_negatives(
            batch, frames, self.config.num_negatives, self.config.cross_sample_negatives, generator, z.device
        )
        z_frames = z.transpose(1, 2).reshape(batch * frames, channels)
        logits = self._logits_by_target(h, z_frames, negatives, accumulation_dtype(z.dtype))
        # Back from target frame t to prediction position i = t - shift.
        scores = torch.stack([_shift_frames(logits_k, -shift) for logits_k, shift in zip(logits.unbind(2), shifts)])
        return StepScores(scores[..., 0], scores[..., 1:], valid)

    def target_logits(self, z: torch.Tensor, c: torch.Tensor, negatives: torch.Tensor) -> TargetLogits:
        """The logits of `contrastive_scores`, indexed by target frame: z, c (B, F, C) -> TargetLogits.

        `negatives` (B, F, N + N_cross) from `sample_negatives`. Steps 1-4 of `contrastive_scores`, without
        step 5: the loss masks the targets that no prediction reaches by multiplying with `mask`, and counts
        its terms in Python, so nothing here waits for the device (no boolean indexing, no tensors made from
        Python lists). The candidates are gathered from z in float32, so their gradient sums in float32.
        """
        batch, frames, channels = z.shape
        acc = accumulation_dtype(z.dtype)
        z_frames = z.reshape(batch * frames, channels).to(acc)
        logits = self._logits_by_target(self.wav2vec_predictions.time_major(c), z_frames, negatives, acc)
        shifts = self._step_shifts()
        first_step = torch.arange(len(shifts), device=z.device) + self.prediction_offset
        mask = (torch.arange(frames, device=z.device)[:, None] >= first_step[None, :]).to(acc)  # (F, K)
        num_positives = batch * sum(max(0, frames - shift) for shift in shifts)
        return TargetLogits(logits, mask, num_positives)

    def _step_shifts(self) -> list[int]:
        """s_k = offset + k - 1 for k = 1..K: step k at position i targets frame i + s_k."""
        return [self.prediction_offset + k for k in range(self.config.prediction_steps)]

    def _logits_by_target(
        self, h: torch.Tensor, z_frames: torch.Tensor, negatives: torch.Tensor, dtype: torch.dtype
    ) -> torch.Tensor:
        """Steps 2-4 of `contrastive_scores`: h (B, F, K, C), z_frames (B*F, C) -> logits (B, F, K, 1 + N) in `dtype`."""
        batch, frames, steps, channels = h.shape
        by_target = torch.stack([_shift_frames(h[:, :, k], shift) for k, shift in enumerate(self._step_shifts())], dim=2)
        own_frame = torch.arange(batch * frames, device=h.device).view(batch, frames, 1)
        candidates = torch.cat([own_frame, negatives], dim=2).view(-1)  # (B*F*(1+N)), positive first
        targets = z_frames.index_select(0, candidates).view(batch * frames, -1, channels)  # (B*F, 1+N, C)
        # float32 even under bf16 autocast: bf16 logits (3 significant digits) tie often, and a tie
        # with a negative is a miss. It costs little: 2 * K * (1+N) * C FLOPs per frame, ~1/500 of the encoder's.
        with torch.autocast(h.device.type, enabled=False):
            logits = torch.bmm(by_target.view(batch * frames, steps, channels).to(dtype), targets.transpose(1, 2).to(dtype))
        return logits.view(batch, frames, steps, -1)  # indexed by target frame t

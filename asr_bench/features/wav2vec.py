"""wav2vec features (z, c, any context layer, or all of them) for the feature cache, batched and exact.

Every GroupNorm in wav2vec 1.0 has one group: it normalises over all channels *and all
frames* of an utterance. Two shortcuts that look harmless are therefore wrong: padding
utterances to a common length changes the statistics of the shorter ones, and cutting
long audio into chunks gives each chunk its own statistics. This module avoids both:

- batches of padded utterances use masked statistics (only each utterance's valid
  frames count). The convolutions are valid or left-padded, so padding on the right
  only ever reaches frames past an utterance's own length, which are dropped.
- audio longer than `chunk_samples` is run one layer at a time over the whole
  utterance, each convolution in chunks with its receptive-field overlap on the
  accelerator, the layer output kept in host memory, and the normalisation statistics
  taken over the whole layer. Device memory is bounded by the chunk; the result equals
  a full-utterance forward.

Batches run by one of the model's two implementations (`asr_bench.models.wav2vec`):
- time-major (the default on CUDA): the whole padded batch at once, one masked norm per layer (fused
  kernels), the per-layer frame counts computed on the host up front, audio sent as float16 (bf16
  arithmetic) from pinned memory and the features brought back the same way, one copy each way per batch;
  up to `max_batch_samples` of padded audio per forward, so batches of 100+ utterances fit a GPU;
- reference (the default elsewhere, and for long audio): layer by layer in (batch, channel, time), one
  native norm per utterance, as earlier versions computed it (the same numbers on the CPU).

The convolutions run in bf16 autocast where the hardware does bf16 natively (GPUs, and
CPUs with AVX512-BF16 or AMX, where it doubles the throughput); the normalisation
statistics are always accumulated in float32.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from asr_bench.data.audio import load_utterance
from asr_bench.data.manifest import Utterance
from asr_bench.errors import ConfigError
from asr_bench.features.waveform import model_input
from asr_bench.hardware import resolve_bf16
from asr_bench.models.checkpoint import load_wav2vec
from asr_bench.models.wav2vec import REPRESENTATIONS_HELP, Wav2Vec, resolve_implementation, split_utterance_norm

# (conv, norm, left replication padding, residual: None = no skip, Identity or a 1x1 projection)
_Layer = tuple[nn.Conv1d, nn.GroupNorm, int, nn.Module | None]


def file_digest(path: Path) -> str:
    """The checkpoint's identity in cache keys: its content, not its name or time stamp."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _masked_group_norm(y: torch.Tensor, norm: nn.GroupNorm, lengths: torch.Tensor) -> torch.Tensor:
    """One-group GroupNorm of (B, C, T), each utterance's statistics over its first `lengths[b]` frames only.

    Frames past an utterance's length come out as zero: they only ever feed frames that are
    dropped. One fused native kernel per utterance (it reads bf16 and accumulates in float32)
    rather than masked arithmetic over the batch, which took 60 % of a CPU forward: over
    the first layers' long outputs, each extra elementwise pass costs about as much as a
    convolution. On the GPU, `split_utterance_norm` instead: the native kernel reduces an utterance in
    one thread block. Also normalises the whole-utterance layer outputs of the long-audio path,
    which live in host memory while the norm's parameters may sit on the accelerator.
    """
    weight, bias = norm.weight.to(y.device), norm.bias.to(y.device)
    one_group_norm = split_utterance_norm if y.is_cuda else partial(F.group_norm, num_groups=1)
    rows = lengths.tolist()
    if rows == [y.shape[2]]:
        return one_group_norm(y, weight=weight, bias=bias, eps=norm.eps)
    out = torch.empty_like(y)
    for b, frames in enumerate(rows):
        out[b, :, :frames] = one_group_norm(y[b : b + 1, :, :frames], weight=weight, bias=bias, eps=norm.eps)[0]
        out[b, :, frames:] = 0
    return out


class Wav2VecFeaturizer:
    """Audio (samples,) -> features (frames, dim) from a pretrained wav2vec, the way the cache asks for them.

    `representation`: "z" (the encoder's output), "c" (the context network's), a 0-based context layer,
    or "all": z and every context layer's output concatenated along the feature axis, in the order
    [z, context layer 1, ..., context layer L], so that frame t is
        features[t] = concat(z_t, h1_t, ..., hL_t),  shape (frames, C_z + C_1 + ... + C_L),
    (L + 1) x 512 for the paper's models (base: 10 x 512 = 5120; large: 13 x 512 = 6656); block j is
    features[:, sum of the earlier widths : + C_j]. z is log-compressed where the model does that (large).
    This is the input of a downstream model that learns a softmax-weighted sum of the layers (SUPERB's
    recipe): split the feature axis into the L + 1 blocks and weight them.
    """

    def __init__(
        self,
        model: Wav2Vec,
        representation: str | int = "c",
        normalize: bool = True,
        device: str = "cpu",
        chunk_samples: int = 480_000,
        precision: str = "auto",
        implementation: str = "auto",
        max_batch_samples: int = 32_000_000,
    ) -> None:
        if chunk_samples < 4 * model.receptive_field_samples:
            raise ConfigError(f"chunk_samples={chunk_samples} is too small for a {model.receptive_field_samples}-sample encoder")
        num_context = len(model.config.context_layers)
        if not (representation in ("z", "c", "all") or (isinstance(representation, int) and 0 <= representation < num_context)):
            raise ConfigError(f"wav2vec representation {representation!r}: expected {REPRESENTATIONS_HELP} 0..{num_context - 1}")
        self.model = model.eval().to(device)
        self.representation = representation
        self.normalize = normalize
        self.device = torch.device(device)
        self.chunk_samples = chunk_samples
        self.max_batch_samples = max_batch_samples
        self.bf16 = resolve_bf16(precision, self.device)
        self.implementation = resolve_implementation(implementation, self.device)
        self._layers = self._collect_layers()
        self._output_hop = self._output_hops()
        num_encoder = len(model.config.encoder_layers)
        if representation == "z":
            self._stop = num_encoder
        elif representation in ("c", "all"):
            self._stop = len(self._layers)
        else:
            self._stop = num_encoder + int(representation) + 1

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        representation: str | int = "c",
        device: str = "cpu",
        chunk_samples: int = 480_000,
        precision: str = "auto",
    ) -> "Wav2VecFeaturizer":
        loaded = load_wav2vec(path)
        return cls(loaded.model, representation, loaded.normalize, device, chunk_samples, precision)

    def _collect_layers(self) -> list[_Layer]:
        """The network as a flat list of conv + norm layers, encoder first (mirrors `Wav2Vec.forward`)."""
        layers: list[_Layer] = [(block[0], block[2], 0, None) for block in self.model.feature_extractor.conv_layers]
        context = self.model.feature_aggregator
        for block, projection in zip(context.conv_layers, context.residual_proj):
            residual = (projection or nn.Identity()) if context.skip_connections else None
            layers.append((block[1], block[3], block[0].padding[0], residual))
        return layers

    def _output_hops(self) -> dict[nn.Conv1d, int]:
        """Audio samples per output frame of each convolution."""
        hops, hop = {}, 1
        for layer, _, _, _ in self._layers:
            hop *= layer.stride[0]
            hops[layer] = hop
        return hops

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def _walk(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        conv: Callable[[nn.Conv1d, int, torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """Run layers up to the requested representation: (B, 1, T) audio -> (B, C, F) (for "all", z and every
        context layer's output concatenated along C)."""
        num_encoder = len(self.model.config.encoder_layers)
        kept = []
        for index, (layer, norm, left_pad, residual) in enumerate(self._layers[: self._stop]):
            if index < num_encoder:  # valid convolution: the sequence shortens
                lengths = torch.div(lengths - layer.kernel_size[0], layer.stride[0], rounding_mode="floor") + 1
            y = _masked_group_norm(conv(layer, left_pad, x), norm, lengths).relu_()
            if residual is not None:
                y = (y + residual(x.to(y.dtype))) * self.model.feature_aggregator.residual_scale
            x = y
            if index == num_encoder - 1 and self.model.feature_extractor.log_compression:
                x = torch.log1p(x.abs())
            if self.representation == "all" and index >= num_encoder - 1:
                kept.append(x)
        return torch.cat(kept, dim=1) if kept else x

    @staticmethod
    def _conv_whole(layer: nn.Conv1d, left_pad: int, x: torch.Tensor) -> torch.Tensor:
        return layer(F.pad(x, (left_pad, 0), mode="replicate") if left_pad else x)

    @torch.inference_mode()
    def featurize_batch(self, waveforms: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Several utterances at once (padded, masked statistics); each (samples,) -> (frames, dim) on the CPU.

        float32, except in bf16 on a GPU: float16 (which holds every bf16 value of the features' range exactly).
        """
        short = [i for i, w in enumerate(waveforms) if len(w) <= self.chunk_samples]
        results: list[torch.Tensor | None] = [None] * len(waveforms)
        if short and min(len(waveforms[i]) for i in short) < self.model.receptive_field_samples:
            raise ConfigError(f"audio shorter than the wav2vec receptive field ({self.model.receptive_field_samples} samples)")
        if short and self.implementation == "time_major":
            for group in self._groups(sorted((len(waveforms[i]), i) for i in short)):
                for i, features in zip(group, self._featurize_time_major([waveforms[i] for i in group])):
                    results[i] = features
        elif short:
            lengths = torch.tensor([len(waveforms[i]) for i in short], device=self.device)
            batch = nn.utils.rnn.pad_sequence(
                [model_input(waveforms[i], self.normalize) for i in short], batch_first=True
            ).to(self.device)
            with self._autocast():
                out = self._walk(batch.unsqueeze(1), lengths, self._conv_whole)
            frames = [self.model.num_frames(len(waveforms[i])) for i in short]
            for i, out_b, n in zip(short, out, frames):
                results[i] = out_b[:, :n].transpose(0, 1).float().cpu()
        for i, w in enumerate(waveforms):
            if results[i] is None:
                results[i] = self._featurize_long(w)
        return results  # type: ignore[return-value]

    def _groups(self, by_length: list[tuple[int, int]]) -> Iterator[list[int]]:
        """Indices of consecutive runs of (length, index) pairs, sorted by length, padding to at most max_batch_samples."""
        group: list[int] = []
        for length, i in by_length:  # each group is padded to its last (longest) member
            if group and (len(group) + 1) * self._padded_samples(length) > self.max_batch_samples:
                yield group
                group = []
            group.append(i)
        if group:
            yield group

    def _padded_samples(self, longest: int) -> int:
        """A batch's padded length: exactly tiled (every layer's input is a free view) and >= its longest member."""
        return self.model.samples_for_frames(self.model.num_frames(longest) + 1)

    def _featurize_time_major(self, waveforms: list[torch.Tensor]) -> list[torch.Tensor]:
        """One padded batch by the time-major path: one copy of float16 audio in, one of the features out."""
        lengths = [len(w) for w in waveforms]
        pinned = self.device.type == "cuda"
        transport = torch.float16 if self.bf16 else torch.float32  # float16 holds what bf16 arithmetic reads
        audio = torch.zeros(len(waveforms), self._padded_samples(max(lengths)), dtype=transport, pin_memory=pinned)
        for row, wav in zip(audio, waveforms):
            row[: len(wav)] = model_input(wav.float(), self.normalize)
        frames = []  # each encoder layer's valid frames per utterance, known before anything runs
        counts = lengths
        for layer in self.model.config.encoder_layers:
            counts = [(n - layer.kernel) // layer.stride + 1 for n in counts]
            frames.append(counts)
        valid = torch.tensor(frames, dtype=torch.int32).pin_memory() if pinned else torch.tensor(frames, dtype=torch.int32)
        valid = valid.to(self.device, non_blocking=True)
        with self._autocast():
            features = self._time_major_layers(audio.to(self.device, non_blocking=True), valid)
        out_dtype = torch.float16 if self.bf16 and pinned else torch.float32
        host = torch.empty(features.shape, dtype=out_dtype, pin_memory=pinned)
        host.copy_(features.to(out_dtype), non_blocking=True)
        if pinned:
            torch.cuda.current_stream(self.device).synchronize()  # the one wait of the batch
        return [host[b, :n] for b, n in enumerate(counts)]

    def _time_major_layers(self, audio: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Padded audio (B, S) -> the requested representation (B, F, D), statistics over `valid` frames."""
        model = self.model
        z = model.feature_extractor.time_major(audio, valid)
        if self.representation == "z":
            return z
        kept = [z]
        wanted = self._stop - len(model.config.encoder_layers)  # context layers to run
        for index, c in enumerate(model.feature_aggregator.time_major_layers(z, valid[-1])):
            kept.append(c)
            if index + 1 == wanted:
                break
        return torch.cat(kept, dim=2) if self.representation == "all" else kept[-1]

    def __call__(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.featurize_batch([waveform])[0]

    def _conv_chunked(self, layer: nn.Conv1d, left_pad: int, x: torch.Tensor) -> torch.Tensor:
        """The convolution of a whole host-memory sequence (1, C, T), computed chunk by chunk on the device.

        Each chunk covers about `chunk_samples` of audio time at this layer's output rate,
        so device memory stays that of a forward on one chunk.
        """
        kernel, stride = layer.kernel_size[0], layer.stride[0]
        frames_out = (x.shape[2] + left_pad - kernel) // stride + 1
        out = torch.empty(1, layer.out_channels, frames_out)
        step = max(1, self.chunk_samples // self._output_hop[layer])
        for start in range(0, frames_out, step):
            end = min(frames_out, start + step)
            # Output frame j reads padded input [j*stride, j*stride + kernel); padding is only at the very start.
            lo, hi = start * stride - left_pad, (end - 1) * stride + kernel - left_pad
            piece = x[:, :, max(lo, 0) : hi].to(self.device)
            if lo < 0:
                piece = F.pad(piece, (-lo, 0), mode="replicate")
            with self._autocast():
                out[:, :, start:end] = layer(piece).float().cpu()
        return out

    @torch.inference_mode()
    def _featurize_long(self, waveform: torch.Tensor) -> torch.Tensor:
        """One long utterance, layer by layer, convolutions in overlapping chunks: equal to a full forward."""
        x = model_input(waveform.float().cpu(), self.normalize).view(1, 1, -1)
        residual_layers = [r for _, _, _, r in self._layers if r is not None]
        for module in residual_layers:
            module.cpu()  # the 1x1 residual projections run on the host tensors
        try:
            out = self._walk(x, torch.tensor([x.shape[2]]), self._conv_chunked)
        finally:
            for module in residual_layers:
                module.to(self.device)
        return out[0].transpose(0, 1).contiguous()


def load_waveforms(utterances: Sequence[Utterance], threads: int = 4) -> list[torch.Tensor]:
    """Decode several files at once: libsndfile releases the GIL, so threads overlap the decoding."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(load_utterance, utterances))

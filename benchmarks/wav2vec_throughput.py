"""wav2vec pretraining and featurization throughput, in audio-seconds per second, with peak memory.

    python benchmarks/wav2vec_throughput.py env                                  # copy bandwidth, bf16 GEMM rate
    python benchmarks/wav2vec_throughput.py pretrain --model base large --batch-crops 80 \\
        --variants time_major:compiled reference:eager naive:eager
    python benchmarks/wav2vec_throughput.py featurize --model base --variants time_major reference --batch-utterances 32 128
    python benchmarks/wav2vec_throughput.py pretrain --model base --variants time_major:compiled --profile-to profile.md
    python benchmarks/wav2vec_throughput.py conv --batch-crops 16                # each convolution shape, three ways
    python benchmarks/wav2vec_throughput.py norm --batch-crops 16                # the first layer's norm + ReLU, four ways

Every configuration runs in this one process, side by side, and prints one JSON line with the hardware,
package versions and git commit.

`pretrain` times whole training steps (forward, loss, backward, gradient clipping, AdamW) on random crops
of the same exactly tiled length for every variant (149,905 samples for the default 150k), back to back
without waiting for the device between steps, as training runs:
- `time_major`: the model's time-major path and sync-free loss (`asr_bench.tasks.pretrain_loss`), fused
  AdamW; `:compiled` as training compiles it (one graph, dynamic shapes);
- `reference`: the module-by-module path and boolean-masked loss of earlier versions; `:compiled` compiles
  the encoder and context network only, as `compile=true` did;
- `naive`: the reference forward, scored as the reference implementation does (all candidates stacked as
  (1+N, B, C, F) and multiplied with each step's projections, as fairseq does).
Before timing, the three are checked to give the same loss on the same negatives. Each row gives the
first step's time (compilation), the model's arithmetic per audio-second and the rate it was done at.

`featurize` times `Wav2VecFeaturizer` by either implementation on random 15 s utterances. `--profile-to`
writes torch.profiler's table of the first variant's steps and the share of device time by kind of kernel
(GEMM, convolution, norm, fused elementwise, copies, ...), in the same process (no second compilation). `conv` and `norm` time the pieces on the first layers'
shapes, as TFLOP/s and as GB/s at the norm's minimum traffic of 16 bytes per element (bf16 forward 6,
backward 10).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.features.wav2vec import Wav2VecFeaturizer
from asr_bench.models.conv import causal_conv, conv_channels_last, encoder_conv
from asr_bench.models.norm import utterance_norm_relu
from asr_bench.models.wav2vec import StepScores, Wav2Vec, Wav2VecConfig, sample_negatives, split_utterance_norm
from asr_bench.provenance import provenance
from asr_bench.tasks.pretrain_loss import compiled_time_major_loss, contrastive_bce, time_major_loss

MODELS: dict[str, Callable[[], Wav2VecConfig]] = {
    "base": Wav2VecConfig.base,
    "large": Wav2VecConfig.large,
    "cpu": lambda: Wav2VecConfig.small(channels=64, context_layers=4),
}
VARIANTS = ("time_major:compiled", "time_major:eager", "reference:eager", "reference:compiled", "naive:eager")
CLIP_NORM = 25.0  # the recipes' gradient_clip_val


def naive_scores(model: Wav2Vec, z: torch.Tensor, c: torch.Tensor, generator: torch.Generator | None) -> StepScores:
    """The reference implementation's scheme: materialise the negatives, multiply per step at full size."""
    batch, channels, frames = z.shape
    steps, offset = model.config.prediction_steps, model.prediction_offset
    negatives = sample_negatives(
        batch, frames, model.config.num_negatives, model.config.cross_sample_negatives, generator, z.device
    )
    flat = z.transpose(1, 2).reshape(batch * frames, channels)
    negative_z = flat[negatives.view(-1)].view(batch, frames, -1, channels).permute(2, 0, 3, 1)  # (N, B, C, F)
    targets = torch.cat([z.unsqueeze(0), negative_z], dim=0)  # (1+N, B, C, F)
    h = model.wav2vec_predictions.project_to_steps(c.unsqueeze(-1))  # (B, C, F, K)
    scores = z.new_zeros(steps, batch, frames, targets.shape[0])
    for k in range(steps):
        shift = offset + k
        if shift >= frames:
            continue
        products = (h[..., : frames - shift, k] * targets[..., shift:]).sum(dim=2)  # (1+N, B, F - shift)
        scores[k, :, : frames - shift] = products.permute(1, 2, 0)
    valid = torch.arange(frames, device=z.device).unsqueeze(0) + offset + torch.arange(steps, device=z.device).unsqueeze(1) < frames
    return StepScores(scores[..., 0], scores[..., 1:], valid)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def make_model(name: str, device: torch.device) -> Wav2Vec:
    torch.manual_seed(0)
    return Wav2Vec(MODELS[name]()).to(device)


def training_flops_per_audio_s(model: Wav2Vec) -> float:
    """Multiply-adds x 2 of a training step per audio-second: convolutions, step projections and scores,
    forward and backward (input and weight gradients, except the first layer's input, the audio)."""
    config = model.config
    hop_rate = SAMPLE_RATE_HZ  # frames per second at each layer's input
    channels, total = 1, 0.0
    for index, layer in enumerate(config.encoder_layers):
        hop_rate /= layer.stride
        forward = 2 * hop_rate * layer.channels * channels * layer.kernel
        total += forward * (2 if index == 0 else 3)
        channels = layer.channels
    frame_rate = hop_rate
    for layer in config.context_layers:
        total += 3 * 2 * frame_rate * layer.channels * channels * layer.kernel
        channels = layer.channels
    steps, candidates = config.prediction_steps, 1 + config.num_negatives + config.cross_sample_negatives
    total += 3 * 2 * frame_rate * steps * channels * channels  # the K step projections
    total += 3 * 2 * frame_rate * steps * candidates * channels  # the scores
    return total


def check_same_loss(model: Wav2Vec, device: torch.device) -> float:
    """The three scorings on the same audio and negatives, in float32 without TF32: the same computation."""
    wav = torch.randn(2, model.samples_for_frames(40), device=device)
    frames = model.num_frames(wav.shape[1])
    config = model.config
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        z, c = model(wav)
        losses = {
            name: float(contrastive_bce(scorer(model, z, c, torch.Generator(device=device).manual_seed(0))).loss)
            for name, scorer in (("reference", Wav2Vec.contrastive_scores), ("naive", naive_scores))
        }
        negatives = sample_negatives(
            2, frames, config.num_negatives, config.cross_sample_negatives, torch.Generator(device=device).manual_seed(0), device
        )
        losses["time_major"] = float(time_major_loss(model, wav, negatives, "bce").loss)
    if max(losses.values()) - min(losses.values()) > 1e-4 * abs(losses["reference"]):
        raise AssertionError(f"the scorings disagree: {losses}")
    return losses["reference"]


def training_step(model: Wav2Vec, variant: str, wav: torch.Tensor, precision: str) -> Callable[[], torch.Tensor]:
    """One whole pretraining update of `variant` ("time_major:compiled", ...) on fixed crops; returns the loss."""
    path, mode = variant.split(":")
    compiled = mode == "compiled"
    device = wav.device
    config = model.config
    frames = model.num_frames(wav.shape[1])
    parameters = list(model.parameters())
    # As training builds it (tasks/optim.py): fused on CUDA for the time-major path; the reference's was foreach.
    fused = path == "time_major" and device.type == "cuda"
    optimizer = torch.optim.AdamW(parameters, lr=1e-4, weight_decay=0.0, fused=fused or None)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    if path == "time_major":
        loss_of = compiled_time_major_loss(model, "bce") if compiled else (lambda w, n: time_major_loss(model, w, n, "bce"))

        def loss_fn() -> torch.Tensor:
            negatives = sample_negatives(wav.shape[0], frames, config.num_negatives, config.cross_sample_negatives, None, device)
            return loss_of(wav, negatives).loss
    else:
        forward = torch.compile(model.forward) if compiled else model.forward
        scorer = naive_scores if path == "naive" else Wav2Vec.contrastive_scores

        def loss_fn() -> torch.Tensor:
            z, c = forward(wav)
            return contrastive_bce(scorer(model, z, c, None)).loss

    def step() -> torch.Tensor:
        with autocast:
            loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, CLIP_NORM)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def bench_pretrain(
    model_name: str, variant: str, precision: str, crops: int, crop_samples: int, steps: int, warmup: int, device: torch.device,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """Timed training steps of one variant; with `profile_to`, then 3 more under the profiler (profile_table)."""
    model = make_model(model_name, device)
    samples = model.tiled_samples(crop_samples)
    step = training_step(model, variant, torch.randn(crops, samples, device=device), precision)
    started = time.perf_counter()
    step()
    _sync(device)
    first_step_s = time.perf_counter() - started
    for _ in range(warmup - 1):
        step()
    _sync(device)
    _reset_peak(device)
    started = time.perf_counter()
    for _ in range(steps):  # back to back: the host queues the next step while the device works
        loss = step()
    _sync(device)
    elapsed = time.perf_counter() - started
    audio_s_per_s = crops * samples / SAMPLE_RATE_HZ * steps / elapsed
    if profile_to is not None:
        profile_to.write_text(profile_table(step, 3, device, f"{model_name} {variant}, {precision}, {crops} crops"))
    return {
        "benchmark": "wav2vec_pretrain",
        "model": model_name,
        "variant": variant,
        "precision": precision,
        "batch_crops": crops,
        "crop_samples": samples,
        "steps": steps,
        "audio_s_per_s": audio_s_per_s,
        "step_s": elapsed / steps,
        "first_step_s": first_step_s,
        "peak_memory_gib": _peak_memory_gib(device),
        "tflop_per_s": training_flops_per_audio_s(model) * audio_s_per_s / 1e12,
        "final_loss": float(loss),
    }


def bench_featurize(
    model_name: str, implementation: str, precision: str, batch: int, utterance_s: float, utterances: int, device: torch.device
) -> dict[str, Any]:
    featurizer = Wav2VecFeaturizer(
        make_model(model_name, torch.device("cpu")), "c", normalize=True, device=str(device), precision=precision,
        implementation=implementation,
    )
    samples = int(utterance_s * SAMPLE_RATE_HZ)
    # Slightly different lengths, as real batches have (the cache hands them over sorted by length).
    waveforms = [torch.randn(samples - 37 * i) for i in reversed(range(utterances))]
    featurizer.featurize_batch(waveforms[:batch])  # warm-up
    _sync(device)
    _reset_peak(device)
    started = time.perf_counter()
    for start in range(0, utterances, batch):
        featurizer.featurize_batch(waveforms[start : start + batch])
    _sync(device)
    elapsed = time.perf_counter() - started
    audio_s = sum(len(w) for w in waveforms) / SAMPLE_RATE_HZ
    return {
        "benchmark": "wav2vec_featurize",
        "model": model_name,
        "variant": implementation,
        "precision": precision,
        "batch_utterances": batch,
        "utterance_s": utterance_s,
        "audio_s_per_s": audio_s / elapsed,
        "real_time_factor": elapsed / audio_s,
        "peak_memory_gib": _peak_memory_gib(device),
    }


# Kinds of kernel, by what their names contain (first match wins), for the profile's share table.
KERNEL_KINDS = (
    ("norm (Triton kernels)", ("_stats_kernel", "_apply_kernel", "_backward_sums_kernel", "_backward_input_kernel")),
    ("layout transposes", ("nchwtonhwc", "nhwctonchw", "transpose")),
    ("convolution (cuDNN, oneDNN)", ("conv", "fprop", "dgrad", "wgrad", "implicit")),
    ("GEMM", ("gemm", "nvjet", "cutlass", "xmma", "addmm", "matmul", "bmm", "aten::mm")),
    ("fused by Inductor", ("triton_",)),
    ("norm statistics (native)", ("moments", "group_norm", "var_mean", "welford")),
    ("optimizer", ("adam", "multi_tensor", "foreach")),
    ("gather / index", ("index", "gather", "scatter", "embedding")),
    ("copies, casts, pads", ("copy", "cat", "pad", "to_copy", "clone", "fill")),
    ("reductions", ("reduce", "sum", "norm")),
    ("elementwise", ("elementwise", "add", "mul", "relu", "softplus", "where", "log")),
)


def kernel_kind(name: str) -> str:
    lowered = name.lower()
    for kind, needles in KERNEL_KINDS:
        if any(needle in lowered for needle in needles):
            return kind
    return "other"


def share_table(times_us: dict[str, float], total_label: str) -> str:
    """Markdown: the share of `times_us` (name -> self time) by kind of kernel."""
    by_kind: dict[str, float] = {}
    for name, us in times_us.items():
        by_kind[kernel_kind(name)] = by_kind.get(kernel_kind(name), 0.0) + us
    total = sum(by_kind.values()) or 1.0
    lines = [f"| share of {total_label} | ms | kind |", "|---:|---:|---|"]
    for kind, us in sorted(by_kind.items(), key=lambda item: -item[1]):
        lines.append(f"| {100 * us / total:.1f} % | {us / 1e3:.2f} | {kind} |")
    return "\n".join(lines)


def profile_table(step: Callable[[], torch.Tensor], steps: int, device: torch.device, label: str) -> str:
    """Where `steps` training steps' time goes (after warm-up): torch.profiler's operator table and the share by
    kind of kernel."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    _sync(device)
    with torch.profiler.profile(activities=activities) as profiler:
        for _ in range(steps):
            step()
        _sync(device)
    averages = profiler.key_averages()
    on_device = device.type == "cuda"
    sort_by = "self_device_time_total" if on_device else "self_cpu_time_total"
    if on_device:  # the kernels themselves: device events
        times: dict[str, float] = {}
        for event in profiler.events():
            if event.device_type == torch.autograd.DeviceType.CUDA:
                times[event.name] = times.get(event.name, 0.0) + event.device_time_total
    else:  # operators without children of their own, by self time
        times = {avg.key: avg.self_cpu_time_total for avg in averages if avg.key.startswith("aten::")}
    label = f"{'device' if on_device else 'CPU'} time, {steps} steps of {label}"
    return averages.table(sort_by=sort_by, row_limit=30, max_name_column_width=70) + "\n" + share_table(times, label) + "\n"


def timed(fn: Callable[[], Any], device: torch.device, repeats: int = 10) -> float:
    """Seconds per call of fn, after two warm-up calls, back to back."""
    for _ in range(2):
        fn()
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - started) / repeats


def _reference_conv(x_bct: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, left_pad: int) -> torch.Tensor:
    """As nn.Conv1d runs in the reference modules, on (B, C, T), the context's replication padding included."""
    return F.conv1d(F.pad(x_bct, (left_pad, 0), mode="replicate") if left_pad else x_bct, weight, bias, stride=stride)


def _channels_last_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, left_pad: int) -> torch.Tensor:
    if left_pad:
        x = torch.cat([x[:, :1].expand(-1, left_pad, -1), x], dim=1)
    return conv_channels_last(x, weight, stride, bias)


def _time_major_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, left_pad: int) -> torch.Tensor:
    if left_pad:
        return causal_conv(x, weight, bias)
    return encoder_conv(x[:, :, 0] if x.shape[2] == 1 else x, weight, stride)


CONVOLUTIONS = {
    "conv1d on (batch, channel, time), as the reference": (_reference_conv, "bct"),
    "conv2d on channels-last views": (_channels_last_conv, "btc"),
    "time-major, as the model runs": (_time_major_conv, "btc"),
}


def bench_conv(crops: int, crop_samples: int, device: torch.device) -> list[dict[str, Any]]:
    """Each convolution shape of base on `crops` tiled crops, forward + input and weight gradients, three ways."""
    model = make_model("base", device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    steps, channels, shapes = model.tiled_samples(crop_samples), 1, []
    for block, layer in zip(model.feature_extractor.conv_layers, model.config.encoder_layers):
        shapes.append((f"encoder k{layer.kernel} s{layer.stride}", steps, channels, block[0].weight, None, layer.stride, 0))
        steps, channels = (steps - layer.kernel) // layer.stride + 1, layer.channels
    context = model.feature_aggregator.conv_layers[0][1]
    shapes.append(("context k3 (x9)", steps, channels, context.weight, context.bias, 1, context.kernel_size[0] - 1))
    rows = []
    for label, length, in_channels, weight, bias, stride, left_pad in shapes:
        weight = weight.detach().to(dtype).requires_grad_()
        bias = None if bias is None else bias.detach().to(dtype)
        x_btc = torch.randn(crops, length, in_channels, device=device, dtype=dtype, requires_grad=in_channels > 1)
        inputs = {"btc": x_btc, "bct": x_btc.detach().transpose(1, 2).contiguous().requires_grad_(in_channels > 1)}
        out_steps = (length + left_pad - weight.shape[2]) // stride + 1
        flops = 2 * crops * out_steps * weight.shape[0] * in_channels * weight.shape[2] * (3 if in_channels > 1 else 2)
        for impl, (conv, layout) in CONVOLUTIONS.items():
            x = inputs[layout]
            run = functools.partial(conv, x, weight, bias, stride, left_pad)
            upstream = torch.randn_like(run())
            wrt = [weight, x] if in_channels > 1 else [weight]
            seconds = timed(lambda run=run, wrt=wrt, upstream=upstream: torch.autograd.grad(run(), wrt, upstream), device)
            rows.append({"benchmark": "wav2vec_conv", "layer": label, "variant": impl, "batch_crops": crops,
                         "ms_forward_backward": seconds * 1e3, "tflop_per_s": flops / seconds / 1e12})
    return rows


def bench_norm(crops: int, crop_samples: int, device: torch.device) -> list[dict[str, Any]]:
    """The one-group norm + ReLU on the first layer's output, forward and backward, four ways."""
    model = make_model("base", device)
    norm = model.feature_extractor.conv_layers[0][2]
    frames = (model.tiled_samples(crop_samples) - 10) // 5 + 1
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    channels = norm.num_channels
    y_btc = torch.randn(crops, frames, channels, device=device, dtype=dtype, requires_grad=True)
    y_bct = torch.randn(crops, channels, frames, device=device, dtype=dtype, requires_grad=True)
    variants = {
        "reference (batch, channel, time): var_mean norm, then ReLU": (
            lambda: torch.relu(split_utterance_norm(y_bct, norm.weight, norm.bias, norm.eps)), y_bct),
        "time-major, torch operations": (lambda: utterance_norm_relu(y_btc, norm, backend="torch"), y_btc),
        "time-major, torch operations compiled": (
            torch.compile(lambda: utterance_norm_relu(y_btc, norm, backend="torch")), y_btc),
    }
    if device.type == "cuda":
        variants["time-major, Triton kernels (what the model runs)"] = (lambda: utterance_norm_relu(y_btc, norm), y_btc)
    rows = []
    for label, (fn, y) in variants.items():
        upstream = torch.randn_like(fn())
        seconds = timed(lambda fn=fn, y=y, upstream=upstream: torch.autograd.grad(fn(), [y, norm.weight, norm.bias], upstream), device)
        rows.append({"benchmark": "wav2vec_norm", "variant": label, "batch_crops": crops, "elements": y.numel(),
                     "ms_forward_backward": seconds * 1e3, "gb_per_s_at_16_bytes": 16 * y.numel() / seconds / 1e9})
    return rows


def bench_env(device: torch.device) -> dict[str, Any]:
    """The ceilings: device-to-device copy bandwidth (bytes read + written) and a square bf16 GEMM's rate."""
    size, n = (1 << 30, 8192) if device.type == "cuda" else (1 << 26, 1024)
    source = torch.empty(size, dtype=torch.uint8, device=device).random_()
    target = torch.empty_like(source)
    copy_s = timed(lambda: target.copy_(source), device)
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    gemm_s = timed(lambda: a @ b, device)
    return {"benchmark": "wav2vec_env", "copy_gb_per_s": 2 * size / copy_s / 1e9, "bf16_gemm_tflop_per_s": 2 * n**3 / gemm_s / 1e12,
            "gemm_size": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["pretrain", "featurize", "conv", "norm", "env"])
    parser.add_argument("--model", nargs="+", default=["base"], choices=sorted(MODELS))
    parser.add_argument("--precision", nargs="+", default=["bf16"], choices=["bf16", "fp32"])
    parser.add_argument("--variants", nargs="+", default=None,
                        help=f"pretrain: any of {', '.join(VARIANTS)}; featurize: time_major, reference")
    parser.add_argument("--profile-to", type=Path, default=None,
                        help="pretrain: profile the first model's first variant after timing it, the tables into this file")
    parser.add_argument("--batch-crops", nargs="+", type=int, default=[80])
    parser.add_argument("--crop-samples", type=int, default=150_000)
    parser.add_argument("--batch-utterances", nargs="+", type=int, default=[32, 128])
    parser.add_argument("--utterance-s", type=float, default=15.0)
    parser.add_argument("--utterances", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave torch's default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    context = {**provenance(), "device": str(device), "torch_threads": torch.get_num_threads()}

    def emit(row: dict[str, Any]) -> None:
        print(json.dumps({**row, **context}), flush=True)

    if args.mode == "env":
        emit(bench_env(device))
        return
    if args.mode in ("conv", "norm"):
        for row in (bench_conv if args.mode == "conv" else bench_norm)(args.batch_crops[0], args.crop_samples, device):
            emit(row)
        return
    for model_name in args.model:
        if args.mode == "pretrain":
            check_same_loss(make_model(model_name, device), device)
        for precision in args.precision:
            if args.mode == "pretrain":
                settings = [(crops, variant) for crops in args.batch_crops for variant in (args.variants or VARIANTS)]
                profiled = settings[0] if model_name == args.model[0] and precision == args.precision[0] else None
                runs = [
                    ({"variant": variant, "batch_crops": crops},
                     lambda v=variant, n=crops, p=args.profile_to if (crops, variant) == profiled else None: bench_pretrain(
                         model_name, v, precision, n, args.crop_samples, args.steps, args.warmup, device, p))
                    for crops, variant in settings
                ]
            else:
                runs = [
                    ({"variant": variant, "batch_utterances": batch},
                     lambda v=variant, n=batch: bench_featurize(model_name, v, precision, n, args.utterance_s, args.utterances, device))
                    for batch in args.batch_utterances
                    for variant in (args.variants or ["time_major", "reference"])
                ]
            for setting, run in runs:
                try:
                    result = run()
                except torch.OutOfMemoryError:
                    result = {"benchmark": f"wav2vec_{args.mode}", "model": model_name, "precision": precision, **setting,
                              "error": "out of memory"}
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                emit(result)


if __name__ == "__main__":
    main()

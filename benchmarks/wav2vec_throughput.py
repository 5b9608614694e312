"""wav2vec pretraining and featurization throughput, in audio-seconds per second, with peak memory.

    python benchmarks/wav2vec_throughput.py pretrain --model base large --precision bf16 fp32 --batch-crops 4 8 10
    python benchmarks/wav2vec_throughput.py featurize --model base --batch-utterances 1 8 32
    python benchmarks/wav2vec_throughput.py profile --model base --batch-crops 10   # operator table

`pretrain` times full training steps (forward, the contrastive loss, backward, Adam) on
random 150k-sample crops, for our scoring and, with `--scoring naive`, for the
reference implementation's scheme (all candidates stacked as (1+N, B, C, F) and
multiplied with each step's predictions, as fairseq does) so that speed and memory are
compared side by side in one run; the two are checked to give the same loss on the
same negatives first. `featurize` times `Wav2VecFeaturizer` on random 15 s utterances.
Each result is one JSON line with the hardware, package versions and git commit.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch

from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.features.wav2vec import Wav2VecFeaturizer
from asr_bench.models.wav2vec import StepScores, Wav2Vec, Wav2VecConfig, sample_negatives
from asr_bench.provenance import provenance
from asr_bench.tasks.pretrain import contrastive_bce

MODELS: dict[str, Callable[[], Wav2VecConfig]] = {
    "base": Wav2VecConfig.base,
    "large": Wav2VecConfig.large,
    "cpu": lambda: Wav2VecConfig.small(channels=64, context_layers=4),
}

Scorer = Callable[[Wav2Vec, torch.Tensor, torch.Tensor, torch.Generator | None], StepScores]


def our_scores(model: Wav2Vec, z: torch.Tensor, c: torch.Tensor, generator: torch.Generator | None) -> StepScores:
    return model.contrastive_scores(z, c, generator)


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


def check_same_loss(model: Wav2Vec, device: torch.device) -> float:
    """Both scorers on the same audio and negatives: the baseline must be the same computation."""
    wav = torch.randn(2, 32_000, device=device)
    with torch.no_grad():
        z, c = model(wav)
        losses = [
            float(contrastive_bce(scorer(model, z, c, torch.Generator(device=device).manual_seed(0))).loss)
            for scorer in (our_scores, naive_scores)
        ]
    if abs(losses[0] - losses[1]) > 1e-3 * abs(losses[1]):
        raise AssertionError(f"scorers disagree: ours {losses[0]} vs naive {losses[1]}")
    return losses[0]


def training_step(
    model_name: str, precision: str, crops: int, crop_samples: int, scoring: str, device: torch.device, compiled: bool
) -> Callable[[], float]:
    """One whole pretraining update (forward, loss, backward, Adam) on fixed random crops; returns the loss.

    `compiled`: the encoder and context network through torch.compile (the scoring stays eager).
    """
    torch.manual_seed(0)
    model = Wav2Vec(MODELS[model_name]()).to(device)
    forward = torch.compile(model) if compiled else model
    scorer = our_scores if scoring == "ours" else naive_scores
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    wav = torch.randn(crops, crop_samples, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step() -> float:
        with autocast:
            z, c = forward(wav)
            loss = contrastive_bce(scorer(model, z, c, None)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    return step


def bench_pretrain(
    model_name: str, precision: str, crops: int, crop_samples: int, scoring: str, steps: int, warmup: int,
    device: torch.device, compiled: bool = False,
) -> dict:
    step = training_step(model_name, precision, crops, crop_samples, scoring, device, compiled)
    for _ in range(warmup):
        step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    for _ in range(steps):
        loss = step()
    _sync(device)
    elapsed = time.perf_counter() - started
    audio_s = crops * crop_samples / SAMPLE_RATE_HZ * steps
    return {
        "benchmark": "wav2vec_pretrain",
        "model": model_name,
        "precision": precision,
        "scoring": scoring,
        "compiled": compiled,
        "batch_crops": crops,
        "crop_samples": crop_samples,
        "steps": steps,
        "audio_s_per_s": audio_s / elapsed,
        "step_s": elapsed / steps,
        "peak_memory_gib": _peak_memory_gib(device),
        "final_loss": loss,
    }


def profile_pretrain(
    model_name: str, precision: str, crops: int, crop_samples: int, scoring: str, steps: int, warmup: int, device: torch.device
) -> str:
    """Where a training step's time goes: torch.profiler's operator table, by self time on the device."""
    step = training_step(model_name, precision, crops, crop_samples, scoring, device, compiled=False)
    for _ in range(warmup):
        step()
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profiler:
        for _ in range(steps):
            step()
        _sync(device)
    sort_by = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return profiler.key_averages().table(sort_by=sort_by, row_limit=30, max_name_column_width=70)


def bench_featurize(
    model_name: str, precision: str, batch: int, utterance_s: float, utterances: int, device: torch.device
) -> dict:
    torch.manual_seed(0)
    model = Wav2Vec(MODELS[model_name]())
    featurizer = Wav2VecFeaturizer(model, "c", normalize=True, device=str(device), precision=precision)
    samples = int(utterance_s * SAMPLE_RATE_HZ)
    # Slightly different lengths, as real batches have.
    waveforms = [torch.randn(samples - 37 * i) for i in range(utterances)]
    featurizer.featurize_batch(waveforms[:batch])  # warm-up
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    for start in range(0, utterances, batch):
        featurizer.featurize_batch(waveforms[start : start + batch])
    _sync(device)
    elapsed = time.perf_counter() - started
    audio_s = sum(len(w) for w in waveforms) / SAMPLE_RATE_HZ
    return {
        "benchmark": "wav2vec_featurize",
        "model": model_name,
        "precision": precision,
        "batch_utterances": batch,
        "utterance_s": utterance_s,
        "audio_s_per_s": audio_s / elapsed,
        "real_time_factor": elapsed / audio_s,
        "peak_memory_gib": _peak_memory_gib(device),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["pretrain", "featurize", "profile"])
    parser.add_argument("--model", nargs="+", default=["base"], choices=sorted(MODELS))
    parser.add_argument("--precision", nargs="+", default=["bf16"], choices=["bf16", "fp32"])
    parser.add_argument("--batch-crops", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--crop-samples", type=int, default=150_000)
    parser.add_argument("--scoring", nargs="+", default=["ours"], choices=["ours", "naive"])
    parser.add_argument("--batch-utterances", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--utterance-s", type=float, default=15.0)
    parser.add_argument("--utterances", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave torch's default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--cudnn-benchmark", action="store_true", help="let cuDNN time its convolution algorithms per shape"
    )
    parser.add_argument("--compile", action="store_true", help="pretrain: torch.compile the encoder and context")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    device = torch.device(args.device)
    if args.mode == "profile":  # the first model, precision, batch and scoring given
        print(profile_pretrain(args.model[0], args.precision[0], args.batch_crops[0], args.crop_samples,
                               args.scoring[0], min(args.steps, 5), args.warmup, device))
        return
    context = {**provenance(), "cudnn_benchmark": args.cudnn_benchmark}
    for model_name in args.model:
        if args.mode == "pretrain":
            check_same_loss(Wav2Vec(MODELS[model_name]()).to(device), device)
        for precision in args.precision:
            if args.mode == "pretrain":
                runs = [
                    (
                        {"batch_crops": crops, "scoring": scoring},
                        lambda crops=crops, scoring=scoring: bench_pretrain(
                            model_name, precision, crops, args.crop_samples, scoring, args.steps, args.warmup, device,
                            args.compile,
                        ),
                    )
                    for crops in args.batch_crops
                    for scoring in args.scoring
                ]
            else:
                runs = [
                    (
                        {"batch_utterances": batch},
                        lambda batch=batch: bench_featurize(
                            model_name, precision, batch, args.utterance_s, args.utterances, device
                        ),
                    )
                    for batch in args.batch_utterances
                ]
            for setting, run in runs:
                try:
                    result = run()
                except torch.OutOfMemoryError:
                    result = {"benchmark": f"wav2vec_{args.mode}", "model": model_name, "precision": precision,
                              **setting, "error": "out of memory"}
                    torch.cuda.empty_cache()
                print(json.dumps({**result, "device": str(device), "torch_threads": torch.get_num_threads(), **context}), flush=True)


if __name__ == "__main__":
    main()

"""wav2vec pretraining: the loss against the paper's formula, the crop batches, and learning on real audio."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import statistics
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from asr_bench.config import dump_config, load_config
from asr_bench.data.audio import load_audio
from asr_bench.data.manifest import read_manifest, write_manifest
from asr_bench.errors import ConfigError
from asr_bench.features.wav2vec import Wav2VecFeaturizer
from asr_bench.models.checkpoint import load_wav2vec
from asr_bench.models.fairseq_checkpoint import save_fairseq_wav2vec
from asr_bench.features.waveform import normalize_waveform, waveform_store
from asr_bench.models.wav2vec import StepScores, Wav2Vec
from asr_bench.tasks.batching import BucketBatchSampler
from asr_bench.tasks import pretrain as pretrain_task
from asr_bench.tasks.pretrain import PretrainConfig, pretrain
from asr_bench.tasks.pretrain_loss import contrastive_bce, contrastive_infonce
from asr_bench.tasks.pretrain_data import CropBatchSampler, CropDataset, CropIndices, WaveformsOnDevice
from asr_bench.tasks.trainer import run_callbacks
from corpus_fixtures import shortest_ci_utterances


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


def test_loss_equals_the_papers_formula() -> None:
    generator = torch.Generator().manual_seed(0)
    steps, batch, frames, negatives = 3, 2, 5, 4
    positive = torch.randn(steps, batch, frames, generator=generator) * 3
    negative = torch.randn(steps, batch, frames, negatives, generator=generator) * 3
    # Step k can only predict positions whose target lies inside the crop: the last k positions are invalid.
    valid = torch.tensor([[i < frames - k for i in range(frames)] for k in range(1, steps + 1)])
    result = contrastive_bce(StepScores(positive, negative, valid))

    total, count, wins, spreads = 0.0, 0, 0, []
    for k in range(steps):
        for b in range(batch):
            for i in range(frames):
                if not valid[k, i]:
                    continue
                pos = float(positive[k, b, i])
                negs = [float(v) for v in negative[k, b, i]]
                # lambda * E[log sigmoid(-z~ h)] with lambda = N is the sum over the N negatives.
                total -= log_sigmoid(pos) + sum(log_sigmoid(-n) for n in negs)
                count += 1
                wins += all(pos > n for n in negs)
                spreads.append(statistics.stdev([pos, *negs]))
    assert result.num_positives == count == batch * (4 + 3 + 2)
    assert float(result.loss) == pytest.approx(total / count, rel=1e-5)
    assert float(result.accuracy) == pytest.approx(wins / count)
    assert float(result.logit_spread) == pytest.approx(statistics.fmean(spreads), rel=1e-5)
    # The binary loss's trivial solution: every candidate scored alike, probability 1 / (N + 1) each.
    n = negative.shape[-1]
    alike = contrastive_bce(StepScores(torch.full_like(positive, -math.log(n)), torch.full_like(negative, -math.log(n)), valid))
    assert float(alike.logit_spread) == 0.0
    assert float(alike.loss) == pytest.approx(math.log(n + 1) + n * math.log((n + 1) / n), rel=1e-6)


def test_infonce_option_is_the_softmax_cross_entropy_of_the_positive() -> None:
    positive = torch.tensor([[[2.0, 0.5]]])  # (K=1, B=1, F=2)
    negative = torch.tensor([[[[1.0, -1.0], [3.0, 0.0]]]])  # (1, 1, 2, N=2)
    valid = torch.tensor([[True, True]])
    result = contrastive_infonce(StepScores(positive, negative, valid))
    by_hand = [-(2.0 - math.log(math.exp(2.0) + math.exp(1.0) + math.exp(-1.0))),
               -(0.5 - math.log(math.exp(0.5) + math.exp(3.0) + math.exp(0.0)))]
    assert float(result.loss) == pytest.approx(sum(by_hand) / 2, rel=1e-6)
    assert float(result.accuracy) == 0.5
    # Shifting every logit alike changes the binary loss but not the softmax one: no reward for collapse.
    shifted = contrastive_infonce(StepScores(positive - 5, negative - 5, valid))
    assert float(shifted.loss) == pytest.approx(float(result.loss), rel=1e-6)
    assert float(contrastive_bce(StepScores(positive - 5, negative - 5, valid)).loss) != pytest.approx(
        float(contrastive_bce(StepScores(positive, negative, valid)).loss)
    )


def test_loss_rewards_separating_positive_from_negatives() -> None:
    valid = torch.ones(1, 4, dtype=torch.bool)
    good = contrastive_bce(StepScores(torch.full((1, 1, 4), 8.0), torch.full((1, 1, 4, 10), -8.0), valid))
    bad = contrastive_bce(StepScores(torch.full((1, 1, 4), -8.0), torch.full((1, 1, 4, 10), 8.0), valid))
    assert float(good.loss) < 0.01 and float(good.accuracy) == 1.0
    assert float(bad.loss) > 80 and float(bad.accuracy) == 0.0


@pytest.fixture
def ci_manifest(tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> Path:
    return write_manifest(tmp_path / "ci.jsonl", shortest_ci_utterances(ci_librispeech_rows, shared_data, 24))


def test_crops_share_the_batchs_shortest_length_and_move_between_epochs(tmp_path: Path, ci_manifest: Path) -> None:
    utterances = read_manifest(ci_manifest)
    store = waveform_store(utterances, tmp_path / "wav", progress=False)
    first = store[utterances[0].id][:, 0]
    assert abs(float(first.mean())) < 1e-2 and float(first.std()) == pytest.approx(1.0, abs=1e-2)
    dataset = CropDataset(utterances, store, crop_samples=24_000, min_samples=16_000)
    lengths = [dataset.cropped_length(i) for i in range(len(dataset))]
    sampler = CropBatchSampler(BucketBatchSampler(lengths, 100_000, shuffle=True, seed=3), seed=3)
    requests = list(sampler)
    seen = sorted(i for _, indices in requests for i in indices)
    assert seen == list(range(len(dataset)))
    for request in requests:
        crops = dataset[request]
        assert crops.shape == (len(request[1]), min(lengths[i] for i in request[1]))
        assert crops.shape[0] * crops.shape[1] <= 100_000
    # A crop is a contiguous slice of the normalised utterance.
    seed, indices = requests[0]
    crop = dataset[(seed, indices)][0]
    whole = store[dataset.utterances[indices[0]].id][:, 0]
    starts = [s for s in range(len(whole) - len(crop) + 1) if torch.equal(whole[s : s + len(crop)], crop)]
    assert starts
    sampler.set_epoch(1)
    assert [r[0] for r in sampler] != [r[0] for r in requests]  # new crop offsets every epoch
    torch.testing.assert_close(normalize_waveform(whole * 7 + 1), normalize_waveform(whole), atol=1e-4, rtol=1e-4)


def test_tiled_crops_gathered_on_the_device_equal_the_host_crops(tmp_path: Path, ci_manifest: Path) -> None:
    """The time-major path's crops: exactly tiled lengths, read on the host or gathered from a copy of the cache."""
    utterances = read_manifest(ci_manifest)
    store = waveform_store(utterances, tmp_path / "wav", progress=False)
    model = Wav2Vec()
    dataset = CropDataset(utterances, store, crop_samples=24_000, min_samples=16_000, tile=model.tiled_samples)
    lengths = [dataset.cropped_length(i) for i in range(len(dataset))]
    assert all(length == model.samples_for_frames(model.num_frames(length)) for length in lengths)
    assert max(lengths) == model.tiled_samples(24_000)
    on_device = WaveformsOnDevice(store, torch.device("cpu"))
    assert not WaveformsOnDevice.fits(store, torch.device("cpu"))  # kept on the device only on a GPU
    sampler = CropBatchSampler(BucketBatchSampler(lengths, 100_000, shuffle=True, seed=3), seed=3)
    for request in list(sampler)[:4]:
        index = CropIndices(dataset, "train")[request]
        assert index.length == dataset[request].shape[1]
        assert torch.equal(on_device.gather(index.rows, index.length), dataset[request])


def test_waveforms_decoded_in_threads_equal_one_thread(tmp_path: Path, ci_manifest: Path) -> None:
    utterances = read_manifest(ci_manifest)[:8]
    one = waveform_store(utterances, tmp_path / "one", progress=False, workers=1)
    three = waveform_store(utterances, tmp_path / "three", progress=False, workers=3)
    for utt in utterances:
        assert torch.equal(one[utt.id], three[utt.id])
        assert len(one[utt.id]) == round(utt.duration * 16000)


@pytest.mark.parametrize(
    ("precision", "implementation"),
    [("32-true", "reference"), ("bf16-mixed", "reference"), ("bf16-mixed", "time_major")],  # "auto" picks a precision
)
def test_tiny_wav2vec_loss_falls_on_real_audio(tmp_path: Path, ci_manifest: Path, precision: str, implementation: str) -> None:
    config = load_config(
        PretrainConfig,
        None,
        [
            f"out_dir={tmp_path / 'run'}",
            f"data.train_manifests=[{ci_manifest}]",
            f"data.waveform_cache_dir={tmp_path / 'wav'}",
            "data.crop_samples=16000",
            "data.max_samples_per_batch=64000",
            "data.num_workers=0",
            "model.encoder_layers=[{channels: 32, kernel: 10, stride: 5}, {channels: 32, kernel: 8, stride: 4},"
            " {channels: 32, kernel: 4, stride: 2}, {channels: 32, kernel: 4, stride: 2}, {channels: 32, kernel: 4, stride: 2}]",
            "model.context_layers=[{channels: 32, kernel: 3}, {channels: 32, kernel: 3}]",
            "model.prediction_steps=6",
            "optim.lr=5e-3",
            "optim.warmup_steps=5",
            "trainer.max_steps=50",
            "trainer.log_every_n_steps=1",
            "trainer.progress_bar=false",
            f"trainer.precision={precision}",
            f"implementation={implementation}",
        ],
    )
    run_dir = pretrain(config)
    with (run_dir / "logs" / "metrics.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/loss")]
    losses = [float(r["train/loss"]) for r in rows]
    assert len(losses) == 50
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.85 * first, losses
    accuracy = [float(r["train/accuracy"]) for r in rows]
    assert sum(accuracy[-10:]) > sum(accuracy[:10])
    # The collapse diagnostic is logged at every step; z of a model that learns varies over time.
    assert all(float(r["train/z_time_std"]) > 0 for r in rows)
    throughput = [float(r["train/audio_s_per_s"]) for r in rows if r.get("train/audio_s_per_s")]
    assert throughput and min(throughput) > 0
    summary = json.loads((run_dir / "train_summary.json").read_text())
    assert (summary["precision"], summary["implementation"]) == (precision, implementation)

    # The checkpoint feeds featurization directly, with the pretraining's input normalisation.
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    loaded = load_wav2vec(checkpoint)
    assert loaded.source == "asr-bench" and loaded.normalize
    assert loaded.model.config == config.model
    utt = read_manifest(ci_manifest)[0]
    wav = load_audio(utt.audio)
    features = Wav2VecFeaturizer.from_checkpoint(checkpoint, "c", precision="fp32")(wav)
    with torch.no_grad():
        expected = loaded.model.features(normalize_waveform(wav).unsqueeze(0), "c")[0]
    torch.testing.assert_close(features, expected, atol=2e-4, rtol=1e-4)

    # Rerunning the finished run leaves it as it is; a longer schedule is another run, and refused.
    summary = (run_dir / "train_summary.json").read_text()
    assert json.loads(summary)["finished"] is True
    assert pretrain(config) == run_dir
    assert (run_dir / "train_summary.json").read_text() == summary
    with pytest.raises(ConfigError, match="trainer.max_steps: 50 -> 53"):
        pretrain(dataclasses.replace(config, trainer=dataclasses.replace(config.trainer, max_steps=53)))


def test_a_run_directory_of_another_kind_is_refused(tmp_path: Path, ci_manifest: Path) -> None:
    from asr_bench.tasks.train_ctc import TrainConfig, train

    (tmp_path / "run").mkdir()
    dump_config(load_config(PretrainConfig, None, [f"out_dir={tmp_path / 'run'}"]), tmp_path / "run" / "config.yaml")
    config = load_config(TrainConfig, None, [f"out_dir={tmp_path / 'run'}", f"data.train_manifest={ci_manifest}"])
    with pytest.raises(ConfigError, match="different kind of run"):
        train(config)


def test_a_run_from_before_a_key_was_added_resumes(tmp_path: Path) -> None:
    """A config.yaml written before `compile` existed is the same kind of run: the key takes its default."""
    import yaml

    from asr_bench.tasks.trainer import start_run

    config = load_config(PretrainConfig, None, [f"out_dir={tmp_path / 'run'}"])
    (tmp_path / "run").mkdir()
    dump_config(config, tmp_path / "run" / "config.yaml")
    older = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    del older["compile"]
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(older))
    assert start_run(config, tmp_path / "run", seed=0).finished is False


def tiny_config(tmp_path: Path, ci_manifest: Path, *overrides: str) -> PretrainConfig:
    """An 8-channel model on 1 s crops: seconds per run, for tests of the run's bookkeeping."""
    return load_config(
        PretrainConfig,
        None,
        [
            f"out_dir={tmp_path / 'run'}",
            f"data.train_manifests=[{ci_manifest}]",
            f"data.valid_manifests=[{ci_manifest}]",
            f"data.waveform_cache_dir={tmp_path / 'wav'}",
            "data.crop_samples=16000",
            "data.max_samples_per_batch=128000",
            "data.num_workers=0",
            "model.encoder_layers=[{channels: 8, kernel: 10, stride: 5}, {channels: 8, kernel: 8, stride: 4},"
            " {channels: 8, kernel: 4, stride: 2}, {channels: 8, kernel: 4, stride: 2}, {channels: 8, kernel: 4, stride: 2}]",
            "model.context_layers=[{channels: 8, kernel: 3}]",
            "model.prediction_steps=4",
            "trainer.progress_bar=false",
            *overrides,
        ],
    )


def test_last_checkpoint_is_the_latest_even_when_the_metric_stops_improving(tmp_path: Path, ci_manifest: Path) -> None:
    # lr 0 and fixed validation negatives: the validation loss is identical every epoch, so "best" never
    # improves after the first; last.ckpt must still follow the run (Lightning's save_last alone would not).
    run_dir = pretrain(tiny_config(tmp_path, ci_manifest, "optim.lr=0.0", "trainer.max_epochs=3", "trainer.max_steps=-1"))
    best = torch.load(run_dir / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=False)
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert best["epoch"] == 0
    assert last["epoch"] == 3 and last["global_step"] > best["global_step"]  # written after the third epoch


class _StopAt(pl.Callback):
    """Ends the fit after `step` updates, between validations, the way trainer.max_time does."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, *args: object) -> None:
        if trainer.global_step >= self.step:
            trainer.should_stop = True


def test_last_checkpoint_holds_the_final_step_between_validations(
    tmp_path: Path, ci_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation every 5 updates, stop at 7: the checkpoint callbacks last ran at 5, last.ckpt must still be at 7.

    The resumed run logs no training row of its own before validating (every 10 steps by default): the first
    run's curve must survive it.
    """
    overrides = ["trainer.max_epochs=-1", "trainer.val_check_interval=5", "trainer.check_val_every_n_epoch=null"]
    config = tiny_config(tmp_path, ci_manifest, *overrides, "trainer.max_steps=9")
    with monkeypatch.context() as patch:  # the first sitting ends at 7, as trainer.max_time ends one
        patch.setattr(pretrain_task, "run_callbacks", lambda *args: [*run_callbacks(*args), _StopAt(7)])
        run_dir = pretrain(config)
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["global_step"] == 7
    assert json.loads((run_dir / "train_summary.json").read_text())["finished"] is False
    with (run_dir / "logs" / "metrics.csv").open() as handle:
        first_run = list(csv.DictReader(handle))
    assert first_run
    pretrain(config)  # resumes from 7, not 5
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["global_step"] == 9
    with (run_dir / "logs" / "metrics.csv").open() as handle:
        assert list(csv.DictReader(handle)) == first_run


def test_exported_weights_featurize_like_the_checkpoint(tmp_path: Path, ci_manifest: Path, capsys) -> None:
    from asr_bench.cli import main

    run_dir = pretrain(tiny_config(tmp_path, ci_manifest, "trainer.max_epochs=1", "trainer.max_steps=3"))
    last = run_dir / "checkpoints" / "last.ckpt"
    for dtype in ("fp32", "bf16"):
        assert main(["export", str(last), str(tmp_path / f"{dtype}.pt"), "--dtype", dtype]) == 0
    full, exact, rounded = (load_wav2vec(p) for p in (last, tmp_path / "fp32.pt", tmp_path / "bf16.pt"))
    assert exact.normalize and rounded.normalize and exact.model.config == full.model.config
    wav = normalize_waveform(load_audio(read_manifest(ci_manifest)[0].audio)).unsqueeze(0)
    with torch.no_grad():
        reference = full.model.features(wav, "c")
        torch.testing.assert_close(exact.model.features(wav, "c"), reference, rtol=0, atol=0)
        assert float((rounded.model.features(wav, "c") - reference).norm() / reference.norm()) < 0.03
    assert (tmp_path / "bf16.pt").stat().st_size < (tmp_path / "fp32.pt").stat().st_size < last.stat().st_size

    fairseq_file = tmp_path / "fairseq.pt"
    save_fairseq_wav2vec(full.model, fairseq_file)
    assert main(["export", str(fairseq_file), str(tmp_path / "x.pt")]) == 2
    assert "not a checkpoint of `asr-bench pretrain`" in capsys.readouterr().err


def test_compiled_pretraining_learns_the_same_and_saves_one_copy_of_the_weights(
    tmp_path: Path, ci_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compile=true gives the eager run's losses, and its checkpoint the eager run's keys.

    Dynamo's "aot_eager" backend stands in for Inductor: it traces forward and backward as Inductor would,
    without compiling C++ on the test machine.
    """
    compile_, compiled_functions = torch.compile, []

    def aot_eager(fn, **kwargs):
        compiled_functions.append(fn)
        return compile_(fn, backend="aot_eager", **kwargs)

    monkeypatch.setattr(torch, "compile", aot_eager)
    runs = {}
    for compiled in (False, True):
        config = tiny_config(
            tmp_path / str(compiled), ci_manifest, f"compile={str(compiled).lower()}", "trainer.max_epochs=-1",
            "trainer.max_steps=4", "trainer.log_every_n_steps=1", "trainer.precision=32-true",
        )
        run_dir = pretrain(config)
        with (run_dir / "logs" / "metrics.csv").open() as handle:
            losses = [float(r["train/loss"]) for r in csv.DictReader(handle) if r.get("train/loss")]
        state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
        runs[compiled] = losses, state
    assert len(compiled_functions) == 1 and compiled_functions[0].__name__ == "forward"
    assert len(runs[True][0]) == 4
    assert runs[True][0] == pytest.approx(runs[False][0], rel=1e-4)
    assert runs[True][1].keys() == runs[False][1].keys()


def test_time_major_summaries_are_computed_on_logged_steps_only(
    tmp_path: Path, ci_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time-major step reads nothing back from the device: its summaries wait for the steps Lightning logs."""
    import asr_bench.tasks.pretrain as task_module

    calls = []
    summary = task_module.time_major_summary

    def counted(step):
        calls.append(step.z.shape)
        return summary(step)

    monkeypatch.setattr(task_module, "time_major_summary", counted)
    config = tiny_config(
        tmp_path, ci_manifest, "implementation=time_major", "data.valid_manifests=[]", "trainer.max_epochs=-1",
        "trainer.max_steps=6", "trainer.log_every_n_steps=3", "trainer.precision=32-true",
    )
    run_dir = pretrain(config)
    assert len(calls) == 2  # steps 3 and 6
    with (run_dir / "logs" / "metrics.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/loss")]
    assert [int(r["step"]) for r in rows] == [2, 5]
    assert all(r["train/accuracy"] and r["train/z_time_std"] and r["train/logit_spread"] for r in rows)


def test_pretraining_continues_from_given_weights(tmp_path: Path, ci_manifest: Path) -> None:
    from asr_bench.cli import main
    from asr_bench.errors import ConfigError

    first = pretrain(tiny_config(tmp_path / "a", ci_manifest, "trainer.max_epochs=1", "trainer.max_steps=2"))
    weights = tmp_path / "weights.pt"
    assert main(["export", str(first / "checkpoints" / "last.ckpt"), str(weights), "--dtype", "bf16"]) == 0
    # lr 0: the continued run's weights stay the ones it started from.
    second = pretrain(tiny_config(tmp_path / "b", ci_manifest, f"init_from={weights}", "optim.lr=0.0", "trainer.max_steps=1"))
    started, ended = load_wav2vec(weights).model.state_dict(), load_wav2vec(second / "checkpoints" / "last.ckpt").model.state_dict()
    assert started.keys() == ended.keys() and all(torch.equal(started[k], ended[k]) for k in started)
    other = tiny_config(tmp_path / "c", ci_manifest, f"init_from={weights}", "model.prediction_steps=3")
    with pytest.raises(ConfigError, match="another wav2vec"):
        pretrain(other)


@pytest.mark.slow
def test_compiled_time_major_pretraining_learns_the_same(tmp_path: Path, ci_manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """compile=true on the time-major path (forward and loss as one dynamic-shape graph) gives the eager losses."""
    compile_ = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: compile_(fn, backend="aot_eager", **kwargs))
    losses = {}
    for compiled in (False, True):
        config = tiny_config(
            tmp_path / str(compiled), ci_manifest, "implementation=time_major", f"compile={str(compiled).lower()}",
            "trainer.max_epochs=-1", "trainer.max_steps=4", "trainer.log_every_n_steps=1", "trainer.precision=32-true",
        )
        with (pretrain(config) / "logs" / "metrics.csv").open() as handle:
            losses[compiled] = [float(r["train/loss"]) for r in csv.DictReader(handle) if r.get("train/loss")]
    assert len(losses[True]) == 4 and losses[True] == pytest.approx(losses[False], rel=1e-4)

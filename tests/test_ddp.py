"""Lightning DDP on two CPU processes (gloo), through the command line as users launch it.

Our batch samplers shard by rank themselves (Lightning's distributed sampler is off), the
CTC validation counts are summed over ranks, and the pretraining metrics are synced: a
mistake in any of these hangs, crashes or silently trains on the same batches twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from asr_bench.data.manifest import write_manifest
from corpus_fixtures import shortest_ci_utterances

pytestmark = pytest.mark.filterwarnings("ignore")

TINY_ENCODER = (
    "model.encoder_layers=[{channels: 16, kernel: 10, stride: 5}, {channels: 16, kernel: 8, stride: 4},"
    " {channels: 16, kernel: 4, stride: 2}, {channels: 16, kernel: 4, stride: 2}, {channels: 16, kernel: 4, stride: 2}]"
)
COMMANDS = {
    "train": [
        "model.layers=[{channels: 32, kernel: 5, stride: 2}, {channels: 32, kernel: 5}]",
        "data.max_frames_per_batch=3000",
        "trainer.max_epochs=1",
    ],
    "pretrain": [
        TINY_ENCODER,
        "model.context_layers=[{channels: 16, kernel: 3}]",
        "model.prediction_steps=4",
        "data.crop_samples=16000",
        "data.max_samples_per_batch=48000",
        "data.num_workers=0",
        "trainer.max_epochs=1",
        "trainer.max_steps=-1",
    ],
}


def run(command: str, manifest: Path, out_dir: Path, devices: int) -> dict:
    data = (
        [f"data.train_manifest={manifest}", f"data.valid_manifest={manifest}", f"features.cache_dir={out_dir.parent / 'features'}"]
        if command == "train"
        else [f"data.train_manifests=[{manifest}]", f"data.valid_manifests=[{manifest}]", f"data.waveform_cache_dir={out_dir.parent / 'wav'}"]
    )
    distributed = ["trainer.strategy=ddp", f"trainer.devices={devices}"] if devices > 1 else ["trainer.devices=1"]
    args = [sys.executable, "-m", "asr_bench.cli", command, f"out_dir={out_dir}", "trainer.accelerator=cpu",
            "trainer.progress_bar=false", "trainer.precision=32-true", *data, *COMMANDS[command], *distributed]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out_dir / "train_summary.json").read_text())


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_two_ddp_ranks_split_each_epoch_between_them(command: str, tmp_path: Path, ci_librispeech_rows, shared_data: Path) -> None:
    manifest = write_manifest(tmp_path / "ci.jsonl", shortest_ci_utterances(ci_librispeech_rows, shared_data, 24))
    single = run(command, manifest, tmp_path / "single", devices=1)
    ddp = run(command, manifest, tmp_path / "ddp", devices=2)
    assert single["steps"] >= 4
    assert ddp["steps"] in (single["steps"] // 2, (single["steps"] + 1) // 2), "each rank takes half the batches"
    assert (tmp_path / "ddp" / "checkpoints" / "last.ckpt").is_file()
    metrics = (tmp_path / "ddp" / "logs" / "metrics.csv").read_text()
    assert ("valid/cer" if command == "train" else "valid/accuracy") in metrics.splitlines()[0]

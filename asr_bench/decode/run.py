"""Decode a manifest with a trained acoustic model and score it; results accumulate in the run's results.json.

The acoustic model runs once per split; its emissions (log-probs) are saved, so
beam search and LM-weight tuning can be repeated without it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from asr_bench.data.manifest import read_manifest
from asr_bench.decode.greedy import greedy_indices
from asr_bench.features.featurize import featurize_manifest
from asr_bench.models.wav2letter import Wav2Letter
from asr_bench.report.metrics import cer, wer
from asr_bench.report.provenance import provenance
from asr_bench.tasks.ctc_data import CTCDataset, collate
from asr_bench.tasks.train_ctc import load_acoustic_model


@torch.inference_mode()
def compute_emissions(model: Wav2Letter, dataset: CTCDataset, max_frames: int = 40_000) -> dict[str, torch.Tensor]:
    """Log-probs (out_frames, num_tokens) per utterance id, batched by length for speed."""
    order = sorted(range(len(dataset)), key=dataset.num_frames)
    emissions: dict[str, torch.Tensor] = {}
    start = 0
    with tqdm(total=len(order), desc="acoustic model", unit="utt") as bar:
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * dataset.num_frames(order[end]) <= max_frames:
                end += 1
            batch = collate([dataset[i] for i in order[start:end]])
            log_probs = model(batch.features)
            lengths = model.output_lengths(batch.feature_lengths)
            for b, utt_id in enumerate(batch.ids):
                emissions[utt_id] = log_probs[b, : int(lengths[b])].float().clone()
            bar.update(end - start)
            start = end
    return emissions


def score(references: list[str], hypotheses: list[str], phones: bool) -> dict[str, float]:
    if phones:
        return {"per": wer(references, hypotheses)}
    return {"wer": wer(references, hypotheses), "cer": cer(references, hypotheses)}


def update_results(run_dir: Path, split: str, decoder: str, entry: dict[str, Any]) -> Path:
    """Merge one (split, decoder) entry into run_dir/results.json, refreshing provenance."""
    path = run_dir / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {"splits": {}}
    results["splits"].setdefault(split, {})[decoder] = entry
    config_file = run_dir / "config.yaml"
    if config_file.is_file():
        import yaml

        results["config"] = yaml.safe_load(config_file.read_text())
        results["seed"] = results["config"].get("seed")
    train_summary = run_dir / "train_summary.json"
    if train_summary.is_file():
        summary = json.loads(train_summary.read_text())
        results["train_wall_time_s"] = summary["wall_time_s"]
        results["labelled_hours"] = summary["labelled_hours"]
    results["provenance"] = provenance()
    path.write_text(json.dumps(results, indent=2))
    return path


def decode_greedy(checkpoint: str | Path, manifest: str | Path, split: str, run_dir: str | Path) -> dict[str, Any]:
    """Greedy-decode `manifest`, write hypotheses and emissions under run_dir/decode/<split>/, return metrics."""
    started = time.time()
    run_dir = Path(run_dir)
    model, tokenizer, config = load_acoustic_model(checkpoint)
    utterances = read_manifest(manifest)
    store = featurize_manifest(utterances, config.features, f"featurize {split}")
    dataset = CTCDataset(utterances, store, tokenizer)
    emissions = compute_emissions(model, dataset)
    ids = [u.id for u in utterances]
    references = [dataset.reference(u) for u in utterances]
    hypotheses = [tokenizer.decode(greedy_indices(emissions[i])) for i in ids]
    out = run_dir / "decode" / split
    out.mkdir(parents=True, exist_ok=True)
    torch.save({i: emissions[i].half() for i in ids}, out / "emissions.pt")
    write_hypotheses(out / "greedy.hyp", ids, hypotheses)
    write_hypotheses(out / "ref.txt", ids, references)
    audio_s = sum(u.duration for u in utterances)
    entry = {
        **score(references, hypotheses, config.data.tokens == "phones"),
        "num_utterances": len(ids),
        "audio_hours": audio_s / 3600,
        "checkpoint": str(checkpoint),
        "manifest": str(manifest),
        "decode_wall_time_s": time.time() - started,
    }
    update_results(run_dir, split, "greedy", entry)
    return entry


def write_hypotheses(path: Path, ids: list[str], texts: list[str]) -> None:
    path.write_text("".join(f"{i}\t{t}\n" for i, t in zip(ids, texts)))

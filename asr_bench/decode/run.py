"""Decode a manifest with a trained acoustic model and score it; results accumulate in the run's results.json.

The acoustic model runs once per split; its emissions (log-probs) are saved, so
beam search and LM-weight tuning can be repeated without it (`decode_beam`, `tune_beam`).

Each decode of a split writes, beside results.json's corpus rates, its per-utterance results to
`<run_dir>/decode/<split>/<decoder>.utt.jsonl` (decoder: greedy, beam or beam_lexicon_free), one JSON
object a line, in manifest order:

    {"id": "1088-134315-0000", "ref": "the cat sat", "hyp": "the cat",
     "wer": {"sub": 0, "del": 1, "ins": 0, "ref": 3}, "cer": {"sub": 0, "del": 4, "ins": 0, "ref": 11}}

with one object of counts per metric of the model's unit (`metrics.METRICS_BY_TOKENS`: "wer" and "cer"
for letters, "per" for phones): substitutions, deletions, insertions and reference length under that
metric's alignment. 100 * sum(sub + del + ins) / sum(ref) over the lines is the split's rate in
results.json, exactly; every statistic over utterances (bootstrap intervals, paired tests) starts here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from asr_bench.config import read_yaml
from asr_bench.data.manifest import read_manifest
from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer, Tokenizer
from asr_bench.decode.beam import BeamSearchConfig, beam_decode, build_decoder
from asr_bench.decode.lm import LanguageModelDir
from asr_bench.decode.tune import TuningResult, tune_lm_weights
from asr_bench.errors import AsrBenchError
from asr_bench.features.featurize import featurize_manifest
from asr_bench.metrics import METRICS_BY_TOKENS, error_rate, utterance_errors
from asr_bench.models.ctc_greedy import greedy_indices
from asr_bench.models.wav2letter import Wav2Letter
from asr_bench.provenance import provenance
from asr_bench.tasks.ctc_data import CTCDataset, collate
from asr_bench.tasks.train_ctc import load_acoustic_model
from asr_bench.tasks.trainer import CONFIG_FILE, read_summary


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


def score_utterances(
    ids: list[str], references: list[str], hypotheses: list[str], metrics: tuple[str, ...]
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Corpus rates per metric, and the per-utterance rows they are summed from (the .utt.jsonl lines)."""
    counts = {metric: utterance_errors(references, hypotheses, metric) for metric in metrics}
    rows = [
        {"id": utt_id, "ref": ref, "hyp": hyp, **{metric: counts[metric][n] for metric in metrics}}
        for n, (utt_id, ref, hyp) in enumerate(zip(ids, references, hypotheses, strict=True))
    ]
    return {metric: error_rate(counts[metric]) for metric in metrics}, rows


def write_utterances(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def read_utterances(path: Path) -> list[dict[str, Any]]:
    """The rows of a .utt.jsonl file (see the module docstring), in file order."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AsrBenchError(f"{path}:{number}: not a JSON line ({exc})") from None
        if not isinstance(row, dict) or not {"id", "ref", "hyp"} <= set(row):
            raise AsrBenchError(f"{path}:{number}: expected an object with id, ref and hyp")
        rows.append(row)
    return rows


def read_results(path: Path) -> dict[str, Any]:
    """A results.json, checked: a missing or corrupt file is an error naming it, never a traceback."""
    if not path.is_file():
        raise AsrBenchError(f"{path} does not exist: decode the run first (asr-bench decode --run-dir {path.parent} ...)")
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise AsrBenchError(f"{path}: not valid JSON ({exc}); remove it and decode the run again") from None
    if not isinstance(results, dict) or not isinstance(results.get("splits"), dict):
        raise AsrBenchError(f"{path}: expected a JSON object with 'splits' (what asr-bench decode writes)")
    return results


def update_results(run_dir: Path, split: str, decoder: str, entry: dict[str, Any]) -> Path:
    """Merge one (split, decoder) entry into run_dir/results.json, refreshing provenance."""
    path = run_dir / "results.json"
    results = read_results(path) if path.is_file() else {"splits": {}}
    results["splits"].setdefault(split, {})[decoder] = entry
    config_file = run_dir / CONFIG_FILE
    if config_file.is_file():
        results["config"] = read_yaml(config_file)
        results["seed"] = results["config"].get("seed")
    summary = read_summary(run_dir)
    if summary:
        results["train_wall_time_s"] = summary["wall_time_s"]
        results["labelled_hours"] = summary.get("labelled_hours")
    results["provenance"] = provenance()
    path.write_text(json.dumps(results, indent=2))
    return path


def decode_greedy(checkpoint: str | Path, manifest: str | Path, split: str, run_dir: str | Path) -> dict[str, Any]:
    """Greedy-decode `manifest`, write emissions and greedy.utt.jsonl under run_dir/decode/<split>/, return metrics."""
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
    rates, rows = score_utterances(ids, references, hypotheses, METRICS_BY_TOKENS[config.data.tokens])
    write_utterances(out / "greedy.utt.jsonl", rows)
    audio_s = sum(u.duration for u in utterances)
    entry = {
        **rates,
        "num_utterances": len(ids),
        "audio_hours": audio_s / 3600,
        "checkpoint": str(checkpoint),
        "manifest": str(manifest),
        "decode_wall_time_s": time.time() - started,
    }
    update_results(run_dir, split, "greedy", entry)
    return entry


def recorded_entry(run_dir: Path, split: str, decoder: str) -> dict[str, Any]:
    """The (split, decoder) entry of run_dir/results.json, or {} where there is none yet."""
    path = run_dir / "results.json"
    if not path.is_file():
        return {}
    entry: dict[str, Any] = read_results(path)["splits"].get(split, {}).get(decoder, {})
    return entry


def load_decoded_split(run_dir: Path, split: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The emissions and references a greedy decode of `split` saved, in utterance order."""
    out = run_dir / "decode" / split
    for path in (out / "emissions.pt", out / "greedy.utt.jsonl"):
        if not path.is_file():
            raise AsrBenchError(f"{path} does not exist: decode split {split!r} greedily first (asr-bench decode)")
    emissions: dict[str, torch.Tensor] = torch.load(out / "emissions.pt")
    references = {row["id"]: row["ref"] for row in read_utterances(out / "greedy.utt.jsonl")}
    if set(emissions) != set(references):
        raise AsrBenchError(f"{out}: emissions.pt and greedy.utt.jsonl cover different utterances: decode {split!r} again")
    return {i: emissions[i] for i in references}, references


def tune_beam(
    run_dir: str | Path,
    split: str,
    lm_dir: str | Path,
    config: BeamSearchConfig,
    random_budget: int = 0,
    seed: int = 0,
    tokenizer: Tokenizer = LetterTokenizer(),
) -> TuningResult:
    """Tune lm_weight and word_score on the saved emissions of `split` (see decode/tune.py); `tokenizer` is the
    model's (load_acoustic_model gives it)."""
    run_dir = Path(run_dir)
    emissions, references = load_decoded_split(run_dir, split)
    return tune_lm_weights(
        emissions, references, LanguageModelDir(Path(lm_dir)), config,
        source=f"{run_dir / 'decode' / split / 'emissions.pt'} (split {split!r})",
        random_budget=random_budget, seed=seed, tokenizer=tokenizer,
    )


def decode_beam(
    run_dir: str | Path,
    split: str,
    lm_dir: str | Path | None,
    config: BeamSearchConfig,
    tuned_on: str | None = None,
    tuning: TuningResult | None = None,
    tokenizer: Tokenizer = LetterTokenizer(),
) -> dict[str, Any]:
    """Beam-search the saved emissions of `split`; write <split>/beam.utt.jsonl and the "beam" entry of results.json.

    Lexicon-free decodes (no LM) go to beam_lexicon_free.utt.jsonl and entry "beam_lexicon_free", so both can sit
    beside greedy; a phone model's decode with a phone LM is "beam". `tuned_on` names the split the weights were
    tuned on; its search table is stored with that split. `tokenizer` is the model's (load_acoustic_model gives it).
    """
    run_dir = Path(run_dir)
    emissions, references = load_decoded_split(run_dir, split)
    if not emissions:
        raise AsrBenchError(f"{run_dir / 'decode' / split / 'emissions.pt'}: no utterances to decode")
    num_tokens = next(iter(emissions.values())).shape[-1]
    decoder = build_decoder(config, LanguageModelDir(Path(lm_dir)) if lm_dir else None, num_tokens, tokenizer)
    started = time.perf_counter()
    hypotheses = beam_decode(decoder, emissions)
    decode_s = time.perf_counter() - started
    ids = list(references)
    name = "beam_lexicon_free" if config.lexicon_free else "beam"
    phones = isinstance(tokenizer, PhoneTokenizer)
    metrics = METRICS_BY_TOKENS["phones" if phones else "letters"]  # the metrics greedy decoding scored
    rates, rows = score_utterances(ids, [references[i] for i in ids], [hypotheses[i] for i in ids], metrics)
    write_utterances(run_dir / "decode" / split / f"{name}.utt.jsonl", rows)
    greedy = recorded_entry(run_dir, split, "greedy")
    audio_s = float(greedy["audio_hours"]) * 3600 if "audio_hours" in greedy else None
    entry: dict[str, Any] = {
        **rates,
        "num_utterances": len(ids),
        "lm_dir": None if config.lexicon_free or lm_dir is None else str(lm_dir),
        **dataclasses.asdict(config),
        "decode_wall_time_s": decode_s,
        "decode_rtf": decode_s / audio_s if audio_s else None,
        "tuned_on": tuned_on,
    }
    # Settings the decoder did not use would only mislead a reader of results.json.
    if config.lexicon_free:  # no LM
        for unused in ("lm_weight", "word_score", "unk_score"):
            entry.pop(unused)
    elif phones:  # a phone LM, queried per phone: no words to score
        for unused in ("word_score", "unk_score"):
            entry.pop(unused)
    elif math.isinf(entry["unk_score"]):  # JSON has no -inf; null = words outside the lexicon are never output
        entry["unk_score"] = None
    if tuning is not None and split == tuned_on:
        entry["tuning"] = {"method": tuning.method, f"best_{tuning.metric}": tuning.error_rate, "search": tuning.search}
    update_results(run_dir, split, name, entry)
    return entry

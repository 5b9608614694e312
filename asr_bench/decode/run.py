"""Decode a manifest with a trained acoustic model and score it; results accumulate in the run's results.json.

The acoustic model runs once per split; its emissions (log-probs) are saved, so
beam search and LM-weight tuning can be repeated without it (`decode_beam`, `tune_beam`).
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

from asr_bench.data.manifest import read_manifest
from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer, Tokenizer
from asr_bench.decode.beam import BeamSearchConfig, beam_decode, build_decoder
from asr_bench.decode.lm import LanguageModelDir
from asr_bench.decode.tune import TuningResult, tune_lm_weights
from asr_bench.errors import AsrBenchError
from asr_bench.features.featurize import featurize_manifest
from asr_bench.metrics import cer, wer
from asr_bench.models.ctc_greedy import greedy_indices
from asr_bench.models.wav2letter import Wav2Letter
from asr_bench.provenance import provenance
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


def recorded_entry(run_dir: Path, split: str, decoder: str) -> dict[str, Any]:
    """The (split, decoder) entry of run_dir/results.json, or {} where there is none yet."""
    path = run_dir / "results.json"
    if not path.is_file():
        return {}
    entry: dict[str, Any] = json.loads(path.read_text()).get("splits", {}).get(split, {}).get(decoder, {})
    return entry


def read_hypotheses(path: Path) -> dict[str, str]:
    """`id<TAB>text` lines (as `write_hypotheses` writes them) -> {id: text}, in file order."""
    texts: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        utt_id, tab, text = line.partition("\t")
        if not tab:
            raise AsrBenchError(f"{path}:{number}: expected 'id<TAB>text', got {line!r}")
        texts[utt_id] = text
    return texts


def load_decoded_split(run_dir: Path, split: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The emissions and references a greedy decode of `split` saved, in utterance order."""
    out = run_dir / "decode" / split
    for path in (out / "emissions.pt", out / "ref.txt"):
        if not path.is_file():
            raise AsrBenchError(f"{path} does not exist: decode split {split!r} greedily first (asr-bench decode)")
    emissions: dict[str, torch.Tensor] = torch.load(out / "emissions.pt")
    references = read_hypotheses(out / "ref.txt")
    if set(emissions) != set(references):
        raise AsrBenchError(f"{out}: emissions.pt and ref.txt cover different utterances: decode {split!r} again")
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
    """Beam-search the saved emissions of `split`; write <split>/beam.hyp and the "beam" entry of results.json.

    Lexicon-free decodes (no LM) go to beam_lexicon_free.hyp and entry "beam_lexicon_free", so both can sit beside
    greedy; a phone model's decode with a phone LM is "beam". `tuned_on` names the split the weights were tuned on;
    its search table is stored with that split. `tokenizer` is the model's (load_acoustic_model gives it).
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
    write_hypotheses(run_dir / "decode" / split / f"{name}.hyp", ids, [hypotheses[i] for i in ids])
    greedy = recorded_entry(run_dir, split, "greedy")
    audio_s = float(greedy["audio_hours"]) * 3600 if "audio_hours" in greedy else None
    phones = isinstance(tokenizer, PhoneTokenizer)
    entry: dict[str, Any] = {
        **score([references[i] for i in ids], [hypotheses[i] for i in ids], phones),
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

"""Decoding real-time factor on one CPU core: greedy versus lexicon + KenLM beam search (beam 50 and 500).

    python benchmarks/decode_rtf.py --run-dir exp/logmel --split dev --lm exp/lm

Works on the emissions a greedy `asr-bench decode` saved, so only the decoder is timed, not the acoustic
model. RTF = decode seconds / audio seconds, audio seconds being the manifest durations of the decoded
utterances (as the greedy decode recorded them in results.json, or from --manifest). The process is pinned to one core (sched_setaffinity, what `taskset` does) with one torch thread,
since deployment-style numbers must not depend on how many idle cores the machine has. Decoder construction
(loading the LM, building the lexicon trie) is reported apart from decoding: it happens once per process.
Prints one JSON line, with hardware, versions and git commit. Target: RTF <= 0.05 at the default beam (50).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from asr_bench.data.manifest import read_manifest
from asr_bench.data.tokens import LetterTokenizer
from asr_bench.decode.beam import BeamSearchConfig, beam_decode, build_decoder
from asr_bench.decode.lm import LanguageModelDir
from asr_bench.decode.run import load_decoded_split, recorded_entry
from asr_bench.errors import AsrBenchError
from asr_bench.metrics import wer
from asr_bench.models.ctc_greedy import greedy_indices
from asr_bench.provenance import git_commit, hardware, package_versions

TARGET_RTF = 0.05


def pin_to_one_core() -> list[int]:
    """Restrict this process to the first core it may use; return the cores it runs on afterwards."""
    torch.set_num_threads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return sorted(os.sched_getaffinity(0))
    return []  # not Linux: one torch thread is all we can promise


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def audio_seconds(run_dir: Path, split: str, ids: list[str], manifest: Path | None) -> float:
    """Total duration of the decoded utterances: from --manifest, else what the greedy decode recorded."""
    if manifest is None:
        greedy = recorded_entry(run_dir, split, "greedy")
        if "audio_hours" not in greedy:
            raise AsrBenchError(f"{run_dir / 'results.json'} records no audio_hours for split {split!r}: pass --manifest")
        return float(greedy["audio_hours"]) * 3600
    durations = {u.id: u.duration for u in read_manifest(manifest)}
    missing = [i for i in ids if i not in durations]
    if missing:
        raise AsrBenchError(f"{manifest}: no duration for {len(missing)} decoded utterance(s), e.g. {missing[0]!r}")
    return sum(durations[i] for i in ids)


def tuned_weights(run_dir: Path, split: str) -> tuple[float, float]:
    """The LM weight and word score the run's beam decode used (tuned on dev), else the decoder defaults."""
    beam = recorded_entry(run_dir, split, "beam")
    defaults = BeamSearchConfig()
    return float(beam.get("lm_weight", defaults.lm_weight)), float(beam.get("word_score", defaults.word_score))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    cores = pin_to_one_core()
    emissions, references = load_decoded_split(args.run_dir, args.split)
    if not emissions:
        raise AsrBenchError(f"{args.run_dir / 'decode' / args.split / 'emissions.pt'}: no utterances")
    emissions = {i: e.float() for i, e in emissions.items()}  # the fp16 -> fp32 cast is storage, not decoding
    ids = list(references)
    refs = [references[i] for i in ids]
    audio_s = audio_seconds(args.run_dir, args.split, ids, args.manifest)
    tokenizer = LetterTokenizer()
    rows: list[dict[str, Any]] = []

    started = time.perf_counter()
    greedy = {i: tokenizer.decode(greedy_indices(emissions[i])) for i in ids}
    decode_s = time.perf_counter() - started
    rows.append({"decoder": "greedy", "decode_s": decode_s, "rtf": decode_s / audio_s,
                 "wer": wer(refs, [greedy[i] for i in ids])})

    lm_weight, word_score = (args.lm_weight, args.word_score) if args.lm_weight is not None else tuned_weights(
        args.run_dir, args.split)
    for beam_size in args.beam_sizes:
        config = BeamSearchConfig(beam_size=beam_size, lm_weight=lm_weight, word_score=word_score)
        started = time.perf_counter()
        decoder = build_decoder(config, LanguageModelDir(args.lm), next(iter(emissions.values())).shape[-1])
        setup_s = time.perf_counter() - started
        started = time.perf_counter()
        texts = beam_decode(decoder, emissions)
        decode_s = time.perf_counter() - started
        rows.append({"decoder": "beam", "beam_size": beam_size, "lm_weight": lm_weight, "word_score": word_score,
                     "setup_s": setup_s, "decode_s": decode_s, "rtf": decode_s / audio_s,
                     "wer": wer(refs, [texts[i] for i in ids])})
    return {
        "benchmark": "decode_rtf",
        "run_dir": str(args.run_dir),
        "split": args.split,
        "lm": str(args.lm),
        "num_utterances": len(ids),
        "audio_s": audio_s,
        "target_rtf": TARGET_RTF,
        "rows": rows,
        "pinned_cores": cores,
        "hardware": {"cpu_model": cpu_model(), **hardware()},
        "versions": package_versions(),
        "git_commit": git_commit(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="run directory with decode/<split>/emissions.pt")
    parser.add_argument("--split", default="dev", help="decoded split to time (default dev)")
    parser.add_argument("--lm", type=Path, required=True, help="LM directory from `asr-bench lm build`")
    parser.add_argument("--manifest", type=Path, help="manifest for durations (default: the audio hours results.json records)")
    parser.add_argument("--beam-sizes", type=lambda s: [int(b) for b in s.split(",")], default=[50, 500],
                        help="comma-separated beam sizes (default 50,500)")
    parser.add_argument("--lm-weight", type=float, help="LM weight (default: the run's tuned value, else 2)")
    parser.add_argument("--word-score", type=float, default=0.0, help="word score, used with --lm-weight (default 0)")
    args = parser.parse_args(argv)
    try:
        print(json.dumps(measure(args)))
    except AsrBenchError as exc:
        print(f"decode_rtf: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

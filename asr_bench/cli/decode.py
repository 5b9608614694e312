"""`asr-bench decode`: run a trained model on manifests, decode greedily and optionally with a lexicon + LM, score."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from asr_bench.decode.beam import BeamSearchConfig
from asr_bench.errors import AsrBenchError

# Every BeamSearchConfig setting but lexicon_free (a switch of its own): the flag's type and help.
BEAM_OPTIONS: dict[str, tuple[type, str]] = {
    "beam_size": (int, "hypotheses kept after each frame"),
    "beam_size_token": (int, "tokens tried per frame; None: all of them"),
    "beam_threshold": (float, "drop hypotheses scoring this far below the best"),
    "lm_weight": (float, "LM weight when not tuning"),
    "word_score": (float, "per-word score when not tuning"),
    "unk_score": (float, "score of a word outside the lexicon (-inf: never output one)"),
    "sil_score": (float, "score of each word boundary"),
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode and score a manifest with a trained acoustic model",
        description="Decode each manifest with the run's best checkpoint; emissions and per-utterance hypotheses "
        "and error counts (<decoder>.utt.jsonl) go under <run-dir>/decode/<split>/, corpus metrics into "
        "<run-dir>/results.json. Greedy decoding always runs; with --lm "
        "(or --lexicon-free) beam search follows on the saved emissions, after tuning the LM weight and word "
        "score on --tune-on's split if given. Phone models are scored by PER and take a phone LM "
        "(asr-bench lm build --unit phones), decoded without a lexicon.",
        epilog="example: asr-bench decode --run-dir exp/logmel -m dev=data/dev.jsonl -m test=data/test.jsonl "
        "--lm exp/lm --tune-on dev",
    )
    parser.add_argument("--run-dir", required=True, help="training output directory (has checkpoints/)")
    parser.add_argument("--manifest", "-m", action="append", required=True, help="SPLIT=MANIFEST (repeatable)")
    parser.add_argument("--checkpoint", help="checkpoint to use (default: <run-dir>/checkpoints/best.ckpt; last.ckpt "
                        "for a run that never validated)")
    beam = parser.add_argument_group("beam search")
    beam.add_argument("--lm", type=Path, help="LM directory from `asr-bench lm build`: enables lexicon + LM beam search "
                      "(a phone LM for a phone model: beam search over phones with it)")
    beam.add_argument("--lexicon-free", action="store_true",
                      help="beam search over the model's tokens with no lexicon and no LM")
    beam.add_argument("--tune-on", metavar="SPLIT",
                      help="tune --lm's weight and word score on this decoded split, then decode every split with them")
    beam.add_argument("--tune-budget", type=int, default=0, metavar="N",
                      help="tuning by N seeded random draws instead of the 7x5 grid (default 0: grid)")
    beam.add_argument("--tune-seed", type=int, default=0, help="seed of the random tuning draws (default 0)")
    defaults = BeamSearchConfig()
    for name, (kind, text) in BEAM_OPTIONS.items():
        default = getattr(defaults, name)
        beam.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, metavar=kind.__name__.upper(),
                          help=f"{text} (default {default})")
    parser.set_defaults(func=run)


def parse_split(item: str) -> tuple[str, str]:
    if "=" in item:
        split, manifest = item.split("=", 1)
        return split, manifest
    return Path(item).stem, item


def default_checkpoint(run_dir: Path) -> Path:
    """best.ckpt; a run whose training ended before its first validation has only last.ckpt, and says so."""
    checkpoints = run_dir / "checkpoints"
    if not (checkpoints / "best.ckpt").is_file() and (checkpoints / "last.ckpt").is_file():
        print(f"{checkpoints}: no best.ckpt (the run never validated): decoding last.ckpt")
        return checkpoints / "last.ckpt"
    return checkpoints / "best.ckpt"


def run(args: argparse.Namespace) -> int:
    from asr_bench.decode.run import decode_beam, decode_greedy, tune_beam  # model code only when the command runs
    from asr_bench.tasks.train_ctc import load_acoustic_model

    run_dir = Path(args.run_dir)
    checkpoint = Path(args.checkpoint) if args.checkpoint else default_checkpoint(run_dir)
    if not checkpoint.is_file():
        raise AsrBenchError(f"{checkpoint} does not exist: expected a run folder of `asr-bench train` "
                            "(its checkpoints/best.ckpt), or a checkpoint given with --checkpoint")
    splits = dict(parse_split(item) for item in args.manifest)
    if args.tune_on and args.tune_on not in splits:
        raise AsrBenchError(f"--tune-on {args.tune_on}: not one of the decoded splits ({', '.join(splits)})")
    if args.tune_on and (args.lm is None or args.lexicon_free):
        raise AsrBenchError("--tune-on needs --lm and lexicon decoding: lexicon-free decoding has no LM weight to tune")
    print(f"checkpoint: {checkpoint}")
    greedy = {split: decode_greedy(checkpoint, manifest, split, run_dir) for split, manifest in splits.items()}
    if args.lm is None and not args.lexicon_free:
        for split, metrics in greedy.items():
            shown = ", ".join(f"{k.upper()} {v:.2f}" for k, v in metrics.items() if k in ("wer", "cer", "per"))
            print(f"{split} (greedy): {shown}")
        return 0

    config = BeamSearchConfig(**{name: getattr(args, name) for name in BEAM_OPTIONS}, lexicon_free=args.lexicon_free)
    _, tokenizer, _ = load_acoustic_model(checkpoint)
    metric = "per" if "per" in next(iter(greedy.values())) else "wer"
    tuning = None
    if args.tune_on:
        tuning = tune_beam(run_dir, args.tune_on, args.lm, config, args.tune_budget, args.tune_seed, tokenizer)
        config = replace(config, lm_weight=tuning.lm_weight, word_score=tuning.word_score)
    weights = f"lm_weight {config.lm_weight:g}" + (f", word_score {config.word_score:g}" if metric == "wer" else "")
    if tuning is not None:  # a phone LM has no word score: only the LM weight is shown
        print(f"tuned on {args.tune_on} ({tuning.method}, {len(tuning.search)} decodes): {weights}, "
              f"{metric.upper()} {tuning.error_rate:.2f}")
    beam = {split: decode_beam(run_dir, split, args.lm, config, args.tune_on, tuning, tokenizer) for split in splits}
    what = "lexicon-free" if args.lexicon_free else f"LM, {weights}"
    name = metric.upper()
    print(f"{'split':<8} {'greedy ' + name:>10} {'beam ' + name:>10}   (beam {config.beam_size}, {what})")
    for split in splits:
        print(f"{split:<8} {greedy[split][metric]:>10.2f} {beam[split][metric]:>10.2f}")
    return 0

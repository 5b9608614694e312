"""`asr-bench lm build`: a KenLM word n-gram, lexicon and token file (or a phone n-gram) for beam-search decoding."""

from __future__ import annotations

import argparse
from pathlib import Path

from asr_bench.data.phones import PHONE_SETS
from asr_bench.decode.lm import LexiconSources, build_lm
from asr_bench.errors import AsrBenchError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lm", help="build language models for beam-search decoding")
    actions = parser.add_subparsers(dest="lm_command", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="estimate an n-gram LM with KenLM and write the lexicon",
        description="Gather LM sentences from --text files and --train-manifest transcripts (normalised like the "
        "transcripts), drop every sentence that occurs in an --exclude-manifest, estimate a modified Kneser-Ney "
        "n-gram with lmplz, and write lm.arpa, lm.bin, lexicon.txt, tokens.txt and lm.json to --out. With --unit "
        "phones, the sentences are the manifests' phones (and --text lines of phone labels) in --phone-set's "
        "training symbols, and there is no lexicon: phone models decode lexicon-free with it. Needs lmplz and "
        "build_binary (scripts/build_kenlm.sh).",
        epilog="example: asr-bench lm build --order 4 --out exp/lm --train-manifest data/train.jsonl "
        "--exclude-manifest data/dev.jsonl --exclude-manifest data/test.jsonl; phones: asr-bench lm build "
        "--unit phones --phone-set timit48 --order 4 --out exp/phone_lm --train-manifest data/train.jsonl ...",
    )
    build.add_argument("--text", type=Path, action="append", default=[], help="text file, one sentence a line (repeatable)")
    build.add_argument("--train-manifest", type=Path, action="append", default=[],
                       help="manifest whose transcripts are LM text and whose words enter the lexicon (repeatable)")
    build.add_argument("--exclude-manifest", type=Path, action="append", default=[],
                       help="manifest whose sentences must not be in the LM text, e.g. dev and test (repeatable)")
    build.add_argument("--lexicon-manifest", type=Path, action="append", default=[],
                       help="manifest whose transcript words make up the lexicon (repeatable); with --lexicon-words, "
                       "the lexicon is exactly these words instead of the LM's and the training transcripts'")
    build.add_argument("--lexicon-words", type=Path, action="append", default=[],
                       help="word list, one word a line, whose words make up the lexicon (repeatable), e.g. a vocabulary")
    build.add_argument("--order", type=int, default=4, help="n-gram order (default 4, as in the paper)")
    build.add_argument("--unit", choices=("words", "phones"), default="words",
                       help="words (default: a word LM and lexicon for letter models) or phones (for phone models)")
    build.add_argument("--phone-set", choices=list(PHONE_SETS), help="the phone models' phone set (with --unit phones)")
    build.add_argument("--out", type=Path, required=True, help="output LM directory")
    build.add_argument("--force", action="store_true",
                       help="rebuild even if --out already holds an LM built from the same text and order")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    if (args.unit == "phones") != (args.phone_set is not None):
        raise AsrBenchError("--unit phones and --phone-set go together: a phone LM is over one phone set")
    phones = PHONE_SETS[args.phone_set] if args.phone_set else None
    sources = LexiconSources(tuple(args.lexicon_manifest), tuple(args.lexicon_words))
    info = build_lm(args.out, args.order, args.text, args.train_manifest, args.exclude_manifest, args.force,
                    sources, phones)
    if info.get("reused"):
        print(f"{args.out}: up to date (built from the same text, unit and order; --force rebuilds)")
        return 0
    kind = "" if phones is None else f" {phones.name} phone"
    lexicon = f", lexicon of {info['lexicon_words']} words" if phones is None else ""
    print(
        f"{args.order}-gram{kind} on {info['sentences']} sentences ({info['words']} {args.unit}, vocabulary "
        f"{info['vocab_size']}; {info['excluded_sentences']} excluded){lexicon} -> {args.out}"
    )
    return 0

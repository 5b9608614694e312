"""Error rates via jiwer: WER and CER on words/characters, PER on space-separated phones.

Rates are corpus-level (total edits / total reference units), as the paper reports
them, not means of per-utterance rates. Returned as percentages.
"""

from __future__ import annotations

from collections.abc import Sequence

import jiwer

from asr_bench.errors import AsrBenchError


def _check(references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if len(references) != len(hypotheses):
        raise AsrBenchError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise AsrBenchError("no utterances to score")
    if any(not ref.strip() for ref in references):
        raise AsrBenchError("a reference transcript is empty: error rates would be undefined")


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Word error rate in percent."""
    _check(references, hypotheses)
    return 100.0 * jiwer.wer(list(references), list(hypotheses))


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Character error rate in percent; spaces count as characters, as in jiwer and most toolkits."""
    _check(references, hypotheses)
    return 100.0 * jiwer.cer(list(references), list(hypotheses))


def per(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Phone error rate in percent: phones are the space-separated units, so this is WER over phones."""
    return wer(references, hypotheses)


def error_counts(references: Sequence[str], hypotheses: Sequence[str], unit: str = "word") -> tuple[int, int]:
    """(edits, reference length) in words or characters, for summing across batches or DDP ranks."""
    if unit not in ("word", "char"):
        raise AsrBenchError(f"unit {unit!r} is not 'word' or 'char' (phones are words: use 'word')")
    _check(references, hypotheses)
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    out = process(list(references), list(hypotheses))
    edits = out.substitutions + out.deletions + out.insertions
    return edits, out.substitutions + out.deletions + out.hits

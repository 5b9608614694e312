"""Error rates via jiwer: WER and CER on words/characters, PER on space-separated phones.

Rates are corpus-level (total edits / total reference units), as the paper reports them, not means
of per-utterance rates. Returned as percentages. Every rate is `error_rate` of per-utterance counts
(`utterance_errors`), so a rate summed from stored per-utterance counts is the same number, to the bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import jiwer

from asr_bench.errors import AsrBenchError

# What each metric aligns: phones are space-separated, so PER is WER over phones.
_UNIT = {"wer": "word", "cer": "char", "per": "word"}
METRICS = tuple(_UNIT)
# One metric name per unit: a letter model is scored by WER and CER, a phone model by PER.
METRICS_BY_TOKENS = {"letters": ("wer", "cer"), "phones": ("per",)}

ErrorCounts = dict[str, int]  # {"sub", "del", "ins", "ref"}: substitutions, deletions, insertions, reference length


def _check(references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if len(references) != len(hypotheses):
        raise AsrBenchError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise AsrBenchError("no utterances to score")
    if any(not ref.strip() for ref in references):
        raise AsrBenchError("a reference transcript is empty: error rates would be undefined")


def utterance_errors(references: Sequence[str], hypotheses: Sequence[str], metric: str) -> list[ErrorCounts]:
    """Each utterance's substitutions, deletions, insertions and reference length under `metric`'s alignment."""
    if metric not in _UNIT:
        raise AsrBenchError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    _check(references, hypotheses)
    process = jiwer.process_words if _UNIT[metric] == "word" else jiwer.process_characters
    out = process(list(references), list(hypotheses))
    counts = []
    for chunks in out.alignments:
        utterance = {"sub": 0, "del": 0, "ins": 0, "ref": 0}
        for chunk in chunks:
            ref_length, hyp_length = chunk.ref_end_idx - chunk.ref_start_idx, chunk.hyp_end_idx - chunk.hyp_start_idx
            utterance["ref"] += ref_length
            if chunk.type == "substitute":
                utterance["sub"] += ref_length
            elif chunk.type == "delete":
                utterance["del"] += ref_length
            elif chunk.type == "insert":
                utterance["ins"] += hyp_length
        counts.append(utterance)
    return counts


def error_rate(counts: Iterable[Mapping[str, int]]) -> float:
    """Corpus error rate in percent of per-utterance counts: 100 * (sub + del + ins) / ref, summed first."""
    edits = reference = 0
    for utterance in counts:
        edits += utterance["sub"] + utterance["del"] + utterance["ins"]
        reference += utterance["ref"]
    if reference == 0:
        raise AsrBenchError("no reference units to score")
    return 100.0 * edits / reference


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Word error rate in percent (over phones, the PER)."""
    return error_rate(utterance_errors(references, hypotheses, "wer"))


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Character error rate in percent; spaces count as characters, as in jiwer and most toolkits."""
    return error_rate(utterance_errors(references, hypotheses, "cer"))


def error_counts(references: Sequence[str], hypotheses: Sequence[str], unit: str = "word") -> tuple[int, int]:
    """(edits, reference length) in words or characters, for summing across batches or DDP ranks."""
    if unit not in ("word", "char"):
        raise AsrBenchError(f"unit {unit!r} is not 'word' or 'char' (phones are words: use 'word')")
    counts = utterance_errors(references, hypotheses, "wer" if unit == "word" else "cer")
    return sum(c["sub"] + c["del"] + c["ins"] for c in counts), sum(c["ref"] for c in counts)

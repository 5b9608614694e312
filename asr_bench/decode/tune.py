"""Choose the LM weight and word score on dev emissions, as the paper does before reporting test WER.

Each candidate (lm_weight, word_score) is a full beam-search decode of the tuning set, scored by corpus WER (PER for
a phone model, whose lexicon-free decoder has no word score: only lm_weight is tuned); the lowest wins, ties going
to the earlier candidate so a run is reproducible. Grid search covers the
usual range (wav2letter recipes tune lm_weight in 0-3 and word_score in -2..2); random search samples the same
box with a seeded generator when a fixed budget of decodes matters more than regular spacing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer, Tokenizer
from asr_bench.decode.beam import BeamSearchConfig, beam_decode, build_decoder
from asr_bench.decode.lm import LanguageModelDir
from asr_bench.errors import AsrBenchError
from asr_bench.metrics import wer

DEFAULT_LM_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
DEFAULT_WORD_SCORES = (-2.0, -1.0, 0.0, 1.0, 2.0)


@dataclass(frozen=True)
class TuningResult:
    """The chosen weights, their error rate (percent; `metric` "wer" or "per"), and every candidate tried, in order."""

    lm_weight: float
    word_score: float
    error_rate: float
    metric: str
    method: str  # "grid" or "random"
    search: list[dict[str, float]]  # {"lm_weight", "word_score", <metric>} per candidate


def candidates(
    lm_weights: Sequence[float], word_scores: Sequence[float], random_budget: int, seed: int
) -> tuple[str, list[tuple[float, float]]]:
    """The grid lm_weights x word_scores, or `random_budget` seeded uniform draws from the grid's bounding box."""
    if not lm_weights or not word_scores:
        raise AsrBenchError("LM-weight tuning needs at least one lm_weight and one word_score value")
    if random_budget < 0:
        raise AsrBenchError(f"tuning budget must be 0 (grid search) or a positive number of decodes, got {random_budget}")
    if random_budget == 0:
        return "grid", [(w, s) for w in lm_weights for s in word_scores]
    rng = random.Random(seed)
    return "random", [
        (round(rng.uniform(min(lm_weights), max(lm_weights)), 3), round(rng.uniform(min(word_scores), max(word_scores)), 3))
        for _ in range(random_budget)
    ]


def tune_lm_weights(
    emissions: dict[str, torch.Tensor],
    references: dict[str, str],
    lm_dir: LanguageModelDir,
    config: BeamSearchConfig,
    source: str,
    lm_weights: Sequence[float] = DEFAULT_LM_WEIGHTS,
    word_scores: Sequence[float] = DEFAULT_WORD_SCORES,
    random_budget: int = 0,
    seed: int = 0,
    tokenizer: Tokenizer = LetterTokenizer(),
    progress: bool = True,
) -> TuningResult:
    """Decode `emissions` at each candidate and return the lowest-error one; `source` names the set in errors.

    A progress bar counts the candidates and shows the best so far.
    """
    if config.lexicon_free:
        raise AsrBenchError("lexicon-free decoding uses no LM: there is no lm_weight or word_score to tune")
    if not emissions:
        raise AsrBenchError(f"cannot tune LM weights on {source}: it has no utterances")
    ids = list(emissions)
    missing = [i for i in ids if i not in references]
    if missing:
        raise AsrBenchError(f"{source}: no reference transcript for {len(missing)} utterance(s), e.g. {missing[0]!r}")
    num_tokens = next(iter(emissions.values())).shape[-1]
    phones = isinstance(tokenizer, PhoneTokenizer)
    metric = "per" if phones else "wer"
    method, points = candidates(lm_weights, (0.0,) if phones else word_scores, random_budget, seed)
    search: list[dict[str, float]] = []
    with tqdm(points, desc=f"tune LM weights ({method})", unit="decode", disable=not progress) as bar:
        for lm_weight, word_score in bar:
            decoder = build_decoder(
                replace(config, lm_weight=lm_weight, word_score=word_score), lm_dir, num_tokens, tokenizer
            )
            hypotheses = beam_decode(decoder, emissions)
            score = wer([references[i] for i in ids], [hypotheses[i] for i in ids])  # over phones for phones: the PER
            search.append({"lm_weight": lm_weight, "word_score": word_score, metric: score})
            best = min(search, key=lambda row: row[metric])  # min keeps the first of equal error rates
            words = "" if phones else f", word_score {best['word_score']:g}"  # a phone LM has no word score
            bar.set_postfix_str(f"best {metric.upper()} {best[metric]:.2f} at lm_weight {best['lm_weight']:g}{words}")
    return TuningResult(best["lm_weight"], best["word_score"], best[metric], metric, method, search)

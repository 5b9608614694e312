"""CTC beam search with a lexicon and a KenLM word n-gram (flashlight's decoder, via torchaudio's `ctc_decoder`).

The score of a hypothesis is  log P_ctc(letters | audio) + lm_weight * log P_lm(words) + word_score * #words,
the wav2letter decoder the wav2vec paper uses (Section 4: 4-gram LM, beam search, weights tuned on dev).
Emissions are the saved per-utterance log-probs, shape (frames, num_tokens), with the blank at index 0 and the
word boundary `|` at index 1 (LetterTokenizer's layout).

Phone models decode without a lexicon: flashlight's lexicon-free decoder queries its LM once per emitted token,
so a phone n-gram (`asr-bench lm build --unit phones`, whose vocabulary is the phone set) scores
log P_ctc(phones | audio) + lm_weight * log P_lm(phones).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from asr_bench.data.tokens import BLANK, WORD_BOUNDARY, LetterTokenizer, PhoneTokenizer, Tokenizer
from asr_bench.decode.lexicon import read_tokens, validate_lexicon
from asr_bench.decode.lm import LanguageModelDir
from asr_bench.errors import AsrBenchError

if TYPE_CHECKING:  # torchaudio's decoder needs flashlight-text, which only decoding needs
    from torchaudio.models.decoder import CTCDecoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BeamSearchConfig:
    """Decoder settings; names and defaults follow torchaudio's `ctc_decoder`.

    beam_size: hypotheses kept after each frame. beam_size_token: letters tried per frame (None: all).
    beam_threshold: drop hypotheses scoring this far below the best. lm_weight, word_score: the LM's weight
    and the per-word bonus (tuned on dev). unk_score: score of a word outside the lexicon (-inf: never output).
    sil_score: bonus per word boundary. lexicon_free: decode tokens with neither lexicon nor LM (flashlight's
    lexicon-free decoder queries the LM once per token, so a word n-gram cannot serve a letter model); lm_weight and
    word_score are then unused, and the result shows what beam search alone adds over greedy. Without this flag, a
    phone model is decoded with its phone LM and no lexicon (word_score and unk_score unused).
    """

    beam_size: int = 50
    beam_size_token: int | None = None
    beam_threshold: float = 50.0
    lm_weight: float = 2.0
    word_score: float = 0.0
    unk_score: float = -math.inf
    sil_score: float = 0.0
    lexicon_free: bool = False

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise AsrBenchError(f"beam size must be at least 1, got {self.beam_size}")
        if self.beam_size_token is not None and self.beam_size_token < 1:
            raise AsrBenchError(f"beam_size_token must be at least 1, got {self.beam_size_token}")


@dataclass(frozen=True)
class BeamDecoder:
    """A built flashlight decoder and how to read its hypotheses: the lexicon's words, or (`tokenizer` set, without a
    lexicon) the tokens the tokenizer reads: letters split at word boundaries, or phones in their scoring set."""

    decoder: CTCDecoder
    tokenizer: Tokenizer | None


def build_decoder(
    config: BeamSearchConfig, lm_dir: LanguageModelDir | None, num_tokens: int, tokenizer: Tokenizer = LetterTokenizer()
) -> BeamDecoder:
    """A decoder for emissions with `num_tokens` columns of `tokenizer`'s tokens; the lexicon and LM come from `lm_dir`.

    `lm_dir` may be None only for lexicon-free decoding. A phone model needs a phone LM (or none), a letter model a
    word LM.
    """
    from torchaudio.models.decoder import ctc_decoder  # needs flashlight-text (scripts/setup.sh installs it)

    phones = isinstance(tokenizer, PhoneTokenizer)
    if lm_dir is None:
        if not config.lexicon_free:
            raise AsrBenchError("lexicon decoding needs an LM directory (lm.bin or lm.arpa, lexicon.txt, tokens.txt)")
        tokens = list(tokenizer.tokens.symbols)
        where = "the model's token set"
    else:
        lm_dir.check()
        if lm_dir.unit != ("phones" if phones else "words"):
            raise AsrBenchError(
                f"{lm_dir.path} is a {lm_dir.unit} LM but the model emits {'phones' if phones else 'letters'}: build "
                + ("a phone LM (asr-bench lm build --unit phones --phone-set ...)" if phones else "a word LM")
            )
        tokens = read_tokens(lm_dir.tokens)
        where = str(lm_dir.tokens)
    if len(tokens) != num_tokens:
        raise AsrBenchError(f"{where} has {len(tokens)} tokens but the emissions have {num_tokens} columns")
    if phones and tuple(tokens) != tokenizer.tokens.symbols:
        raise AsrBenchError(f"{where}: expected the model's phone set {tokenizer.phone_set.name} ({len(tokens)} tokens "
                            "in the same order), as `asr-bench lm build --phone-set` writes it")
    if tokens[0] != BLANK or not (phones or WORD_BOUNDARY in tokens):
        raise AsrBenchError(f"{where}: expected {BLANK!r} first and the word boundary {WORD_BOUNDARY!r} among the tokens")
    options = dict(
        tokens=tokens,
        beam_size=config.beam_size,
        beam_size_token=config.beam_size_token,
        beam_threshold=config.beam_threshold,
        sil_score=config.sil_score,
        blank_token=BLANK,
        sil_token=BLANK if phones else WORD_BOUNDARY,  # phones have no word boundary; sil_score then scores blanks
    )
    if config.lexicon_free:
        if lm_dir is not None:
            log.info("lexicon-free decoding: the LM in %s is not used", lm_dir.path)
        return BeamDecoder(ctc_decoder(lexicon=None, lm=None, **options), tokenizer)
    assert lm_dir is not None  # checked above: only lexicon-free decoding runs without one
    if phones:
        # The decoder asks the LM about token index n; the LM's dictionary must list the tokens in that order, and
        # ctc_decoder builds it in another order unless given one: tokens.txt is that list.
        return BeamDecoder(_load_lm(lm_dir, lambda: ctc_decoder(
            lexicon=None, lm=str(lm_dir.model), lm_dict=str(lm_dir.tokens), lm_weight=config.lm_weight, **options,
        )), tokenizer)
    validate_lexicon(lm_dir.lexicon, tokens)
    decoder = _load_lm(lm_dir, lambda: ctc_decoder(
        lexicon=str(lm_dir.lexicon),
        lm=str(lm_dir.model),
        lm_weight=config.lm_weight,
        word_score=config.word_score,
        unk_score=config.unk_score,
        **options,
    ))
    return BeamDecoder(decoder, tokenizer=None)


def _load_lm(lm_dir: LanguageModelDir, build: Callable[[], CTCDecoder]) -> CTCDecoder:
    try:
        return build()
    except RuntimeError as exc:  # KenLM's C++ exceptions arrive as RuntimeError with a multi-line message
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AsrBenchError(f"{lm_dir.model}: KenLM cannot load it: expected an ARPA or KenLM binary file ({reason})") from exc


def beam_decode(decoder: BeamDecoder, emissions: dict[str, torch.Tensor]) -> dict[str, str]:
    """Best transcript per utterance id; emissions are (frames, num_tokens) log-probs, any float dtype."""
    texts: dict[str, str] = {}
    for utt_id, emission in emissions.items():
        if emission.shape[0] == 0:
            texts[utt_id] = ""
            continue
        hypothesis = decoder.decoder(emission.float().contiguous().unsqueeze(0))[0][0]
        if decoder.tokenizer is not None:  # no lexicon: read the tokens (blanks and repeats already collapsed)
            texts[utt_id] = decoder.tokenizer.decode(hypothesis.tokens.tolist())
        else:
            texts[utt_id] = " ".join(hypothesis.words)
    return texts

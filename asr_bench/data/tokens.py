"""Token sets for CTC: letters for LibriSpeech/WSJ, phones for TIMIT and speechocean762.

Index 0 is always the CTC blank, so models, losses and decoders agree without
passing the blank index around.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from asr_bench.data.phones import PhoneSet
from asr_bench.errors import AsrBenchError

BLANK = "<blank>"
WORD_BOUNDARY = "|"
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz'")


def normalize_text(text: str) -> str:
    """Lower-case, keep letters and apostrophes, collapse whitespace: LibriSpeech's own normalisation."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z' ]+", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class TokenSet:
    """An ordered symbol inventory; `symbols[0]` is the CTC blank."""

    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.symbols or self.symbols[0] != BLANK:
            raise AsrBenchError(f"token set must start with the CTC blank {BLANK!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise AsrBenchError("token set has duplicate symbols")

    @property
    def blank_index(self) -> int:
        return 0

    def __len__(self) -> int:
        return len(self.symbols)

    def index(self, symbol: str) -> int:
        return self._lookup[symbol]

    @cached_property
    def _lookup(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.symbols)}

    def encode_symbols(self, symbols: list[str]) -> list[int]:
        lookup = self._lookup
        unknown = sorted({s for s in symbols if s not in lookup})
        if unknown:
            raise AsrBenchError(f"symbols {unknown} are not in the token set")
        return [lookup[s] for s in symbols]

    def decode_indices(self, indices: list[int]) -> list[str]:
        return [self.symbols[i] for i in indices]


@dataclass(frozen=True)
class LetterTokenizer:
    """Text <-> letter tokens, with `|` between words (the wav2letter convention)."""

    tokens: TokenSet = TokenSet((BLANK, WORD_BOUNDARY, *LETTERS))

    def encode(self, text: str) -> list[int]:
        words = normalize_text(text).split()
        if not words:
            raise AsrBenchError(f"transcript {text!r} has no letters to train on")
        return self.tokens.encode_symbols(list(WORD_BOUNDARY.join(words)))

    def decode(self, indices: list[int]) -> str:
        """Join tokens back to words; repeated or leading/trailing boundaries collapse."""
        chars = "".join(self.tokens.decode_indices([i for i in indices if i != self.tokens.blank_index]))
        return " ".join(word for word in chars.split(WORD_BOUNDARY) if word)


@dataclass(frozen=True)
class PhoneTokenizer:
    """A corpus's phone labels <-> the tokens of a phone set, for phone recognition (TIMIT, speechocean762).

    The model is trained on the set's symbols (`PhoneSet.train_labels` of the manifest's phones: TIMIT's 61 folded
    to 48, say) and its output is read, like the reference, in the set's scoring symbols (TIMIT's 39), so every
    error rate of a phone model is a PER on the scoring set.
    """

    phone_set: PhoneSet

    @cached_property
    def tokens(self) -> TokenSet:
        return TokenSet((BLANK, *self.phone_set.symbols))

    def encode(self, phones: list[str]) -> list[int]:
        """A manifest's phones (the corpus's labels) -> token indices of their training labels."""
        labels = self.phone_set.train_labels(phones)
        if not labels:
            raise AsrBenchError("empty phone sequence")
        return self.tokens.encode_symbols(labels)

    def decode(self, indices: list[int]) -> str:
        """Token indices (a model's output, blanks allowed) -> space-separated phones of the scoring set."""
        symbols = self.tokens.decode_indices([i for i in indices if i != self.tokens.blank_index])
        return " ".join(self.phone_set.scoring_labels(symbols))

    def reference(self, phones: list[str]) -> str:
        """A manifest's phones as they are scored: training labels, then the scoring set."""
        return " ".join(self.phone_set.scoring_labels(self.phone_set.train_labels(phones)))


Tokenizer = LetterTokenizer | PhoneTokenizer

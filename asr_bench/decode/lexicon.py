"""Lexicon and token files for lexicon-constrained CTC beam search (torchaudio's `ctc_decoder` formats).

The lexicon restricts the beam to known words and maps each word to the acoustic model's letters:
one line per word, `word<TAB>w o r d |`. The trailing word boundary `|` is part of every spelling
because the letter model emits `|` between words (wav2letter's convention), so the decoder's silence
token and the model's boundary token are the same symbol. The tokens file lists the acoustic model's
symbols one per line, in output order, so decoder indices and emission columns agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from asr_bench.data.tokens import WORD_BOUNDARY, TokenSet
from asr_bench.errors import AsrBenchError


def spell(word: str) -> list[str]:
    """A word's letter spelling as the decoder sees it: its letters, then the word boundary."""
    return [*word, WORD_BOUNDARY]


def write_lexicon(path: Path, words: Iterable[str]) -> Path:
    """Write `word<TAB>spelling` lines, sorted so the same vocabulary always gives the same file."""
    path.write_text("".join(f"{word}\t{' '.join(spell(word))}\n" for word in sorted(set(words))), encoding="utf-8")
    return path


def write_tokens(path: Path, tokens: TokenSet) -> Path:
    path.write_text("".join(f"{symbol}\n" for symbol in tokens.symbols), encoding="utf-8")
    return path


def read_tokens(path: Path) -> list[str]:
    """Symbols of a tokens file, in emission-column order."""
    try:
        symbols = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise AsrBenchError(f"{path}: cannot read the tokens file ({exc})") from exc
    if not symbols:
        raise AsrBenchError(f"{path}: tokens file is empty: expected one symbol per line, blank first")
    return symbols


def validate_lexicon(lexicon_path: Path, tokens: list[str]) -> int:
    """Check every spelling uses only `tokens`; return the number of words.

    Flashlight would otherwise fail deep inside the trie construction with an index error that names
    neither the file nor the word, so the check runs before any decoder is built.
    """
    known = set(tokens)
    try:
        lines = lexicon_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AsrBenchError(f"{lexicon_path}: cannot read the lexicon ({exc})") from exc
    num_words = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        word, _, spelling = line.partition("\t")
        symbols = spelling.split()
        if not word or not symbols:
            raise AsrBenchError(f"{lexicon_path}:{number}: expected 'word<TAB>s p e l l i n g |', got {line!r}")
        unknown = sorted({s for s in symbols if s not in known})
        if unknown:
            raise AsrBenchError(
                f"{lexicon_path}:{number}: word {word!r} is spelt with {unknown}, which the token set does not have "
                f"(expected symbols from {' '.join(tokens)})"
            )
        num_words += 1
    if num_words == 0:
        raise AsrBenchError(f"{lexicon_path}: lexicon has no words")
    return num_words

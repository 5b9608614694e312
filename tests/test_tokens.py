"""Letter and phone token sets for CTC: index layout, normalisation, round trips on real transcripts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from asr_bench.data.phones import ARPABET_39, PHONE_SETS
from asr_bench.data.tokens import BLANK, WORD_BOUNDARY, LetterTokenizer, PhoneTokenizer, TokenSet, normalize_text
from asr_bench.errors import AsrBenchError


def ci_rows(shared_data: Path, corpus: str) -> list[dict[str, str]]:
    with (shared_data / "ci" / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["corpus"] == corpus]
    assert rows, f"ci/manifest.tsv has no {corpus} rows"
    return rows


# ---------------------------------------------------------------------------------------------
# letters


def test_letter_inventory_is_blank_boundary_then_26_letters_and_apostrophe() -> None:
    tokens = LetterTokenizer().tokens

    assert len(tokens) == 29
    assert tokens.symbols[0] == BLANK and tokens.blank_index == 0
    assert tokens.symbols[1] == WORD_BOUNDARY == "|"
    assert tokens.index("a") == 2
    assert tokens.index("z") == 27
    assert tokens.index("'") == 28


def test_letter_encoding_by_hand() -> None:
    # a=2 ... z=27, so a letter's index is its alphabet position + 1; "|" = 1, "'" = 28.
    assert LetterTokenizer().encode("HI YOU") == [9, 10, 1, 26, 16, 22]
    assert LetterTokenizer().encode("DON'T") == [5, 16, 15, 28, 21]


def test_letter_round_trip_on_real_transcripts(shared_data: Path) -> None:
    tokenizer = LetterTokenizer()
    rows = ci_rows(shared_data, "librispeech") + ci_rows(shared_data, "speechocean762")
    with_apostrophe = [row for row in rows if "'" in row["text"]]
    assert with_apostrophe, "expected some ci transcripts with apostrophes (DON'T, I'M, ...)"

    for row in rows:
        text = row["text"]
        indices = tokenizer.encode(text)
        assert 0 not in indices, "a transcript must never encode to the blank"
        assert len(indices) == len(" ".join(text.split())), "one token per letter, one `|` per word gap"
        assert tokenizer.decode(indices) == " ".join(text.lower().split())


def test_normalisation_of_case_punctuation_apostrophes_and_whitespace() -> None:
    assert normalize_text("Hello,  World!") == "hello world"
    assert normalize_text("don\u2019t") == "don't"
    assert normalize_text("\tWell-known\n  FACTS.  ") == "well known facts"
    assert normalize_text("room 101") == "room"
    tokenizer = LetterTokenizer()
    assert tokenizer.encode("It\u2019s  ME!") == tokenizer.encode("it's me")


def test_decode_drops_blanks_and_collapses_boundaries_but_not_repeated_letters() -> None:
    tokenizer = LetterTokenizer()
    # blank, |, h, i, |, |, blank, y, o, u, |
    assert tokenizer.decode([0, 1, 9, 10, 1, 1, 0, 26, 16, 22, 1]) == "hi you"
    # CTC repeat-merging is the decoder's job: the tokenizer keeps "ll" even across a blank.
    assert tokenizer.decode([9, 6, 13, 0, 13, 16]) == "hello"
    assert tokenizer.decode([0, 1, 0]) == ""


@pytest.mark.parametrize("text", ["", "   ", "?!", "1984"])
def test_transcript_without_letters_is_an_error_naming_it(text: str) -> None:
    with pytest.raises(AsrBenchError, match="no letters") as caught:
        LetterTokenizer().encode(text)
    assert repr(text) in str(caught.value)


def test_unknown_symbol_is_an_error_naming_it() -> None:
    tokens = LetterTokenizer().tokens
    with pytest.raises(AsrBenchError, match=r"\['!', 'A'\]"):
        tokens.encode_symbols(["h", "A", "!", "A"])


# ---------------------------------------------------------------------------------------------
# phones


def test_phone_round_trip_on_real_phone_transcripts(shared_data: Path) -> None:
    sequences = [row["phones"].split() for row in ci_rows(shared_data, "speechocean762")]
    tokenizer = PhoneTokenizer(PHONE_SETS["arpabet39"])

    assert tokenizer.tokens.symbols == (BLANK, *ARPABET_39)
    for seq in sequences:
        indices = tokenizer.encode(seq)
        assert indices == [1 + ARPABET_39.index(p) for p in seq]
        assert tokenizer.decode(indices) == " ".join(seq) == tokenizer.reference(seq)
        assert tokenizer.decode([0, *indices, 0]) == " ".join(seq)
    assert tokenizer.encode(["ah0", "B", "T"]) == tokenizer.encode(["AH", "B", "T"])  # stress digits are not phones


def test_timit_trains_on_48_and_reads_out_39() -> None:
    tokenizer = PhoneTokenizer(PHONE_SETS["timit48"])
    labels = ["h#", "q", "dh", "ix", "kcl", "k", "ao", "zh", "h#"]
    assert len(tokenizer.tokens) == 49
    indices = tokenizer.encode(labels)
    assert tokenizer.tokens.decode_indices(indices) == ["sil", "dh", "ix", "cl", "k", "ao", "zh", "sil"]
    assert tokenizer.decode(indices) == "sil dh ih sil k aa sh sil" == tokenizer.reference(labels)


def test_phone_errors() -> None:
    tokenizer = PhoneTokenizer(PHONE_SETS["arpabet39"])
    with pytest.raises(AsrBenchError, match="empty phone sequence"):
        tokenizer.encode([])
    with pytest.raises(AsrBenchError, match="'XX'"):
        tokenizer.encode(["AH", "XX"])
    with pytest.raises(AsrBenchError, match="empty phone sequence"):
        PhoneTokenizer(PHONE_SETS["timit61"]).encode(["q"])


# ---------------------------------------------------------------------------------------------
# token set validation


@pytest.mark.parametrize(
    ("symbols", "message"),
    [
        ((), "must start with the CTC blank"),
        (("a", "b"), "must start with the CTC blank"),
        (("a", BLANK, "b"), "must start with the CTC blank"),
        ((BLANK, "a", "b", "a"), "duplicate"),
        ((BLANK, "a", BLANK), "duplicate"),
    ],
)
def test_token_set_validation(symbols: tuple[str, ...], message: str) -> None:
    with pytest.raises(AsrBenchError, match=message):
        TokenSet(symbols)


def test_token_set_lookup_and_decode() -> None:
    tokens = TokenSet((BLANK, "x", "y"))
    assert tokens.encode_symbols(["y", "x", "y"]) == [2, 1, 2]
    assert tokens.decode_indices([2, 0, 1]) == ["y", BLANK, "x"]

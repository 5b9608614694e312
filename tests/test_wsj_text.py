"""WSJ normalisation, rule by rule, on `.dot` text as the LDC ships it (lines and marks quoted in
../shared/reference/ldc-corpora.md sections 3.4 and 4), and the LM text's sentence splitting."""

from __future__ import annotations

import pytest

from asr_bench.data.corpora.wsj_text import is_null_transcript, lm_sentences, normalize_transcript
from asr_bench.data.tokens import LETTERS, normalize_text

# (what the .dot holds, what the letter models are trained on). The first two are real .dot lines (without
# their "(uttid)"): flashlight/wav2letter #580 and pieces of the header example of Kaldi's normalize_transcript.pl.
DOT_TABLE = [
    ("The spokeswoman declined to identify possible uses for the company\\'s cash other than the stock buyback",
     "the spokeswoman declined to identify possible uses for the company's cash other than the stock buyback"),
    ("[loud_breath] And new hardware", "and new hardware"),
    ("computers I\\. B\\. M\\. introduced [door_slam]", "computers i b m introduced"),
    # 1 escapes, 11 spelling
    ("isn\\'t", "isn't"),
    ("I\\. B\\. M\\.", "i b m"),
    ("U\\.S\\. officials", "u s officials"),
    # 3 Nov'93 spellings
    ("ten %PERCENT", "ten percent"),
    ("two .POINT five", "two point five"),
    # 4 markers that are not speech
    ("the [<door_slam] door", "the door"),
    ("the [door_slam>] door", "the door"),
    ("a [phone_ring/] long call [/phone_ring] ended", "a long call ended"),
    ("and then ~", "and then"),
    ("well . then", "well then"),
    # 5 noises
    ("[misc_noise] yes [loud_breath]", "yes"),
    # 6 verbal deletions
    ("bread <and> butter", "bread and butter"),
    # 7 and 10 verbal punctuation
    ("yes \\,COMMA no", "yes comma no"),
    ("stop .PERIOD", "stop period"),
    ("wait --DASH now", "wait dash now"),
    ("\\\"DOUBLE-QUOTE hello \\\"CLOSE-QUOTE", "double quote hello close quote"),
    ("\\'END-INNER-QUOTE", "end inner quote"),
    ("\\(LEFT-PAREN aside \\)RIGHT-PAREN", "left paren aside right paren"),
    ("\\.\\.\\.ELLIPSIS \\?QUESTION-MARK \\;SEMI-COLON", "ellipsis question mark semi colon"),
    # 8 fragments
    ("the wor- world", "the wor world"),
    ("the wo(rd)- world", "the wo world"),
    ("-ing", "ing"),
    # 9 emphasis and lengthening
    ("*never* th:e", "never the"),
    ("so! good", "so good"),
    # 11 compounds and digits
    ("twenty-five", "twenty five"),
    ("in 1990", "in"),
    # nothing left
    ("[loud_breath] ~", ""),
]


@pytest.mark.parametrize(("dot", "expected"), DOT_TABLE)
def test_dot_transcripts_normalise_to_letter_words(dot: str, expected: str) -> None:
    words = normalize_transcript(dot)
    assert words == expected
    assert set(words) <= set(LETTERS) | {" "}, "only the 26 letters, the apostrophe and word gaps"
    assert normalize_text(words) == words, "training-time normalisation must leave WSJ text as it is"


def test_null_waveform_transcripts_are_recognised() -> None:
    assert is_null_transcript("~~") and is_null_transcript(" ~~ ")
    assert not is_null_transcript("~") and not is_null_transcript("and then ~")


def test_lm_text_drops_sgml_and_splits_sentences_at_full_stops_of_unknown_words() -> None:
    lines = [
        "<art.871201.0001>",
        "<p>",
        "<s>",
        "Mr. Smith's company, Acme Corp. rose. Shares of U.S. firms fell.",
        "</s>",
        "The dollar rose.",
    ]
    known = {"mr.", "corp.", "u.s."}  # as the 64k word list and the transcripts would give them
    assert list(lm_sentences(lines, known)) == [
        "mr smith's company acme corp rose",
        "shares of u s firms fell",
        "the dollar rose",
    ]
    # Without the abbreviations in the known words, each one ends a sentence, as in Kaldi.
    assert list(lm_sentences(["Mr. Smith rose."], set())) == ["mr", "smith rose"]

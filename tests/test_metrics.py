"""WER, CER and PER against hand-counted edits; corpus-level aggregation, not per-utterance means."""

from __future__ import annotations

import pytest

from asr_bench.errors import AsrBenchError
from asr_bench.metrics import cer, error_counts, error_rate, utterance_errors, wer


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("the cat sat", "the cat sat", 0.0),
        ("the cat sat", "the hat sat", 100 / 3),  # 1 substitution / 3
        ("the cat sat", "the sat", 100 / 3),  # 1 deletion / 3
        ("the cat sat", "the big cat sat down", 200 / 3),  # 2 insertions / 3
        ("the cat sat on the mat", "a cat sat the mat too", 50.0),  # 1 sub + 1 del + 1 ins = 3 / 6
        ("a b", "c d e f", 200.0),  # 2 subs + 2 ins: WER can exceed 100 %
        ("a b c", "", 100.0),  # an empty hypothesis deletes every word
    ],
)
def test_wer_single_utterance(reference: str, hypothesis: str, expected: float) -> None:
    assert wer([reference], [hypothesis]) == pytest.approx(expected)


def test_wer_is_total_edits_over_total_reference_words() -> None:
    references = ["a b c", "d e", "f g h i j"]
    hypotheses = ["a x c", "d e f g", "f g h i j"]
    # edits 1 + 2 + 0 = 3 over 3 + 2 + 5 = 10 words; the mean of per-utterance rates would be (33.3 + 100 + 0) / 3 = 44.4.
    assert wer(references, hypotheses) == pytest.approx(30.0)
    assert error_counts(references, hypotheses, "word") == (3, 10)


def test_wer_ignores_extra_whitespace() -> None:
    assert wer(["a  b "], [" a b"]) == 0.0


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("abc", "abd", 100 / 3),  # 1 substitution / 3 characters
        ("ab cd", "abcd", 20.0),  # the space is a character: 1 deletion / 5
        ("ab", "abcd", 100.0),  # 2 insertions / 2
        ("hello world", "helo wurld", 2 * 100 / 11),  # 1 deletion + 1 substitution / 11 (space counts)
    ],
)
def test_cer_single_utterance(reference: str, hypothesis: str, expected: float) -> None:
    assert cer([reference], [hypothesis]) == pytest.approx(expected)


def test_cer_is_total_edits_over_total_reference_characters() -> None:
    references = ["abcd", "ef"]
    hypotheses = ["abxd", "e"]
    # (1 sub + 1 del) / (4 + 2) characters, not the mean of 25 % and 50 %.
    assert cer(references, hypotheses) == pytest.approx(100 * 2 / 6)
    assert error_counts(references, hypotheses, "char") == (2, 6)


def test_per_counts_space_separated_phones() -> None:
    references = ["sil dh ah k ae t sil", "b iy"]
    hypotheses = ["sil dh ax k ae sil", "b iy iy"]
    # utterance 1: ah->ax, t deleted (2 / 7); utterance 2: one inserted iy (1 / 2); total 3 / 9.
    assert utterance_errors(references, hypotheses, "per") == [
        {"sub": 1, "del": 1, "ins": 0, "ref": 7},
        {"sub": 0, "del": 0, "ins": 1, "ref": 2},
    ]
    assert error_rate(utterance_errors(references, hypotheses, "per")) == pytest.approx(100 * 3 / 9)
    # Multi-letter phones are units: "ae" -> "aa" is one error, not two.
    assert wer(["k ae t"], ["k aa t"]) == pytest.approx(100 / 3)


def test_utterance_errors_count_each_kind_of_edit() -> None:
    references = ["the cat sat on the mat", "a b", "hello world"]
    hypotheses = ["a cat sat the mat too", "", "helo wurld"]
    assert utterance_errors(references, hypotheses, "wer") == [
        {"sub": 1, "del": 1, "ins": 1, "ref": 6},  # the->a, on deleted, too inserted
        {"sub": 0, "del": 2, "ins": 0, "ref": 2},
        {"sub": 2, "del": 0, "ins": 0, "ref": 2},
    ]
    assert utterance_errors(references[2:], hypotheses[2:], "cer") == [{"sub": 1, "del": 1, "ins": 0, "ref": 11}]
    with pytest.raises(AsrBenchError, match="'ler'"):
        utterance_errors(references, hypotheses, "ler")


def test_error_counts_sum_to_the_corpus_rate_across_batches() -> None:
    references = ["the cat sat", "on the mat", "a dog", "ran far away"]
    hypotheses = ["the cat", "on a mat today", "a dog", "ran away"]
    edits = words = 0
    for start in (0, 2):
        e, n = error_counts(references[start : start + 2], hypotheses[start : start + 2], "word")
        edits, words = edits + e, words + n
    # 1 del; 1 sub + 1 ins; 0; 1 del -> 4 edits over 11 words
    assert (edits, words) == (4, 11)
    assert wer(references, hypotheses) == pytest.approx(100 * edits / words)


@pytest.mark.parametrize("score", [wer, cer])
def test_empty_reference_is_an_error(score) -> None:
    with pytest.raises(AsrBenchError, match="reference transcript is empty"):
        score(["a b", ""], ["a b", "c"])
    with pytest.raises(AsrBenchError, match="reference transcript is empty"):
        score(["   "], ["c"])


@pytest.mark.parametrize("score", [wer, cer])
def test_mismatched_or_missing_utterances_are_errors(score) -> None:
    with pytest.raises(AsrBenchError, match="2 references but 1 hypotheses"):
        score(["a", "b"], ["a"])
    with pytest.raises(AsrBenchError, match="no utterances"):
        score([], [])


def test_error_counts_rejects_an_unknown_unit() -> None:
    with pytest.raises(AsrBenchError, match="'phone'"):
        error_counts(["k ae t"], ["k aa t"], "phone")

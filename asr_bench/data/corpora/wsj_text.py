"""WSJ text -> the words the letter models spell: one set of rules for the `.dot` transcripts and the LM text.

WSJ's detailed orthographic transcriptions (`.dot`) mark more than words: noises, pauses, truncations,
escapes, emphasis. Which tokens are speech follows Kaldi's WSJ recipe (egs/wsj/s5/local/
normalize_transcript.pl, rules 1-7); how a kept token is spelt in the 26 letters + apostrophe is this
module's (rules 8-11), so that every word is a sequence of `a`-`z` and `'` and `|` separates words.
Applied to each whitespace token, in order:

 1. escapes: backslashes go (`company\\'s` -> `company's`, `I\\.` -> `I.`, `\\,COMMA` -> `,COMMA`)
 2. case: lower case (Kaldi upper-cases; the letter set is lower case)
 3. Nov'93 spellings: `%PERCENT` -> `percent`, `.POINT` -> `point`
 4. markers that are not speech are dropped: a noise overlapping the previous or next word (`[<door_slam]`,
    `[door_slam>]`), the start and end of a noise spanning words (`[phone_ring/]`, `[/phone_ring]`), a
    truncation (`~`), a pause (`.`)
 5. any other token holding a noise (`[loud_breath]`, `[misc_noise]`) is dropped: Kaldi writes `<NOISE>`,
    and the letter models have no noise symbol (wav2letter drops them too)
 6. verbal deletions and insertions are kept as the words spoken: `<and>` -> `and`; a word the speaker
    inserted (spoken, not in the prompt) is an ordinary word in the `.dot` and stays
 7. `--DASH` -> `-dash` (CMUdict's spelling, as Kaldi)
 8. word fragments keep their spoken letters: the unspoken part in parentheses goes (`wo(rd)-` -> `wo-`)
    and the fragment's hyphen goes with rule 11 (`wor-` -> `wor`, `-ing` -> `ing`)
 9. emphasis and lengthening marks go: `*`, `:` and `!` (`*never*` -> `never`, `th:e` -> `the`)
10. verbal punctuation says its name: its leading punctuation goes with rule 11 and the words of its name
    separate (`,COMMA` -> `comma`, `"DOUBLE-QUOTE` -> `double quote`, `...ELLIPSIS` -> `ellipsis`);
    an apostrophe that is not between two letters goes too (`'END-INNER-QUOTE` -> `end inner quote`)
11. spelling: letters and in-word apostrophes stay; every other character separates words (`U.S.` ->
    `u s`, `I.` -> `i`, `twenty-five` -> `twenty five`), so digits, which the `.dot` spec spells out, go

A whole transcript `~~` is a null waveform (nothing was said): `is_null_transcript`.

The LM training text (non-verbalised punctuation, one paragraph or sentence a line, SGML lines starting with
`<`) goes through the same token rules after Kaldi's sentence splitting (`lm_sentences`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

NULL_WAVEFORM = "~~"  # a whole .dot transcript saying that nothing was said

_SPOKEN_NOVEMBER_93 = {"%percent": "percent", ".point": "point"}
_NOT_SPEECH = (
    re.compile(r"^\[<\w+\]$"),  # [<door_slam]: in the previous word
    re.compile(r"^\[\w+>\]$"),  # [door_slam>]: in the next word
    re.compile(r"\[\w+/\]$"),  # [phone_ring/]: a noise starts
    re.compile(r"\[/\w+\]$"),  # [/phone_ring]: it ends
)
_NOISE = re.compile(r"\[\w+\]")
_VERBAL_DELETION = re.compile(r"^<([\w']+)>$")
_UNSPOKEN_PART = re.compile(r"\([a-z']*\)")
_MARKS = str.maketrans("", "", "*:!")
_NOT_A_LETTER = re.compile(r"[^a-z']+")
_EDGE_APOSTROPHES = re.compile(r"(?<![a-z])'|'(?![a-z])")


def normalize_token(token: str) -> list[str]:
    """The words one `.dot` or LM-text token stands for (none for a marker or noise); see the module rules."""
    word = token.replace("\\", "").lower()
    word = _SPOKEN_NOVEMBER_93.get(word, word)
    if word in ("~", ".") or any(pattern.search(word) for pattern in _NOT_SPEECH) or _NOISE.search(word):
        return []
    deletion = _VERBAL_DELETION.match(word)
    if deletion:
        word = deletion.group(1)
    if word == "--dash":
        word = "-dash"
    word = _UNSPOKEN_PART.sub("", word).translate(_MARKS)
    word = _EDGE_APOSTROPHES.sub(" ", _NOT_A_LETTER.sub(" ", word))
    return word.split()


def normalize_transcript(text: str) -> str:
    """A `.dot` transcript (without its `(uttid)`) as space-separated words of `a`-`z` and `'`; "" if none."""
    return " ".join(word for token in text.split() for word in normalize_token(token))


def is_null_transcript(text: str) -> bool:
    """True for `~~`: the `.dot` mark of a null waveform, an utterance in which nothing was said."""
    return text.strip() == NULL_WAVEFORM


def lm_sentences(lines: Iterable[str], known_words: set[str]) -> Iterator[str]:
    """Normalised sentences of WSJ LM training text, split as Kaldi's wsj_extend_dict.sh splits them.

    Lines starting with `<` (the SGML article, paragraph and sentence marks) are dropped. A token that ends
    in `.`, holds no other `.` and is not a known word (an abbreviation such as `corp.` or `mr.` is, when
    `known_words` lists it) is a word followed by a full stop, so the sentence ends after it. `known_words`
    are lower-cased raw tokens (backslashes removed), e.g. the corpus's 64k word list and its transcripts.
    """
    for line in lines:
        if line.startswith("<"):
            continue
        sentence: list[str] = []
        for token in line.split():
            lowered = token.replace("\\", "").lower()
            full_stop = len(lowered) > 1 and lowered.endswith(".") and "." not in lowered[:-1] and lowered not in known_words
            sentence += normalize_token(lowered[:-1] if full_stop else lowered)
            if full_stop and sentence:
                yield " ".join(sentence)
                sentence = []
        if sentence:
            yield " ".join(sentence)

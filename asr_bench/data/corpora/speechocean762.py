"""speechocean762 (Zhang et al. 2021, arXiv 2104.01378): non-native English read by Mandarin speakers, children
and adults, with the canonical phones of every word -> train/dev/test manifests with ARPAbet-39 phones.

The published layout::

    train/{wav.scp,text,utt2spk,spk2gender,spk2age}   Kaldi data directories (wav.scp paths relative to the corpus
    test/{...}                                         folder, e.g. WAVE/SPEAKER0001/000010011.WAV)
    WAVE/SPEAKER<id>/<utt>.<ext>
    resource/text-phone    <utt>.<word index> <phones of that word, e.g. K_B AO0_I L_E>
    resource/lexicon.txt   the word pronunciations the prompts were written from

Each utterance's `phones` are the canonical phones of its words from resource/text-phone, in word order, with the
word-position suffixes (_B, _I, _E, _S) and stress digits removed (ARPAbet-39, data/phones.py); `text` keeps the
words. lexicon.txt is not read: it lists several pronunciations of some words, and text-phone already says which
one each prompt used.

Splits: with a `test/` directory, its speakers are the test set (the official split); otherwise (a copy holding
the training half only) test speakers are held out of `train/` too. Dev speakers are always held out of `train/`.
Held-out speakers are drawn (seeded) from each of four groups, gender (spk2gender) by child/adult (spk2age: a
speaker younger than ADULT_AGE is a child; the corpus's speakers are 6-15 or 19 and older), the same number from
each, so held-out PER weighs children and adults, women and men alike. A split with no speakers is not written.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.data.corpora.kaldi import Entry, kaldi_candidates, read_table
from asr_bench.data.corpora.records import BAD_LABELS, Candidate, Problem, check_candidates, natural_key, write_prepared
from asr_bench.data.corpora.registry import Corpus, CorpusOption
from asr_bench.data.manifest import ManifestSummary
from asr_bench.data.phones import arpabet_39
from asr_bench.data.splits import hold_out_speakers
from asr_bench.errors import AsrBenchError, CorpusLayoutError

ADULT_AGE = 18
LAYOUT = (
    "the speechocean762 layout: train/ (and optionally test/) Kaldi data directories with wav.scp, text, utt2spk, "
    "spk2gender, spk2age; WAVE/SPEAKER<id>/ audio; resource/text-phone"
)
_POSITION = re.compile(r"_[BIES]$")


def read_text_phone(path: Path) -> dict[str, list[Entry]]:
    """utterance -> its words' text-phone lines, in word order (keys `<utt>.<word index>`)."""
    words: dict[str, dict[int, Entry]] = defaultdict(dict)
    for key, entry in read_table(path).items():
        utt_id, dot, index = key.rpartition(".")
        if not dot or not index.isdigit():
            raise CorpusLayoutError(f"{entry.where}: key {key!r}: expected '<utterance-id>.<word index> <phones>'")
        words[utt_id][int(index)] = entry
    return {utt_id: [by_index[i] for i in sorted(by_index)] for utt_id, by_index in words.items()}


def canonical_phones(utt_id: str, words: list[str], entries: list[Entry] | None, source: Path) -> list[str] | Problem:
    """ARPAbet-39 phones of the utterance's words, or the Problem naming the text-phone line at fault."""
    if not entries:
        return Problem(BAD_LABELS, f"{source}: no phones for {utt_id}: expected lines '{utt_id}.0 <phones>' ...")
    indices = [int(entry.key.rpartition(".")[2]) for entry in entries]
    if indices != list(range(len(words))):
        return Problem(
            BAD_LABELS,
            f"{entries[0].where}: {utt_id} has phones for word(s) {indices} but its text has {len(words)} words "
            f"({' '.join(words)}): expected one line per word, numbered from 0",
        )
    phones: list[str] = []
    for entry in entries:
        if not entry.value:
            return Problem(BAD_LABELS, f"{entry.where}: no phones for word {entry.key}")
        try:
            phones += arpabet_39(_POSITION.sub("", label) for label in entry.value.split())
        except AsrBenchError as exc:
            return Problem(BAD_LABELS, f"{entry.where}: {exc}")
    return phones


def read_ages(path: Path) -> dict[str, int]:
    if not path.is_file():
        raise CorpusLayoutError(f"{path} does not exist: expected {LAYOUT}")
    ages = {}
    for speaker, entry in read_table(path).items():
        if not entry.value.isdigit():
            raise CorpusLayoutError(f"{entry.where}: age {entry.value!r} of speaker {speaker}: expected whole years")
        ages[speaker] = int(entry.value)
    return ages


def speaker_groups(candidates: list[Candidate], ages: dict[str, int], data_dir: Path) -> dict[str, list[str]]:
    """"F child", "F adult", "M child", "M adult" -> speakers."""
    genders = {c.speaker: c.gender for c in candidates}
    groups: dict[str, list[str]] = defaultdict(list)
    for speaker in sorted(genders, key=natural_key):
        gender = genders[speaker]
        if gender is None or speaker not in ages:
            missing = "spk2gender" if gender is None else "spk2age"
            raise CorpusLayoutError(f"{data_dir / missing}: no line for speaker {speaker}: expected {LAYOUT}")
        groups[f"{gender} {'child' if ages[speaker] < ADULT_AGE else 'adult'}"].append(speaker)
    return dict(groups)


def prepare_speechocean762(
    corpus_dir: str | Path,
    out_dir: str | Path,
    dev_speakers_per_group: int = 2,
    test_speakers_per_group: int = 2,
    seed: int = 0,
    skip_bad: bool = False,
    verify_audio: bool = False,
    sample_rate_hz: int | None = SAMPLE_RATE_HZ,
    progress: bool = True,
) -> dict[str, ManifestSummary]:
    """Write train/dev/test manifests of a speechocean762 copy (see the module docstring); a summary per split."""
    corpus_dir = Path(corpus_dir).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    text_phone = corpus_dir / "resource" / "text-phone"
    for required in (corpus_dir / "train" / "wav.scp", text_phone):
        if not required.is_file():
            found = ", ".join(sorted(p.name for p in corpus_dir.iterdir())) if corpus_dir.is_dir() else "no such folder"
            raise CorpusLayoutError(f"speechocean762 dir {corpus_dir} has no {required.relative_to(corpus_dir)} "
                                    f"(found: {found}): expected {LAYOUT}")
    phones = read_text_phone(text_phone)
    official_test = (corpus_dir / "test" / "wav.scp").is_file()
    parts = {name: _with_phones(kaldi_candidates(corpus_dir / name, corpus_dir), phones, text_phone)
             for name in ("train", "test") if name != "test" or official_test}

    train = parts["train"]
    groups = speaker_groups(train, read_ages(corpus_dir / "train" / "spk2age"), corpus_dir / "train")
    num_test = 0 if official_test else test_speakers_per_group
    dev_speakers, test_speakers = hold_out_speakers(groups, dev_speakers_per_group, num_test, random.Random(seed))
    splits = {
        "train": [c for c in train if c.speaker not in dev_speakers | test_speakers],
        "dev": [c for c in train if c.speaker in dev_speakers],
        "test": parts["test"] if official_test else [c for c in train if c.speaker in test_speakers],
    }
    prepared = {
        name: check_candidates(
            candidates, skip_bad=skip_bad, verify_audio=verify_audio, sample_rate_hz=sample_rate_hz,
            total=len(candidates), description=f"prepare {name}", progress=progress,
        )
        for name, candidates in splits.items()
        if candidates
    }
    return write_prepared(
        out_dir, "speechocean762", prepared, corpus_dir=corpus_dir, official_test=official_test, seed=seed,
        adult_age=ADULT_AGE, held_out_speakers={
            "dev": sorted(dev_speakers, key=natural_key),
            "test": sorted({c.speaker for c in splits["test"]}, key=natural_key),
        },
    )


def _with_phones(candidates: list[Candidate], phones: dict[str, list[Entry]], source: Path) -> list[Candidate]:
    result = []
    for cand in candidates:
        found = canonical_phones(cand.utt_id, cand.text.split(), phones.get(cand.utt_id), source)
        if isinstance(found, Problem):
            result.append(replace(cand, problem=cand.problem or found))
        else:
            result.append(replace(cand, phones=found))
    return result


CORPUS = Corpus(
    name="speechocean762",
    help="speechocean762: non-native English with canonical phones (Kaldi-style train/ and test/)",
    description="speechocean762 in its published layout (train/ and optionally test/ Kaldi data directories, WAVE/, "
    "resource/text-phone) -> <out-dir>/{train,dev,test}.jsonl with word text and ARPAbet-39 phones, and "
    "summary.json. Dev speakers (and test speakers, when there is no test/) are held out of train/, the same "
    f"number from each gender x child/adult group (child: younger than {ADULT_AGE}), seeded.",
    example="asr-bench prepare speechocean762 --corpus-dir ../shared/data/speechocean762 --out-dir data/speechocean762",
    prepare=prepare_speechocean762,
    options=(
        CorpusOption("corpus_dir", "the speechocean762 folder (holds train/, WAVE/, resource/)", required=True),
        CorpusOption("dev_speakers_per_group", "dev speakers from each gender x child/adult group (default 2)",
                     kind="int", default=2),
        CorpusOption("test_speakers_per_group", "test speakers from each group when there is no test/ (default 2)",
                     kind="int", default=2),
        CorpusOption("seed", "seed of the held-out speaker draw (default 0)", kind="int", default=0),
    ),
)

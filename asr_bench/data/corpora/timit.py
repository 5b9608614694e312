"""TIMIT (LDC93S1): the LDC tree, in the forms real copies come in -> train, dev and core-test manifests.

The tree (the LDC tarball unpacks to `timit/`, whose `TIMIT/` folder is the corpus root)::

    <root>/TRAIN/DR<1-8>/<SPEAKER>/<SENTENCE>.WAV   NIST SPHERE, 16 kHz, 16-bit mono
                                    <SENTENCE>.PHN   "<start> <end> <phone>" lines, 61 phone labels
                                    <SENTENCE>.WRD   "<start> <end> <word>" lines
                                    <SENTENCE>.TXT   "<start> <end> <prompt sentence>"
    <root>/TEST/...                                  the same

Times are sample offsets at 16 kHz, the end exclusive. SPEAKER is a sex letter, three initials and a digit
(`FCJF0`); SENTENCE is `SA1`, `SA2`, `SX<n>` or `SI<n>`. Copies of the corpus differ in ways read alike:

* all names lower case (`timit/train/dr1/fcjf0/sa1.wav`): every name is looked up case-insensitively
  (`entries`), the one step that makes the variants alike;
* an extra folder level (`data/` in the Kaggle and deepai copies, `timit/TIMIT` in the LDC one):
  `corpus_dir` may be the root or a folder up to three levels above it;
* `.WAV` converted to RIFF in place: libsndfile reads a file by its content, not its name;
* `.WAV` beside a RIFF twin `.WAV.wav` (the Kaggle copy): only the `.WAV` goes into the manifest, after
  checking that the two hold the same samples; twins that differ are refused, naming both files.

Sets (the standard ones of Kaldi's recipe and the TIMIT literature; the lists are in `timit_sets.json`):

    train          every TRAIN speaker's SI and SX sentences: 3696 utterances, 462 speakers
                   (keep_sa adds SA1 and SA2: 4620)
    dev            the 50 dev speakers of TEST, SI and SX: 400 utterances
    test           the 24 core-test speakers of TEST, SI and SX: 192 utterances
    complete_test  with complete_test=True, every TEST speaker's SI and SX: 1344 utterances, 168 speakers;
                   it contains the dev and core-test speakers, so never tune on dev and report on it

SA1 and SA2 are read by every speaker, so dev and test never include them. A dev or core-test sentence
missing from the copy is a missing utterance, not a smaller set.

Manifest fields: `id` is Kaldi's `<SPEAKER>_<SENTENCE>` in upper case whatever the copy's case
(`FCJF0_SI1027`); `gender` is the speaker folder's sex letter; `phones` are the `.PHN` labels as written
(the 61-phone set, `h#` and `q` included; training folds them, data/phones.py); `text` is the `.WRD`
words joined by spaces. The words come from `.WRD` rather than `.TXT` because `.WRD` is the
transcription aligned to the audio, already lower case and without punctuation, while `.TXT` is the
prompt sentence with capitals and punctuation that would have to be stripped. All three files are
parsed and checked: every label line is `<start> <end> <label>` inside the audio, and every phone is one
of the 61.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from asr_bench.data.audio import SAMPLE_RATE_HZ, audio_info, load_audio
from asr_bench.data.corpora.records import (
    BAD_LABELS,
    EMPTY_TRANSCRIPT,
    MISSING_AUDIO,
    NO_TRANSCRIPT,
    UNREADABLE_AUDIO,
    Candidate,
    Problem,
    check_candidates,
    write_prepared,
)
from asr_bench.data.corpora.registry import Corpus, CorpusOption
from asr_bench.data.manifest import ManifestSummary
from asr_bench.data.phones import TIMIT_61
from asr_bench.errors import BadAudioError, CorpusLayoutError

log = logging.getLogger(__name__)

TWINS_DIFFER = "audio twins differ"  # skip reason: a .WAV and its .WAV.wav twin hold different samples

SETS_FILE = "timit_sets.json"
MAX_ROOT_DEPTH = 3  # corpus_dir may be this many levels above the root (e.g. LDC93S1/timit/TIMIT)
LAYOUT = (
    "the LDC93S1 layout <root>/TRAIN and <root>/TEST, each with DR1..DR8/<SPEAKER>/<SENTENCE>.WAV, .PHN, "
    ".WRD and .TXT (e.g. timit/TIMIT/TRAIN/DR1/FCJF0/SA1.WAV), in upper or lower case, possibly below a "
    "data/ folder (Kaggle and deepai copies)"
)

_SPLIT_DIRS = ("train", "test")
_DIALECT_REGION = re.compile(r"dr[1-8]")
_SPEAKER = re.compile(r"[fm][a-z]{3}\d")
_SENTENCE_FILE = re.compile(r"(?P<sentence>sa[12]|si\d+|sx\d+)\.(?P<kind>wav|phn|wrd|txt|wav\.wav)")
_TWIN = "wav.wav"
_PHONES = frozenset(TIMIT_61)


@dataclass(frozen=True)
class Speaker:
    """A speaker folder: `name` in upper case (`FCJF0`), its dialect region (`DR1`)."""

    name: str
    dialect_region: str
    folder: Path


@dataclass(frozen=True)
class Segment:
    """One line of a .PHN, .WRD or .TXT file: samples [start_sample, end_sample) and their label."""

    start_sample: int
    end_sample: int
    label: str
    line: int


class _Unusable(Exception):
    """Raised inside the walk when an utterance cannot be used; becomes its Candidate's problem."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(reason, message)


def standard_sets() -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    """{"dev" | "core_test": {SPEAKER: (dialect region, sentence ids)}} from the package's timit_sets.json."""
    listed = json.loads(resources.files(__package__).joinpath(SETS_FILE).read_text(encoding="utf-8"))
    return {
        name: {
            speaker: (region, tuple(sentences))
            for region, speakers in listed[name].items()
            for speaker, sentences in speakers.items()
        }
        for name in ("dev", "core_test")
    }


def entries(folder: Path) -> dict[str, Path]:
    """A folder's entries by lower-cased name: how every TIMIT name is looked up, whatever the copy's case."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        key = path.name.lower()
        if key in found:
            raise CorpusLayoutError(f"{folder}: {found[key].name} and {path.name} differ only in case: expected one of them")
        found[key] = path
    return found


def find_timit_root(corpus_dir: Path) -> Path:
    """The folder holding TRAIN/ and TEST/: `corpus_dir` itself or one up to MAX_ROOT_DEPTH levels below it."""
    if not corpus_dir.is_dir():
        raise CorpusLayoutError(f"TIMIT dir {corpus_dir} does not exist: expected {LAYOUT}")
    level = [corpus_dir]
    for _ in range(MAX_ROOT_DEPTH + 1):
        roots = [folder for folder in level if _split_dirs(folder)]
        if len(roots) == 1:
            return roots[0]
        if roots:
            raise CorpusLayoutError(
                f"TIMIT dir {corpus_dir} holds {len(roots)} TIMIT trees ({', '.join(map(str, roots))}): pass the one to prepare"
            )
        level = [path for folder in level for path in entries(folder).values() if _may_hold_root(path)]
    if _regions(corpus_dir):
        raise CorpusLayoutError(
            f"TIMIT dir {corpus_dir} holds dialect-region folders (DR1..DR8): it is a TRAIN or TEST folder; "
            f"pass the folder above it, with both TRAIN and TEST: expected {LAYOUT}"
        )
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in corpus_dir.iterdir())
    shown = ", ".join(found[:12]) + (f", ... ({len(found)} entries)" if len(found) > 12 else "")
    raise CorpusLayoutError(
        f"TIMIT dir {corpus_dir} has no TRAIN or TEST folder with DR1..DR8 in it, nor up to {MAX_ROOT_DEPTH} levels "
        f"below; found: {shown or 'nothing'}; expected {LAYOUT}"
    )


def _may_hold_root(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(".") and not _DIALECT_REGION.fullmatch(path.name.lower())


def _regions(folder: Path) -> dict[str, Path]:
    """DR1..DR8 (upper case) -> folder, for the dialect-region folders in `folder`."""
    return {
        name.upper(): path for name, path in entries(folder).items() if path.is_dir() and _DIALECT_REGION.fullmatch(name)
    }


def _split_dirs(folder: Path) -> dict[str, Path]:
    """"train" / "test" -> the TRAIN / TEST folders in `folder` that hold dialect regions."""
    return {name: path for name, path in entries(folder).items() if name in _SPLIT_DIRS and path.is_dir() and _regions(path)}


def _speakers(split_dir: Path) -> dict[str, Speaker]:
    """Every speaker folder of a TRAIN or TEST folder, by upper-case name."""
    speakers: dict[str, Speaker] = {}
    for region, region_dir in _regions(split_dir).items():
        for name, folder in entries(region_dir).items():
            if name.startswith(".") or not folder.is_dir():
                continue
            if not _SPEAKER.fullmatch(name):
                raise CorpusLayoutError(
                    f"{folder}: not a TIMIT speaker folder: expected the sex letter F or M, three initials and a digit "
                    f"(e.g. FCJF0)"
                )
            speaker = Speaker(name.upper(), region, folder)
            if speaker.name in speakers:
                raise CorpusLayoutError(f"speaker {speaker.name} is in two places: {speakers[speaker.name].folder} and {folder}")
            speakers[speaker.name] = speaker
    return speakers


def _sentence_files(speaker: Speaker) -> dict[str, dict[str, Path]]:
    """SENTENCE (upper case) -> {"wav" | "phn" | "wrd" | "txt" | "wav.wav": file} in a speaker folder."""
    files: dict[str, dict[str, Path]] = {}
    for name, path in entries(speaker.folder).items():
        match = _SENTENCE_FILE.fullmatch(name)
        if match is None:
            if not name.startswith("."):
                log.warning("%s: not a TIMIT sentence file (SA1, SX<n>, SI<n> .WAV/.PHN/.WRD/.TXT), ignored", path)
            continue
        files.setdefault(match["sentence"].upper(), {})[match["kind"]] = path
    return files


def _spelled(name: str, beside: Path) -> str:
    """`name` in the case of the copy, judged by a folder of it: lower case in a lower-case copy."""
    return name.lower() if beside.name.islower() else name


def _expected(speaker: Speaker, sentence: str, extension: str) -> Path:
    """Where a file of this utterance should be, for messages about a missing one."""
    return speaker.folder / _spelled(f"{sentence}.{extension}", speaker.folder)


def _candidate(speaker: Speaker, sentence: str, files: dict[str, Path]) -> Candidate:
    audio, phones, text, problem = None, None, "", None
    try:
        audio = _resolve_audio(files, _expected(speaker, sentence, "WAV"))
        phones, text = _read_labels(speaker, sentence, files, audio)
    except _Unusable as exc:
        problem = exc.problem
    return Candidate(
        f"{speaker.name}_{sentence}", speaker.name, text, audio, phones=phones, gender=speaker.name[0], problem=problem
    )


def _resolve_audio(files: dict[str, Path], expected: Path) -> Path:
    """The utterance's audio: the .WAV, else its .WAV.wav twin; both only when they hold the same samples."""
    original, twin = files.get("wav"), files.get(_TWIN)
    if original is None and twin is None:
        raise _Unusable(MISSING_AUDIO, f"{expected} does not exist: no audio for this utterance")
    if original is None or twin is None:
        return original or twin  # type: ignore[return-value]
    decoded = []
    for path, other in ((original, twin), (twin, original)):
        try:
            decoded.append(load_audio(path, SAMPLE_RATE_HZ, resample=False))
        except BadAudioError as exc:
            raise _Unusable(UNREADABLE_AUDIO, f"{exc} (so it cannot be compared with its twin {other})") from exc
    first, second = decoded
    if first.shape != second.shape or not torch.equal(first, second):
        if first.shape != second.shape:
            how = f"{len(first)} and {len(second)} samples"
        else:
            how = f"first difference at sample {int((first != second).nonzero()[0])}"
        raise _Unusable(
            TWINS_DIFFER,
            f"{original} and {twin} are two copies of one utterance whose samples differ ({how}): expected the same "
            f"audio; remove the wrong one",
        )
    return original


def _read_labels(speaker: Speaker, sentence: str, files: dict[str, Path], audio: Path) -> tuple[list[str], str]:
    """(.PHN labels, .WRD words joined by spaces), after checking all three label files against the audio."""
    segments: dict[str, list[Segment]] = {}
    for kind in ("phn", "wrd", "txt"):
        path = files.get(kind)
        if path is None:
            raise _Unusable(
                NO_TRANSCRIPT,
                f"{_expected(speaker, sentence, kind.upper())} does not exist: expected .PHN, .WRD and .TXT beside {audio}",
            )
        segments[kind] = _read_segments(path, whole_line=kind == "txt")
    for segment in segments["phn"]:
        if segment.label not in _PHONES:
            raise _Unusable(
                BAD_LABELS,
                f"{files['phn']}:{segment.line}: label {segment.label!r} is not one of TIMIT's 61 phone labels "
                f"({' '.join(TIMIT_61)})",
            )
    try:
        num_samples = audio_info(audio).num_samples
    except BadAudioError:
        num_samples = None  # the audio check reports it, with its own reason
    for kind, found in segments.items():
        if not found:
            reason = EMPTY_TRANSCRIPT if kind == "wrd" else BAD_LABELS
            raise _Unusable(reason, f"{files[kind]}: no '<start> <end> <label>' lines")
        late = next((s for s in found if num_samples is not None and s.end_sample > num_samples), None)
        if late is not None:
            raise _Unusable(
                BAD_LABELS,
                f"{files[kind]}:{late.line}: {late.label!r} ends at sample {late.end_sample}, past the end of the audio "
                f"({audio} has {num_samples} samples); expected times inside the audio",
            )
    return [s.label for s in segments["phn"]], " ".join(s.label for s in segments["wrd"])


def _read_segments(path: Path, whole_line: bool) -> list[Segment]:
    """The `<start> <end> <label>` lines of a label file; for .TXT (`whole_line`) the label is the rest of the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _Unusable(BAD_LABELS, f"{path}: not text (byte {exc.start}): expected '<start> <end> <label>' lines") from exc
    segments = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split(maxsplit=2)
        if not fields:
            continue
        if (
            len(fields) != 3
            or not (fields[0].isdigit() and fields[1].isdigit())
            or (not whole_line and len(fields[2].split()) != 1)
        ):
            raise _Unusable(BAD_LABELS, f"{path}:{number}: {line.strip()!r} is not '<start sample> <end sample> <label>'")
        start, end = int(fields[0]), int(fields[1])
        if end < start:
            raise _Unusable(BAD_LABELS, f"{path}:{number}: {fields[2].strip()!r} ends (sample {end}) before it starts ({start})")
        segments.append(Segment(start, end, fields[2].strip(), number))
    return segments


def _standard_set(
    listed: dict[str, tuple[str, tuple[str, ...]]], found: dict[str, Speaker], test_dir: Path, name: str
) -> Iterator[tuple[Speaker, str]]:
    """(speaker, sentence) of a listed set; a listed speaker absent from the copy yields its utterances as missing."""
    for speaker_name, (region, sentences) in listed.items():
        speaker = found.get(speaker_name)
        if speaker is None:
            folder = test_dir / _spelled(region, test_dir) / _spelled(speaker_name, test_dir)
            speaker = Speaker(speaker_name, region, folder)
        elif speaker.dialect_region != region:
            raise CorpusLayoutError(
                f"{speaker.folder}: the standard {name} set has {speaker_name} in {region}, not {speaker.dialect_region}: "
                f"expected the LDC93S1 TEST folder"
            )
        yield from ((speaker, sentence) for sentence in sentences)


def prepare_timit(
    corpus_dir: str | Path,
    out_dir: str | Path,
    skip_bad: bool = False,
    keep_sa: bool = False,
    complete_test: bool = False,
    verify_audio: bool = False,
    progress: bool = True,
) -> dict[str, ManifestSummary]:
    """Write `<out_dir>/{train,dev,test}.jsonl` (and `complete_test.jsonl`) for a TIMIT copy; a summary per split.

    `keep_sa` keeps SA1/SA2 in train; `complete_test` adds every TEST speaker's SI and SX sentences. With
    `skip_bad`, unusable utterances are left out and counted by reason in summary.json instead of raising.
    """
    corpus_dir = Path(corpus_dir).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    root = find_timit_root(corpus_dir)
    split_dirs = _split_dirs(root)
    missing = [name.upper() for name in _SPLIT_DIRS if name not in split_dirs]
    if missing:
        raise CorpusLayoutError(f"TIMIT root {root} has no {missing[0]} folder with DR1..DR8 in it: expected {LAYOUT}")
    train_speakers, test_speakers = _speakers(split_dirs["train"]), _speakers(split_dirs["test"])
    files = {s.folder: _sentence_files(s) for s in (*train_speakers.values(), *test_speakers.values())}
    read_sentences = ("SI", "SX", "SA") if keep_sa else ("SI", "SX")

    def every_sentence(speakers: dict[str, Speaker], prefixes: tuple[str, ...]) -> list[tuple[Speaker, str]]:
        return [(s, sentence) for s in speakers.values() for sentence in files[s.folder] if sentence.startswith(prefixes)]

    sets = standard_sets()
    utterances = {"train": every_sentence(train_speakers, read_sentences)}
    for split, listed in (("dev", sets["dev"]), ("test", sets["core_test"])):
        utterances[split] = list(_standard_set(listed, test_speakers, split_dirs["test"], split))
        for speaker in {s for s, _ in utterances[split] if s.folder in files}:
            extra = sorted(set(files[speaker.folder]) - set(listed[speaker.name][1]) - {"SA1", "SA2"})
            if extra:
                log.warning("%s: %s not in the standard %s set, left out", speaker.folder, ", ".join(extra), split)
    if complete_test:
        utterances["complete_test"] = every_sentence(test_speakers, ("SI", "SX"))

    prepared = {
        split: check_candidates(
            (_candidate(speaker, sentence, files.get(speaker.folder, {}).get(sentence, {})) for speaker, sentence in items),
            skip_bad=skip_bad, verify_audio=verify_audio, sample_rate_hz=SAMPLE_RATE_HZ, total=len(items),
            description=f"prepare {split}", progress=progress,
        )
        for split, items in utterances.items()
    }
    return write_prepared(out_dir, "timit", prepared, corpus_dir=corpus_dir, root=root, keep_sa=keep_sa, text_from="WRD")


CORPUS = Corpus(
    name="timit",
    help="TIMIT (LDC93S1): the standard train / dev / core-test sets, phones and words",
    description="TIMIT from the LDC93S1 tree (<root>/TRAIN|TEST/DR1..DR8/<SPEAKER>/<SENTENCE>.WAV/.PHN/.WRD/.TXT, "
    "upper or lower case; --corpus-dir may be the root or a folder up to 3 levels above it, e.g. the LDC timit/ "
    "folder or a Kaggle/deepai copy's folder holding data/; a .WAV converted to RIFF and a .WAV beside a .WAV.wav "
    "twin are read too). Writes <out-dir>/train.jsonl (462 speakers, 3696 SI+SX utterances), dev.jsonl (the 50 "
    "standard dev speakers, 400), test.jsonl (the 24 core-test speakers, 192), and with --complete-test "
    "complete_test.jsonl (168 speakers, 1344), plus summary.json. Each utterance keeps the .PHN's 61-phone labels "
    "(phones) and the .WRD words (text).",
    example="asr-bench prepare timit --corpus-dir /data/LDC93S1/timit --out-dir exp/data",
    prepare=prepare_timit,
    options=(
        CorpusOption("corpus_dir", "the TIMIT root (holding TRAIN and TEST) or a folder above it", required=True),
        CorpusOption("keep_sa", "keep the SA1/SA2 sentences in train (4620 utterances instead of 3696)", kind="flag"),
        CorpusOption(
            "complete_test", "also write complete_test.jsonl: every TEST speaker's SI+SX (1344, includes dev)", kind="flag"
        ),
    ),
)

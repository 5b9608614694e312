"""WSJ (wsj0 LDC93S6A/B + wsj1 LDC94S13A/B): the LDC discs -> one JSONL manifest per standard set.

The copy is found as wsj_discs.py describes (disc folders in their real spellings and letter cases, or a
flattened copy). The sets are Kaldi's (egs/wsj/s5/local/wsj_data_prep.sh), read from the index files:

| set       | index file (disc: path)                                | utterances | also called          |
|-----------|--------------------------------------------------------|-----------:|----------------------|
| si84      | 11-13.1: wsj0/doc/indices/train/tr_s_wv1.ndx           |       7138 | train_si84           |
| si284     | 13-34.1: wsj1/doc/indices/si_tr_s.ndx + si84's index   |      37416 | train_si284          |
| dev93     | 13-34.1: wsj1/doc/indices/h1_p0.ndx                    |        503 | nov93dev, test_dev93 |
| eval92    | 11-13.1: wsj0/doc/indices/test/nvp/si_et_20.ndx        |        333 | nov92, test_eval92   |
| dev93_5k  | 13-34.1: wsj1/doc/indices/h2_p0.ndx                    |        513 | nov93dev_5k          |
| eval92_5k | 11-13.1: wsj0/doc/indices/test/nvp/si_et_05.ndx        |        330 | nov92_5k             |
| eval93    | 13-32.1: wsj1/doc/indices/wsj1/eval/h1_p0.ndx          |        213 | nov93, test_eval93   |
| eval93_5k | 13-32.1: wsj1/doc/indices/wsj1/eval/h2_p0.ndx          |        215 | nov93_5k             |

The first four are prepared by default. An index line is `<disc id>:<path>` (`11_1_1:wsj0/si_tr_s/01i/
01ic0201.wv1`; spaces and a leading `/` after the colon allowed, `;` lines are comments), with the fix-ups
every WSJ recipe applies:

* speaker 401 is listed twice in tr_s_wv1.ndx, on disc 11_2_1 and on 11_3_1; its files are on 11-3.1, so the
  11_2_1 entries are dropped (this is what takes the index's 7236 lines to si84's 7138);
* entries without an extension (the Nov'92 indices) name `.wv1` files;
* the Nov'93 evaluation indices name disc 13_32_1, where the index is; the audio is on 13-33.1.

Utterance ids are the file names, lower-cased (`01ic0201`); the speaker is their first three characters.
A set whose count differs from Kaldi's is prepared with a warning (copies differ); summary.json records both.

Transcripts come from every `.dot` file of the copy (`wsj0/transcrp/dots/...`, `wsj1/trans/wsj1/...`, or
beside the audio), one line per utterance, `<text> (<utterance id>)`, found by the session (the id's first six
characters, as Kaldi) and preferring the `.dot` files of the audio's own set folder (as wav2letter); the
same utterance with two different texts is an error naming both files. Text is normalised by wsj_text.py.
Genders come from the speaker information files on the discs (`wsj0/doc/spkrinfo.txt`,
`wsj1/doc/{train,dev_spok,evl_spok}/spkrinfo.txt`) and from `speakers_file` (e.g. LDC's separately published
wsj0-train-spkrinfo.txt); a speaker in none of them gets no gender.

WSJ's own defects are always left out, counted and listed in summary.json: null transcripts (`~~`, a null
waveform) and empty audio (si284 has two, 47hc0418 and 46uc030b). Anything else unusable (a disc the sets need,
an index entry without audio, audio without a transcript, an unreadable or corrupt file, a rate other than
16 kHz) stops preparation with an error naming the file and what was expected, or, with `skip_bad`, is left
out, counted and listed.

Outputs in `out_dir`: `<set>.jsonl`, `summary.json`, and `vocab_20k.txt` (the 20k open vocabulary,
normalised, when the discs carry it); with `lm_text`, the normalised LM training text (wsj_lm.py).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.data.corpora.records import (
    EMPTY_TRANSCRIPT,
    MISSING_AUDIO,
    NO_TRANSCRIPT,
    ZERO_LENGTH_AUDIO,
    Candidate,
    Problem,
    check_candidates,
    select_splits,
    write_prepared,
)
from asr_bench.data.corpora.registry import Corpus, CorpusOption
from asr_bench.data.corpora.wsj_discs import DISC_CONTENTS, EXPECTED_LAYOUT, WsjCopy, disc_folder_name, find_copy
from asr_bench.data.corpora.wsj_lm import (
    VOCABULARY_20K,
    WORD_FREQUENCY_LIST,
    find_word_list,
    lm_text_files,
    read_word_list,
    write_lm_text,
    write_vocabulary,
)
from asr_bench.data.corpora.wsj_text import is_null_transcript, normalize_transcript
from asr_bench.data.manifest import ManifestSummary
from asr_bench.errors import CorpusLayoutError

log = logging.getLogger(__name__)

NULL_TRANSCRIPT = "null transcript"  # a skip reason: the .dot says `~~`, nothing was said
KNOWN_DEFECTS = frozenset({NULL_TRANSCRIPT, ZERO_LENGTH_AUDIO})
VOCABULARY_FILE = "vocab_20k.txt"

_DISC_ID = re.compile(r"^\d{2}_\d{1,2}_\d$")
_UTTERANCE_ID = re.compile(r"^[0-9a-z]{8}$")
_DOT_LINE = re.compile(r"^(?P<text>.*?)\s*\((?P<id>[0-9A-Za-z]{8})\)\s*$")
_SPEAKER_401_ON_11_2_1 = ("11_2_1", "wsj0/si_tr_s/401/")


@dataclass(frozen=True)
class IndexFile:
    disc: str  # as index files write it: 11_13_1
    path: str

    def describe(self) -> str:
        return f"{disc_folder_name(self.disc)}/{self.path}"


@dataclass(frozen=True)
class WsjSet:
    indices: tuple[IndexFile, ...]
    kaldi_utterances: int
    disc_fix: tuple[str, str] | None = None  # (disc id the index writes, disc the audio is on)


SI84_INDEX = IndexFile("11_13_1", "wsj0/doc/indices/train/tr_s_wv1.ndx")
NOV93_EVAL_DISC_FIX = ("13_32_1", "13_33_1")
SETS = {
    "si84": WsjSet((SI84_INDEX,), 7138),
    "si284": WsjSet((IndexFile("13_34_1", "wsj1/doc/indices/si_tr_s.ndx"), SI84_INDEX), 37416),
    "dev93": WsjSet((IndexFile("13_34_1", "wsj1/doc/indices/h1_p0.ndx"),), 503),
    "eval92": WsjSet((IndexFile("11_13_1", "wsj0/doc/indices/test/nvp/si_et_20.ndx"),), 333),
    "dev93_5k": WsjSet((IndexFile("13_34_1", "wsj1/doc/indices/h2_p0.ndx"),), 513),
    "eval92_5k": WsjSet((IndexFile("11_13_1", "wsj0/doc/indices/test/nvp/si_et_05.ndx"),), 330),
    "eval93": WsjSet((IndexFile("13_32_1", "wsj1/doc/indices/wsj1/eval/h1_p0.ndx"),), 213, NOV93_EVAL_DISC_FIX),
    "eval93_5k": WsjSet((IndexFile("13_32_1", "wsj1/doc/indices/wsj1/eval/h2_p0.ndx"),), 215, NOV93_EVAL_DISC_FIX),
}
DEFAULT_SETS = ("si84", "si284", "dev93", "eval92")
SPEAKER_INFO = "spkrinfo.txt"  # the discs' speaker files all end so (and LDC's wsj0-train-spkrinfo.txt)


@dataclass(frozen=True)
class IndexEntry:
    """One index line after the fix-ups: the disc id and disc-relative path of an utterance's audio."""

    disc: str
    path: str
    where: str  # index file:line

    @property
    def utt_id(self) -> str:
        return PurePosixPath(self.path).stem.lower()

    @property
    def set_folder(self) -> str:
        """The folder naming the recording set (`si_tr_s`, `si_et_20`), two above the file."""
        parts = PurePosixPath(self.path.lower()).parts
        return parts[-3] if len(parts) >= 3 else ""


@dataclass
class SetIndex:
    entries: list[IndexEntry]
    files: list[Path]
    dropped_speaker_401: int = 0


def prepare_wsj(
    out_dir: str | Path,
    wsj0: str | Path | None = None,
    wsj1: str | Path | None = None,
    corpus_dir: str | Path | None = None,
    sets: Iterable[str] | None = None,
    lm_text: str | Path | None = None,
    speakers_file: str | Path | None = None,
    skip_bad: bool = False,
    verify_audio: bool = False,
    sample_rate_hz: int | None = SAMPLE_RATE_HZ,
    progress: bool = True,
) -> dict[str, ManifestSummary]:
    """Write `<out_dir>/<set>.jsonl` for each set (default: si84, si284, dev93, eval92); return their summaries.

    `wsj0` and `wsj1` are the folders holding each corpus's discs (or one flattened corpus each), `corpus_dir`
    one folder holding both; any of them may be given. `lm_text`: also write the normalised LM training text
    there (minutes: every `.z` file is decompressed). See the module docstring for everything else.
    """
    roots = [Path(p) for p in (wsj0, wsj1, corpus_dir) if p]
    if not roots:
        raise CorpusLayoutError(f"no WSJ folder given: pass wsj0 and wsj1 (or corpus_dir holding both); expected {EXPECTED_LAYOUT}")
    out_dir = Path(out_dir).expanduser().resolve()
    copy = find_copy(roots)
    chosen = select_splits(SETS, sets if sets is not None else DEFAULT_SETS, f"WSJ (sets known: {', '.join(SETS)})")
    indices = {name: read_set_index(name, spec, copy) for name, spec in chosen.items()}
    check_discs(indices, copy)
    transcripts = DotTranscripts(copy)
    genders = read_genders(_speaker_files(copy, speakers_file))

    prepared = {}
    for name, index in indices.items():
        expected = chosen[name].kaldi_utterances
        if len(index.entries) != expected:
            log.warning("%s: the index lists %d utterances, Kaldi's WSJ recipe expects %d", name, len(index.entries), expected)
        candidates = set_candidates(index.entries, copy, transcripts, genders)
        prepared[name] = check_candidates(
            candidates, skip_bad=skip_bad, verify_audio=verify_audio, sample_rate_hz=sample_rate_hz,
            total=len(index.entries), description=f"prepare {name}", progress=progress, always_skip=KNOWN_DEFECTS,
        )
    facts: dict[str, object] = {
        "roots": [str(r) for r in copy.roots],
        "layout": copy.layout,
        "discs": [disc_folder_name(d) for d in copy.discs],
        "indices": {
            name: {
                "index_files": [str(p) for p in index.files],
                "index_entries": len(index.entries),
                "kaldi_utterances": chosen[name].kaldi_utterances,
                "dropped_speaker_401_entries_on_11_2_1": index.dropped_speaker_401,
            }
            for name, index in indices.items()
        },
    }
    vocabulary = find_word_list(copy, VOCABULARY_20K)
    if vocabulary is not None:
        facts["vocab_20k"] = {"source": str(vocabulary),
                              "words": write_vocabulary(read_word_list(vocabulary), out_dir / VOCABULARY_FILE)}
    if lm_text is not None:
        facts["lm_text"] = write_lm_text(lm_text_files(copy), Path(lm_text).expanduser().resolve(),
                                         known_words(copy, transcripts))
    return write_prepared(out_dir, "wsj", prepared, **facts)


def read_set_index(name: str, spec: WsjSet, copy: WsjCopy) -> SetIndex:
    """The entries of a set's index file(s), fixed up; a missing disc or index file is a CorpusLayoutError."""
    index = SetIndex(entries=[], files=[])
    for index_file in spec.indices:
        volume = copy.volume_for(index_file.disc, index_file.path)
        if volume is None:
            raise CorpusLayoutError(
                f"{_disc_missing(index_file.disc, copy)}; {name} is defined by its index file {index_file.describe()}"
            )
        path = volume.find(index_file.path)
        if path is None:
            raise CorpusLayoutError(
                f"{volume.name} has no {index_file.path}: expected the index file of {name} there ({EXPECTED_LAYOUT})"
            )
        index.files.append(path)
        for entry in parse_index(path, spec.disc_fix):
            if entry.disc == _SPEAKER_401_ON_11_2_1[0] and entry.path.lower().startswith(_SPEAKER_401_ON_11_2_1[1]):
                index.dropped_speaker_401 += 1
            else:
                index.entries.append(entry)
    return index


def parse_index(path: Path, disc_fix: tuple[str, str] | None = None) -> list[IndexEntry]:
    """`<disc id>:<path>` lines of a `.ndx` file, with a missing extension read as `.wv1` and `disc_fix` applied."""
    entries = []
    for number, raw in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        disc, colon, relative = line.partition(":")
        disc, relative = disc.strip().lower(), relative.strip().lstrip("/")
        if not colon or not _DISC_ID.match(disc) or not relative:
            raise CorpusLayoutError(
                f"{path}:{number}: expected '<disc id>:<path>' such as 11_1_1:wsj0/si_tr_s/01i/01ic0201.wv1, got {raw!r}"
            )
        if disc_fix is not None and disc == disc_fix[0]:
            disc = disc_fix[1]
        if not PurePosixPath(relative).suffix:
            relative += ".wv1"
        entry = IndexEntry(disc, relative, f"{path}:{number}")
        if not _UTTERANCE_ID.match(entry.utt_id):
            raise CorpusLayoutError(f"{path}:{number}: {relative!r} is not named by an 8-character WSJ utterance id")
        entries.append(entry)
    return entries


def check_discs(indices: dict[str, SetIndex], copy: WsjCopy) -> None:
    """Every disc the sets' audio is on must be there: name each missing one, what it holds, and who needs it."""
    needed: dict[str, dict[str, list[IndexEntry]]] = defaultdict(lambda: defaultdict(list))
    for name, index in indices.items():
        for entry in index.entries:
            if copy.volume_for(entry.disc, entry.path) is None:
                needed[entry.disc][name].append(entry)
    if needed:
        lines = []
        for disc, by_set in sorted(needed.items()):
            uses = "; ".join(f"{name} lists {len(entries)} utterances on it, e.g. {entries[0].where}: "
                             f"{entries[0].disc}:{entries[0].path}" for name, entries in by_set.items())
            lines.append(f"{_disc_missing(disc, copy)}: {uses}")
        raise CorpusLayoutError("\n".join(lines) + "\n(prepare fewer sets with --sets, or add the discs)")


def _disc_missing(disc: str, copy: WsjCopy) -> str:
    corpus = "WSJ0" if disc.startswith("11") else "WSJ1"
    holds = f", which holds {DISC_CONTENTS[disc]}" if disc in DISC_CONTENTS else ""
    return f"{corpus} disc {disc_folder_name(disc)} (id {disc}) is not in {copy.where()}{holds} (found: {copy.found()})"


class DotTranscripts:
    """Every `.dot` file of the copy, by session (first six characters of the file name); parsed when first used."""

    def __init__(self, copy: WsjCopy) -> None:
        self.sessions: dict[str, list[Path]] = defaultdict(list)
        for volume in copy.volumes:
            for key, path in volume.files().items():
                if key.endswith(".dot"):
                    self.sessions[path.name[:6].lower()].append(path)
        self._parsed: dict[Path, dict[str, tuple[str, int]]] = {}

    def session_files(self, utt_id: str, set_folder: str) -> list[Path]:
        """The `.dot` files of an utterance's session, those in its own set folder if there are any."""
        files = sorted(self.sessions.get(utt_id[:6], []))
        same_set = [p for p in files if p.parent.parent.name.lower() == set_folder]
        return same_set or files

    def lookup(self, utt_id: str, set_folder: str) -> tuple[str, str] | None:
        """(raw text, file:line) of an utterance, or None when no `.dot` line has it."""
        found = {path: self.parse(path)[utt_id] for path in self.session_files(utt_id, set_folder) if utt_id in self.parse(path)}
        texts = {text for text, _ in found.values()}
        if len(texts) > 1:
            where = " and ".join(f"{path}:{number} ({text!r})" for path, (text, number) in found.items())
            raise CorpusLayoutError(f"utterance {utt_id} has different transcripts in {where}: expected one")
        if not found:
            return None
        path, (text, number) = next(iter(found.items()))
        return text, f"{path}:{number}"

    def parse(self, path: Path) -> dict[str, tuple[str, int]]:
        """utterance id -> (text, line number) of one `.dot` file."""
        if path not in self._parsed:
            lines: dict[str, tuple[str, int]] = {}
            for number, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
                if not line.strip():
                    continue
                match = _DOT_LINE.match(line.strip())
                if match is None:
                    raise CorpusLayoutError(f"{path}:{number}: expected '<transcript> (<utterance id>)', got {line!r}")
                lines[match["id"].lower()] = (match["text"], number)
            self._parsed[path] = lines
        return self._parsed[path]


def set_candidates(
    entries: list[IndexEntry], copy: WsjCopy, transcripts: DotTranscripts, genders: dict[str, str]
) -> Iterator[Candidate]:
    """One candidate per index entry: its audio, its normalised transcript, or the Problem that stops it."""
    for entry in entries:
        utt_id, speaker = entry.utt_id, entry.utt_id[:3]
        volume = copy.volume_for(entry.disc, entry.path)
        if volume is None:
            raise AssertionError(f"{entry.where}: check_discs lets no entry without its disc through")
        audio = volume.find(entry.path)
        found = transcripts.lookup(utt_id, entry.set_folder)
        text, problem = "", None
        if audio is None:
            has_text = f"; its transcript is at {found[1]}" if found else ", and no .dot file has its transcript"
            problem = Problem(MISSING_AUDIO, f"{entry.where}: lists {entry.disc}:{entry.path}, but {volume.name} has no such file{has_text}")
        elif found is None:
            sessions = len(transcripts.session_files(utt_id, entry.set_folder))
            problem = Problem(
                NO_TRANSCRIPT,
                f"{audio}: no transcript: expected a line '<transcript> ({utt_id})' in a {utt_id[:6]}00.dot file "
                f"({sessions} .dot file(s) of session {utt_id[:6]} found)",
            )
        elif is_null_transcript(found[0]):
            problem = Problem(NULL_TRANSCRIPT, f"{found[1]}: null transcript '~~' for {utt_id} ({audio}): nothing was said")
        else:
            text = normalize_transcript(found[0])
            if not text:
                problem = Problem(EMPTY_TRANSCRIPT, f"{found[1]}: no words in the transcript of {utt_id} ({audio}) once "
                                                    f"markers and noises are removed: {found[0]!r}")
        yield Candidate(utt_id=utt_id, speaker=speaker, text=text, audio=audio, gender=genders.get(speaker), problem=problem)


def _speaker_files(copy: WsjCopy, speakers_file: str | Path | None) -> list[Path]:
    files = sorted(path for volume in copy.volumes for key, path in volume.files().items() if key.endswith(SPEAKER_INFO))
    if speakers_file is not None:
        path = Path(speakers_file)
        if not path.is_file():
            raise CorpusLayoutError(f"speakers file {path} does not exist: expected a WSJ spkrinfo.txt")
        files.append(path)
    return files


def read_genders(files: Iterable[Path]) -> dict[str, str]:
    """speaker -> "F"/"M" from spkrinfo.txt files: first column the speaker, second the sex (as Kaldi reads them).

    `;` lines are comments, lines with `--` are table rules, and a line whose second column is not M or F is a
    heading. A speaker given two sexes is a CorpusLayoutError naming both lines.
    """
    genders: dict[str, tuple[str, str]] = {}
    for path in files:
        for number, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
            fields = line.split()
            if len(fields) < 2 or fields[0].startswith(";") or "--" in line or fields[1].upper() not in ("M", "F"):
                continue
            speaker, gender = fields[0].lower(), fields[1].upper()
            known = genders.setdefault(speaker, (gender, f"{path}:{number}"))
            if known[0] != gender:
                raise CorpusLayoutError(f"speaker {speaker} is {known[0]} at {known[1]} but {gender} at {path}:{number}")
    if not genders:
        log.info("no WSJ speaker information found: manifests will have no gender")
    return {speaker: gender for speaker, (gender, _) in genders.items()}


def known_words(copy: WsjCopy, transcripts: DotTranscripts) -> set[str]:
    """Raw words that may end in `.` without ending a sentence: the 64k word list's and the transcripts'."""
    words = {token.replace("\\", "").lower() for token in _all_transcript_tokens(transcripts)}
    frequency_list = find_word_list(copy, WORD_FREQUENCY_LIST)
    if frequency_list is None:
        log.warning("no %s on the discs: LM text sentences split at every unknown word ending in '.'", WORD_FREQUENCY_LIST)
    else:
        words.update(read_word_list(frequency_list))
    return words


def _all_transcript_tokens(transcripts: DotTranscripts) -> Iterator[str]:
    for files in transcripts.sessions.values():
        for path in files:
            for text, _ in transcripts.parse(path).values():
                yield from text.split()


CORPUS = Corpus(
    name="wsj",
    help="WSJ (wsj0 LDC93S6A/B + wsj1 LDC94S13A/B): the LDC discs or a flattened copy",
    description="WSJ from the LDC discs (11-*.1 and 13-*.1 folders, in any of their spellings and letter cases) or a "
    "flattened copy (wsj0/ and wsj1/ without disc folders). Writes Kaldi's sets from the .ndx index files "
    "(si84 7138, si284 37416, dev93 503, eval92 333 utterances by default; dev93_5k, eval92_5k, eval93, eval93_5k "
    "with --sets) with their standard fix-ups, transcripts from the .dot files normalised to letters, gender from "
    "spkrinfo.txt, durations from the SPHERE headers, and vocab_20k.txt; --lm-text also writes the normalised LM "
    "training text (np_data/*.z). Null transcripts and empty audio are always left out and listed in summary.json.",
    example="asr-bench prepare wsj --wsj0 /data/LDC93S6B --wsj1 /data/LDC94S13B --out-dir data/wsj --lm-text data/wsj/lm_text.txt",
    prepare=prepare_wsj,
    options=(
        CorpusOption("wsj0", "folder holding the WSJ0 discs 11-*.1 (or a flattened wsj0/)"),
        CorpusOption("wsj1", "folder holding the WSJ1 discs 13-*.1 (or a flattened wsj1/)"),
        CorpusOption("corpus_dir", "one folder holding both corpora (instead of --wsj0 and --wsj1)"),
        CorpusOption("sets", f"comma-separated sets (default {','.join(DEFAULT_SETS)}; known: {','.join(SETS)})", kind="list"),
        CorpusOption("lm_text", "also write the normalised WSJ LM training text to this file (takes minutes)"),
        CorpusOption("speakers_file", "another spkrinfo.txt for genders, e.g. LDC's wsj0-train-spkrinfo.txt"),
    ),
)

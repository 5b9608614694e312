"""Kaldi data directories: `wav.scp`, `text`, `utt2spk`, optional `spk2gender` and `segments` -> a JSONL manifest.

A Kaldi data directory is how most speech corpora are held in research groups (and how speechocean762 ships):

    wav.scp      <recording-id> <audio>           one line per recording
    text         <utterance-id> <words ...>       the transcript
    utt2spk      <utterance-id> <speaker-id>
    spk2gender   <speaker-id> m|f                  optional
    segments     <utterance-id> <recording-id> <start-s> <end-s>   optional; end -1 means the end of the recording

Without `segments`, utterance and recording ids are the same and each utterance is a whole file; with it, an
utterance is the span [start, end) of its recording (the manifest carries `offset` and `duration`).

The `<audio>` of a wav.scp line may be
* a path: absolute, or relative to `audio_base` (default: the data directory's parent, where Kaldi's own
  `data/<set>` folders sit beside the corpus; speechocean762's `WAVE/...` paths are relative to it);
* `sph2pipe [-f wav] [-p] PATH |` or `sox PATH -t wav - |`: commands that only convert a file libsndfile reads
  itself (NIST SPHERE, WAV), so PATH is read directly.
Any other command, and extended filenames (`file.ark:1234`), cannot be read without running Kaldi: such a line is
refused with the file and line, or, with `skip_bad`, its utterances are counted and listed in summary.json.

A `text` entry without audio and audio without a `text` entry are errors naming the file and line, or counted skips.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.data.corpora.records import (
    EMPTY_TRANSCRIPT,
    MISSING_AUDIO,
    NO_TRANSCRIPT,
    UNSUPPORTED_AUDIO_ENTRY,
    Candidate,
    Problem,
    check_candidates,
    write_prepared,
)
from asr_bench.data.corpora.registry import Corpus, CorpusOption
from asr_bench.data.manifest import ManifestSummary
from asr_bench.errors import CorpusLayoutError

log = logging.getLogger(__name__)

KALDI_LAYOUT = "a Kaldi data directory with wav.scp, text and utt2spk (optional spk2gender, segments)"
_ARK_OFFSET = re.compile(r":\d+(\[[^\]]*\])?$")
_GENDERS = {"m": "M", "f": "F"}


@dataclass(frozen=True)
class Entry:
    """One line of a Kaldi table file: its key, the rest of the line, and where it was."""

    key: str
    value: str
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Recording:
    """A wav.scp entry: the audio file it names, or why it cannot be read."""

    entry: Entry
    audio: Path | None
    problem: Problem | None


def read_table(path: Path) -> dict[str, Entry]:
    """`<key> <value>` lines of a Kaldi table file.

    Keys must be unique; blank lines are ignored; the value is the rest of the line, whitespace-trimmed.
    """
    if not path.is_file():
        raise CorpusLayoutError(f"{path} does not exist: expected {KALDI_LAYOUT}")
    entries: dict[str, Entry] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        key, value = parts[0], parts[1] if len(parts) > 1 else ""
        if key in entries:
            raise CorpusLayoutError(f"{path}:{number}: {key} is listed twice (first on line {entries[key].line})")
        entries[key] = Entry(key, value.strip(), path, number)
    return entries


def resolve_audio(entry: Entry, audio_base: Path) -> Recording:
    """The file a wav.scp value names: a path, or the PATH inside a sph2pipe/sox conversion command."""
    value = entry.value
    if not value:
        raise CorpusLayoutError(f"{entry.where}: {entry.key} has no audio: expected '<recording-id> <path>'")
    if value.endswith("|"):
        path = _piped_path(value[:-1])
        if path is None:
            return Recording(entry, None, Problem(
                UNSUPPORTED_AUDIO_ENTRY,
                f"{entry.where}: unsupported command {value!r} for {entry.key}: only a file path, "
                "'sph2pipe -f wav PATH |' or 'sox PATH -t wav - |' can be read (convert the audio to files first)",
            ))
    elif _ARK_OFFSET.search(value) or value == "-":
        return Recording(entry, None, Problem(
            UNSUPPORTED_AUDIO_ENTRY,
            f"{entry.where}: {value!r} for {entry.key} is an archive offset or stream, not a file: expected a path "
            "(extract the audio to files first, e.g. with Kaldi's wav-copy)",
        ))
    else:
        path = value
    audio = Path(path).expanduser()
    if not audio.is_absolute():
        audio = audio_base / audio
    if not audio.is_file():
        return Recording(entry, None, Problem(
            MISSING_AUDIO, f"{entry.where}: audio file {audio} of {entry.key} does not exist"
            + ("" if Path(path).is_absolute() else f" (relative paths are read from {audio_base})"),
        ))
    return Recording(entry, audio, None)


def _piped_path(command: str) -> str | None:
    """PATH of `sph2pipe [-f wav] [-p] PATH` or `sox PATH -t wav -`; None for any other command."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    program, args = Path(words[0]).name, words[1:]
    if program == "sph2pipe":
        paths = []
        skip_next = False
        for index, word in enumerate(args):
            if skip_next:
                skip_next = False
            elif word == "-f" and index + 1 < len(args) and args[index + 1] in ("wav", "rif"):
                skip_next = True  # the output format: WAV (RIFF), the samples unchanged
            elif word.startswith("-") and word != "-p":  # -p: 16-bit PCM, as libsndfile decodes anyway
                return None  # channel selection, sample ranges, other output formats: not a plain conversion
            elif word != "-p":
                paths.append(word)
        return paths[0] if len(paths) == 1 else None
    if program == "sox" and len(args) == 4 and args[1:] == ["-t", "wav", "-"]:
        return args[0]
    return None


def read_genders(path: Path) -> dict[str, str]:
    """speaker -> "F"/"M" from spk2gender (`m`/`f`, either case); absent file -> {}."""
    if not path.is_file():
        return {}
    genders = {}
    for speaker, entry in read_table(path).items():
        gender = _GENDERS.get(entry.value.lower())
        if gender is None:
            raise CorpusLayoutError(f"{entry.where}: gender {entry.value!r} of speaker {speaker}: expected m or f")
        genders[speaker] = gender
    return genders


@dataclass(frozen=True)
class Segment:
    """A segments line: the span of a recording one utterance is."""

    entry: Entry
    recording: str
    offset_s: float
    duration_s: float | None  # None: to the end of the recording


def read_segments(path: Path) -> dict[str, Segment]:
    """utterance -> (recording, start, duration) from a Kaldi segments file; end -1 means the recording's end."""
    segments = {}
    for utt_id, entry in read_table(path).items():
        fields = entry.value.split()
        try:
            if len(fields) != 3:
                raise ValueError
            start_s, end_s = float(fields[1]), float(fields[2])
        except ValueError:
            raise CorpusLayoutError(
                f"{entry.where}: expected '<utterance-id> <recording-id> <start-s> <end-s>', got {utt_id} {entry.value!r}"
            ) from None
        if start_s < 0 or (end_s != -1 and end_s <= start_s):
            raise CorpusLayoutError(f"{entry.where}: segment {utt_id} spans {start_s}-{end_s} s: expected 0 <= start < end")
        segments[utt_id] = Segment(entry, fields[0], start_s, None if end_s == -1 else end_s - start_s)
    return segments


def kaldi_candidates(data_dir: Path, audio_base: Path | None = None) -> list[Candidate]:
    """Every utterance of a Kaldi data directory, with a Problem where it has no usable audio or transcript."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CorpusLayoutError(f"Kaldi data dir {data_dir} does not exist: expected {KALDI_LAYOUT}")
    audio_base = Path(audio_base) if audio_base is not None else data_dir.resolve().parent
    wav_scp = read_table(data_dir / "wav.scp")
    text = read_table(data_dir / "text")
    utt2spk = read_table(data_dir / "utt2spk")
    genders = read_genders(data_dir / "spk2gender")
    recordings = {key: resolve_audio(entry, audio_base) for key, entry in wav_scp.items()}
    segments = read_segments(data_dir / "segments") if (data_dir / "segments").is_file() else None
    # The line that gives each utterance its audio: its segment, or its own wav.scp line.
    audio_entries = wav_scp if segments is None else {utt: segment.entry for utt, segment in segments.items()}
    if segments is not None:
        unused = set(recordings) - {segment.recording for segment in segments.values()}
        if unused:
            log.info("%s: %d recording(s) of wav.scp are in no segment", data_dir, len(unused))

    candidates = []
    for utt_id in sorted(audio_entries.keys() | text.keys()):
        speaker_entry = utt2spk.get(utt_id)
        if speaker_entry is None:
            where = text[utt_id].where if utt_id in text else audio_entries[utt_id].where
            raise CorpusLayoutError(f"{where}: utterance {utt_id} has no line in {data_dir / 'utt2spk'}")
        candidates.append(_candidate(utt_id, speaker_entry.value, text, audio_entries, recordings, segments, genders))
    return candidates


def _candidate(
    utt_id: str,
    speaker: str,
    text: dict[str, Entry],
    audio_entries: dict[str, Entry],
    recordings: dict[str, Recording],
    segments: dict[str, Segment] | None,
    genders: dict[str, str],
) -> Candidate:
    transcript = text.get(utt_id)
    source = audio_entries.get(utt_id)
    segment = segments.get(utt_id) if segments is not None else None
    recording = recordings.get(segment.recording if segment else utt_id)
    problem = None
    if source is None:
        assert transcript is not None  # the id came from one of the two
        listed_in = "segments" if segments is not None else "wav.scp"
        problem = Problem(MISSING_AUDIO, f"{transcript.where}: utterance {utt_id} has no audio: it is not in {listed_in}")
    elif segment is not None and recording is None:
        problem = Problem(
            MISSING_AUDIO, f"{source.where}: segment {utt_id} is of recording {segment.recording}, which wav.scp does not list"
        )
    elif recording is not None and recording.problem is not None:
        problem = recording.problem
    elif transcript is None:
        problem = Problem(NO_TRANSCRIPT, f"{source.where}: utterance {utt_id} has audio but no line in the text file")
    elif not transcript.value:
        problem = Problem(EMPTY_TRANSCRIPT, f"{transcript.where}: empty transcript for {utt_id}")
    return Candidate(
        utt_id=utt_id,
        speaker=speaker,
        text=" ".join(transcript.value.split()) if transcript else "",
        audio=recording.audio if recording is not None else None,
        gender=genders.get(speaker),
        offset_s=segment.offset_s if segment else None,
        duration_s=segment.duration_s if segment else None,
        problem=problem,
    )


def prepare_kaldi(
    data_dir: str | Path,
    out_dir: str | Path,
    name: str | None = None,
    audio_base: str | Path | None = None,
    skip_bad: bool = False,
    verify_audio: bool = False,
    sample_rate_hz: int | None = SAMPLE_RATE_HZ,
    progress: bool = True,
) -> dict[str, ManifestSummary]:
    """Write `<out_dir>/<name>.jsonl` (name: the data directory's name) for one Kaldi data directory."""
    data_dir = Path(data_dir).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    base = Path(audio_base).expanduser().resolve() if audio_base is not None else None
    candidates = kaldi_candidates(data_dir, base)
    split = name or data_dir.name
    prepared = check_candidates(
        candidates, skip_bad=skip_bad, verify_audio=verify_audio, sample_rate_hz=sample_rate_hz,
        total=len(candidates), description=f"prepare {split}", progress=progress,
    )
    return write_prepared(out_dir, "kaldi", {split: prepared}, data_dir=data_dir, audio_base=base or data_dir.parent)


CORPUS = Corpus(
    name="kaldi",
    help="a Kaldi data directory (wav.scp, text, utt2spk; optional spk2gender, segments)",
    description="One Kaldi data directory -> <out-dir>/<name>.jsonl and summary.json. wav.scp may hold paths "
    "(relative ones are read from --audio-base, default the data directory's parent), 'sph2pipe -f wav PATH |' or "
    "'sox PATH -t wav - |' (PATH is read directly); other commands and ark offsets are refused. With segments, "
    "each utterance is a span of its recording (offset and duration in the manifest). Speakers from utt2spk, "
    "gender from spk2gender when present.",
    example="asr-bench prepare kaldi --data-dir data/train --out-dir exp/data",
    prepare=prepare_kaldi,
    options=(
        CorpusOption("data_dir", "the Kaldi data directory (holds wav.scp, text, utt2spk)", required=True),
        CorpusOption("name", "split name of the manifest (default: the data directory's name)", kind="str"),
        CorpusOption("audio_base", "folder relative wav.scp paths start from (default: the data directory's parent)"),
    ),
)

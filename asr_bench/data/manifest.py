"""JSONL manifests: one utterance per line, the contract between corpus readers and everything after.

Plain JSON keeps manifests greppable, diffable and readable from any language; the
fields are those every later stage needs (audio path, duration for bucketing and
subsetting, speaker for disjoint splits, transcript for training and scoring).

Fields of one line (README.md, "Manifests", says the same for users writing one by hand):

    id        str    unique within the manifest
    audio     str    path of an audio file libsndfile (or, for shorten SPHERE, desphere) reads
    duration  float  seconds of speech: the whole file, or the segment when `offset` is given
    speaker   str    speaker id (splits are speaker-disjoint)
    text      str    word transcript as the corpus spells it (normalised at training time)
    phones    list   optional: phone labels as the corpus writes them (e.g. TIMIT's 61)
    gender    str    optional: "F" or "M"
    offset    float  optional: seconds from the start of `audio` where the utterance begins (Kaldi
                     `segments`); absent means the utterance is the whole file
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asr_bench.errors import ManifestError

REQUIRED_FIELDS = ("id", "audio", "duration", "speaker", "text")


@dataclass(frozen=True)
class Utterance:
    """One labelled recording. `duration` is in seconds; `phones` only where a corpus has them."""

    id: str
    audio: str
    duration: float
    speaker: str
    text: str
    phones: list[str] | None = None
    gender: str | None = None
    offset: float | None = None

    def to_json(self) -> str:
        record = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps(record, ensure_ascii=False)


def parse_line(line: str, where: str = "<string>") -> Utterance:
    """Parse one manifest line; `where` (file:line) goes into the error message."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}; required: {', '.join(REQUIRED_FIELDS)}")
    try:
        duration = float(record["duration"])
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"{where}: duration {record['duration']!r} is not a number") from exc
    if not duration > 0:
        raise ManifestError(f"{where}: duration must be positive seconds, got {duration}")
    phones = record.get("phones")
    if phones is not None and not (isinstance(phones, list) and all(isinstance(p, str) for p in phones)):
        raise ManifestError(f"{where}: phones must be a list of strings")
    offset = record.get("offset")
    if offset is not None:
        if isinstance(offset, bool) or not isinstance(offset, (int, float)) or offset < 0:
            raise ManifestError(f"{where}: offset must be non-negative seconds, got {offset!r}")
        offset = float(offset)
    return Utterance(
        id=str(record["id"]),
        audio=str(record["audio"]),
        duration=duration,
        speaker=str(record["speaker"]),
        text=str(record["text"]),
        phones=phones,
        gender=record.get("gender"),
        offset=offset,
    )


def read_manifest(path: str | Path) -> list[Utterance]:
    """Read a JSONL manifest; blank lines are ignored, duplicate ids are an error."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest does not exist")
    utterances: list[Utterance] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            utt = parse_line(line, where=f"{path}:{number}")
            if utt.id in seen:
                raise ManifestError(f"{path}:{number}: duplicate utterance id {utt.id!r}")
            seen.add(utt.id)
            utterances.append(utt)
    return utterances


def write_manifest(path: str | Path, utterances: Iterable[Utterance]) -> Path:
    """Write atomically (temp file then rename) so an interrupted run never leaves half a manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for utt in utterances:
            handle.write(utt.to_json() + "\n")
    tmp.replace(path)
    return path


@dataclass
class ManifestSummary:
    """What a preparation produced and what it skipped, for the user to check at a glance.

    `skipped` counts left-out utterances by reason; `skipped_utterances` lists them (reason ->
    "id: message" lines), so a skip can be traced to its file.
    """

    num_utterances: int
    num_speakers: int
    hours: float
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_utterances: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        utterances: list[Utterance],
        skipped: dict[str, int] | None = None,
        skipped_utterances: dict[str, list[str]] | None = None,
    ) -> "ManifestSummary":
        return cls(
            num_utterances=len(utterances),
            num_speakers=len({u.speaker for u in utterances}),
            hours=sum(u.duration for u in utterances) / 3600.0,
            skipped=dict(skipped or {}),
            skipped_utterances={k: list(v) for k, v in (skipped_utterances or {}).items()},
        )

    def describe(self) -> str:
        line = f"{self.num_utterances} utterances, {self.num_speakers} speakers, {self.hours:.2f} h"
        if self.skipped:
            line += "; skipped " + ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
        return line


def total_hours(utterances: Iterable[Utterance]) -> float:
    return sum(u.duration for u in utterances) / 3600.0

"""What every corpus reader shares: the candidate record, the audio and transcript checks, skip reasons,
and writing the manifests with a summary on disk.

A corpus module only walks its layout and yields `Candidate`s; everything that decides whether a
candidate becomes a manifest line happens here, once, so every corpus applies the same checks and
reports a bad utterance the same way:

* without `skip_bad`, the first unusable utterance raises an error naming its file and what was
  expected (BadAudioError for audio, CorpusLayoutError for transcripts and layout);
* with `skip_bad`, it is left out, counted by reason, and listed ("id: message") in the split's
  summary, which `write_prepared` keeps in `<out_dir>/summary.json` beside the manifests;
* a corpus's documented defects (`always_skip` reasons, e.g. WSJ's null transcripts and empty audio
  files) are left out, counted and listed the same way whether or not `skip_bad` is set.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from asr_bench.data.audio import AudioInfo, audio_info, load_audio
from asr_bench.data.manifest import ManifestSummary, Utterance, write_manifest
from asr_bench.errors import BadAudioError, CorpusLayoutError

log = logging.getLogger(__name__)

# Reasons an utterance is skipped with skip_bad=True: the keys of ManifestSummary.skipped.
MISSING_AUDIO = "missing audio"
NO_TRANSCRIPT = "no transcript"
EMPTY_TRANSCRIPT = "empty transcript"
UNREADABLE_AUDIO = "unreadable audio"
ZERO_LENGTH_AUDIO = "zero-length audio"
WRONG_SAMPLE_RATE = "wrong sample rate"
CORRUPT_AUDIO = "corrupt audio"
SEGMENT_OUTSIDE_AUDIO = "segment outside audio"
BAD_LABELS = "bad labels"  # a label outside the corpus's set, or label times outside the audio
UNSUPPORTED_AUDIO_ENTRY = "unsupported audio entry"  # a Kaldi wav.scp command or archive offset asr-bench cannot run

AUDIO_REASONS = frozenset(
    {MISSING_AUDIO, UNREADABLE_AUDIO, ZERO_LENGTH_AUDIO, WRONG_SAMPLE_RATE, CORRUPT_AUDIO, SEGMENT_OUTSIDE_AUDIO}
)

SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class Problem:
    """Why a candidate cannot be used: a skip reason and a message that names the file."""

    reason: str
    message: str


@dataclass(frozen=True)
class Candidate:
    """One utterance as a reader found it, before its audio is checked.

    `offset_s`/`duration_s` make it a span of a longer recording (Kaldi `segments`; `duration_s` None with an
    offset: to the end of the recording); without them the utterance is the whole file. `problem` is set when
    the reader already knows the utterance is unusable (no audio, no or empty transcript, bad labels).
    """

    utt_id: str
    speaker: str
    text: str
    audio: Path | None
    phones: list[str] | None = None
    gender: str | None = None
    offset_s: float | None = None
    duration_s: float | None = None
    problem: Problem | None = None


@dataclass
class PreparedSplit:
    """The utterances of one split that passed the checks, and the ones that did not, by reason."""

    utterances: list[Utterance] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def summary(self) -> ManifestSummary:
        counts = Counter({reason: len(items) for reason, items in self.skipped.items()})
        return ManifestSummary.of(self.utterances, counts, self.skipped)


def natural_key(utt_id: str) -> tuple[Any, ...]:
    """Sort key that orders digit runs numerically: `19-198-0002` before `19-198-0010`, `SI648` before `SI1027`."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", utt_id) if part)


def check_candidates(
    candidates: Iterable[Candidate],
    *,
    skip_bad: bool,
    verify_audio: bool = False,
    sample_rate_hz: int | None = 16_000,
    total: int | None = None,
    description: str = "prepare",
    progress: bool = True,
    always_skip: frozenset[str] = frozenset(),
) -> PreparedSplit:
    """Turn candidates into manifest utterances, reading each audio header once; raise or skip each bad one.

    Utterance ids must be unique within a split. The result is sorted by `natural_key`, so the same corpus
    gives the same manifest whatever order its files were walked in.
    """
    prepared = PreparedSplit()
    seen: dict[str, Path | None] = {}
    infos: dict[Path, AudioInfo | Problem] = {}  # one header read per recording, however many segments it holds
    for cand in tqdm(candidates, total=total, desc=description, unit="utt", disable=not progress):
        if cand.utt_id in seen:
            raise CorpusLayoutError(
                f"utterance id {cand.utt_id} appears twice ({seen[cand.utt_id]} and {cand.audio}): ids must be unique"
            )
        seen[cand.utt_id] = cand.audio
        checked = cand.problem or _check_audio(cand, sample_rate_hz, verify_audio, infos)
        if isinstance(checked, Problem):
            if not skip_bad and checked.reason not in always_skip:
                error = BadAudioError if checked.reason in AUDIO_REASONS else CorpusLayoutError
                raise error(f"{checked.message} (skip_bad / --skip-bad leaves such utterances out and counts them)")
            log.warning("skipping %s: %s", cand.utt_id, checked.message)
            prepared.skipped[checked.reason].append(f"{cand.utt_id}: {checked.message}")
            continue
        prepared.utterances.append(
            Utterance(
                id=cand.utt_id,
                audio=str(cand.audio),
                duration=checked,
                speaker=cand.speaker,
                text=cand.text,
                phones=cand.phones,
                gender=cand.gender,
                offset=cand.offset_s,
            )
        )
    prepared.utterances.sort(key=lambda u: natural_key(u.id))
    prepared.skipped = dict(prepared.skipped)
    return prepared


def _check_audio(
    cand: Candidate, sample_rate_hz: int | None, verify_audio: bool, infos: dict[Path, AudioInfo | Problem]
) -> float | Problem:
    """The utterance's duration in seconds from the header, or the Problem naming the file."""
    path = cand.audio
    if path is None:
        raise AssertionError(f"{cand.utt_id}: a candidate without audio must carry a problem")
    if path not in infos:
        infos[path] = _read_header(path, sample_rate_hz, verify_audio)
    info = infos[path]
    if isinstance(info, Problem):
        return info
    if cand.offset_s is None:
        return info.duration_s
    end_s = info.duration_s if cand.duration_s is None else cand.offset_s + cand.duration_s
    if end_s <= cand.offset_s or end_s > info.duration_s + 1.0 / info.sample_rate_hz:
        return Problem(
            SEGMENT_OUTSIDE_AUDIO,
            f"{path}: segment {cand.utt_id} spans {cand.offset_s:.3f}-{end_s:.3f} s but the audio is "
            f"{info.duration_s:.3f} s long; expected a non-empty span inside the recording",
        )
    return end_s - cand.offset_s


def _read_header(path: Path, sample_rate_hz: int | None, verify_audio: bool) -> AudioInfo | Problem:
    if path.is_file() and path.stat().st_size == 0:
        return Problem(ZERO_LENGTH_AUDIO, f"{path}: zero-length audio (empty file)")
    try:
        info = audio_info(path)
    except BadAudioError as exc:
        reason = ZERO_LENGTH_AUDIO if "zero-length" in str(exc) else UNREADABLE_AUDIO
        return Problem(reason, str(exc))
    if sample_rate_hz is not None and info.sample_rate_hz != sample_rate_hz:
        return Problem(WRONG_SAMPLE_RATE, f"{path}: sample rate {info.sample_rate_hz} Hz, expected {sample_rate_hz} Hz")
    if verify_audio:
        try:
            num_decoded = len(load_audio(path, sample_rate_hz=info.sample_rate_hz, resample=False))
        except BadAudioError as exc:
            return Problem(CORRUPT_AUDIO, str(exc))
        if num_decoded != info.num_samples:
            return Problem(
                CORRUPT_AUDIO,
                f"{path}: header says {info.num_samples} samples but {num_decoded} decode; expected them to agree",
            )
    return info


def select_splits(found: Mapping[str, Any], wanted: Iterable[str] | None, where: str) -> dict[str, Any]:
    """`found` restricted to `wanted` (all of it for None); an unknown name is an error, not an empty manifest."""
    if wanted is None:
        return dict(found)
    wanted = list(wanted)
    unknown = [name for name in wanted if name not in found]
    if unknown:
        raise CorpusLayoutError(f"{where} has no split(s) {', '.join(unknown)}; found: {', '.join(found) or 'none'}")
    return {name: found[name] for name in wanted}


def write_prepared(out_dir: Path, corpus: str, splits: Mapping[str, PreparedSplit], **facts: Any) -> dict[str, ManifestSummary]:
    """Write `<out_dir>/<split>.jsonl` per split and merge the splits' summaries into `<out_dir>/summary.json`.

    The summary keeps what was skipped and why after the run's output has scrolled away; splits prepared
    by an earlier call into the same folder keep their entries. `facts` (e.g. the corpus root found) are
    recorded beside the splits.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, ManifestSummary] = {}
    for name, split in splits.items():
        write_manifest(out_dir / f"{name}.jsonl", split.utterances)
        summaries[name] = split.summary()
        log.debug("%s: %s", name, summaries[name].describe())  # the CLI prints the summaries
    path = out_dir / SUMMARY_FILE
    recorded: dict[str, Any] = {}
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            log.warning("%s is not valid JSON: rewriting it", path)
    if recorded.get("corpus") not in (None, corpus):
        recorded = {}  # another corpus was prepared into this folder before: its entries no longer describe it
    recorded.update({"corpus": corpus, **{k: str(v) if isinstance(v, Path) else v for k, v in facts.items()}})
    recorded.setdefault("splits", {}).update({name: asdict(summary) for name, summary in summaries.items()})
    path.write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summaries


def read_summary(out_dir: Path) -> dict[str, ManifestSummary]:
    """The per-split summaries `write_prepared` recorded in `<out_dir>/summary.json`."""
    path = out_dir / SUMMARY_FILE
    if not path.is_file():
        raise CorpusLayoutError(f"{path} does not exist: prepare a corpus into {out_dir} first (asr-bench prepare)")
    recorded = json.loads(path.read_text(encoding="utf-8"))
    return {name: ManifestSummary(**entry) for name, entry in recorded.get("splits", {}).items()}

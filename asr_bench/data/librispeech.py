"""LibriSpeech preparation: the OpenSLR folders or a Hugging Face `datasets` copy -> one JSONL manifest per split.

Two on-disk forms of the same corpus give the same manifests (same ids, text,
speaker, duration, gender), so a result does not depend on where the audio came from:

* the OpenSLR layout (what `tar xzf train-clean-5.tar.gz` produces)::

      LibriSpeech/SPEAKERS.TXT
      LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt
      LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.<ext>

  Any split folder names; any audio extension libsndfile reads (`.flac` as
  published, `.opus` in ../shared/data). `corpus_dir` may be the `LibriSpeech`
  folder, a single split folder (the split is then named after that folder), or
  the folder the tarball was extracted into (holding `LibriSpeech/`).
* a Hugging Face copy saved on disk: a `DatasetDict.save_to_disk` folder (one split
  per key), a `Dataset.save_to_disk` folder (one split, named by the dataset's
  `split` or else the folder), or a folder of parquet files (split from the shard
  name `<split>-00000-of-00003.parquet`, else from the folder holding the file),
  with LibriSpeech's columns `audio` (an `Audio` column), `text`, `speaker_id`,
  `id` (or `file`). The audio is never decoded through `datasets` (its decoder needs
  torchcodec): the stored bytes are written out under `<out_dir>/audio/<split>/`
  and read like any other file.

Durations come from audio headers (`audio_info`): for the Ogg/Opus copy the header
sample count equals the decoded one (checked on the real files), so no decoding is
needed to get 5.31 h for train-clean-5. `verify_audio=True` also decodes every file,
to catch a body truncated after a valid header; that costs about 25 ms a file for Opus.

Gender (`"F"`/`"M"`) comes from `SPEAKERS.TXT` (found in or above `corpus_dir`, or
given as `speakers_file`); the speaker-disjoint split balances held-out speakers by it.
The HF copy has no gender column, so pass `speakers_file` to get the same manifests.

Outputs: `<out_dir>/<split>.jsonl` for every split, nothing else (no `all.jsonl`:
merging splits is a one-liner for whoever needs it, and a combined file invites
training on test data).

Bad input never turns into a silent wrong number: a problem with one utterance
raises an error naming the file and what was expected; with `skip_bad=True` the
utterance is left out and counted by reason in `ManifestSummary.skipped`.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from asr_bench.data.audio import SAMPLE_RATE_HZ, audio_info, load_audio
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

OPENSLR_LAYOUT = (
    "the OpenSLR LibriSpeech layout <corpus_dir>/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt "
    "with audio <speaker>-<chapter>-<utt>.<ext> beside it (e.g. LibriSpeech/train-clean-5/1088/134315/"
    "1088-134315.trans.txt), or a Hugging Face datasets copy (a save_to_disk folder or parquet files with "
    "columns audio, text, speaker_id, id)"
)
HF_COLUMNS = ("audio", "text", "speaker_id", "id")

_SHARD_NAME = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}$")
# Container signatures, for HF rows whose stored path has no extension.
_MAGIC_SUFFIX = ((b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"RIFF", ".wav"), (b"NIST_1A", ".sph"))

LAYOUT_OPENSLR = "openslr"
LAYOUT_HF_DISK = "hf-save-to-disk"
LAYOUT_HF_PARQUET = "hf-parquet"


@dataclass(frozen=True)
class _Candidate:
    """One utterance as a reader found it, before its audio is checked.

    `problem` is (reason, message) when the reader already knows the utterance is
    unusable (no audio, no or empty transcript); the message names the file.
    """

    utt_id: str
    speaker: str
    text: str
    audio: Path | None
    problem: tuple[str, str] | None = None


# ---------------------------------------------------------------------------------------------
# entry point


def detect_librispeech_layout(corpus_dir: str | Path) -> str:
    """Return LAYOUT_OPENSLR, LAYOUT_HF_DISK or LAYOUT_HF_PARQUET; CorpusLayoutError when none fits.

    A HF folder is recognised by `datasets`' own marker files (`dataset_dict.json`, or
    `state.json` + `dataset_info.json`) or by parquet files; everything else must be OpenSLR.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusLayoutError(f"LibriSpeech dir {corpus_dir} does not exist: expected {OPENSLR_LAYOUT}")
    if (corpus_dir / "dataset_dict.json").is_file() or (
        (corpus_dir / "state.json").is_file() and (corpus_dir / "dataset_info.json").is_file()
    ):
        return LAYOUT_HF_DISK
    if _openslr_split_dirs(corpus_dir):
        return LAYOUT_OPENSLR
    if next(corpus_dir.rglob("*.parquet"), None) is not None:
        return LAYOUT_HF_PARQUET
    raise CorpusLayoutError(f"LibriSpeech dir {corpus_dir} has no split folders: expected {OPENSLR_LAYOUT}")


def prepare_librispeech(
    corpus_dir: str | Path,
    out_dir: str | Path,
    skip_bad: bool = False,
    splits: Iterable[str] | None = None,
    speakers_file: str | Path | None = None,
    verify_audio: bool = False,
    sample_rate_hz: int | None = SAMPLE_RATE_HZ,
    progress: bool = True,
) -> dict[str, ManifestSummary]:
    """Write `<out_dir>/<split>.jsonl` for each split of a LibriSpeech copy; return a summary per split.

    The layout (OpenSLR folders or a HF `datasets` copy) is detected, see the module
    docstring. `splits` restricts the work to those split names (an unknown name is an
    error, not an empty manifest). `sample_rate_hz` is what every file must be
    (LibriSpeech is 16 kHz; None accepts any rate). With `skip_bad`, unusable
    utterances are left out and counted by reason instead of raising.
    """
    corpus_dir = Path(corpus_dir).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    layout = detect_librispeech_layout(corpus_dir)
    if layout == LAYOUT_OPENSLR:
        split_dirs = _select(_openslr_split_dirs(corpus_dir), splits, corpus_dir)
        librispeech_dir = next(iter(split_dirs.values())).parent
        genders = _read_speakers(speakers_file, [librispeech_dir, corpus_dir])
        sources = {
            name: (_openslr_candidates(path), sum(1 for _ in path.glob("*/*/*-*-*.*")))
            for name, path in split_dirs.items()
        }
    else:
        split_sources = _select(_hf_split_sources(corpus_dir, layout), splits, corpus_dir)
        genders = _read_speakers(speakers_file, [corpus_dir, corpus_dir.parent])
        sources = {
            name: (_hf_candidates(source, out_dir / "audio" / name), _hf_num_rows(source))
            for name, source in split_sources.items()
        }

    summaries: dict[str, ManifestSummary] = {}
    for name, (candidates, total) in sources.items():
        utterances, skipped = _check_candidates(
            candidates,
            genders,
            total=total,
            skip_bad=skip_bad,
            verify_audio=verify_audio,
            sample_rate_hz=sample_rate_hz,
            description=f"prepare {name}",
            progress=progress,
        )
        if genders:
            unknown = sorted({u.speaker for u in utterances if u.gender is None}, key=_id_key)
            if unknown:
                log.warning("%s: speaker(s) %s not in SPEAKERS.TXT: no gender for them", name, ", ".join(unknown))
        write_manifest(out_dir / f"{name}.jsonl", utterances)
        summaries[name] = ManifestSummary.of(utterances, skipped)
        log.info("%s: %s", name, summaries[name].describe())
    return summaries


def _select(found: dict[str, Any], wanted: Iterable[str] | None, corpus_dir: Path) -> dict[str, Any]:
    if wanted is None:
        return found
    wanted = list(wanted)
    unknown = [name for name in wanted if name not in found]
    if unknown:
        raise CorpusLayoutError(
            f"LibriSpeech dir {corpus_dir} has no split(s) {', '.join(unknown)}; found: {', '.join(found) or 'none'}"
        )
    return {name: found[name] for name in wanted}


def _safe_name(split: str) -> str:
    """A split name usable as a file name (HF split names are free text); manifests use this name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", split)


def _read_speakers(speakers_file: str | Path | None, search_dirs: list[Path]) -> dict[str, str]:
    """speaker id -> "F"/"M" from SPEAKERS.TXT (`ID | SEX | SUBSET | MINUTES | NAME`, ';' comments).

    An explicit `speakers_file` must exist; otherwise the first SPEAKERS.TXT in
    `search_dirs` is used, and none means no gender field.
    """
    if speakers_file is not None:
        path = Path(speakers_file)
        if not path.is_file():
            raise CorpusLayoutError(f"speakers file {path} does not exist: expected LibriSpeech's SPEAKERS.TXT")
    else:
        path = next((d / "SPEAKERS.TXT" for d in search_dirs if (d / "SPEAKERS.TXT").is_file()), None)
        if path is None:
            log.info("no SPEAKERS.TXT in %s: manifests will have no gender", ", ".join(map(str, search_dirs)))
            return {}
    log.info("genders from %s", path)
    genders: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) < 2 or fields[1] not in ("F", "M"):
            raise CorpusLayoutError(f"{path}:{number}: expected 'ID | F or M | SUBSET | MINUTES | NAME', got {line!r}")
        genders[fields[0]] = fields[1]
    return genders


# ---------------------------------------------------------------------------------------------
# checks shared by both layouts


def _check_candidates(
    candidates: Iterable[_Candidate],
    genders: dict[str, str],
    total: int | None,
    skip_bad: bool,
    verify_audio: bool,
    sample_rate_hz: int | None,
    description: str,
    progress: bool,
) -> tuple[list[Utterance], Counter[str]]:
    """Turn candidates into utterances, reading each audio header; raise or count each bad one."""
    utterances: list[Utterance] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    for cand in tqdm(candidates, total=total, desc=description, unit="utt", disable=not progress):
        if cand.utt_id in seen:
            raise CorpusLayoutError(f"utterance id {cand.utt_id} appears twice ({cand.audio}): ids must be unique")
        seen.add(cand.utt_id)
        checked = cand.problem or _check_audio(cand.audio, sample_rate_hz, verify_audio)
        if isinstance(checked, tuple):
            reason, message = checked
            if not skip_bad:
                error = BadAudioError if reason in _AUDIO_REASONS else CorpusLayoutError
                raise error(f"{message} (skip_bad / --skip-bad leaves such utterances out and counts them)")
            log.warning("skipping %s: %s", cand.utt_id, message)
            skipped[reason] += 1
            continue
        utterances.append(
            Utterance(
                id=cand.utt_id,
                audio=str(cand.audio),
                duration=checked,
                speaker=cand.speaker,
                text=cand.text,
                gender=genders.get(cand.speaker),
            )
        )
    utterances.sort(key=lambda u: _id_key(u.id))
    return utterances, skipped


_AUDIO_REASONS = {MISSING_AUDIO, UNREADABLE_AUDIO, ZERO_LENGTH_AUDIO, WRONG_SAMPLE_RATE, CORRUPT_AUDIO}


def _check_audio(path: Path | None, sample_rate_hz: int | None, verify_audio: bool) -> float | tuple[str, str]:
    """Duration in seconds from the header, or (reason, message) naming the file."""
    assert path is not None  # a candidate without audio always carries a problem
    if path.is_file() and path.stat().st_size == 0:
        return ZERO_LENGTH_AUDIO, f"{path}: zero-length audio (empty file)"
    try:
        info = audio_info(path)
    except BadAudioError as exc:
        reason = ZERO_LENGTH_AUDIO if "zero-length" in str(exc) else UNREADABLE_AUDIO
        return reason, str(exc)
    if sample_rate_hz is not None and info.sample_rate_hz != sample_rate_hz:
        return WRONG_SAMPLE_RATE, f"{path}: sample rate {info.sample_rate_hz} Hz, expected {sample_rate_hz} Hz"
    if verify_audio:
        try:
            num_decoded = len(load_audio(path, sample_rate_hz=info.sample_rate_hz, resample=False))
        except BadAudioError as exc:
            return CORRUPT_AUDIO, str(exc)
        if num_decoded != info.num_samples:
            return CORRUPT_AUDIO, (
                f"{path}: header says {info.num_samples} samples but {num_decoded} decode; expected them to agree"
            )
    return info.duration_s


def _id_key(utt_id: str) -> tuple[Any, ...]:
    """Sort `19-198-0001` numerically by speaker, chapter, utterance; other ids as text after them."""
    parts = utt_id.split("-")
    if all(p.isdigit() for p in parts):
        return (0, *map(int, parts))
    return (1, utt_id)


# ---------------------------------------------------------------------------------------------
# OpenSLR folders


def _is_openslr_split(path: Path) -> bool:
    return next(path.glob("*/*/*.trans.txt"), None) is not None


def _openslr_split_dirs(corpus_dir: Path) -> dict[str, Path]:
    """Split name -> folder: the LibriSpeech folder's children, the folder itself, or `<dir>/LibriSpeech`'s."""
    if _is_openslr_split(corpus_dir):
        return {corpus_dir.name: corpus_dir}
    found = {p.name: p for p in sorted(corpus_dir.iterdir()) if p.is_dir() and _is_openslr_split(p)}
    if not found and (corpus_dir / "LibriSpeech").is_dir():
        return _openslr_split_dirs(corpus_dir / "LibriSpeech")
    return found


def _openslr_candidates(split_dir: Path) -> Iterator[_Candidate]:
    """Every utterance of one split folder: audio files and transcript lines matched by id, chapter by chapter."""
    for speaker_dir in sorted((p for p in split_dir.iterdir() if p.is_dir()), key=lambda p: _id_key(p.name)):
        for chapter_dir in sorted((p for p in speaker_dir.iterdir() if p.is_dir()), key=lambda p: _id_key(p.name)):
            yield from _chapter_candidates(speaker_dir.name, chapter_dir)


def _chapter_candidates(speaker: str, chapter_dir: Path) -> Iterator[_Candidate]:
    prefix = f"{speaker}-{chapter_dir.name}"
    trans_path = chapter_dir / f"{prefix}.trans.txt"
    utt_pattern = re.compile(rf"^{re.escape(prefix)}-\d+$")

    audio: dict[str, Path] = {}
    for path in sorted(chapter_dir.iterdir()):
        if path.name.startswith(".") or path.name.endswith(".trans.txt") or not path.is_file():
            continue
        stem = path.name.split(".", 1)[0]
        if not utt_pattern.match(stem):
            log.warning("%s: not named %s-<utt>.<ext>, ignored", path, prefix)
            continue
        if stem in audio:
            raise CorpusLayoutError(f"{chapter_dir}: two audio files for {stem} ({audio[stem].name}, {path.name})")
        audio[stem] = path

    transcripts: dict[str, tuple[str, int]] = {}
    if trans_path.is_file():
        for number, line in enumerate(trans_path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            utt_id, _, text = line.strip().partition(" ")
            if not utt_pattern.match(utt_id):
                raise CorpusLayoutError(
                    f"{trans_path}:{number}: utterance id {utt_id!r} does not match {prefix}-<utt>: expected "
                    f"'<speaker>-<chapter>-<utt> TEXT' lines"
                )
            if utt_id in transcripts:
                raise CorpusLayoutError(f"{trans_path}:{number}: utterance {utt_id} listed twice")
            transcripts[utt_id] = (" ".join(text.split()), number)

    for utt_id in sorted(audio.keys() | transcripts.keys(), key=_id_key):
        path = audio.get(utt_id)
        text, number = transcripts.get(utt_id, ("", 0))
        problem = None
        if path is None:
            problem = MISSING_AUDIO, (
                f"{trans_path}:{number}: no audio file for {utt_id}; expected {chapter_dir}/{utt_id}.<ext>"
            )
        elif not trans_path.is_file():
            problem = NO_TRANSCRIPT, f"{path}: no transcript, {trans_path} does not exist"
        elif utt_id not in transcripts:
            problem = NO_TRANSCRIPT, f"{path}: no transcript, expected a line '{utt_id} TEXT' in {trans_path}"
        elif not text:
            problem = EMPTY_TRANSCRIPT, (
                f"{trans_path}:{number}: empty transcript for {utt_id} ({path}); expected '{utt_id} TEXT'"
            )
        yield _Candidate(utt_id=utt_id, speaker=speaker, text=text, audio=path, problem=problem)


# ---------------------------------------------------------------------------------------------
# Hugging Face datasets copies


@dataclass(frozen=True)
class _HfSource:
    """One split of a HF copy: a `load_from_disk` folder, or parquet files."""

    disk_dir: Path | None = None
    parquet_files: tuple[Path, ...] = ()


def _hf_split_sources(corpus_dir: Path, layout: str) -> dict[str, _HfSource]:
    if layout == LAYOUT_HF_DISK:
        dict_json = corpus_dir / "dataset_dict.json"
        if dict_json.is_file():
            names = json.loads(dict_json.read_text(encoding="utf-8")).get("splits", [])
            missing = [n for n in names if not (corpus_dir / n).is_dir()]
            if not names or missing:
                raise CorpusLayoutError(
                    f"{dict_json}: lists splits {names} but {missing or 'none'} missing: expected a folder per split "
                    "as DatasetDict.save_to_disk writes"
                )
            return {_safe_name(name): _HfSource(disk_dir=corpus_dir / name) for name in names}
        state = json.loads((corpus_dir / "state.json").read_text(encoding="utf-8"))
        return {_safe_name(state.get("_split") or corpus_dir.name): _HfSource(disk_dir=corpus_dir)}

    groups: dict[str, list[Path]] = {}
    for path in sorted(corpus_dir.rglob("*.parquet")):
        shard = _SHARD_NAME.match(path.stem)
        if shard:
            name = shard["split"]
        elif path.parent != corpus_dir:
            name = ".".join(path.parent.relative_to(corpus_dir).parts)
        else:
            name = path.stem
        groups.setdefault(name, []).append(path)
    return {_safe_name(name): _HfSource(parquet_files=tuple(files)) for name, files in groups.items()}


def _hf_rows(source: _HfSource, batch_size: int = 64) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) for every row, audio as the stored {bytes, path} struct, never decoded."""
    if source.disk_dir is not None:
        import datasets

        dataset = datasets.load_from_disk(str(source.disk_dir))
        if isinstance(dataset, datasets.DatasetDict):
            raise CorpusLayoutError(f"{source.disk_dir}: a DatasetDict inside a split folder; expected one Dataset")
        _check_hf_columns(dataset.column_names, source.disk_dir)
        if isinstance(dataset.features["audio"], datasets.Audio):
            # decode=False gives the stored bytes and path; decoding would need torchcodec.
            dataset = dataset.cast_column("audio", datasets.Audio(decode=False))
        columns = [c for c in (*HF_COLUMNS, "file") if c in dataset.column_names]
        index = 0
        for batch in dataset.select_columns(columns).iter(batch_size=batch_size):
            for row in _batch_rows(batch):
                yield f"{source.disk_dir} row {index}", row
                index += 1
        return

    import pyarrow.parquet as pq

    for path in source.parquet_files:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        _check_hf_columns(names, path)
        columns = [c for c in (*HF_COLUMNS, "file") if c in names]
        index = 0
        for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
            for row in batch.to_pylist():
                yield f"{path} row {index}", row
                index += 1


def _batch_rows(batch: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    keys = list(batch)
    for values in zip(*(batch[k] for k in keys)):
        yield dict(zip(keys, values))


def _check_hf_columns(names: list[str], where: Path) -> None:
    required = ["audio", "text", "speaker_id"]
    missing = [c for c in required if c not in names]
    if "id" not in names and "file" not in names:
        missing.append("id (or file)")
    if missing:
        raise CorpusLayoutError(
            f"{where}: HF LibriSpeech copy lacks column(s) {', '.join(missing)}; has {', '.join(names)}; "
            f"expected LibriSpeech's columns file, audio, text, speaker_id, chapter_id, id"
        )


def _hf_num_rows(source: _HfSource) -> int | None:
    """Row count for the progress bar, from metadata only."""
    if source.parquet_files:
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in source.parquet_files)
    import datasets

    return datasets.load_from_disk(str(source.disk_dir)).num_rows  # memory-mapped: reads no rows


def _hf_candidates(source: _HfSource, audio_dir: Path) -> Iterator[_Candidate]:
    """Rows of one split as candidates, each row's audio bytes written to `audio_dir/<speaker>/<id><ext>`.

    A row whose audio holds no bytes but a path to an existing file (a copy saved
    without embedding) points at that file instead.
    """
    for where, row in _hf_rows(source):
        audio = row.get("audio") or {}
        if not isinstance(audio, dict):
            raise CorpusLayoutError(f"{where}: audio column holds {type(audio).__name__}; expected an Audio column")
        stored_path = audio.get("path") or row.get("file") or ""
        utt_id = str(row.get("id") or Path(str(row.get("file") or stored_path)).name.split(".", 1)[0])
        if not utt_id:
            raise CorpusLayoutError(f"{where}: no utterance id (columns id, file and audio.path are all empty)")
        speaker = str(row.get("speaker_id"))
        text = " ".join(str(row.get("text") or "").split())
        data = audio.get("bytes")
        problem = None
        path: Path | None
        if data is not None:  # empty bytes are written too, and reported as zero-length audio
            path = audio_dir / speaker / f"{utt_id}{_audio_suffix(stored_path, row.get('file'), data)}"
            _write_if_changed(path, data)
        elif stored_path and Path(stored_path).is_file():
            path = Path(stored_path).resolve()
        else:
            path = None
            problem = MISSING_AUDIO, f"{where} ({utt_id}): no audio bytes and no file at {stored_path!r}"
        if problem is None and not text:
            problem = EMPTY_TRANSCRIPT, f"{where} ({utt_id}): empty transcript in column text"
        yield _Candidate(utt_id=utt_id, speaker=speaker, text=text, audio=path, problem=problem)


def _audio_suffix(stored_path: str, file_column: Any, data: bytes) -> str:
    for name in (stored_path, str(file_column or "")):
        suffix = "".join(Path(name).suffixes[-1:])
        if suffix and suffix != ".":
            return suffix
    for magic, suffix in _MAGIC_SUFFIX:
        if data.startswith(magic):
            return suffix
    return ".audio"  # libsndfile identifies formats by content, not by name


def _write_if_changed(path: Path, data: bytes) -> None:
    """Idempotent extraction: a rerun rewrites nothing that is already there byte for byte."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


__all__ = [
    "CORRUPT_AUDIO",
    "EMPTY_TRANSCRIPT",
    "LAYOUT_HF_DISK",
    "LAYOUT_HF_PARQUET",
    "LAYOUT_OPENSLR",
    "MISSING_AUDIO",
    "NO_TRANSCRIPT",
    "UNREADABLE_AUDIO",
    "WRONG_SAMPLE_RATE",
    "ZERO_LENGTH_AUDIO",
    "detect_librispeech_layout",
    "prepare_librispeech",
]

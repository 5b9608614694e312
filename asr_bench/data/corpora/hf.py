"""Hugging Face `datasets` copies of a corpus, saved on disk: splits, rows, and the audio bytes as files.

Three on-disk forms are read: a `DatasetDict.save_to_disk` folder (one split per key), a
`Dataset.save_to_disk` folder (one split, named by the dataset's `split` or else the folder), and a
folder of parquet files (split from the shard name `<split>-00000-of-00003.parquet`, else from the
folder holding the file). The audio is never decoded through `datasets` (its decoder needs torchcodec):
the stored bytes are written out under `<audio_dir>/<speaker>/<id><ext>` and read like any other file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr_bench.data.corpora.records import EMPTY_TRANSCRIPT, MISSING_AUDIO, Candidate, Problem
from asr_bench.errors import CorpusLayoutError

_SHARD_NAME = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}$")
# Container signatures, for rows whose stored path has no extension.
_MAGIC_SUFFIX = ((b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"RIFF", ".wav"), (b"NIST_1A", ".sph"))

LAYOUT_HF_DISK = "hf-save-to-disk"
LAYOUT_HF_PARQUET = "hf-parquet"


@dataclass(frozen=True)
class HfColumns:
    """Which columns of a corpus's HF copy hold what; `id` may be missing when `file` names the audio."""

    audio: str = "audio"
    text: str = "text"
    speaker: str = "speaker_id"
    id: str = "id"
    file: str = "file"

    @property
    def wanted(self) -> tuple[str, ...]:
        return (self.audio, self.text, self.speaker, self.id, self.file)


@dataclass(frozen=True)
class HfSource:
    """One split of a HF copy: a `load_from_disk` folder, or parquet files."""

    disk_dir: Path | None = None
    parquet_files: tuple[Path, ...] = ()


def detect_hf_layout(corpus_dir: Path) -> str | None:
    """LAYOUT_HF_DISK by `datasets`' own marker files, LAYOUT_HF_PARQUET by parquet files, else None."""
    if (corpus_dir / "dataset_dict.json").is_file() or (
        (corpus_dir / "state.json").is_file() and (corpus_dir / "dataset_info.json").is_file()
    ):
        return LAYOUT_HF_DISK
    if next(corpus_dir.rglob("*.parquet"), None) is not None:
        return LAYOUT_HF_PARQUET
    return None


def safe_split_name(split: str) -> str:
    """A split name usable as a file name (HF split names are free text); manifests use this name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", split)


def hf_split_sources(corpus_dir: Path, layout: str) -> dict[str, HfSource]:
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
            return {safe_split_name(name): HfSource(disk_dir=corpus_dir / name) for name in names}
        state = json.loads((corpus_dir / "state.json").read_text(encoding="utf-8"))
        return {safe_split_name(state.get("_split") or corpus_dir.name): HfSource(disk_dir=corpus_dir)}

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
    return {safe_split_name(name): HfSource(parquet_files=tuple(files)) for name, files in groups.items()}


def _rows(source: HfSource, columns: HfColumns, expected: str, batch_size: int = 64) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) for every row, audio as the stored {bytes, path} struct, never decoded."""
    if source.disk_dir is not None:
        import datasets

        dataset = datasets.load_from_disk(str(source.disk_dir))
        if isinstance(dataset, datasets.DatasetDict):
            raise CorpusLayoutError(f"{source.disk_dir}: a DatasetDict inside a split folder; expected one Dataset")
        _check_columns(dataset.column_names, source.disk_dir, columns, expected)
        if isinstance(dataset.features[columns.audio], datasets.Audio):
            # decode=False gives the stored bytes and path; decoding would need torchcodec.
            dataset = dataset.cast_column(columns.audio, datasets.Audio(decode=False))
        present = [c for c in columns.wanted if c in dataset.column_names]
        index = 0
        for batch in dataset.select_columns(present).iter(batch_size=batch_size):
            keys = list(batch)
            for values in zip(*(batch[k] for k in keys)):
                yield f"{source.disk_dir} row {index}", dict(zip(keys, values))
                index += 1
        return

    import pyarrow.parquet as pq

    for path in source.parquet_files:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        _check_columns(names, path, columns, expected)
        present = [c for c in columns.wanted if c in names]
        index = 0
        for batch in parquet.iter_batches(batch_size=batch_size, columns=present):
            for row in batch.to_pylist():
                yield f"{path} row {index}", row
                index += 1


def _check_columns(names: list[str], where: Path, columns: HfColumns, expected: str) -> None:
    missing = [c for c in (columns.audio, columns.text, columns.speaker) if c not in names]
    if columns.id not in names and columns.file not in names:
        missing.append(f"{columns.id} (or {columns.file})")
    if missing:
        raise CorpusLayoutError(
            f"{where}: HF copy lacks column(s) {', '.join(missing)}; has {', '.join(names)}; expected {expected}"
        )


def hf_num_rows(source: HfSource) -> int | None:
    """Row count for the progress bar, from metadata only."""
    if source.parquet_files:
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in source.parquet_files)
    import datasets

    return datasets.load_from_disk(str(source.disk_dir)).num_rows  # memory-mapped: reads no rows


def hf_candidates(
    source: HfSource, audio_dir: Path, columns: HfColumns, expected: str, genders: dict[str, str]
) -> Iterator[Candidate]:
    """Rows of one split as candidates, each row's audio bytes written to `audio_dir/<speaker>/<id><ext>`.

    A row whose audio holds no bytes but a path to an existing file (a copy saved without embedding)
    points at that file instead. `expected` describes the corpus's columns for error messages.
    """
    for where, row in _rows(source, columns, expected):
        audio = row.get(columns.audio) or {}
        if not isinstance(audio, dict):
            raise CorpusLayoutError(f"{where}: audio column holds {type(audio).__name__}; expected an Audio column")
        stored_path = audio.get("path") or row.get(columns.file) or ""
        utt_id = str(row.get(columns.id) or Path(str(row.get(columns.file) or stored_path)).name.split(".", 1)[0])
        if not utt_id:
            raise CorpusLayoutError(f"{where}: no utterance id (columns {columns.id}, {columns.file} and audio.path are empty)")
        speaker = str(row.get(columns.speaker))
        text = " ".join(str(row.get(columns.text) or "").split())
        data = audio.get("bytes")
        problem = None
        path: Path | None
        if data is not None:  # empty bytes are written too, and reported as zero-length audio
            path = audio_dir / speaker / f"{utt_id}{_audio_suffix(stored_path, row.get(columns.file), data)}"
            _write_if_changed(path, data)
        elif stored_path and Path(stored_path).is_file():
            path = Path(stored_path).resolve()
        else:
            path = None
            problem = Problem(MISSING_AUDIO, f"{where} ({utt_id}): no audio bytes and no file at {stored_path!r}")
        if problem is None and not text:
            problem = Problem(EMPTY_TRANSCRIPT, f"{where} ({utt_id}): empty transcript in column {columns.text}")
        yield Candidate(utt_id=utt_id, speaker=speaker, text=text, audio=path, gender=genders.get(speaker), problem=problem)


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

"""LibriSpeech: the OpenSLR folders or a Hugging Face `datasets` copy -> one JSONL manifest per split.

Two on-disk forms of the same corpus give the same manifests (same ids, text, speaker, duration,
gender), so a result does not depend on where the audio came from:

* the OpenSLR layout (what `tar xzf train-clean-5.tar.gz` produces)::

      LibriSpeech/SPEAKERS.TXT
      LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt
      LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.<ext>

  Any split folder names; any audio extension libsndfile reads (`.flac` as published, `.opus` in
  ../shared/data). `corpus_dir` may be the `LibriSpeech` folder, a single split folder (the split is
  then named after that folder), or the folder the tarball was extracted into (holding `LibriSpeech/`).
* a Hugging Face copy saved on disk (`hf.py`) with LibriSpeech's columns `audio`, `text`,
  `speaker_id`, `id` (or `file`); the audio bytes are written under `<out_dir>/audio/<split>/`.

Durations come from audio headers: for the Ogg/Opus copy the header sample count equals the decoded
one (checked on the real files), so no decoding is needed to get 5.31 h for train-clean-5.
`verify_audio=True` also decodes every file, to catch a body truncated after a valid header.

Gender (`"F"`/`"M"`) comes from `SPEAKERS.TXT` (found in or above `corpus_dir`, or given as
`speakers_file`); the HF copy has no gender column, so pass `speakers_file` to get the same manifests.

Outputs: `<out_dir>/<split>.jsonl` for every split and `summary.json`; no `all.jsonl` (a combined file
invites training on test data).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from asr_bench.data.audio import SAMPLE_RATE_HZ
from asr_bench.data.corpora.hf import HfColumns, detect_hf_layout, hf_candidates, hf_num_rows, hf_split_sources
from asr_bench.data.corpora.records import (
    EMPTY_TRANSCRIPT,
    MISSING_AUDIO,
    NO_TRANSCRIPT,
    Candidate,
    Problem,
    check_candidates,
    natural_key,
    select_splits,
    write_prepared,
)
from asr_bench.data.corpora.registry import Corpus, CorpusOption
from asr_bench.data.manifest import ManifestSummary
from asr_bench.errors import CorpusLayoutError

log = logging.getLogger(__name__)

OPENSLR_LAYOUT = (
    "the OpenSLR LibriSpeech layout <corpus_dir>/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt "
    "with audio <speaker>-<chapter>-<utt>.<ext> beside it (e.g. LibriSpeech/train-clean-5/1088/134315/"
    "1088-134315.trans.txt), or a Hugging Face datasets copy (a save_to_disk folder or parquet files with "
    "columns audio, text, speaker_id, id)"
)
HF_COLUMNS = HfColumns()
HF_EXPECTED = "LibriSpeech's columns file, audio, text, speaker_id, chapter_id, id"
LAYOUT_OPENSLR = "openslr"


def detect_librispeech_layout(corpus_dir: str | Path) -> str:
    """LAYOUT_OPENSLR, or one of hf.py's HF layouts; CorpusLayoutError when none fits."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusLayoutError(f"LibriSpeech dir {corpus_dir} does not exist: expected {OPENSLR_LAYOUT}")
    if _openslr_split_dirs(corpus_dir):
        return LAYOUT_OPENSLR
    hf_layout = detect_hf_layout(corpus_dir)
    if hf_layout is not None:
        return hf_layout
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

    `splits` restricts the work to those split names (an unknown name is an error). `sample_rate_hz` is
    what every file must be (None accepts any rate). With `skip_bad`, unusable utterances are left out
    and counted by reason instead of raising.
    """
    corpus_dir = Path(corpus_dir).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    layout = detect_librispeech_layout(corpus_dir)
    where = f"LibriSpeech dir {corpus_dir}"
    if layout == LAYOUT_OPENSLR:
        split_dirs = select_splits(_openslr_split_dirs(corpus_dir), splits, where)
        librispeech_dir = next(iter(split_dirs.values())).parent
        genders = read_speakers(speakers_file, [librispeech_dir, corpus_dir])
        sources = {
            name: (_openslr_candidates(path, genders), sum(1 for _ in path.glob("*/*/*-*-*.*")))
            for name, path in split_dirs.items()
        }
    else:
        split_sources = select_splits(hf_split_sources(corpus_dir, layout), splits, where)
        genders = read_speakers(speakers_file, [corpus_dir, corpus_dir.parent])
        sources = {
            name: (hf_candidates(source, out_dir / "audio" / name, HF_COLUMNS, HF_EXPECTED, genders), hf_num_rows(source))
            for name, source in split_sources.items()
        }

    prepared = {}
    for name, (candidates, total) in sources.items():
        prepared[name] = check_candidates(
            candidates, skip_bad=skip_bad, verify_audio=verify_audio, sample_rate_hz=sample_rate_hz,
            total=total, description=f"prepare {name}", progress=progress,
        )
        if genders:
            unknown = sorted({u.speaker for u in prepared[name].utterances if u.gender is None}, key=natural_key)
            if unknown:
                log.warning("%s: speaker(s) %s not in SPEAKERS.TXT: no gender for them", name, ", ".join(unknown))
    return write_prepared(out_dir, "librispeech", prepared, corpus_dir=corpus_dir, layout=layout)


def read_speakers(speakers_file: str | Path | None, search_dirs: list[Path]) -> dict[str, str]:
    """speaker id -> "F"/"M" from SPEAKERS.TXT (`ID | SEX | SUBSET | MINUTES | NAME`, ';' comments).

    An explicit `speakers_file` must exist; otherwise the first SPEAKERS.TXT in `search_dirs` is used,
    and none means no gender field.
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


def _openslr_candidates(split_dir: Path, genders: dict[str, str]) -> Iterator[Candidate]:
    """Every utterance of one split folder: audio files and transcript lines matched by id, chapter by chapter."""
    for speaker_dir in sorted((p for p in split_dir.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
        for chapter_dir in sorted((p for p in speaker_dir.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
            yield from _chapter_candidates(speaker_dir.name, chapter_dir, genders.get(speaker_dir.name))


def _chapter_candidates(speaker: str, chapter_dir: Path, gender: str | None) -> Iterator[Candidate]:
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

    for utt_id in sorted(audio.keys() | transcripts.keys(), key=natural_key):
        path = audio.get(utt_id)
        text, number = transcripts.get(utt_id, ("", 0))
        problem = None
        if path is None:
            problem = Problem(MISSING_AUDIO, f"{trans_path}:{number}: no audio file for {utt_id}; expected {chapter_dir}/{utt_id}.<ext>")
        elif not trans_path.is_file():
            problem = Problem(NO_TRANSCRIPT, f"{path}: no transcript, {trans_path} does not exist")
        elif utt_id not in transcripts:
            problem = Problem(NO_TRANSCRIPT, f"{path}: no transcript, expected a line '{utt_id} TEXT' in {trans_path}")
        elif not text:
            problem = Problem(EMPTY_TRANSCRIPT, f"{trans_path}:{number}: empty transcript for {utt_id} ({path}); expected '{utt_id} TEXT'")
        yield Candidate(utt_id=utt_id, speaker=speaker, text=text, audio=path, gender=gender, problem=problem)


CORPUS = Corpus(
    name="librispeech",
    help="LibriSpeech: the OpenSLR folders or a Hugging Face datasets copy",
    description="LibriSpeech from the OpenSLR layout (<corpus-dir>/<split>/<speaker>/<chapter>/ with "
    "<speaker>-<chapter>.trans.txt and audio <speaker>-<chapter>-<utt>.<ext>, any split names, any audio "
    "format libsndfile reads; --corpus-dir may be the LibriSpeech folder or one split folder) or from a "
    "Hugging Face datasets copy (save_to_disk folder or parquet files; audio is extracted to "
    "<out-dir>/audio/<split>/). Writes <out-dir>/<split>.jsonl and summary.json; gender from SPEAKERS.TXT "
    "when found. Durations come from audio headers.",
    example="asr-bench prepare librispeech --corpus-dir ../shared/data/librispeech-mini/LibriSpeech --out-dir data/librispeech",
    prepare=prepare_librispeech,
    options=(
        CorpusOption("corpus_dir", "LibriSpeech folder, one split folder, or a HF datasets copy", required=True),
        CorpusOption("splits", "comma-separated split names to prepare (default: all found)", kind="list"),
        CorpusOption("speakers_file", "SPEAKERS.TXT for gender (default: the one beside the split folders)"),
    ),
)

"""WSJ's language-model material: the LM training text and the vocabularies, read from disc 13-32.1.

* LM training text, non-verbalised punctuation: `wsj1/doc/lng_modl/lm_train/np_data/{87,88,89}/*.z`, Unix
  `compress` (LZW) files, as Kaldi, ESPnet and wav2letter use it. Decompressed with unlzw3 (Python's gzip
  cannot read LZW), one process per core, and normalised by wsj_text.lm_sentences into one sentence a line.
* vocabularies `wsj1/doc/lng_modl/vocab/`: `wfl_64.lst` (the 64k word-frequency list, word in the 2nd
  column), which tells abbreviations (`corp.`) from full stops when the LM text is split into sentences, and
  `wlist20o.nvp` (the 20k open vocabulary), normalised into a lexicon word list. WSJ0 carries copies under
  `11-13.1/wsj0/doc/lng_modl/vocab/`, used when 13-32.1 lacks them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from asr_bench.data.corpora.wsj_discs import DISC_CONTENTS, WsjCopy, disc_folder_name
from asr_bench.data.corpora.wsj_text import lm_sentences, normalize_token
from asr_bench.errors import CorpusLayoutError

log = logging.getLogger(__name__)

LM_DISC = "13_32_1"
LM_TEXT_DIR = "wsj1/doc/lng_modl/lm_train/np_data"
VOCAB_DIRS = ((LM_DISC, "wsj1/doc/lng_modl/vocab"), ("11_13_1", "wsj0/doc/lng_modl/vocab"))
WORD_FREQUENCY_LIST = "wfl_64.lst"
VOCABULARY_20K = "wlist20o.nvp"


@dataclass(frozen=True)
class WordList:
    """A vocabulary file of the discs: `#` lines are comments, the word is in column `column` (0-based)."""

    name: str
    column: int


WORD_LISTS = {WORD_FREQUENCY_LIST: WordList(WORD_FREQUENCY_LIST, 1), VOCABULARY_20K: WordList(VOCABULARY_20K, 0)}


def find_word_list(copy: WsjCopy, name: str) -> Path | None:
    """A vocabulary file on 13-32.1, else WSJ0's copy on 11-13.1; None when neither disc has it."""
    for disc, folder in VOCAB_DIRS:
        volume = copy.volume_for(disc, folder)
        found = volume.find(f"{folder}/{name}") if volume else None
        if found is not None:
            return found
    return None


def read_word_list(path: Path) -> list[str]:
    """The raw words of a vocabulary file, lower-cased, in file order."""
    spec = WORD_LISTS[path.name.lower()]
    words = []
    for number, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) <= spec.column:
            raise CorpusLayoutError(f"{path}:{number}: expected the word in column {spec.column + 1}, got {line!r}")
        words.append(fields[spec.column].lower())
    return words


def write_vocabulary(words: Iterable[str], path: Path) -> int:
    """Normalise a vocabulary's words (wsj_text rules) into a sorted word list, one a line; return its size."""
    normalised = sorted({word for raw in words for word in normalize_token(raw)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{word}\n" for word in normalised), encoding="utf-8")
    return len(normalised)


def lm_text_files(copy: WsjCopy) -> list[Path]:
    """The `.z` files of the LM training text, in path order; CorpusLayoutError naming the disc if absent."""
    volume = copy.volume_for(LM_DISC, LM_TEXT_DIR)
    if volume is None:
        raise CorpusLayoutError(
            f"WSJ1 disc {disc_folder_name(LM_DISC)} is not in {copy.where()} (found: {copy.found()}): it holds "
            f"{DISC_CONTENTS[LM_DISC]}; the LM text is {LM_TEXT_DIR}/{{87,88,89}}/*.z"
        )
    files = [p for p in volume.files_under(LM_TEXT_DIR) if p.suffix.lower() == ".z"]
    if not files:
        raise CorpusLayoutError(f"{volume.name} has no {LM_TEXT_DIR}/*/*.z: expected the WSJ LM training text there")
    return files


def write_lm_text(files: list[Path], out_path: Path, known_words: set[str], workers: int = 0) -> dict[str, object]:
    """Decompress and normalise the LM text files into `out_path`, one sentence a line, in file order.

    Each file goes to a process of its own (`workers`, 0: one per core; forked, as the work is plain Python),
    which writes its sentences to a part file; the parts are joined in file order, so the output does not
    depend on the number of processes.
    A file that is not Unix-compress data is a CorpusLayoutError naming it.
    """
    out_path.parent.mkdir(parents=True, exist_ok=True)
    parts = [out_path.with_name(f"{out_path.name}.part{i:04d}") for i in range(len(files))]
    workers = min(workers or os.cpu_count() or 1, len(files))
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            counts = list(pool.map(_normalise_file, files, parts, [known_words] * len(files)))
    else:
        counts = [_normalise_file(path, part, known_words) for path, part in zip(files, parts)]
    tmp = out_path.with_name(out_path.name + ".tmp")
    with tmp.open("wb") as sink:
        for part in parts:
            sink.write(part.read_bytes())
            part.unlink()
    tmp.replace(out_path)
    info = {
        "path": str(out_path),
        "files": len(files),
        "sentences": sum(n for n, _ in counts),
        "words": sum(w for _, w in counts),
    }
    out_path.with_name(out_path.name + ".json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    log.info("LM text: %(sentences)d sentences, %(words)d words from %(files)d files -> %(path)s", info)
    return info


def _normalise_file(path: Path, part: Path, known_words: set[str]) -> tuple[int, int]:
    """(sentences, words) of one `.z` file, written to `part`."""
    import unlzw3

    try:
        text = unlzw3.unlzw(path.read_bytes()).decode("latin-1")
    except (ValueError, IndexError) as exc:
        raise CorpusLayoutError(f"{path}: not a Unix compress (.z) file ({exc}): expected the WSJ LM text") from exc
    sentences = num_words = 0
    with part.open("w", encoding="utf-8") as sink:
        for sentence in lm_sentences(text.splitlines(), known_words):
            sink.write(sentence + "\n")
            sentences += 1
            num_words += sentence.count(" ") + 1
    return sentences, num_words

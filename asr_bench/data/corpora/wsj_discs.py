"""Where a WSJ copy keeps its files: the LDC disc folders, or a flattened copy without them.

WSJ0 (LDC93S6A/B) and WSJ1 (LDC94S13A/B) ship as CD-ROM images, one folder per disc: `11-1.1` ... `11-14.1`
(WSJ0) and `13-1.1` ... `13-34.1` (WSJ1), each holding `wsj0/...` or `wsj1/...`. The index files name a
file by its disc and its path on the disc (`11_1_1:wsj0/si_tr_s/01i/01ic0201.wv1`), so a file is found by
turning the disc id back into its folder. Real copies differ in ways the readers of other toolkits broke on:

* disc folder spellings: `13-34.1` and `13_34.1` (only the first `-` as `_`), or `13_34_1`; all mean disc
  id `13_34_1`;
* upper-case copies of some discs (`WSJ1/SI_DT_20/4K0/4K0C0301.WV1`): every path is looked up
  case-insensitively;
* disc folders directly in the folder given, or one or two levels down (`csr_1/11-1.1`, `WSJ0/media/11-1.1`);
* a flattened copy without disc folders (`<dir>/wsj0/...`, `<dir>/wsj1/...`), where the disc id of an
  index entry is ignored and its path is taken from `<dir>`.

A `Volume` is one disc folder, or the root of one flattened corpus; `WsjCopy` holds all of them and resolves
(disc id, path) pairs to files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asr_bench.errors import CorpusLayoutError

_DISC_FOLDER = re.compile(r"^(\d{2})[-_](\d{1,2})[._](\d)$")
CORPORA = ("wsj0", "wsj1")  # the top folder of every path in an index file
_SEARCH_DEPTH = 3  # how far below a given folder disc folders are looked for

# What the discs that matter beyond their audio hold (../shared/reference/ldc-corpora.md, section 3.2).
DISC_CONTENTS = {
    "11_13_1": "the WSJ0 index files (wsj0/doc/indices) and WSJ0 speaker information",
    "11_14_1": "the Nov'92 evaluation audio (wsj0/si_et_20, wsj0/si_et_05) with its transcripts",
    "13_16_1": "the Nov'93 development audio (wsj1/si_dt_20, wsj1/si_dt_05)",
    "13_32_1": "the Nov'93 evaluation index files and the LM training text and vocabularies (wsj1/doc/lng_modl)",
    "13_33_1": "the Nov'93 evaluation audio (wsj1/si_et_h1, wsj1/si_et_h2)",
    "13_34_1": "the WSJ1 training and development index files (wsj1/doc/indices) and the WSJ1 transcripts (wsj1/trans)",
}


def disc_id(folder_name: str) -> str | None:
    """`11-1.1`, `13_34.1`, `13_34_1` -> `11_1_1`, `13_34_1` (as index files write it); None if not a disc name."""
    match = _DISC_FOLDER.match(folder_name)
    return None if match is None else f"{match[1]}_{int(match[2])}_{match[3]}"


def disc_folder_name(disc: str) -> str:
    """`13_34_1` -> `13-34.1`: the LDC's spelling, for messages."""
    a, b, c = disc.split("_")
    return f"{a}-{b}.{c}"


@dataclass
class Volume:
    """A disc folder (`disc` set), or a flattened copy's root holding `wsj0/` or `wsj1/` (`disc` None)."""

    root: Path
    disc: str | None
    corpora: tuple[str, ...]  # the corpus folders under root, lower case
    _files: dict[str, Path] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"disc {disc_folder_name(self.disc)} ({self.root})" if self.disc else f"flattened copy {self.root}"

    def files(self) -> dict[str, Path]:
        """Every file under the volume's corpus folders, by lower-cased path relative to root (walked once)."""
        if self._files is None:
            self._files = {}
            for top in self.root.iterdir():
                if top.is_dir() and top.name.lower() in self.corpora:
                    for folder, _, names in os.walk(top):
                        for name in names:
                            path = Path(folder) / name
                            self._files[path.relative_to(self.root).as_posix().lower()] = path
        return self._files

    def find(self, relative: str) -> Path | None:
        """The file at `relative` (`wsj0/si_tr_s/01i/01ic0201.wv1`), in any letter case; None if absent."""
        exact = self.root / relative
        if exact.is_file():
            return exact
        return self.files().get(relative.lower())

    def files_under(self, relative: str) -> list[Path]:
        """Every file below the folder `relative` (any letter case), sorted by path."""
        prefix = relative.lower().rstrip("/") + "/"
        return [path for key, path in sorted(self.files().items()) if key.startswith(prefix)]


@dataclass
class WsjCopy:
    """All volumes found under the folders given; resolves index entries to files."""

    roots: tuple[Path, ...]
    volumes: list[Volume]

    @property
    def layout(self) -> str:
        return "flattened" if all(v.disc is None for v in self.volumes) else "discs"

    @property
    def discs(self) -> list[str]:
        return sorted((v.disc for v in self.volumes if v.disc), key=_disc_order)

    def volume_for(self, disc: str, relative: str) -> Volume | None:
        """The disc folder with that id, else a flattened copy holding the path's corpus (wsj0/wsj1)."""
        for volume in self.volumes:
            if volume.disc == disc:
                return volume
        corpus = relative.split("/", 1)[0].lower()
        return next((v for v in self.volumes if v.disc is None and corpus in v.corpora), None)

    def where(self) -> str:
        return ", ".join(map(str, self.roots))

    def found(self) -> str:
        """The volumes found, for error messages."""
        names = [disc_folder_name(d) for d in self.discs] + [f"flattened {'+'.join(v.corpora)} at {v.root}"
                                                              for v in self.volumes if v.disc is None]
        return ", ".join(names) or "none"


def find_copy(roots: Iterable[Path]) -> WsjCopy:
    """The disc folders and flattened corpora under each root; CorpusLayoutError if a root has neither."""
    roots = tuple(Path(r).expanduser().resolve() for r in roots)
    volumes: dict[Path, Volume] = {}
    for root in roots:
        if not root.is_dir():
            raise CorpusLayoutError(f"WSJ dir {root} does not exist: expected {EXPECTED_LAYOUT}")
        found = _volumes_under(root, _SEARCH_DEPTH)
        if not found:
            raise CorpusLayoutError(f"WSJ dir {root} holds no disc folders and no wsj0/ or wsj1/ folder: expected {EXPECTED_LAYOUT}")
        for volume in found:
            known = volumes.setdefault(volume.root, volume)
            if known is not volume:  # `--wsj0 D/wsj0 --wsj1 D/wsj1`: one flattened root holding both
                known.corpora = tuple(sorted(set(known.corpora) | set(volume.corpora)))
    by_disc: dict[str, Path] = {}
    for volume in volumes.values():
        if volume.disc is None:
            continue
        if volume.disc in by_disc:
            raise CorpusLayoutError(
                f"disc {disc_folder_name(volume.disc)} is there twice, {by_disc[volume.disc]} and {volume.root}: "
                "give each disc once (expected one folder per disc)"
            )
        by_disc[volume.disc] = volume.root
    return WsjCopy(roots, sorted(volumes.values(), key=lambda v: (v.disc is None, _disc_order(v.disc or ""), str(v.root))))


EXPECTED_LAYOUT = (
    "the LDC disc folders of WSJ0 (LDC93S6A/B: 11-1.1 ... 11-14.1) and WSJ1 (LDC94S13A/B: 13-1.1 ... 13-34.1, also "
    "spelt 13_34.1), each holding wsj0/ or wsj1/ (e.g. 11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx), or a flattened "
    "copy holding wsj0/ and wsj1/ directly"
)


def _corpus_folders(folder: Path) -> tuple[str, ...]:
    return tuple(sorted(p.name.lower() for p in folder.iterdir() if p.is_dir() and p.name.lower() in CORPORA))


def _volumes_under(folder: Path, depth: int) -> list[Volume]:
    disc = disc_id(folder.name)
    if disc is not None:
        return [Volume(folder, disc, _corpus_folders(folder))]
    if folder.name.lower() in CORPORA and depth == _SEARCH_DEPTH:
        # The corpus folder itself was given (`--wsj0 /data/wsj0`): its parent is the flattened root.
        return [Volume(folder.parent, None, (folder.name.lower(),))]
    children = sorted(p for p in folder.iterdir() if p.is_dir())
    discs = [v for child in children if disc_id(child.name) for v in _volumes_under(child, depth)]
    if discs:
        return discs
    corpora = _corpus_folders(folder)
    if corpora:
        return [Volume(folder, None, corpora)]
    if depth == 0:
        return []
    return [v for child in children for v in _volumes_under(child, depth - 1)]


def _disc_order(disc: str) -> tuple[int, ...]:
    return tuple(int(part) for part in disc.split("_")) if disc else ()

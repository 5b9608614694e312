"""TIMIT trees generated in the LDC93S1 layout and the variants real copies come in.

Two kinds:
* `build_tree`: real speech (the 5 LibriVox utterances of ../shared/data/librivox-phones with their
  forced-alignment .phn/.wrd, labels mapped into TIMIT's set) as NIST SPHERE files with TIMIT's exact
  header, under every speaker of the standard dev and core-test sets plus a few train and other test
  speakers, in one of the `VARIANTS`. Each source's files are written once and linked into the tree
  (audio by symlink, label files by hard link), so a tree of 800 utterances is quick to make.
* `build_skeleton`: the full-size corpus (462 train speakers in the published numbers per dialect
  region, all 168 test speakers, 10 sentences each) with a few hundred samples of audio per file.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from asr_bench.data.corpora.timit import standard_sets
from asr_bench.data.phones import TIMIT_61

SAMPLE_RATE_HZ = 16_000
HEADER_BYTES = 1024
LIBRIVOX = "librivox-phones"

# Train speakers per dialect region DR1..DR8 (462) and the complete test set's (168), as published.
TRAIN_SPEAKERS_PER_REGION = (38, 76, 76, 68, 70, 35, 77, 22)
TEST_SPEAKERS_PER_REGION = (11, 26, 26, 32, 28, 11, 23, 11)


def sphere_header(num_samples: int, sample_min: int, sample_max: int, utterance_id: str) -> bytes:
    """TIMIT's 1024-byte NIST SPHERE header: its fields, in its order, padded with spaces."""
    lines = [
        "NIST_1A",
        f"{HEADER_BYTES:7d}",
        "database_id -s5 TIMIT",
        "database_version -s3 1.0",
        f"utterance_id -s{len(utterance_id)} {utterance_id}",
        "channel_count -i 1",
        f"sample_count -i {num_samples}",
        f"sample_rate -i {SAMPLE_RATE_HZ}",
        f"sample_min -i {sample_min}",
        f"sample_max -i {sample_max}",
        "sample_n_bytes -i 2",
        "sample_byte_format -s2 01",
        "sample_sig_bits -i 16",
        "end_head",
    ]
    text = ("\n".join(lines) + "\n").encode("ascii")
    assert len(text) <= HEADER_BYTES
    return text.ljust(HEADER_BYTES, b" ")


def write_sphere(path: Path, samples: np.ndarray, utterance_id: str) -> None:
    """16-bit little-endian mono PCM after TIMIT's header, as LDC93S1 ships its .WAV files."""
    samples = np.asarray(samples, dtype="<i2")
    header = sphere_header(len(samples), int(samples.min()), int(samples.max()), utterance_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + samples.tobytes())


def sphere_utterance_id(speaker: str, sentence: str) -> str:
    """The header's utterance_id: speaker without its sex letter, `_`, sentence, lower case (FCJF0/SA1 -> cjf0_sa1)."""
    return f"{speaker[1:]}_{sentence}".lower()


@dataclass(frozen=True)
class Labelled:
    """One source utterance: samples and TIMIT-style label lines (start, end, label)."""

    name: str
    samples: np.ndarray
    phones: tuple[tuple[int, int, str], ...]
    words: tuple[tuple[int, int, str], ...]
    sentence: str

    @property
    def txt_line(self) -> str:
        return f"0 {len(self.samples)} {self.sentence}"


def _timit_label(label: str, index: int, count: int) -> str:
    """The aligner's ARPAbet-like labels are TIMIT's own, except silence: h# at the ends, a pause inside."""
    if label == "sil":
        return "h#" if index in (0, count - 1) else "pau"
    assert label in TIMIT_61, label
    return label


def _read_lines(path: Path) -> list[tuple[int, int, str]]:
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(int(start), int(end), label) for start, end, label in rows]


def librivox_utterances(shared_data: Path, max_samples: int | None = None) -> list[Labelled]:
    """The real utterances, optionally cut to their first `max_samples` (labels cut with them)."""
    folder = shared_data / LIBRIVOX
    found = []
    for name in (folder / "fileids").read_text().split():
        samples, rate = soundfile.read(folder / f"{name}.wav", dtype="int16")
        assert rate == SAMPLE_RATE_HZ
        phones = _read_lines(folder / f"{name}.phn")
        words = _read_lines(folder / f"{name}.wrd")
        if max_samples is not None:
            samples = samples[:max_samples]
            phones = [(s, min(e, max_samples), p) for s, e, p in phones if s < max_samples]
            words = [w for w in words if w[1] <= max_samples]
        phones = [(s, e, _timit_label(p, i, len(phones))) for i, (s, e, p) in enumerate(phones)]
        text = " ".join(w for _, _, w in words)
        found.append(Labelled(name, samples, tuple(phones), tuple(words), text[0].upper() + text[1:] + "."))
    return found


@dataclass(frozen=True)
class Variant:
    """How a copy spells and stores the tree: folders above the root, name case, and the audio format."""

    name: str
    above_root: tuple[str, ...]  # folders between the folder given to prepare and the root
    lower_case: bool = False
    audio: str = "sphere"  # sphere | riff_in_place (RIFF in a .WAV) | twins (SPHERE .WAV beside a RIFF .WAV.wav)
    extras: tuple[str, ...] = ()  # files beside the tree, relative to the folder given to prepare

    def spell(self, name: str) -> str:
        return name.lower() if self.lower_case else name


VARIANTS = {
    v.name: v
    for v in (
        Variant("ldc", ("timit", "TIMIT"), extras=("timit/README.DOC", "timit/CONVERT/", "timit/SPHERE/",
                                                   "timit/TIMIT/DOC/SPKRINFO.TXT")),
        Variant("lower", ("timit",), lower_case=True, extras=("timit/doc/spkrinfo.txt",)),
        Variant("data", ("data",), extras=("train_data.csv", "test_data.csv", "SPKRINFO.TXT")),
        Variant("riff_in_place", (), audio="riff_in_place"),
        Variant("twins", ("data",), audio="twins", extras=("train_data.csv",)),
    )
}


@dataclass(frozen=True)
class Expected:
    """What the manifest line of one generated utterance must say."""

    speaker: str
    phones: tuple[str, ...]
    text: str
    num_samples: int


def _speaker_name(sex: str, initials_from: int, digit: int = 0) -> str:
    letters = string.ascii_uppercase
    return f"{sex}Q{letters[initials_from // 26 % 26]}{letters[initials_from % 26]}{digit}"


def invented_sentences(index: int, with_sa: bool = True) -> list[str]:
    """10 well-formed sentence ids for an invented speaker: SA1, SA2, 5 SX and 3 SI."""
    sx = [f"SX{(index * 5 + k) % 450 + 3}" for k in range(5)]
    si = [f"SI{500 + index * 3 + k}" for k in range(3)]
    return (["SA1", "SA2"] if with_sa else []) + sx + si


def _other_test_speakers() -> list[tuple[str, str]]:
    """(region, speaker) of the 94 complete-test speakers in neither standard list, per published region counts."""
    sets = standard_sets()
    listed = [region for group in sets.values() for region, _ in group.values()]
    speakers = []
    for number, total in enumerate(TEST_SPEAKERS_PER_REGION, start=1):
        region = f"DR{number}"
        for k in range(total - listed.count(region)):
            speakers.append((region, _speaker_name("FM"[k % 3 != 0], 500 + len(speakers))))
    return speakers


def _train_speakers(per_region: tuple[int, ...]) -> list[tuple[str, str]]:
    speakers = []
    for number, total in enumerate(per_region, start=1):
        for k in range(total):
            speakers.append((f"DR{number}", _speaker_name("FM"[k % 7 > 1], len(speakers))))
    return speakers


def _layout(root: Path, variant: Variant, split: str, region: str, speaker: str, sentence: str) -> Path:
    """<root>/<split>/<region>/<speaker>/<sentence> in the variant's case (no extension)."""
    return root / variant.spell(split) / variant.spell(region) / variant.spell(speaker) / variant.spell(sentence)


def _source_files(folder: Path, sources: list[Labelled]) -> list[dict[str, Path]]:
    """Each source utterance once as SPHERE, RIFF, .PHN, .WRD and .TXT, for the tree to link to."""
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for source in sources:
        files = {kind: folder / f"{source.name}.{kind}" for kind in ("sphere", "riff", "PHN", "WRD", "TXT")}
        write_sphere(files["sphere"], source.samples, "lbrv_" + source.name[-4:])
        soundfile.write(files["riff"], source.samples, SAMPLE_RATE_HZ, subtype="PCM_16", format="WAV")
        for kind, lines in (
            ("PHN", [f"{s} {e} {p}" for s, e, p in source.phones]),
            ("WRD", [f"{s} {e} {w}" for s, e, w in source.words]),
            ("TXT", [source.txt_line]),
        ):
            files[kind].write_text("\n".join(lines) + "\n", encoding="ascii")
        found.append(files)
    return found


def _extras(corpus_dir: Path, variant: Variant) -> None:
    for extra in variant.extras:
        path = corpus_dir / extra
        if extra.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("; not audio\n", encoding="ascii")


def build_tree(
    corpus_dir: Path, variant: Variant, shared_data: Path, train_speakers: int = 4, other_test_speakers: int = 2,
    max_samples: int | None = None,
) -> dict[str, dict[str, Expected]]:
    """A TIMIT copy of real speech under `corpus_dir` in `variant`; returns split -> utterance id -> Expected.

    Every dev and core-test speaker gets its 8 listed sentences plus SA1/SA2; `train_speakers` invented
    train speakers and `other_test_speakers` further test speakers get 10 sentences each. Splits returned:
    train (SI+SX), train_with_sa, dev, test, complete_test.
    """
    sources = librivox_utterances(shared_data, max_samples)
    source_files = _source_files(corpus_dir.parent / f".{corpus_dir.name}-sources", sources)
    root = corpus_dir.joinpath(*variant.above_root)
    _extras(corpus_dir, variant)
    expected: dict[str, dict[str, Expected]] = {s: {} for s in ("train", "train_with_sa", "dev", "test", "complete_test")}
    counter = 0

    def add(split: str, region: str, speaker: str, sentence: str) -> Expected:
        nonlocal counter
        index = counter % len(sources)
        counter += 1
        source, files = sources[index], source_files[index]
        stem = _layout(root, variant, split, region, speaker, sentence)
        stem.parent.mkdir(parents=True, exist_ok=True)
        for extension in ("PHN", "WRD", "TXT"):  # hard links: the reader sees plain files
            os.link(files[extension], stem.with_name(stem.name + "." + variant.spell(extension)))
        wav = stem.with_name(stem.name + "." + variant.spell("WAV"))
        wav.symlink_to(files["riff" if variant.audio == "riff_in_place" else "sphere"])
        if variant.audio == "twins":
            wav.with_name(wav.name + ".wav").symlink_to(files["riff"])
        return Expected(speaker, tuple(p for _, _, p in source.phones), " ".join(w for _, _, w in source.words),
                        len(source.samples))

    for index, (region, speaker) in enumerate(_train_speakers((train_speakers,))):
        for sentence in invented_sentences(index):
            found = add("TRAIN", region, speaker, sentence)
            expected["train_with_sa"][f"{speaker}_{sentence}"] = found
            if not sentence.startswith("SA"):
                expected["train"][f"{speaker}_{sentence}"] = found
    sets = standard_sets()
    for split, listed in (("dev", sets["dev"]), ("test", sets["core_test"])):
        for speaker, (region, sentences) in listed.items():
            for sentence in (*sentences, "SA1", "SA2"):
                found = add("TEST", region, speaker, sentence)
                if not sentence.startswith("SA"):
                    expected[split][f"{speaker}_{sentence}"] = expected["complete_test"][f"{speaker}_{sentence}"] = found
    for number, (region, speaker) in enumerate(_other_test_speakers()[:other_test_speakers]):
        for sentence in invented_sentences(number):
            found = add("TEST", region, speaker, sentence)
            if not sentence.startswith("SA"):
                expected["complete_test"][f"{speaker}_{sentence}"] = found
    return expected


SKELETON_SAMPLES = 320
SKELETON_PHN = "0 100 h#\n100 220 ae\n220 320 h#\n"
SKELETON_WRD = "100 220 a\n"
SKELETON_TXT = "0 320 A.\n"


def build_skeleton(root: Path) -> dict[str, set[str]]:
    """The full-size LDC93S1 tree (upper case) with tiny audio; returns split -> the speakers written into it.

    Splits returned: train (all 462 TRAIN speakers), dev, test, complete_test (all 168 TEST speakers).
    """
    samples = (np.arange(SKELETON_SAMPLES) % 64 - 32).astype("<i2")
    speakers: dict[str, set[str]] = {"train": set(), "dev": set(), "test": set(), "complete_test": set()}

    labels = root.parent / ".skeleton-labels"
    labels.mkdir(parents=True)
    for extension, text in (("PHN", SKELETON_PHN), ("WRD", SKELETON_WRD), ("TXT", SKELETON_TXT)):
        (labels / extension).write_text(text)

    def write(split: str, region: str, speaker: str, sentences: list[str]) -> None:
        folder = root / split / region / speaker
        folder.mkdir(parents=True)
        for sentence in sentences:
            write_sphere(folder / f"{sentence}.WAV", samples, sphere_utterance_id(speaker, sentence))
            for extension in ("PHN", "WRD", "TXT"):  # hard links: one file each, the reader sees plain files
                os.link(labels / extension, folder / f"{sentence}.{extension}")

    for index, (region, speaker) in enumerate(_train_speakers(TRAIN_SPEAKERS_PER_REGION)):
        write("TRAIN", region, speaker, invented_sentences(index))
        speakers["train"].add(speaker)
    sets = standard_sets()
    for split, listed in (("dev", sets["dev"]), ("test", sets["core_test"])):
        for speaker, (region, sentences) in listed.items():
            write("TEST", region, speaker, ["SA1", "SA2", *sentences])
            speakers[split].add(speaker)
            speakers["complete_test"].add(speaker)
    for index, (region, speaker) in enumerate(_other_test_speakers()):
        write("TEST", region, speaker, invented_sentences(index))
        speakers["complete_test"].add(speaker)
    (root / "DOC").mkdir()
    (root / "DOC" / "SPKRINFO.TXT").write_text("; speaker table\n")
    return speakers

"""WSJ copies generated for tests: the LDC disc folders or a flattened copy, with `.ndx`, `.dot`, `spkrinfo.txt`,
vocabularies and LM text written as the LDC ships them (../shared/reference/ldc-corpora.md, sections 3-5).

`build_wsj` writes one `FixtureUtt` per utterance: its audio under the disc and set folder WSJ uses, its
index line in the index file of its set (with each index's own quirks: speaker 401 listed on two discs, the
Nov'92 entries without extension, the Nov'93 evaluation entries naming the wrong disc, WSJ1's ` /wsj1/...`),
and its `.dot` line in its session's transcript file (WSJ0 training transcripts on 11-4.1, WSJ1's on 13-34.1,
the Nov'92 and Nov'93 evaluation ones beside the audio). Disc 13-16.1 is written in upper case, as some
copies have it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from asr_bench.data.corpora.wsj_discs import disc_folder_name


@dataclass(frozen=True)
class SetFolders:
    """Where one WSJ set's files go: its index file, its audio folder, its transcripts."""

    index_disc: str
    index_path: str
    audio: str  # disc-relative audio folder, holding <speaker>/<utt>.wv1
    dots_disc: str | None  # None: the .dot files lie beside the audio
    dots: str = ""
    index_line: str = "{disc}:{path}"
    extension: bool = True  # whether index entries carry `.wv1`


FOLDERS = {
    "si84": SetFolders("11_13_1", "wsj0/doc/indices/train/tr_s_wv1.ndx", "wsj0/si_tr_s", "11_4_1", "wsj0/transcrp/dots/si_tr_s"),
    "si284": SetFolders("13_34_1", "wsj1/doc/indices/si_tr_s.ndx", "wsj1/si_tr_s", "13_34_1", "wsj1/trans/wsj1/si_tr_s",
                        index_line="{disc}: /{path}"),
    "dev93": SetFolders("13_34_1", "wsj1/doc/indices/h1_p0.ndx", "wsj1/si_dt_20", "13_34_1", "wsj1/trans/wsj1/si_dt_20"),
    "dev93_5k": SetFolders("13_34_1", "wsj1/doc/indices/h2_p0.ndx", "wsj1/si_dt_05", "13_34_1", "wsj1/trans/wsj1/si_dt_05"),
    "eval92": SetFolders("11_13_1", "wsj0/doc/indices/test/nvp/si_et_20.ndx", "wsj0/si_et_20", None, extension=False),
    "eval92_5k": SetFolders("11_13_1", "wsj0/doc/indices/test/nvp/si_et_05.ndx", "wsj0/si_et_05", None, extension=False),
    "eval93": SetFolders("13_32_1", "wsj1/doc/indices/wsj1/eval/h1_p0.ndx", "wsj1/si_et_h1/wsj64k", None),
    "eval93_5k": SetFolders("13_32_1", "wsj1/doc/indices/wsj1/eval/h2_p0.ndx", "wsj1/si_et_h2/wsj5k", None),
}
UPPER_CASE_DISC = "13_16_1"
NOV93_EVAL_INDEX_DISC = "13_32_1"  # what the Nov'93 evaluation indices say; the audio is on 13-33.1


@dataclass(frozen=True)
class FixtureUtt:
    """One utterance: its set (a key of FOLDERS; si284 means WSJ1's part of it), disc, `.dot` text, expected text.

    `dot` None leaves it without a transcript line; `text` None means it is not in the manifests (a null
    transcript, empty audio). `audio` None uses the builder's default audio.
    """

    set_name: str
    utt_id: str
    disc: str
    dot: str | None
    text: str | None
    audio: bytes | None = None

    @property
    def speaker(self) -> str:
        return self.utt_id[:3]


# Real .dot text (the reference's examples) with what the letter models must see.
WSJ0_TRAIN = [
    FixtureUtt("si84", "01ic0201", "11_1_1", "The spokeswoman declined to identify possible uses for the company\\'s cash",
               "the spokeswoman declined to identify possible uses for the company's cash"),
    FixtureUtt("si84", "01ic0202", "11_1_1", "[loud_breath] And new hardware", "and new hardware"),
    FixtureUtt("si84", "01mc0201", "11_2_1", "computers I\\. B\\. M\\. introduced [door_slam]", "computers i b m introduced"),
    FixtureUtt("si84", "01mc0202", "11_2_1", "yes \\,COMMA no \\.PERIOD", "yes comma no period"),
    FixtureUtt("si84", "401c0201", "11_3_1", "bread <and> butter", "bread and butter"),
    FixtureUtt("si84", "401c0202", "11_3_1", "the wor- world", "the wor world"),
]
WSJ1_TRAIN = [
    FixtureUtt("si284", "4a8c0201", "13_11_1", "The spokeswoman declined to identify possible uses for the company\\'s "
               "cash other than the stock buyback", "the spokeswoman declined to identify possible uses for the company's "
               "cash other than the stock buyback"),
    FixtureUtt("si284", "4a8c0202", "13_11_1", "*never* th:e end", "never the end"),
    FixtureUtt("si284", "4a8c020c", "13_11_1", "~~", None),  # a null waveform
    FixtureUtt("si284", "46uc0301", "13_3_1", "\\\"DOUBLE-QUOTE hello \\\"CLOSE-QUOTE", "double quote hello close quote"),
    FixtureUtt("si284", "46uc030b", "13_3_1", "ten %PERCENT", None, audio=b""),  # empty audio, as in the real si284
]
DEV93 = [
    FixtureUtt("dev93", "4k0c0301", UPPER_CASE_DISC, "the [<door_slam] door", "the door"),
    FixtureUtt("dev93", "4k0c0302", UPPER_CASE_DISC, "a [phone_ring/] long call [/phone_ring] ended", "a long call ended"),
    FixtureUtt("dev93", "4k2c0301", UPPER_CASE_DISC, "wait --DASH now", "wait dash now"),
]
EVAL92 = [
    FixtureUtt("eval92", "440c0201", "11_14_1", "U\\.S\\. officials", "u s officials"),
    FixtureUtt("eval92", "441c0201", "11_14_1", "two .POINT five", "two point five"),
]
OPTIONAL_SETS = [
    FixtureUtt("dev93_5k", "4k1c0101", UPPER_CASE_DISC, "so! good", "so good"),
    FixtureUtt("eval92_5k", "440c0401", "11_14_1", "well . then", "well then"),
    FixtureUtt("eval93", "4k8c0201", "13_33_1", "and then ~", "and then"),
    FixtureUtt("eval93_5k", "4k9c0201", "13_33_1", "the wo(rd)- world", "the wo world"),
]
UTTERANCES = [*WSJ0_TRAIN, *WSJ1_TRAIN, *DEV93, *EVAL92, *OPTIONAL_SETS]

# spkrinfo.txt files as the discs carry them (upper-case ids, `;` comments, a `---` rule); 4k9 has no entry.
SPEAKER_INFO = {
    ("11_13_1", "wsj0/doc/spkrinfo.txt"): {"01I": "F", "01M": "M", "401": "F", "440": "M", "441": "F"},
    ("13_34_1", "wsj1/doc/train/spkrinfo.txt"): {"4A8": "M", "46U": "F"},
    ("13_34_1", "wsj1/doc/dev_spok/spkrinfo.txt"): {"4K0": "F", "4K2": "M", "4K1": "M"},
    ("13_32_1", "wsj1/doc/evl_spok/spkrinfo.txt"): {"4K8": "F"},
}

# The LM text: SGML lines, abbreviations the 64k list knows, full stops it does not; and what it becomes.
LM_TEXT_FILES = {
    "87/w871201.z": "<art.871201.0001>\n<p>\n<s>\nMr. Smith's company, Acme Corp. rose. Shares fell.\n</s>\n</p>\n",
    "88/w880104.z": "<art.880104.0002>\n<s>\nThe U.S. dollar rose.\n</s>\n",
}
LM_SENTENCES = ["mr smith's company acme corp rose", "shares fell", "the u s dollar rose"]
WORD_FREQUENCY_LIST = "# word frequency list (64k)\n#\n 48921 THE\n  3045 MR.\n   211 CORP.\n   130 U.S.\n"
VOCABULARY_20K = "# 20k open vocabulary, non-verbalized punctuation\n#\nTHE\nDOLLAR\nU.S.\nCOMPANY'S\n"
VOCABULARY_20K_WORDS = ["company's", "dollar", "s", "the", "u"]


@dataclass
class WsjFixture:
    """What was written and where; `roots` are the prepare arguments (wsj0, wsj1, corpus_dir)."""

    roots: dict[str, Path]
    utterances: list[FixtureUtt]
    files: dict[str, Path] = field(default_factory=dict)  # utt_id -> audio file

    def expected(self, set_name: str) -> dict[str, str]:
        """utt_id -> text of the set's manifest; si284 includes si84."""
        members = ("si84", "si284") if set_name == "si284" else (set_name,)
        return {u.utt_id: u.text for u in self.utterances if u.set_name in members and u.text is not None}

    def genders(self) -> dict[str, str]:
        return {speaker.lower(): gender for table in SPEAKER_INFO.values() for speaker, gender in table.items()}


def compress_lzw(data: bytes) -> bytes:
    """Unix `compress` format (magic 1f 9d, block mode, 16-bit maximum) holding `data` as literal codes.

    Every byte is written as its own 9-bit code and the table is cleared (code 256) every 254 codes, so the
    code width never grows; after each clear the stream is padded to a group of eight codes, as compress
    does. `gzip -dc` and unlzw3 both read it back (tests/test_wsj.py checks); it just does not compress.
    """
    bits: list[int] = []
    group_start = 0
    for start in range(0, len(data), 254):
        for value in data[start : start + 254]:
            bits.extend((value >> i) & 1 for i in range(9))  # least significant bit first, as compress packs
        if start + 254 < len(data):
            bits.extend((256 >> i) & 1 for i in range(9))
            bits.extend([0] * (9 * (-((len(bits) - group_start) // 9) % 8)))
            group_start = len(bits)
    bits.extend([0] * (-len(bits) % 8))
    body = bytes(sum(bit << j for j, bit in enumerate(bits[i : i + 8])) for i in range(0, len(bits), 8))
    return b"\x1f\x9d\x90" + body


def build_wsj(
    root: Path,
    default_audio: bytes,
    layout: str = "discs",
    wsj1_spelling: Callable[[str], str] = disc_folder_name,
    utterances: list[FixtureUtt] | None = None,
) -> WsjFixture:
    """Write a WSJ copy under `root` in `layout` "discs" (LDC93S6B/csr_1/11-*.1, LDC94S13B/13-*.1, disc names
    of WSJ1 spelt by `wsj1_spelling`) or "flattened" (wsj/wsj0, wsj/wsj1)."""
    utterances = UTTERANCES if utterances is None else utterances
    files: dict[tuple[str, str], bytes] = {}
    index_lines: dict[str, list[str]] = defaultdict(lambda: [";; index written by tests/wsj_fixtures.py"])
    dot_lines: dict[tuple[str, str], list[str]] = defaultdict(list)
    fixture = WsjFixture(roots={}, utterances=utterances)
    for utt in utterances:
        folders = FOLDERS[utt.set_name]
        audio_path = f"{folders.audio}/{utt.speaker}/{utt.utt_id}.wv1"
        files[(utt.disc, audio_path)] = default_audio if utt.audio is None else utt.audio
        listed = audio_path if folders.extension else audio_path.removesuffix(".wv1")
        discs = [utt.disc]
        if utt.set_name == "eval93" or utt.set_name == "eval93_5k":
            discs = [NOV93_EVAL_INDEX_DISC]
        if utt.speaker == "401":
            discs = ["11_2_1", utt.disc]  # listed on 11-2.1 too, where it is not
        for disc in discs:
            index_lines[utt.set_name].append(folders.index_line.format(disc=disc, path=listed))
        if utt.dot is not None:
            dots_disc, dots_folder = (folders.dots_disc, folders.dots) if folders.dots_disc else (utt.disc, folders.audio)
            dot_lines[(dots_disc, f"{dots_folder}/{utt.speaker}/{utt.utt_id[:6]}00.dot")].append(f"{utt.dot} ({utt.utt_id})")
    for set_name, lines in index_lines.items():
        folders = FOLDERS[set_name]
        files[(folders.index_disc, folders.index_path)] = ("\n".join(lines) + "\n").encode()
    for (disc, path), lines in dot_lines.items():
        files[(disc, path)] = ("\n".join(lines) + "\n").encode()
    for (disc, path), table in SPEAKER_INFO.items():
        rows = [";  SPKR  SEX  (written by tests/wsj_fixtures.py)", ";-------------"] + [f"{s:6s}{g}" for s, g in table.items()]
        files[(disc, path)] = ("\n".join(rows) + "\n").encode()
    for name, text in LM_TEXT_FILES.items():
        files[("13_32_1", f"wsj1/doc/lng_modl/lm_train/np_data/{name}")] = compress_lzw(text.encode())
    files[("13_32_1", "wsj1/doc/lng_modl/vocab/wfl_64.lst")] = WORD_FREQUENCY_LIST.encode()
    files[("13_32_1", "wsj1/doc/lng_modl/vocab/wlist20o.nvp")] = VOCABULARY_20K.encode()

    if layout == "discs":
        wsj0_root, wsj1_root = root / "LDC93S6B" / "csr_1", root / "LDC94S13B"
        fixture.roots = {"wsj0": wsj0_root.parent, "wsj1": wsj1_root}
    elif layout == "flattened":
        fixture.roots = {"corpus_dir": root / "wsj"}
    else:
        raise ValueError(layout)
    for (disc, path), content in files.items():
        if layout == "discs":
            folder = wsj0_root / disc_folder_name(disc) if disc.startswith("11") else wsj1_root / wsj1_spelling(disc)
            target = folder / (path.upper() if disc == UPPER_CASE_DISC else path)
        else:
            target = root / "wsj" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if path.endswith(".wv1"):
            fixture.files[Path(path).stem] = target
    return fixture

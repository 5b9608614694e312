"""n-gram language models for beam search: gather the text, estimate with KenLM, write the decoding files.

An LM directory holds everything the decoder needs, so decoding takes one path:

    lm.arpa      the n-gram model as lmplz wrote it (modified Kneser-Ney)
    lm.bin       the same model in KenLM's binary format (loads in milliseconds; preferred when present)
    lexicon.txt  word LMs: every word the decoder may output, spelt in the acoustic model's letters
    tokens.txt   the acoustic model's tokens (letters, or the phone set), in emission-column order
    lm.json      what made it: unit, order, sources, sentence/word/vocabulary counts, excluded sentences
    lm_text.txt  the normalised sentences lmplz was given, to inspect or to rebuild from

A word LM (the default) is estimated on normalised transcripts. A phone LM (`phone_set` given; lm.json says
"unit": "phones") is estimated on phone sequences in the phone set's training symbols: the manifests' phones
through `PhoneSet.train_labels`, and text files holding one sequence of the corpus's phone labels per line. Its
"words" are the phones, so it needs no lexicon: the lexicon-free decoder queries it once per phone.

Dev and test sentences are removed from the LM text: with a tiny corpus (LibriSpeech train-clean-5 is split by
speaker, but books repeat) an LM that has seen the evaluation sentences would make the LM's WER gain meaningless.

The lexicon holds every LM word and every training-transcript word, unless lexicon sources are given: then it is
exactly the words of those transcripts and word lists (the paper's WSJ lexicon is si284 + nov93dev's words; WSJ's
20k vocabulary is another), and LM words outside it are never output.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asr_bench.data.manifest import read_manifest
from asr_bench.data.phones import PhoneSet
from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer, normalize_text
from asr_bench.decode.lexicon import read_tokens, validate_lexicon, write_lexicon, write_tokens
from asr_bench.errors import AsrBenchError

# lmplz's working memory. Its default is 80% of physical RAM, which is rude on a shared 2-core box; with less
# than it needs it sorts on disk under the output directory, so this limits speed, never correctness.
LMPLZ_MEMORY = "1G"
FALLBACK_DISCOUNTS = re.compile(r"Substituting fallback discounts for order (\d+)")


@dataclass(frozen=True)
class LexiconSources:
    """Where the lexicon's words come from, when not from the LM text: transcripts and one-word-a-line lists."""

    manifests: tuple[Path, ...] = ()
    word_lists: tuple[Path, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.manifests or self.word_lists)

    def words(self) -> set[str]:
        words = {w for path in self.manifests for u in read_manifest(path) for w in normalize_text(u.text).split()}
        words.update(w for path in self.word_lists for line in read_text_file(path) for w in line.split())
        if not words:
            raise AsrBenchError(f"the lexicon sources {[str(p) for p in (*self.manifests, *self.word_lists)]} hold no words")
        return words


@dataclass
class LMText:
    """Normalised LM sentences and where they came from."""

    sentences: list[str]
    train_words: set[str]
    sources: dict[str, int] = field(default_factory=dict)  # source path -> sentences kept from it
    excluded_sentences: int = 0


def read_text_file(path: Path, phone_set: PhoneSet | None = None) -> list[str]:
    """One sentence per line; normalised like the transcripts (or the phones) so LM and decoder symbols agree."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise AsrBenchError(f"{path}: LM text file does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AsrBenchError(f"{path}: cannot read LM text file: expected UTF-8 text, one sentence a line ({exc})") from exc
    if phone_set is None:
        return [s for s in (normalize_text(line) for line in lines) if s]
    sentences = []
    for number, line in enumerate(lines, start=1):
        try:
            sentences.append(" ".join(phone_set.train_labels(line.split())))
        except AsrBenchError as exc:
            raise AsrBenchError(f"{path}:{number}: {exc}") from exc
    return [s for s in sentences if s]


def manifest_sentences(path: Path, phone_set: PhoneSet | None = None) -> list[str]:
    """A manifest's normalised transcripts, or its phones in the phone set's training symbols."""
    if phone_set is None:
        return [s for s in (normalize_text(u.text) for u in read_manifest(path)) if s]
    sentences = []
    for utt in read_manifest(path):
        if utt.phones is None:
            raise AsrBenchError(f"{path}: utterance {utt.id} has no phones: a phone LM needs manifests with phones")
        try:
            sentences.append(" ".join(phone_set.train_labels(utt.phones)))
        except AsrBenchError as exc:
            raise AsrBenchError(f"{path}: utterance {utt.id}: {exc}") from exc
    return [s for s in sentences if s]


def gather_lm_text(
    text_files: Sequence[Path],
    train_manifests: Sequence[Path],
    exclude_manifests: Sequence[Path],
    phone_set: PhoneSet | None = None,
) -> LMText:
    """Sentences of the text files and the training transcripts, minus every sentence of the excluded manifests.

    Exclusion is by whole normalised sentence, the unit an LM could memorise; training-manifest words always
    enter the lexicon, since the acoustic model has been trained to spell them. With `phone_set`, sentences are
    phone sequences (see the module docstring).
    """
    excluded = {s for path in exclude_manifests for s in manifest_sentences(path, phone_set)}
    text = LMText(sentences=[], train_words=set())
    sources: list[tuple[Path, list[str]]] = [(path, read_text_file(path, phone_set)) for path in text_files]
    for path in train_manifests:
        transcripts = manifest_sentences(path, phone_set)
        if phone_set is None:
            text.train_words.update(word for sentence in transcripts for word in sentence.split())
        sources.append((path, transcripts))
    for path, sentences in sources:
        kept = [s for s in sentences if s not in excluded]
        text.excluded_sentences += len(sentences) - len(kept)
        text.sources[str(path)] = len(kept)
        text.sentences.extend(kept)
    if not text.sentences:
        raise AsrBenchError(
            "no LM sentences left: pass --text files or --train-manifest manifests with transcripts "
            f"(excluded {text.excluded_sentences} sentences that occur in --exclude-manifest)"
        )
    return text


def kenlm_tool(name: str) -> Path:
    """`lmplz` or `build_binary`: beside this Python (scripts/build_kenlm.sh puts them in the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found is None:
        raise AsrBenchError(
            f"KenLM's {name} is neither in {beside.parent} nor on PATH: run scripts/build_kenlm.sh (scripts/setup.sh does)"
        )
    return Path(found)


def run_lmplz(text_path: Path, arpa_path: Path, order: int) -> list[int]:
    """Estimate a modified Kneser-Ney ARPA model; return the n-gram orders that needed fallback discounts.

    `--discount_fallback` is always passed: lmplz only uses it when the closed-form discount estimate fails,
    which happens when some order has no singletons/doubletons/tripletons (small or repetitive corpora, and
    LibriSpeech-mini's transcripts are both). Without it lmplz aborts; with it, a corpus whose counts allow the
    estimate is modelled exactly as before. The orders that fell back are returned so lm.json records them.
    """
    command = [str(kenlm_tool("lmplz")), "--order", str(order), "--discount_fallback",
               "-S", LMPLZ_MEMORY, "-T", str(arpa_path.parent)]
    with text_path.open("rb") as source, arpa_path.open("wb") as sink:
        done = subprocess.run(command, stdin=source, stdout=sink, stderr=subprocess.PIPE, text=False)
    log = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        arpa_path.unlink(missing_ok=True)
        raise AsrBenchError(f"lmplz failed on {text_path} (exit {done.returncode}):\n{log.strip()[-2000:]}")
    return sorted({int(m) + 1 for m in FALLBACK_DISCOUNTS.findall(log)})


def run_build_binary(arpa_path: Path, binary_path: Path) -> None:
    """ARPA -> KenLM probing binary, which loads by mmap instead of parsing text at every decode."""
    done = subprocess.run([str(kenlm_tool("build_binary")), str(arpa_path), str(binary_path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise AsrBenchError(f"build_binary failed on {arpa_path} (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")


def build_lm(
    out_dir: Path,
    order: int,
    text_files: Sequence[Path] = (),
    train_manifests: Sequence[Path] = (),
    exclude_manifests: Sequence[Path] = (),
    force: bool = False,
    lexicon: LexiconSources = LexiconSources(),
    phone_set: PhoneSet | None = None,
) -> dict[str, Any]:
    """Build an LM directory (see the module docstring) and return the contents of its lm.json.

    A word LM by default; a phone LM over `phone_set`'s symbols when given. A directory already built from the
    same sentences, lexicon words, unit and order is left as it is (its lm.json comes back with "reused": true),
    so re-running a recipe does not re-estimate the LM; `force` rebuilds.
    """
    if order < 1:
        raise AsrBenchError(f"LM order must be at least 1, got {order}")
    started = time.time()
    text = gather_lm_text(text_files, train_manifests, exclude_manifests, phone_set)
    lm_dir = LanguageModelDir(out_dir)
    if phone_set is not None and lexicon:
        raise AsrBenchError("a phone LM has no lexicon: lexicon manifests and word lists are for word LMs only")
    word_counts = Counter(word for sentence in text.sentences for word in sentence.split())
    if phone_set is not None:
        lexicon_words: set[str] = set()  # phone models decode lexicon-free
    else:
        lexicon_words = lexicon.words() if lexicon else set(word_counts) | text.train_words
    unit = "words" if phone_set is None else f"phones {phone_set.name}"
    inputs = _input_digest(text, order, unit, lexicon_words)
    previous = json.loads(lm_dir.info.read_text(encoding="utf-8")) if lm_dir.info.is_file() else {}
    needed = (lm_dir.arpa, lm_dir.binary, lm_dir.tokens) + ((lm_dir.lexicon,) if phone_set is None else ())
    built = all(path.is_file() for path in needed)
    if not force and built and previous.get("input_sha256") == inputs:
        return {**previous, "reused": True}
    out_dir.mkdir(parents=True, exist_ok=True)
    text_path = out_dir / "lm_text.txt"
    text_path.write_text("".join(s + "\n" for s in text.sentences), encoding="utf-8")
    fallback_orders = run_lmplz(text_path, lm_dir.arpa, order)
    run_build_binary(lm_dir.arpa, lm_dir.binary)

    if phone_set is None:
        write_lexicon(lm_dir.lexicon, lexicon_words)
        write_tokens(lm_dir.tokens, LetterTokenizer().tokens)
        num_lexicon_words: int | None = validate_lexicon(lm_dir.lexicon, read_tokens(lm_dir.tokens))
    else:
        lm_dir.lexicon.unlink(missing_ok=True)  # a word LM built here before: its lexicon would not describe this LM
        write_tokens(lm_dir.tokens, PhoneTokenizer(phone_set).tokens)
        num_lexicon_words = None
    info = {
        "unit": "words" if phone_set is None else "phones",
        "phone_set": None if phone_set is None else phone_set.name,
        "order": order,
        "sentences": len(text.sentences),
        "words": sum(word_counts.values()),
        "vocab_size": len(word_counts),
        "lexicon_words": num_lexicon_words,
        "lexicon_sources": (None if phone_set is not None else [str(p) for p in (*lexicon.manifests, *lexicon.word_lists)]
                            or "LM text and training transcripts"),
        "lexicon_words_not_in_lm": None if phone_set is not None else len(lexicon_words - set(word_counts)),
        "sources": text.sources,
        "excluded_manifests": [str(p) for p in exclude_manifests],
        "excluded_sentences": text.excluded_sentences,
        "discount_fallback_orders": fallback_orders,
        "input_sha256": inputs,
        "build_wall_time_s": round(time.time() - started, 3),
    }
    lm_dir.info.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def _input_digest(text: LMText, order: int, unit: str, lexicon_words: set[str]) -> str:
    """What determines an LM directory's content: unit, order, the LM sentences and the lexicon's words."""
    digest = hashlib.sha256(f"order={order}\n".encode() + (b"" if unit == "words" else f"unit={unit}\n".encode()))
    for sentence in text.sentences:
        digest.update(sentence.encode("utf-8") + b"\n")
    digest.update(b"\0" + " ".join(sorted(lexicon_words)).encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class LanguageModelDir:
    """The files of an LM directory written by `build_lm`, or assembled by hand in the same layout."""

    path: Path

    @property
    def arpa(self) -> Path:
        return self.path / "lm.arpa"

    @property
    def binary(self) -> Path:
        return self.path / "lm.bin"

    @property
    def lexicon(self) -> Path:
        return self.path / "lexicon.txt"

    @property
    def tokens(self) -> Path:
        return self.path / "tokens.txt"

    @property
    def info(self) -> Path:
        return self.path / "lm.json"

    @property
    def unit(self) -> str:
        """"phones" for a phone LM (lm.json says so), else "words"."""
        if not self.info.is_file():
            return "words"
        try:
            return str(json.loads(self.info.read_text(encoding="utf-8")).get("unit", "words"))
        except json.JSONDecodeError as exc:
            raise AsrBenchError(f"{self.info}: not valid JSON ({exc.msg}): expected the lm.json `asr-bench lm build` writes") from exc

    @property
    def model(self) -> Path:
        """The file KenLM loads: the binary where there is one, else the ARPA text."""
        return self.binary if self.binary.is_file() else self.arpa

    def check(self) -> None:
        """Fail early, naming the missing file, instead of inside flashlight's C++ loader."""
        if not self.path.is_dir():
            raise AsrBenchError(f"LM directory {self.path} does not exist: build one with `asr-bench lm build`")
        phones = self.unit == "phones"
        for required in (self.model, self.tokens) + (() if phones else (self.lexicon,)):
            if not required.is_file():
                raise AsrBenchError(
                    f"LM directory {self.path} has no {required.name}: expected lm.bin or lm.arpa, "
                    + ("tokens.txt and lm.json" if phones else "lexicon.txt and tokens.txt")
                    + " (as `asr-bench lm build` writes)"
                )

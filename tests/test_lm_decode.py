"""LM building, lexicon files, lexicon + KenLM beam search and LM-weight tuning, on hand-built emissions.

The beam-search tests read an ARPA file the test writes (KenLM reads ARPA directly), so only the LM-building
tests need lmplz; they skip when scripts/build_kenlm.sh has not been run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from asr_bench.cli import main
from asr_bench.data.manifest import Utterance, write_manifest
from asr_bench.data.tokens import LetterTokenizer
from asr_bench.decode.beam import BeamSearchConfig, beam_decode, build_decoder
from asr_bench.decode.lexicon import read_tokens, validate_lexicon, write_lexicon, write_tokens
from asr_bench.decode.lm import LanguageModelDir, gather_lm_text
from asr_bench.decode.run import decode_beam, read_utterances, score_utterances, tune_beam, write_utterances
from asr_bench.decode.tune import candidates, tune_lm_weights
from asr_bench.errors import AsrBenchError
from asr_bench.models.ctc_greedy import greedy_indices
from decode_fixtures import HAVE_LMPLZ, bigram_arpa, log_probs

TOKENIZER = LetterTokenizer()
SYMBOLS = list(TOKENIZER.tokens.symbols)
needs_lmplz = pytest.mark.skipif(not HAVE_LMPLZ, reason="KenLM's lmplz is not built: run scripts/build_kenlm.sh")

# "the cat" is far likelier than "the hat": log10 P(cat | the) = -0.05, while "the hat" backs off to a rare unigram.
ARPA = bigram_arpa("the", "cat", "hat")


def emissions_for(frames: list[dict[str, float]]) -> torch.Tensor:
    """(frames, tokens) log-probs over the letters: see decode_fixtures.log_probs."""
    return log_probs(frames, SYMBOLS)


def spelled(text: str) -> list[dict[str, float]]:
    """Frames that spell `text` unambiguously: each letter (and `|` between words) followed by a blank."""
    frames: list[dict[str, float]] = []
    for symbol in "|".join(text.split()):
        frames += [{symbol: 0.99}, {"<blank>": 0.99}]
    return frames


def the_cat_or_hat() -> torch.Tensor:
    """'the ?at' where the acoustics slightly prefer h (0.55) over c (0.45): greedy says "the hat"."""
    return emissions_for(spelled("the") + [{"|": 0.99}, {"h": 0.55, "c": 0.45}, {"<blank>": 0.99}] + spelled("at"))


@pytest.fixture()
def lm_dir(tmp_path: Path) -> LanguageModelDir:
    lm = LanguageModelDir(tmp_path / "lm")
    lm.path.mkdir()
    lm.arpa.write_text(ARPA, encoding="utf-8")
    write_lexicon(lm.lexicon, ["the", "cat", "hat"])
    write_tokens(lm.tokens, TOKENIZER.tokens)
    return lm


def make_run(tmp_path: Path, split: str, emissions: dict[str, torch.Tensor], references: dict[str, str]) -> Path:
    """A run directory as decode_greedy leaves it: emissions.pt, greedy.utt.jsonl and a greedy results entry."""
    run_dir = tmp_path / "run"
    out = run_dir / "decode" / split
    out.mkdir(parents=True)
    torch.save({i: e.half() for i, e in emissions.items()}, out / "emissions.pt")
    texts = list(references.values())
    rows = score_utterances(list(references), texts, texts, ("wer", "cer"))[1] if references else []
    write_utterances(out / "greedy.utt.jsonl", rows)
    greedy = {"wer": 50.0, "audio_hours": 2.0 / 3600}
    (run_dir / "results.json").write_text(json.dumps({"splits": {split: {"greedy": greedy}}}))
    return run_dir


def utterance(utt_id: str, text: str) -> Utterance:
    return Utterance(id=utt_id, audio=f"/audio/{utt_id}.flac", duration=1.0, speaker=utt_id[:2], text=text)


def test_lexicon_spells_words_with_a_final_word_boundary(tmp_path: Path) -> None:
    path = write_lexicon(tmp_path / "lexicon.txt", ["cat", "don't", "cat"])
    assert path.read_text().splitlines() == ["cat\tc a t |", "don't\td o n ' t |"]
    assert validate_lexicon(path, SYMBOLS) == 2
    assert read_tokens(write_tokens(tmp_path / "tokens.txt", TOKENIZER.tokens)) == SYMBOLS


def test_lexicon_character_outside_the_token_set_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("cat\tc a t |\ncafé\tc a f é |\n", encoding="utf-8")
    with pytest.raises(AsrBenchError, match=rf"{path}:2: word 'café' is spelt with \['é'\]"):
        validate_lexicon(path, SYMBOLS)
    path.write_text("cat c a t |\n", encoding="utf-8")
    with pytest.raises(AsrBenchError, match=rf"{path}:1: expected 'word<TAB>"):
        validate_lexicon(path, SYMBOLS)


def test_lm_text_excludes_dev_and_test_sentences(tmp_path: Path) -> None:
    train = write_manifest(tmp_path / "train.jsonl", [utterance("s1-1", "The cat SAT."), utterance("s1-2", "A dog ran")])
    dev = write_manifest(tmp_path / "dev.jsonl", [utterance("s2-1", "a dog ran")])
    test = write_manifest(tmp_path / "test.jsonl", [utterance("s3-1", "the hat")])
    extra = tmp_path / "books.txt"
    extra.write_text("The hat!\n\nthe mat is red\n", encoding="utf-8")
    text = gather_lm_text([extra], [train], [dev, test])
    assert text.sentences == ["the mat is red", "the cat sat"]
    assert text.excluded_sentences == 2
    assert text.sources == {str(extra): 1, str(train): 1}
    assert text.train_words == {"the", "cat", "sat", "a", "dog", "ran"}  # the acoustic model learnt to spell them all


def test_missing_lm_text_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AsrBenchError, match=rf"{tmp_path / 'nope.txt'}: LM text file does not exist"):
        gather_lm_text([tmp_path / "nope.txt"], [], [])


@needs_lmplz
def test_lm_build_writes_the_lm_directory(tmp_path: Path, capsys) -> None:
    train = write_manifest(tmp_path / "train.jsonl", [utterance(f"s1-{i}", t) for i, t in
                                                      enumerate(["the cat sat", "the hat sat", "a cat ran", "zebra"])])
    dev = write_manifest(tmp_path / "dev.jsonl", [utterance("s2-1", "a cat ran")])
    out = tmp_path / "lm"
    assert main(["lm", "build", "--order", "3", "--out", str(out), "--train-manifest", str(train),
                 "--exclude-manifest", str(dev)]) == 0
    assert "3-gram on 3 sentences" in capsys.readouterr().out
    info = json.loads((out / "lm.json").read_text())
    assert (info["sentences"], info["excluded_sentences"], info["vocab_size"]) == (3, 1, 5)
    assert info["discount_fallback_orders"]  # a corpus this small cannot estimate Kneser-Ney discounts
    assert info["lexicon_words"] == 7  # LM vocabulary plus "a" and "ran", training words of the excluded sentence
    lm = LanguageModelDir(out)
    assert lm.binary.is_file() and lm.model == lm.binary and "\\data\\" in lm.arpa.read_text()
    decoder = build_decoder(BeamSearchConfig(), lm, len(SYMBOLS))
    assert beam_decode(decoder, {"u": emissions_for(spelled("the cat sat"))}) == {"u": "the cat sat"}


@needs_lmplz
def test_lexicon_from_given_transcripts_and_word_lists_only(tmp_path: Path, capsys) -> None:
    """WSJ's way: an LM on the LM text, a lexicon of the training and dev transcripts' words (or a vocabulary)."""
    text = tmp_path / "lm_text.txt"
    text.write_text("the cat sat\nthe hat sat\na dog ran far\n")
    train = write_manifest(tmp_path / "train.jsonl", [utterance("s1-1", "the cat sat")])
    dev = write_manifest(tmp_path / "dev.jsonl", [utterance("s2-1", "a zebra ran")])
    out = tmp_path / "lm"
    argv = ["lm", "build", "--order", "2", "--out", str(out), "--text", str(text), "--train-manifest", str(train)]
    assert main([*argv, "--lexicon-manifest", str(train), "--lexicon-manifest", str(dev)]) == 0
    lexicon = [line.split("\t")[0] for line in (out / "lexicon.txt").read_text().splitlines()]
    assert lexicon == ["a", "cat", "ran", "sat", "the", "zebra"]  # not the LM's "hat", "dog", "far"
    info = json.loads((out / "lm.json").read_text())
    assert info["lexicon_words"] == 6 and info["lexicon_words_not_in_lm"] == 1
    assert info["lexicon_sources"] == [str(train), str(dev)]

    vocabulary = tmp_path / "vocab_20k.txt"
    vocabulary.write_text("the\ndog\nfar\n")
    capsys.readouterr()
    assert main([*argv, "--lexicon-words", str(vocabulary)]) == 0
    assert "up to date" not in capsys.readouterr().out, "another lexicon is another LM directory"
    assert [line.split("\t")[0] for line in (out / "lexicon.txt").read_text().splitlines()] == ["dog", "far", "the"]


def test_lm_build_reuses_an_up_to_date_directory(tmp_path: Path, capsys) -> None:
    """Re-running a recipe keeps the LM it built; new text, another order, a missing file or --force rebuild it."""
    train = write_manifest(tmp_path / "train.jsonl", [utterance(f"s1-{i}", t) for i, t in
                                                      enumerate(["the cat sat", "the hat sat", "a cat ran"])])
    out = tmp_path / "lm"

    def rebuilt(order: int, *extra: str) -> bool:
        """Build, after marking the current lm.json: a rebuild rewrites it, a reuse keeps the mark."""
        if (out / "lm.json").is_file():
            (out / "lm.json").write_text(json.dumps({**json.loads((out / "lm.json").read_text()), "mark": 1}))
        capsys.readouterr()
        assert main(["lm", "build", "--out", str(out), "--train-manifest", str(train), "--order", str(order), *extra]) == 0
        reused = "up to date" in capsys.readouterr().out
        assert reused == ("mark" in json.loads((out / "lm.json").read_text()))
        return not reused

    assert rebuilt(3)
    assert not rebuilt(3)
    assert rebuilt(3, "--force")
    assert rebuilt(2)
    write_manifest(train, [utterance("s1-0", "the cat sat"), utterance("s1-1", "a dog ran")])
    assert rebuilt(2)
    (out / "lm.bin").unlink()
    assert rebuilt(2)
    assert (out / "lm.bin").is_file()
    assert not rebuilt(2)


def test_beam_search_recovers_a_spelled_word(lm_dir: LanguageModelDir) -> None:
    decoder = build_decoder(BeamSearchConfig(), lm_dir, len(SYMBOLS))
    texts = beam_decode(decoder, {"a": emissions_for(spelled("cat")), "b": emissions_for(spelled("hat the"))})
    assert texts == {"a": "cat", "b": "hat the"}


def test_lexicon_free_beam_search_reads_letters() -> None:
    decoder = build_decoder(BeamSearchConfig(lexicon_free=True), None, len(SYMBOLS))
    assert beam_decode(decoder, {"a": emissions_for(spelled("the zat"))}) == {"a": "the zat"}


def test_lm_turns_a_greedy_ambiguous_decode_toward_the_likelier_words(lm_dir: LanguageModelDir) -> None:
    emission = the_cat_or_hat()
    assert TOKENIZER.decode(greedy_indices(emission)) == "the hat"
    no_lm = build_decoder(BeamSearchConfig(lm_weight=0.0), lm_dir, len(SYMBOLS))
    with_lm = build_decoder(BeamSearchConfig(lm_weight=2.0), lm_dir, len(SYMBOLS))
    assert beam_decode(no_lm, {"u": emission}) == {"u": "the hat"}
    assert beam_decode(with_lm, {"u": emission}) == {"u": "the cat"}


def test_tuning_picks_the_grid_point_with_lowest_wer(lm_dir: LanguageModelDir) -> None:
    result = tune_lm_weights({"u": the_cat_or_hat()}, {"u": "the cat"}, lm_dir, BeamSearchConfig(), source="dev",
                             lm_weights=(0.0, 2.0), word_scores=(0.0, 1.0))
    assert [(r["lm_weight"], r["word_score"], r["wer"]) for r in result.search] == [
        (0.0, 0.0, 50.0), (0.0, 1.0, 50.0), (2.0, 0.0, 0.0), (2.0, 1.0, 0.0)]
    assert (result.lm_weight, result.word_score, result.error_rate, result.metric, result.method) == (2.0, 0.0, 0.0, "wer", "grid")


def test_random_search_is_seeded_and_stays_in_the_grid_box() -> None:
    method, points = candidates((0.0, 3.0), (-2.0, 2.0), random_budget=5, seed=7)
    assert method == "random" and points == candidates((0.0, 3.0), (-2.0, 2.0), 5, seed=7)[1]
    assert len(points) == 5 and all(0 <= w <= 3 and -2 <= s <= 2 for w, s in points)
    assert points != candidates((0.0, 3.0), (-2.0, 2.0), 5, seed=8)[1]


def test_tuning_on_an_empty_dev_set_is_an_error(tmp_path: Path, lm_dir: LanguageModelDir) -> None:
    run_dir = make_run(tmp_path, "dev", {}, {})
    with pytest.raises(AsrBenchError, match=r"emissions.pt \(split 'dev'\): it has no utterances"):
        tune_beam(run_dir, "dev", lm_dir.path, BeamSearchConfig())


def test_missing_or_broken_lm_file_is_named(tmp_path: Path, lm_dir: LanguageModelDir) -> None:
    lm_dir.arpa.unlink()
    with pytest.raises(AsrBenchError, match=rf"LM directory {lm_dir.path} has no lm.arpa"):
        build_decoder(BeamSearchConfig(), lm_dir, len(SYMBOLS))
    lm_dir.binary.write_bytes(b"not a language model\n")
    with pytest.raises(AsrBenchError, match=rf"{lm_dir.binary}: KenLM cannot load it"):
        build_decoder(BeamSearchConfig(), lm_dir, len(SYMBOLS))
    with pytest.raises(AsrBenchError, match="LM directory .* does not exist"):
        build_decoder(BeamSearchConfig(), LanguageModelDir(tmp_path / "absent"), len(SYMBOLS))


def test_decode_beam_tunes_on_dev_and_records_the_search(tmp_path: Path, lm_dir: LanguageModelDir) -> None:
    run_dir = make_run(tmp_path, "dev", {"u": the_cat_or_hat()}, {"u": "the cat"})
    tuning = tune_beam(run_dir, "dev", lm_dir.path, BeamSearchConfig(), random_budget=4, seed=0)
    config = BeamSearchConfig(lm_weight=tuning.lm_weight, word_score=tuning.word_score)
    entry = decode_beam(run_dir, "dev", lm_dir.path, config, tuned_on="dev", tuning=tuning)
    rows = read_utterances(run_dir / "decode" / "dev" / "beam.utt.jsonl")
    assert [(row["id"], row["ref"], row["hyp"]) for row in rows] == [("u", "the cat", "the cat")]
    results = json.loads((run_dir / "results.json").read_text())["splits"]["dev"]
    assert results["beam"] == entry and entry["wer"] == 0.0 and entry["beam_size"] == 50
    assert entry["tuning"]["method"] == "random" and len(entry["tuning"]["search"]) == 4
    assert entry["decode_rtf"] == pytest.approx(entry["decode_wall_time_s"] / 2.0)
    assert "greedy" in results  # beam entries sit beside greedy's

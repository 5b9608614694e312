"""Phone models' decoding: phone LMs from the LM tools, lexicon-free beam search with them, PER in the results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from asr_bench.cli import main
from asr_bench.data.manifest import Utterance, write_manifest
from asr_bench.data.phones import PHONE_SETS
from asr_bench.data.tokens import LetterTokenizer, PhoneTokenizer
from asr_bench.decode.beam import BeamSearchConfig, beam_decode, build_decoder
from asr_bench.decode.lexicon import read_tokens, write_lexicon, write_tokens
from asr_bench.decode.lm import LanguageModelDir
from asr_bench.decode.run import decode_beam, read_utterances, score_utterances, tune_beam, write_utterances
from asr_bench.errors import AsrBenchError
from asr_bench.models.ctc_greedy import greedy_indices
from decode_fixtures import HAVE_LMPLZ, bigram_arpa, log_probs

TIMIT48 = PhoneTokenizer(PHONE_SETS["timit48"])
SYMBOLS = list(TIMIT48.tokens.symbols)

# After the closure "cl", "k" is far likelier than "t": log10 P(k | cl) = -0.05, while "t" backs off to a rare unigram.
ARPA = bigram_arpa("cl", "k", "t", likely_unigram=-1.0)


def closure_then_k_or_t() -> torch.Tensor:
    """(4, 49) log-probs over TIMIT's 48 and the blank: a closure, then a stop the acoustics slightly hear as t
    (0.55) rather than k (0.45)."""
    return log_probs([{"cl": 0.99}, {"<blank>": 0.99}, {"t": 0.55, "k": 0.45}, {"<blank>": 0.99}], SYMBOLS)


@pytest.fixture()
def phone_lm(tmp_path: Path) -> LanguageModelDir:
    lm = LanguageModelDir(tmp_path / "phone_lm")
    lm.path.mkdir()
    lm.arpa.write_text(ARPA, encoding="utf-8")
    write_tokens(lm.tokens, TIMIT48.tokens)
    lm.info.write_text(json.dumps({"unit": "phones", "phone_set": "timit48"}))
    return lm


def test_phone_lm_turns_the_beam_toward_likelier_phones_read_out_in_39(phone_lm: LanguageModelDir) -> None:
    emission = closure_then_k_or_t()
    assert TIMIT48.decode(greedy_indices(emission)) == "sil t"  # the 48-phone closure "cl" scores as "sil"
    no_lm = build_decoder(BeamSearchConfig(lexicon_free=True), None, len(SYMBOLS), TIMIT48)
    with_lm = build_decoder(BeamSearchConfig(lm_weight=1.0), phone_lm, len(SYMBOLS), TIMIT48)
    assert beam_decode(no_lm, {"u": emission}) == {"u": "sil t"}
    assert beam_decode(with_lm, {"u": emission}) == {"u": "sil k"}


def test_the_lm_must_be_of_the_models_unit_and_phone_set(tmp_path: Path, phone_lm: LanguageModelDir) -> None:
    word_lm = LanguageModelDir(tmp_path / "word_lm")
    shutil.copytree(phone_lm.path, word_lm.path)
    word_lm.info.unlink()
    write_tokens(word_lm.tokens, LetterTokenizer().tokens)
    write_lexicon(word_lm.lexicon, ["cat"])
    with pytest.raises(AsrBenchError, match="is a words LM but the model emits phones: build a phone LM"):
        build_decoder(BeamSearchConfig(), word_lm, len(SYMBOLS), TIMIT48)
    with pytest.raises(AsrBenchError, match="is a phones LM but the model emits letters"):
        build_decoder(BeamSearchConfig(), phone_lm, len(LetterTokenizer().tokens), LetterTokenizer())
    timit61 = PhoneTokenizer(PHONE_SETS["timit61"])
    with pytest.raises(AsrBenchError, match="tokens.txt has 49 tokens but the emissions have 61 columns"):
        build_decoder(BeamSearchConfig(), phone_lm, len(timit61.tokens), timit61)
    reordered = [SYMBOLS[0], *reversed(SYMBOLS[1:])]
    phone_lm.tokens.write_text("".join(s + "\n" for s in reordered))
    with pytest.raises(AsrBenchError, match="expected the model's phone set timit48"):
        build_decoder(BeamSearchConfig(), phone_lm, len(SYMBOLS), TIMIT48)


def test_decode_beam_of_a_phone_run_records_per_and_tunes_only_the_lm_weight(
    tmp_path: Path, phone_lm: LanguageModelDir
) -> None:
    run_dir = tmp_path / "run"
    out = run_dir / "decode" / "dev"
    out.mkdir(parents=True)
    torch.save({"u": closure_then_k_or_t().half()}, out / "emissions.pt")
    _, rows = score_utterances(["u"], ["sil k"], ["sil t"], ("per",))
    write_utterances(out / "greedy.utt.jsonl", rows)
    (run_dir / "results.json").write_text(json.dumps({"splits": {"dev": {"greedy": {"per": 50.0, "audio_hours": 1e-3}}}}))

    tuning = tune_beam(run_dir, "dev", phone_lm.path, BeamSearchConfig(), tokenizer=TIMIT48)
    assert tuning.metric == "per" and {row["word_score"] for row in tuning.search} == {0.0}
    assert [row["per"] for row in tuning.search][:1] == [50.0] and tuning.error_rate == 0.0
    entry = decode_beam(run_dir, "dev", phone_lm.path, BeamSearchConfig(lm_weight=tuning.lm_weight), "dev", tuning,
                        tokenizer=TIMIT48)
    assert [(row["id"], row["hyp"]) for row in read_utterances(out / "beam.utt.jsonl")] == [("u", "sil k")]
    assert entry["per"] == 0.0 and "wer" not in entry and "word_score" not in entry
    assert entry["lm_dir"] == str(phone_lm.path) and entry["tuning"]["best_per"] == 0.0
    free = decode_beam(run_dir, "dev", None, BeamSearchConfig(lexicon_free=True), tokenizer=TIMIT48)
    assert free["per"] == 50.0 and "lm_weight" not in free
    assert json.loads((run_dir / "results.json").read_text())["splits"]["dev"]["beam_lexicon_free"] == free


@pytest.mark.skipif(not HAVE_LMPLZ, reason="KenLM's lmplz is not built: run scripts/build_kenlm.sh")
def test_lm_build_phones_writes_a_phone_lm_over_the_training_symbols(tmp_path: Path, capsys) -> None:
    def utt(utt_id: str, phones: str) -> Utterance:
        return Utterance(utt_id, f"/audio/{utt_id}.wav", 1.0, "s1", "words", phones=phones.split())

    train = write_manifest(tmp_path / "train.jsonl", [utt("a", "h# dh ax kcl k ae tcl t h#"),
                                                      utt("b", "h# q ix z h#"), utt("c", "h# s iy h#")])
    dev = write_manifest(tmp_path / "dev.jsonl", [utt("d", "h# s iy h#")])
    text = tmp_path / "more.txt"
    text.write_text("h# hv ix z h#\n")
    out = tmp_path / "lm"
    args = ["lm", "build", "--unit", "phones", "--phone-set", "timit48", "--order", "3", "--out", str(out),
            "--train-manifest", str(train), "--exclude-manifest", str(dev), "--text", str(text)]
    assert main(args) == 0
    assert "3-gram timit48 phone on 3 sentences" in capsys.readouterr().out
    lm = LanguageModelDir(out)
    assert read_tokens(lm.tokens) == SYMBOLS and lm.unit == "phones" and not lm.lexicon.exists()
    assert (out / "lm_text.txt").read_text().splitlines() == ["sil hh ix z sil", "sil dh ax cl k ae cl t sil",
                                                              "sil ix z sil"]
    info = json.loads(lm.info.read_text())
    assert (info["phone_set"], info["excluded_sentences"], info["lexicon_words"]) == ("timit48", 1, None)
    lm.check()
    assert main(args[:2] + ["--unit", "phones", "--order", "3", "--out", str(out), "--train-manifest", str(train)]) == 2
    assert "--unit phones and --phone-set go together" in capsys.readouterr().err

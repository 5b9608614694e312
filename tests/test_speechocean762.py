"""speechocean762: the real training half's numbers and held-out splits, canonical phones, the official test split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from asr_bench.cli import main
from asr_bench.data.corpora.records import BAD_LABELS
from asr_bench.data.corpora.speechocean762 import ADULT_AGE, prepare_speechocean762
from asr_bench.data.manifest import read_manifest
from asr_bench.data.phones import ARPABET_39
from asr_bench.errors import CorpusLayoutError
from corpus_fixtures import build_speechocean_tree


def _speaker_facts(corpus: Path) -> dict[str, tuple[str, str]]:
    """speaker -> (gender, child/adult) from the corpus's own spk2gender and spk2age."""
    def table(name: str) -> dict[str, str]:
        return dict(line.split() for line in (corpus / "train" / name).read_text().splitlines() if line.strip())

    ages = table("spk2age")
    return {s: (g.upper(), "child" if int(ages[s]) < ADULT_AGE else "adult") for s, g in table("spk2gender").items()}


def test_real_corpus_totals_and_balanced_speaker_disjoint_splits(shared_data: Path, tmp_path: Path, capsys,
                                                                 ci_speechocean_rows) -> None:
    corpus = shared_data / "speechocean762"
    out = tmp_path / "out"
    assert main(["prepare", "speechocean762", "--corpus-dir", str(corpus), "--out-dir", str(out)]) == 0
    assert "all: 2500 utterances, 125 speakers, 2.88 h" in capsys.readouterr().out

    splits = {name: read_manifest(out / f"{name}.jsonl") for name in ("train", "dev", "test")}
    speakers = {name: {u.speaker for u in utts} for name, utts in splits.items()}
    assert not (speakers["train"] & speakers["dev"] or speakers["train"] & speakers["test"] or speakers["dev"] & speakers["test"])
    facts = _speaker_facts(corpus)
    for name in ("dev", "test"):
        groups = Counter(facts[s] for s in speakers[name])
        assert groups == {(g, a): 2 for g in "FM" for a in ("child", "adult")}, (name, groups)
        assert {u.gender for u in splits[name]} == {"F", "M"}
    recorded = json.loads((out / "summary.json").read_text())
    assert recorded["held_out_speakers"]["dev"] == sorted(speakers["dev"]) and recorded["official_test"] is False

    # Phones: ARPAbet-39 from resource/text-phone, the same as ci/manifest.tsv lists for its utterances.
    utterances = {u.id: u for utts in splits.values() for u in utts}
    assert all(u.phones and set(u.phones) <= set(ARPABET_39) for u in utterances.values())
    for row in ci_speechocean_rows:
        assert utterances[row["utt_id"]].phones == row["phones"].split()
        assert utterances[row["utt_id"]].text == row["text"]

    # Seeded: the same seed gives the same speakers, another seed others; sizes are options.
    prepare_speechocean762(corpus, tmp_path / "again", progress=False)
    assert (tmp_path / "again" / "dev.jsonl").read_text() == (out / "dev.jsonl").read_text()
    summaries = prepare_speechocean762(corpus, tmp_path / "other", dev_speakers_per_group=1, test_speakers_per_group=3,
                                       seed=1, progress=False)
    assert (summaries["dev"].num_speakers, summaries["test"].num_speakers) == (4, 12)
    assert {u.speaker for u in read_manifest(tmp_path / "other" / "dev.jsonl")} != speakers["dev"]


def test_official_test_dir_is_the_test_split(tmp_path: Path, ci_speechocean_rows, shared_data: Path) -> None:
    corpus = build_speechocean_tree(tmp_path / "so762", ci_speechocean_rows, shared_data)
    test_speakers = {"0001", "0036"}
    (corpus / "test").mkdir()
    for name in ("wav.scp", "text", "utt2spk", "spk2gender", "spk2age"):
        lines = (corpus / "train" / name).read_text().splitlines()
        speaker_of = {line.split()[0]: line.split()[1] for line in (corpus / "train" / "utt2spk").read_text().splitlines()}
        in_test = [line for line in lines if speaker_of.get(line.split()[0], line.split()[0]) in test_speakers]
        (corpus / "test" / name).write_text("".join(line + "\n" for line in in_test))
        (corpus / "train" / name).write_text("".join(line + "\n" for line in lines if line not in in_test))

    summaries = prepare_speechocean762(corpus, tmp_path / "out", dev_speakers_per_group=0, progress=False)
    assert set(summaries) == {"train", "test"}  # no dev speakers asked for: no dev manifest
    assert {u.speaker for u in read_manifest(tmp_path / "out" / "test.jsonl")} == test_speakers
    assert summaries["train"].num_speakers == 6 and summaries["test"].num_utterances == 10


def test_bad_phone_lines_are_named_or_skipped(tmp_path: Path, ci_speechocean_rows, shared_data: Path) -> None:
    corpus = build_speechocean_tree(tmp_path / "so762", ci_speechocean_rows, shared_data)
    text_phone = corpus / "resource" / "text-phone"
    lines = text_phone.read_text().splitlines()
    bad_utt = lines[2].split(".")[0]
    lines[2] = lines[2].split("\t")[0] + "\tK_B XX0_E"
    short_utt = next(line.split(".")[0] for line in lines if line.split(".")[0] != bad_utt and line.split("\t")[0].endswith(".1"))
    lines = [line for line in lines if not line.startswith(f"{short_utt}.1\t")]
    text_phone.write_text("".join(line + "\n" for line in lines))

    with pytest.raises(CorpusLayoutError, match=r"text-phone:3: \['XX'\] are not ARPAbet phones"):
        prepare_speechocean762(corpus, tmp_path / "out", dev_speakers_per_group=0, test_speakers_per_group=0,
                               progress=False)
    summaries = prepare_speechocean762(corpus, tmp_path / "out", dev_speakers_per_group=0, test_speakers_per_group=0,
                                       skip_bad=True, progress=False)
    assert summaries["train"].skipped == {BAD_LABELS: 2}
    listed = dict(item.split(": ", 1) for item in summaries["train"].skipped_utterances[BAD_LABELS])
    assert "but its text has" in listed[short_utt] and "XX" in listed[bad_utt]


def test_not_the_layout(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    with pytest.raises(CorpusLayoutError, match=r"has no train/wav.scp \(found: train\): expected the speechocean762"):
        prepare_speechocean762(tmp_path, tmp_path / "out", progress=False)

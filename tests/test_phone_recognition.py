"""Phone recognition end to end on real speechocean762 speech, and CTC's feasibility check at training start."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from asr_bench.cli import main
from asr_bench.config import load_config
from asr_bench.data.manifest import Utterance, read_manifest, write_manifest
from asr_bench.errors import AsrBenchError
from asr_bench.tasks import train_ctc
from asr_bench.tasks.ctc_data import CTC_INFEASIBLE, required_ctc_frames
from asr_bench.tasks.train_ctc import TrainConfig, train
from corpus_fixtures import build_speechocean_tree
from decode_fixtures import HAVE_LMPLZ

MODEL = {
    "layers": [{"channels": 128, "kernel": 11, "stride": 2}, {"channels": 128, "kernel": 11},
               {"channels": 128, "kernel": 11}, {"channels": 256, "kernel": 1}],
    "layer_norm": True,
}


def write_config(path: Path, train_manifest: Path, out_dir: Path, **sections: Any) -> Path:
    config = {
        "out_dir": str(out_dir),
        "data": {"train_manifest": str(train_manifest), "tokens": "phones", "phone_set": "arpabet39",
                 "max_frames_per_batch": 2000},
        "features": {"cache_dir": str(path.parent / "features")},
        "model": MODEL,
        "optim": {"lr": 3e-3, "warmup_steps": 10, "weight_decay": 0.0, "schedule": "constant"},
        "trainer": {"max_epochs": 1, "progress_bar": False, "log_every_n_steps": 1},
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    path.write_text(yaml.safe_dump(config))
    return path


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "logs" / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def phone_run(tmp_path_factory, ci_speechocean_rows, shared_data: Path) -> tuple[Path, Path]:
    """(run dir, manifest): four real speechocean762 utterances prepared from the corpus layout, and a phone model
    trained on them until it knows them by heart."""
    tmp_path = tmp_path_factory.mktemp("phone_run")
    rows = sorted(ci_speechocean_rows, key=lambda r: float(r["duration_s"]))[:4]
    corpus = build_speechocean_tree(tmp_path / "so762", rows, shared_data)
    data = tmp_path / "data"
    assert main(["prepare", "speechocean762", "--corpus-dir", str(corpus), "--out-dir", str(data),
                 "--dev-speakers-per-group", "0", "--test-speakers-per-group", "0"]) == 0
    manifest = data / "train.jsonl"
    assert len(read_manifest(manifest)) == 4

    run_dir = tmp_path / "run"
    config = write_config(tmp_path / "conf.yaml", manifest, run_dir, data={"valid_manifest": str(manifest)},
                          trainer={"max_epochs": 70, "check_val_every_n_epoch": 35})
    assert main(["train", "-c", str(config)]) == 0
    return run_dir, manifest


def test_phone_model_overfits_speechocean762_utterances(phone_run, capsys) -> None:
    run_dir, manifest = phone_run
    assert main(["decode", "--run-dir", str(run_dir), "-m", f"train={manifest}"]) == 0
    assert "train (greedy): PER" in capsys.readouterr().out

    entry = json.loads((run_dir / "results.json").read_text())["splits"]["train"]["greedy"]
    assert entry["per"] < 25.0 and "wer" not in entry, entry
    assert len((run_dir / "decode" / "train" / "greedy.utt.jsonl").read_text().splitlines()) == 4
    logged = metric_rows(run_dir)
    assert {"valid/per", "train/infinite_losses"} <= set(logged[0]) and "valid/wer" not in logged[0]
    assert {float(r["train/infinite_losses"]) for r in logged if r["train/infinite_losses"]} == {0.0}


@pytest.mark.skipif(not HAVE_LMPLZ, reason="KenLM's lmplz is not built: run scripts/build_kenlm.sh")
def test_phone_model_decodes_with_a_phone_lm_from_the_command_line(phone_run, tmp_path: Path, capsys) -> None:
    run_dir, manifest = phone_run
    lm = tmp_path / "phone_lm"
    assert main(["lm", "build", "--unit", "phones", "--phone-set", "arpabet39", "--order", "3", "--out", str(lm),
                 "--train-manifest", str(manifest)]) == 0
    assert main(["decode", "--run-dir", str(run_dir), "-m", f"train={manifest}", "--lm", str(lm),
                 "--tune-on", "train", "--beam-size", "8"]) == 0
    out = capsys.readouterr().out
    assert "greedy PER   beam PER" in out and "tuned on train (grid, 7 decodes)" in out
    results = json.loads((run_dir / "results.json").read_text())["splits"]["train"]
    assert results["beam"]["per"] < 25.0 and results["beam"]["tuning"]["best_per"] == results["beam"]["per"]
    assert results["beam"]["lm_dir"] == str(lm) and "word_score" not in results["beam"]


def test_required_ctc_frames_counts_a_blank_between_repeats() -> None:
    assert required_ctc_frames([1, 2, 3]) == 3
    assert required_ctc_frames([1, 1, 2, 2, 2, 1]) == 9
    assert required_ctc_frames([]) == 0


@pytest.fixture
def too_many_phones(tmp_path: Path, ci_speechocean_rows, shared_data: Path) -> tuple[Path, str]:
    """Two real utterances, and a third whose 1.67 s of audio (84 output frames at stride 2) is given 100 phones."""
    rows = sorted(ci_speechocean_rows, key=lambda r: float(r["duration_s"]))[:3]
    utterances = [Utterance(r["utt_id"], str(shared_data / "ci" / r["path"]), float(r["duration_s"]), r["speaker"],
                            r["text"], phones=r["phones"].split()) for r in rows]
    bad = utterances[0]
    utterances[0] = Utterance(bad.id, bad.audio, bad.duration, bad.speaker, bad.text, phones=["B", "AY"] * 50)
    return write_manifest(tmp_path / "train.jsonl", utterances), bad.id


def test_unlearnable_utterance_is_named_at_training_start_or_skipped(tmp_path: Path, too_many_phones) -> None:
    manifest, bad_id = too_many_phones
    config = write_config(tmp_path / "conf.yaml", manifest, tmp_path / "run")
    with pytest.raises(AsrBenchError, match=rf"1 utterance\(s\) .* CTC cannot learn them: {bad_id}: 100 CTC frames needed.*"
                                            r"the model emits \d+ .*Fix: data.skip_bad=true"):
        train(load_config(TrainConfig, config))

    run_dir = train(load_config(TrainConfig, config, ["data.skip_bad=true", f"out_dir={tmp_path / 'skipping'}"]))
    summary = json.loads((run_dir / "train_summary.json").read_text())
    (listed,) = summary["skipped_utterances"][CTC_INFEASIBLE]
    assert listed.startswith(f"{bad_id}: 100 CTC frames needed")
    kept_hours = sum(u.duration for u in read_manifest(manifest) if u.id != bad_id) / 3600
    assert summary["labelled_hours"] == pytest.approx(kept_hours)


def test_infinite_losses_are_counted_per_epoch(tmp_path: Path, too_many_phones, monkeypatch) -> None:
    """Without the check at training start, the unlearnable utterance's loss is infinite in every epoch."""
    manifest, _ = too_many_phones
    monkeypatch.setattr(train_ctc, "feasible_utterances", lambda dataset, *args: (dataset, []))
    config = write_config(tmp_path / "conf.yaml", manifest, tmp_path / "run", trainer={"max_epochs": 2})
    run_dir = train(load_config(TrainConfig, config))
    counts = [float(r["train/infinite_losses"]) for r in metric_rows(run_dir) if r.get("train/infinite_losses")]
    assert counts == [1.0, 1.0]

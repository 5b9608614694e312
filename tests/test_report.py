"""Report rows: pooling over seeds only, the runs behind each row, the comparison with log-mel, the tables."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from asr_bench.errors import AsrBenchError
from asr_bench.report.pooling import Row, compact_names, feature_name, pool
from asr_bench.report.reference import (
    TIMIT_PER,
    WSJ_4GRAM,
    WSJ_LOW_RESOURCE_LABELLED_HOURS,
    WSJ_LOW_RESOURCE_MAX_RELATIVE_WER_REDUCTION,
    WSJ_NO_LM,
)
from asr_bench.report.runs import load_runs
from asr_bench.report.tables import Report, build_report, markdown, write_tables
from asr_bench.report.utterances import read_utterance_counts
from conftest import SHARED_DATA
from report_fixtures import LOGMEL, WAV2VEC, write_decoded_run, write_run, write_utterances

GREEDY = {"checkpoint": "exp/run/checkpoints/best.ckpt", "manifest": "data/dev.jsonl"}


@pytest.fixture
def sweep_runs(tmp_path: Path) -> list[Path]:
    """log-mel and wav2vec at 1 h (3 seeds each) and 10 h (2 seeds / 1 seed), greedy dev decodes."""
    root = tmp_path / "runs"
    paths = []
    # The subsets' true sizes differ in the 4th decimal; they are the same labelled-data point.
    for seed, (hours, wer, cer) in enumerate([(0.99987, 30.0, 10.0), (1.0002, 32.0, 11.0), (1.0, 34.0, 12.0)]):
        paths.append(write_run(root, f"logmel-1h-s{seed}", LOGMEL, seed, hours,
                               {"dev": {"greedy": {"wer": wer, "cer": cer}}, "test": {"greedy": {"wer": 40.0}}}))
    for seed, (wer, cer) in enumerate([(24.0, 8.0), (24.0, 9.0), (27.0, 10.0)]):
        paths.append(write_run(root, f"w2v-1h-s{seed}", WAV2VEC, seed, 1.0, {"dev": {"greedy": {"wer": wer, "cer": cer}}}))
    for seed, wer in enumerate([20.0, 22.0]):
        paths.append(write_run(root, f"logmel-10h-s{seed}", _at(LOGMEL, "10h"), seed, 10.0, {"dev": {"greedy": {"wer": wer}}}))
    paths.append(write_run(root, "w2v-10h-s0", _at(WAV2VEC, "10h"), 0, 10.0, {"dev": {"greedy": {"wer": 14.0}}}))
    return paths


def _at(config: dict, subset: str, **sections: dict) -> dict:
    """`config` trained on train_<subset>.jsonl, with further config sections merged in."""
    return {**config, "data": {"train_manifest": f"train_{subset}.jsonl"}, **sections}


def report_of(paths: list[Path], corpus: str | None = None, replicates: int = 2000) -> Report:
    return build_report(load_runs(paths), corpus, replicates)


def find(rows: list[Row], features: str, hours: float | None, metric: str, split: str = "dev", decoder: str = "greedy") -> Row:
    (match,) = [r for r in rows if (r.features, r.labelled_hours, r.metric, r.split, r.decoder) == (features, hours, metric, split, decoder)]
    return match


# ---------------------------------------------------------------------------------------------
# pooling: seeds alone


def test_rows_pool_seeds_with_mean_std_and_t_interval(sweep_runs: list[Path]) -> None:
    rows = pool(load_runs(sweep_runs))
    assert len(rows) == 7  # logmel 1h dev wer/cer + test wer, wav2vec 1h wer/cer, logmel 10h wer, wav2vec 10h wer
    logmel_wer = find(rows, "logmel", 1.0, "wer")
    assert len(logmel_wer.values) == 3, "0.99987 h, 1.0002 h and 1.0 h are one labelled-data point"
    assert (logmel_wer.mean, logmel_wer.std) == (pytest.approx(32.0), pytest.approx(2.0))
    assert logmel_wer.ci95 == pytest.approx(4.303 * 2 / math.sqrt(3))
    assert [r.name for r in logmel_wer.runs] == ["logmel-1h-s0", "logmel-1h-s1", "logmel-1h-s2"]
    assert logmel_wer.seeds == [0, 1, 2] and logmel_wer.setting == ""
    w2v = find(rows, "wav2vec-c", 1.0, "wer")
    # 24, 24, 27: mean 25, sample std sqrt(3), so the half-width is t * sqrt(3) / sqrt(3) = 4.303.
    assert (w2v.mean, w2v.std, w2v.ci95) == (pytest.approx(25.0), pytest.approx(math.sqrt(3)), pytest.approx(4.303))
    single = find(rows, "wav2vec-c", 10.0, "wer")
    assert (single.values, single.std, single.ci95) == ((14.0,), None, None)


def test_runs_that_differ_in_more_than_the_seed_are_separate_rows_that_say_how(tmp_path: Path) -> None:
    """Three seed-0 runs with other step counts or LM settings are three rows of one seed each, not "seeds 3"."""
    beam = {"lm_dir": "lm/4gram", "beam_size": 50, "lm_weight": 2.0, "word_score": 0.0}
    paths = [
        write_run(tmp_path, "steps500", _at(LOGMEL, "1h", trainer={"max_steps": 500}), 0, 1.0,
                  {"dev": {"greedy": {"wer": 90.0, **GREEDY}, "beam": {"wer": 80.0, **beam}}}),
        write_run(tmp_path, "steps2000", _at(LOGMEL, "1h", trainer={"max_steps": 2000}), 0, 1.0,
                  {"dev": {"greedy": {"wer": 70.0, **GREEDY}, "beam": {"wer": 60.0, **beam}}}),
        write_run(tmp_path, "steps2000_lm3", _at(LOGMEL, "1h", trainer={"max_steps": 2000}), 1, 1.0,
                  {"dev": {"greedy": {"wer": 71.0, **GREEDY}, "beam": {"wer": 55.0, **beam, "lm_weight": 3.0}}}),
    ]
    rows = pool(load_runs(paths))
    greedy = sorted((r for r in rows if r.decoder == "greedy"), key=lambda r: r.mean)
    assert [(len(r.values), r.setting) for r in greedy] == [(2, "trainer.max_steps=2000"), (1, "trainer.max_steps=500")]
    assert [r.name for r in greedy[0].runs] == ["steps2000", "steps2000_lm3"], "the greedy decodes differ in the seed alone"
    beams = sorted((r for r in rows if r.decoder == "beam"), key=lambda r: r.mean)
    assert [(r.values, r.setting) for r in beams] == [
        ((55.0,), "decode.lm_weight=3.0, trainer.max_steps=2000"),
        ((60.0,), "decode.lm_weight=2.0, trainer.max_steps=2000"),
        ((80.0,), "decode.lm_weight=2.0, trainer.max_steps=500"),
    ]
    md = markdown(build_report(load_runs(paths)))
    assert "| logmel [decode.lm_weight=3.0, trainer.max_steps=2000] | 1.00 | dev | beam | WER | 55.00 | - | 1 |" in md


def test_decode_settings_that_pool_and_those_that_do_not(tmp_path: Path) -> None:
    """Weights tuned per seed on dev pool (tuned_on says how they were chosen); another checkpoint does not."""
    paths = []
    for seed, (weight, checkpoint) in enumerate([(1.5, "best"), (2.5, "best"), (2.0, "last")]):
        beam = {"wer": 20.0 + seed, "lm_dir": "lm", "lm_weight": weight, "word_score": -weight, "tuned_on": "dev"}
        paths.append(write_run(tmp_path, f"s{seed}", _at(LOGMEL, "1h"), seed, 1.0, {"dev": {
            "greedy": {"wer": 30.0, "checkpoint": f"exp/s{seed}/checkpoints/{checkpoint}.ckpt"}, "beam": beam}}))
    rows = [r for r in pool(load_runs(paths)) if r.decoder == "beam"]
    assert [(r.setting, [run.name for run in r.runs]) for r in rows] == [
        ("decode.checkpoint=best.ckpt", ["s0", "s1"]),
        ("decode.checkpoint=last.ckpt", ["s2"]),
    ]


def test_a_rewritten_subset_size_does_not_pool(tmp_path: Path) -> None:
    """A run folder whose summary claims other labelled hours than its twins' is shown apart, not averaged in."""
    paths = [write_run(tmp_path, f"s{seed}", _at(LOGMEL, "10min"), seed, hours, {"dev": {"greedy": {"wer": 50.0}}})
             for seed, hours in enumerate([0.17, 0.17, 0.5])]
    rows = pool(load_runs(paths))
    assert [(r.labelled_hours, len(r.values)) for r in rows] == [(0.17, 2), (0.5, 1)]


def test_the_same_run_twice_is_refused(tmp_path: Path) -> None:
    first = write_run(tmp_path, "a", _at(LOGMEL, "1h"), 0, 1.0, {"dev": {"greedy": {"wer": 50.0}}})
    second = write_run(tmp_path, "copy_of_a", _at(LOGMEL, "1h"), 0, 1.0, {"dev": {"greedy": {"wer": 50.0}}})
    with pytest.raises(AsrBenchError, match="hold the same run") as error:
        pool(load_runs([first, second]))
    assert str(first) in str(error.value) and str(second) in str(error.value)
    # The same file reached twice (a run folder and the sweep folder holding it) counts once.
    assert len(load_runs([first.parent, tmp_path])) == 2


def test_one_split_name_decoded_from_two_manifests_names_the_manifests(tmp_path: Path) -> None:
    paths = [write_run(tmp_path, f"s{seed}", _at(LOGMEL, "1h"), seed, 1.0,
                       {"dev": {"greedy": {"wer": 50.0, "manifest": manifest}}})
             for seed, manifest in enumerate(["data/dev.jsonl", "data/dev.jsonl", "other/dev.jsonl"])]
    rows = pool(load_runs(paths))
    assert [(r.setting, len(r.values)) for r in rows] == [
        ("decode.manifest=data/dev.jsonl", 2), ("decode.manifest=other/dev.jsonl", 1)]


def test_runs_without_labelled_hours_still_group_over_seeds(tmp_path: Path) -> None:
    """results.json from elsewhere may lack labelled_hours: its seeds are one row, listed after known sizes."""
    paths = [write_run(tmp_path, "known", _at(LOGMEL, "1h"), 0, 1.0, {"dev": {"greedy": {"wer": 30.0}}})]
    paths += [write_run(tmp_path, f"unknown-s{seed}", LOGMEL, seed, None, {"dev": {"greedy": {"wer": wer}}})
              for seed, wer in enumerate([20.0, 24.0])]
    rows = pool(load_runs(paths))
    assert [(r.labelled_hours, len(r.values), r.mean) for r in rows] == [(1.0, 1, 30.0), (None, 2, 22.0)]
    assert "| logmel | - | dev | greedy | WER | 22.00 ± 2.83 | " in markdown(build_report(load_runs(paths)))


def test_feature_names() -> None:
    assert feature_name({}) == "logmel"
    assert feature_name(WAV2VEC) == "wav2vec-c"
    assert feature_name({"features": {"kind": "wav2vec", "wav2vec": {"representation": "z"}}}) == "wav2vec-z"
    assert feature_name({"features": {"kind": "wav2vec"}}) == "wav2vec-c"
    ours = {"kind": "wav2vec", "wav2vec": {"checkpoint": "exp/pretrain_gpu_base/checkpoints/last.ckpt"}}
    assert feature_name({"features": ours}) == "wav2vec-c (pretrain_gpu_base)"
    fairseq = {"kind": "wav2vec", "wav2vec": {"checkpoint": "models/wav2vec_large.pt", "representation": "z"}}
    assert feature_name({"features": fairseq}) == "wav2vec-z (wav2vec_large)"


def test_compact_run_lists() -> None:
    assert compact_names(["logmel_1h_s0", "logmel_1h_s1", "logmel_1h_s2"]) == "logmel_1h_s{0,1,2}"
    assert compact_names(["a_s0_dec", "a_s10_dec"]) == "a_s{0,10}_dec"
    assert compact_names(["only"]) == "only"
    assert compact_names(["x", "y"]) == "{x,y}"


# ---------------------------------------------------------------------------------------------
# wav2vec against log-mel on the same utterances


def _counts(rng: np.random.Generator, units: np.ndarray, rate: float) -> list[tuple[int, int]]:
    return list(zip(rng.binomial(units, rate).tolist(), units.tolist()))


@pytest.fixture
def paired_runs(tmp_path: Path) -> Path:
    """Three seeds each of log-mel (about 40% WER) and wav2vec (one edit fewer on every utterance) on 60 dev
    utterances, with per-utterance counts."""
    rng = np.random.default_rng(0)
    units = rng.integers(5, 15, size=60)
    for seed in range(3):
        base = _counts(rng, units, 0.4)
        base = [(edits + 1, n) for edits, n in base]
        better = [(edits - 1, n) for edits, n in base]
        write_decoded_run(tmp_path, f"logmel_s{seed}", _at(LOGMEL, "1h"), seed, 1.0, {("dev", "greedy"): {"wer": base}})
        write_decoded_run(tmp_path, f"w2v_s{seed}", _at(WAV2VEC, "1h"), seed, 1.0, {("dev", "greedy"): {"wer": better}})
    return tmp_path


def test_a_system_better_on_every_utterance_has_a_positive_interval_and_small_p(paired_runs: Path) -> None:
    report = report_of([paired_runs])
    (comparison,) = report.comparisons
    assert comparison.baseline is find(report.rows, "logmel", 1.0, "wer")
    assert comparison.row is find(report.rows, "wav2vec-c", 1.0, "wer")
    bootstrap = comparison.bootstrap
    assert bootstrap is not None and comparison.note == ""
    assert bootstrap.utterances == 60 and bootstrap.replicates == 2000
    # Pooled over seeds with equal reference lengths, the corpus rates are the means over seeds.
    assert bootstrap.baseline_rate == pytest.approx(comparison.baseline.mean)
    assert bootstrap.relative_reduction == pytest.approx(comparison.mean_reduction)
    assert bootstrap.probability_of_improvement == 1.0 and bootstrap.p_value == pytest.approx(1 / 2001)
    assert 0 < bootstrap.ci95[0] < bootstrap.relative_reduction < bootstrap.ci95[1]
    md = markdown(report)
    low, high = (f"{100 * v:.1f}%" for v in bootstrap.ci95)
    assert f"| {100 * bootstrap.relative_reduction:.1f}% [{low}, {high}], p = 0.0005 | w2v_s{{0,1,2}} |" in md


def test_without_per_utterance_counts_the_row_stays_and_says_why(paired_runs: Path) -> None:
    missing = paired_runs / "w2v_s1" / "decode" / "dev" / "greedy.utt.jsonl"
    missing.unlink()
    report = report_of([paired_runs])
    (comparison,) = report.comparisons
    assert comparison.bootstrap is None and comparison.mean_reduction is not None
    assert comparison.note == f"no per-utterance counts: {missing} is missing"
    row = find(report.rows, "wav2vec-c", 1.0, "wer")
    assert len(row.values) == 3 and row.ci95 is not None
    md = markdown(report)
    assert f"{100 * comparison.mean_reduction:.1f}% (of the means; no interval) [1] |" in md
    assert f"[1] no per-utterance counts: {missing} is missing" in md


def test_other_utterances_or_stale_counts_are_refused(paired_runs: Path) -> None:
    w2v = paired_runs / "w2v_s0"
    results = json.loads((w2v / "results.json").read_text())
    rate = results["splits"]["dev"]["greedy"]["wer"]
    # The same counts under other ids: the systems were not scored on the same utterances.
    lines = (w2v / "decode" / "dev" / "greedy.utt.jsonl").read_text().splitlines()
    counts = [(json.loads(line)["wer"], json.loads(line)["wer"]["ref"]) for line in lines]
    pairs = [(c["sub"] + c["del"] + c["ins"], n) for c, n in counts]
    assert write_utterances(w2v, "dev", "greedy", {"wer": pairs}, [f"other{i}" for i in range(60)])["wer"] == pytest.approx(rate)
    (comparison,) = report_of([paired_runs]).comparisons
    assert comparison.bootstrap is None and comparison.note.startswith("utterance sets differ:")
    # Counts of another decode than the one results.json records.
    write_utterances(w2v, "dev", "greedy", {"wer": [(e + 1, n) for e, n in pairs]})
    (comparison,) = report_of([paired_runs]).comparisons
    assert comparison.bootstrap is None and "stale, decode again" in comparison.note


def test_the_baseline_is_the_log_mel_row_of_the_same_setup(tmp_path: Path) -> None:
    """Two log-mel rows at 1 h (two learning rates): each wav2vec row is set beside the one that differs from
    it in the features alone; one that fits neither better is not compared; a partial fit is said."""
    for lr, wer in [(0.01, 40.0), (0.05, 50.0)]:
        write_run(tmp_path, f"logmel_lr{lr}", _at(LOGMEL, "1h", optim={"lr": lr}), 0, 1.0, {"dev": {"greedy": {"wer": wer}}})
    write_run(tmp_path, "w2v_lr0.05", _at(WAV2VEC, "1h", optim={"lr": 0.05}), 0, 1.0, {"dev": {"greedy": {"wer": 25.0}}})
    write_run(tmp_path, "w2v_lr0.1", _at(WAV2VEC, "1h", optim={"lr": 0.1}), 0, 1.0, {"dev": {"greedy": {"wer": 30.0}}})
    report = report_of([tmp_path])
    by_run = {c.row.runs[0].name: c for c in report.comparisons}
    assert by_run["w2v_lr0.05"].baseline.runs[0].name == "logmel_lr0.05"
    assert by_run["w2v_lr0.05"].mean_reduction == pytest.approx(0.5)
    assert by_run["w2v_lr0.1"].baseline is None
    assert by_run["w2v_lr0.1"].note.startswith("several log-mel rows fit equally: logmel [optim.lr=0.01]; ")

    other = tmp_path / "other"
    write_run(other, "logmel", _at(LOGMEL, "1h", optim={"lr": 0.01}), 0, 1.0, {"dev": {"greedy": {"wer": 40.0}}})
    write_run(other, "w2v", _at(WAV2VEC, "1h", optim={"lr": 0.1}), 0, 1.0, {"dev": {"greedy": {"wer": 30.0}}})
    (comparison,) = report_of([other]).comparisons
    assert comparison.baseline is not None and comparison.note.endswith("is missing; log-mel also differs in optim.lr")


# ---------------------------------------------------------------------------------------------
# written tables


def test_markdown_csv_and_json(sweep_runs: list[Path], tmp_path: Path) -> None:
    written = write_tables(report_of(sweep_runs), tmp_path / "report")
    assert set(written) == {"md", "csv", "json"} and all(p.is_file() for p in written.values())
    md = written["md"].read_text()
    # mean ± std | 95% CI | seeds | vs log-mel | runs
    assert ("| logmel | 1.00 | dev | greedy | WER | 32.00 ± 2.00 | [27.03, 36.97] | 3 | baseline | "
            "logmel-1h-s{0,1,2} |") in md
    assert "| wav2vec-c | 1.00 | dev | greedy | WER | 25.00 ± 1.73 | [20.70, 29.30] | 3 | 21.9% (of the means; no interval) [1] | w2v-1h-s{0,1,2} |" in md
    assert "| logmel | 10.00 | dev | greedy | WER | 21.00 ± 1.41 | [8.29, 33.71] | 2 | baseline | logmel-10h-s{0,1} |" in md
    assert "| wav2vec-c | 10.00 | dev | greedy | WER | 14.00 | - | 1 | 33.3% (of the means; no interval) [2] | w2v-10h-s0 |" in md
    assert "| logmel | 1.00 | test | greedy | WER | 40.00 ± 0.00 | [40.00, 40.00] | 3 | baseline |" in md
    # The first missing file behind each comparison (the baseline's come first), one note per distinct text.
    assert re.search(r"\n\[1\] no per-utterance counts: \S+/logmel-1h-s0/decode/dev/greedy\.utt\.jsonl is missing\n", md)
    assert re.search(r"\n\[2\] no per-utterance counts: \S+/logmel-10h-s0/decode/dev/greedy\.utt\.jsonl is missing\n", md)
    assert "Paper" not in md and "Schneider" not in md  # no corpus: the generic table alone

    with written["csv"].open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert len(csv_rows) == 7
    assert list(csv_rows[0])[:12] == ["features", "setting", "labelled_hours", "split", "decoder", "metric", "seeds",
                                      "mean", "std", "ci95", "ci95_low", "ci95_high"]
    logmel = next(r for r in csv_rows if (r["features"], r["labelled_hours"], r["split"], r["metric"]) == ("logmel", "1.0", "dev", "wer"))
    assert (float(logmel["mean"]), float(logmel["ci95"])) == (32.0, pytest.approx(4.303 * 2 / math.sqrt(3)))
    assert logmel["runs"] == "logmel-1h-s0;logmel-1h-s1;logmel-1h-s2" and logmel["values"] == "30.0;32.0;34.0"
    w2v = next(r for r in csv_rows if r["features"] == "wav2vec-c" and r["labelled_hours"] == "1.0" and r["metric"] == "wer")
    assert float(w2v["relative_reduction"]) == pytest.approx(7 / 32) and w2v["p_value"] == ""
    assert (w2v["baseline"], w2v["baseline_runs"]) == ("logmel", "logmel-1h-s0;logmel-1h-s1;logmel-1h-s2")
    assert w2v["paired_note"].startswith("no per-utterance counts")
    single = next(r for r in csv_rows if r["features"] == "wav2vec-c" and r["labelled_hours"] == "10.0")
    assert single["ci95"] == "" and single["std"] == ""

    data = json.loads(written["json"].read_text())
    assert len(data["rows"]) == 7 and data["corpus"] is None
    row = next(r for r in data["rows"] if r["features"] == "logmel" and r["labelled_hours"] == 1.0 and r["metric"] == "cer")
    assert row["runs"] == ["logmel-1h-s0", "logmel-1h-s1", "logmel-1h-s2"] and row["seed_list"] == [0, 1, 2]
    assert row["run_dirs"][0].endswith("logmel-1h-s0") and row["definition"]["features.kind"] == "logmel"
    assert len(data["records"]) == 3 * 3 + 3 * 2 + 2 + 1  # one per (run, split, decoder, metric)


def _wsj_runs(root: Path) -> list[Path]:
    """log-mel and wav2vec at 8 h, 2 seeds, dev93 and eval92 decoded greedily and with a 4-gram LM."""
    rng = np.random.default_rng(1)
    units = rng.integers(5, 25, size=40)
    paths = []
    for name, config, rate in [("logmel", LOGMEL, 0.3), ("w2v", WAV2VEC, 0.2)]:
        for seed in range(2):
            decodes = {(split, decoder): {"wer": _counts(rng, units, rate * scale), "cer": _counts(rng, 5 * units, rate * scale / 3)}
                       for split in ("dev93", "eval92") for decoder, scale in (("greedy", 1.0), ("beam", 0.6))}
            paths.append(write_decoded_run(root, f"{name}_8h_s{seed}", _at(config, "8h"), seed, 8.02, decodes,
                                           {"beam": {"lm_dir": "lm/4gram", "tuned_on": "dev93", "lm_weight": 1.0 + seed}}))
    return paths


def test_wsj_tables_are_shaped_like_the_paper(tmp_path: Path) -> None:
    report = report_of(_wsj_runs(tmp_path / "runs"), corpus="wsj")
    written = write_tables(report, tmp_path / "report")
    md = written["md"].read_text()
    header = "| source | system | labelled h | decoder | nov93dev LER | nov93dev WER | nov92 LER | nov92 WER | seeds | runs |"
    assert md.count(header) == 2
    with_lm, without_lm = md.split("## WSJ without a language model")
    beam = find(report.rows, "logmel", 8.02, "wer", "eval92", "beam")
    assert f"| ours | logmel | 8.02 | beam | " in with_lm and f"{beam.mean:.2f} ± {beam.std:.2f} | 2 | logmel_8h_s{{0,1}} |" in with_lm
    assert "| Schneider et al. 2019 | log-mel baseline | - | 4-gram LM | 3.32 | 8.57 | 2.19 | 5.64 | - | - |" in with_lm
    assert "| Schneider et al. 2019 | wav2vec large, pretrained on LibriSpeech 960 h | - | 4-gram LM | 2.73 | 6.96 | 1.57 | 4.32 |" in with_lm
    assert "| ours | logmel | 8.02 | greedy |" not in with_lm and "| ours | logmel | 8.02 | greedy |" in without_lm
    assert "| Baevski et al. 2020 (vq-wav2vec) | log-mel baseline | - | no LM | 6.28 | 19.46 | 4.14 | 13.93 |" in without_lm
    # The low-resource figure: ours at 8 h on eval92 (= nov92) beside the paper's "up to 36%".
    assert "with about 8 h labelled, wav2vec lowers nov92 WER by up to 36.0% relative to log-mel" in md
    eval_beam = next(c for c in report.comparisons if (c.row.split, c.row.decoder, c.row.metric) == ("eval92", "beam", "wer"))
    low, high = eval_beam.bootstrap.ci95
    assert (f"| wav2vec-c | 8.02 | beam | {beam.mean:.2f} ± {beam.std:.2f} | {eval_beam.row.mean:.2f} ± "
            f"{eval_beam.row.std:.2f} | {100 * eval_beam.bootstrap.relative_reduction:.1f}% [{100 * low:.1f}%, {100 * high:.1f}%]") in md
    assert "| wav2vec-c | 8.02 | eval92 | beam | WER |" in md and "| logmel | 8.02 | dev93 | greedy | LER |" in md
    assert "CER" not in md.split("## Every row")[1].split("\n\n", 2)[2], "letters are LER throughout the WSJ tables"

    with written["wsj_lm"].open(newline="") as handle:
        lm_rows = list(csv.DictReader(handle))
    ours = next(r for r in lm_rows if r["source"] == "ours" and r["system"] == "logmel")
    assert float(ours["nov92 WER"]) == pytest.approx(beam.mean) and ours["nov92 WER seeds"] == "2"
    paper = next(r for r in lm_rows if r["system"] == "log-mel baseline")
    assert (paper["nov93dev LER"], paper["nov92 WER"], paper["nov92 WER std"]) == ("3.32", "5.64", "")
    data = json.loads(written["json"].read_text())
    assert set(data["paper_shaped"]) == {"wsj_lm", "wsj_no_lm"}
    assert {(r["split"], r["decoder"]) for r in data["low_resource"]} == {("eval92", "beam"), ("eval92", "greedy")}


def test_wsj_without_a_low_resource_point_says_so(tmp_path: Path) -> None:
    run = write_run(tmp_path, "s0", _at(LOGMEL, "1h"), 0, 1.0, {"eval92": {"greedy": {"wer": 9.0}}})
    md = markdown(report_of([run], corpus="wsj"))
    assert "None of these runs has a wav2vec-vs-log-mel pair at about 8 h labelled on nov92." in md
    assert "None of these runs has nov93dev LER, nov93dev WER, nov92 LER, nov92 WER (lm decodes)." in md


def test_timit_librispeech_and_speechocean762_tables(tmp_path: Path) -> None:
    runs = [write_run(tmp_path / "runs", f"s{seed}", {**LOGMEL, "data": {"tokens": "phones"}}, seed, 3.0,
                      {"dev": {"greedy": {"per": 18.0 + seed}}, "test": {"greedy": {"per": 20.0 + seed}}}) for seed in range(2)]
    timit = markdown(report_of(runs, corpus="timit"))
    assert "| source | system | labelled h | decoder | dev PER | test PER | seeds | runs |" in timit
    assert "| ours | logmel | 3.00 | greedy | 18.50 ± 0.71 | 20.50 ± 0.71 | 2 | s{0,1} |" in timit
    assert "| Schneider et al. 2019 | log-mel baseline | - | - | 16.90 ± 0.15 | 17.60 ± 0.11 | - | - |" in timit
    assert "| Schneider et al. 2019 | wav2vec, pretrained on LibriSpeech 960 h | - | - | 13.60 ± 0.20 | 15.60 ± 0.23 |" in timit
    assert "nov92" not in timit and "| logmel | 3.00 | test | greedy | PER | 20.50 ± 0.71 | [14.15, 26.85] | 2 |" in timit

    ocean = markdown(report_of(runs, corpus="speechocean762"))
    assert "| ours | logmel | 3.00 | greedy | 18.50 ± 0.71 | 20.50 ± 0.71 | 2 | s{0,1} |" in ocean
    assert "Schneider" not in ocean and "The paper reports no speechocean762 figures." in ocean

    letters = [write_run(tmp_path / "libri", f"s{seed}", _at(LOGMEL, "1h"), seed, 1.0,
                         {"dev": {"greedy": {"wer": 30.0 + seed, "cer": 10.0}}, "test": {"greedy": {"wer": 31.0}}})
               for seed in range(2)]
    libri = markdown(report_of(letters, corpus="librispeech"))
    assert "| source | system | labelled h | decoder | dev WER | dev CER | test WER | test CER | seeds | runs |" in libri
    assert "| ours | logmel | 1.00 | greedy | 30.50 ± 0.71 | 10.00 ± 0.00 | 31.00 ± 0.00 | - | 2 | s{0,1} |" in libri
    assert "The paper reports no LibriSpeech ASR figures" in libri and "Schneider" not in libri


def test_a_paper_figure_the_paper_does_not_give_is_shown_as_a_dash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asr_bench.report import corpora
    from asr_bench.report.reference import PaperRow

    partial = (PaperRow("Deep Speech 2", "-", {("nov92", "cer"): None, ("nov92", "wer"): 3.1}),)
    section = corpora.LAYOUTS["wsj"].sections[0]
    layout = corpora.CorpusLayout("WSJ", corpora.LAYOUTS["wsj"].split_names, {"cer": "LER"},
                                  (corpora.Section(section.title, "x", section.columns, section.metrics, "any",
                                                   corpora.PaperTable("Amodei et al.", "-", partial)),))
    monkeypatch.setitem(corpora.LAYOUTS, "wsj", layout)
    run = write_run(tmp_path, "s0", LOGMEL, 0, 1.0, {"nov92": {"greedy": {"wer": 9.0}}})
    md = markdown(report_of([run], corpus="wsj"))
    assert "| Amodei et al. | Deep Speech 2 | - | - | - | - | - | 3.10 | - | - |" in md
    assert "| ours | logmel | 1.00 | greedy | - | - | - | 9.00 | 1 | s0 |" in md


# ---------------------------------------------------------------------------------------------
# the paper's figures, against the paper's text


PAPER_FILE = SHARED_DATA.parent / "reference" / "wav2vec-paper.md"


def _paper_text() -> str:
    if not PAPER_FILE.is_file():
        pytest.fail(f"{PAPER_FILE} is missing: the reference figures are checked against it")
    return PAPER_FILE.read_text()


def test_reference_figures_match_the_paper_file() -> None:
    text = _paper_text()
    for row in WSJ_4GRAM:
        figures = " | ".join(f"{row.error_rates[(s, m)]:.2f}" for s in ("nov93dev", "nov92") for m in ("cer", "wer"))
        assert f"| 4-gram LM: {row.system} | {row.pretraining} | {figures} |" in text
    no_lm = re.search(r"No LM \(reported in the vq-wav2vec paper\): log-mel ([\d. /]+); wav2vec ([\d. /]+)\.", text)
    assert no_lm is not None
    for row, figures in zip(WSJ_NO_LM, no_lm.groups()):
        assert [float(x) for x in figures.split(" / ")] == [
            row.error_rates[(s, m)] for s in ("nov93dev", "nov92") for m in ("cer", "wer")]
    for row in TIMIT_PER:
        system = row.system if row.pretraining == "-" else f"{row.system}, {row.pretraining}"
        cells = " | ".join(f"{row.error_rates[(s, 'per')]:g} ± {row.std[(s, 'per')]:.2f}" for s in ("dev", "test"))
        assert f"| {system} | {cells} |" in text
    assert f"about {WSJ_LOW_RESOURCE_LABELLED_HOURS:g} h of transcribed WSJ" in text
    assert f"by up to {100 * WSJ_LOW_RESOURCE_MAX_RELATIVE_WER_REDUCTION:.0f}% relative" in text


def test_per_utterance_files_that_do_not_parse_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "greedy.utt.jsonl"
    good = '{"id": "a", "ref": "x y", "hyp": "x", "wer": {"sub": 0, "del": 1, "ins": 0, "ref": 2}}'
    path.write_text(good + "\n\n" + good.replace('"a"', '"b"').replace('"del": 1', '"del": 0, "x": 1') + "\n")
    counts = read_utterance_counts(path, "wer")
    assert counts.ids == ("a", "b") and list(counts.edits) == [1, 0] and counts.corpus_rate_percent == 25.0
    for bad, expected in [
        ("{not json", f"{path}:2: not valid JSON"),
        ('{"id": "c", "cer": {"sub": 0, "del": 0, "ins": 0, "ref": 1}}', f"{path}:2: expected an object with 'id' and 'wer'"),
        ('{"id": "c", "wer": {"sub": -1, "del": 0, "ins": 0, "ref": 1}}', f"{path}:2: wer counts should be non-negative"),
        ('{"id": "c", "wer": {"sub": 0.5, "del": 0, "ins": 0, "ref": 1}}', f"{path}:2: wer counts should be non-negative"),
        (good, f"{path}: an utterance id appears more than once"),
    ]:
        path.write_text(good + "\n" + bad + "\n")
        with pytest.raises(AsrBenchError) as error:
            read_utterance_counts(path, "wer")
        assert str(error.value).startswith(expected)

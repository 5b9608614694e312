"""Result tables over seeds (mean, t-based 95% CI), relative gains, the paper's figures beside ours, sweep plots."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

import asr_bench.report.tables as tables
from asr_bench.errors import AsrBenchError
from asr_bench.report.plots import plot_sweep
from asr_bench.report.reference import PaperRow
from asr_bench.report.tables import aggregate, ci95_half_width, collect, feature_name, relative_gains, write_report

LOGMEL = {"features": {"kind": "logmel"}}
WAV2VEC = {"features": {"kind": "wav2vec", "wav2vec": {"representation": "c"}}}


def write_run(root: Path, name: str, config: dict, seed: int, hours: float, splits: dict) -> Path:
    """A run directory's results.json in the layout decode writes (splits -> decoder -> metrics)."""
    run = root / name
    run.mkdir(parents=True)
    results = {"config": {**config, "seed": seed}, "seed": seed, "labelled_hours": hours, "splits": splits}
    (run / "results.json").write_text(json.dumps(results))
    return run / "results.json"


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
        paths.append(write_run(root, f"logmel-10h-s{seed}", LOGMEL, seed, 10.0, {"dev": {"greedy": {"wer": wer}}}))
    paths.append(write_run(root, "w2v-10h-s0", WAV2VEC, 0, 10.0, {"dev": {"greedy": {"wer": 14.0}}}))
    return paths


def row(rows: list[dict], features: str, hours: float, metric: str, split: str = "dev") -> dict:
    (match,) = [r for r in rows if (r["features"], r["labelled_hours"], r["metric"], r["split"]) == (features, hours, metric, split)]
    return match


# ---------------------------------------------------------------------------------------------
# confidence intervals and aggregation


def test_ci95_uses_student_t_by_hand() -> None:
    # 3 seeds: t(0.975, 2) = 4.303; values 10, 12, 14 have sample std 2 -> 4.303 * 2 / sqrt(3).
    assert ci95_half_width([10.0, 12.0, 14.0]) == pytest.approx(4.303 * 2 / math.sqrt(3))
    assert ci95_half_width([10.0, 12.0, 14.0]) == pytest.approx(4.9687, abs=1e-4)
    # 2 seeds: t(0.975, 1) = 12.706; std of (20, 22) is sqrt(2), so the half-width is exactly t.
    assert ci95_half_width([20.0, 22.0]) == pytest.approx(12.706)
    # 5 seeds: t(0.975, 4) = 2.776; values 1..5 have std sqrt(2.5).
    assert ci95_half_width([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))
    # 41 seeds is past the table (df = 40 > 30): the normal 1.96. Twenty-one 0s and twenty 2s have
    # sample variance 4 * 21 * 20 / (41 * 40) = 42 / 41.
    values = [float(2 * (i % 2)) for i in range(41)]
    assert ci95_half_width(values) == pytest.approx(1.96 * math.sqrt(42 / 41) / math.sqrt(41))
    assert ci95_half_width([7.0]) is None
    assert ci95_half_width([5.0, 5.0, 5.0]) == 0.0


def test_aggregate_over_seeds(sweep_runs: list[Path]) -> None:
    rows = aggregate(collect(sweep_runs))
    assert len(rows) == 7  # logmel 1h dev wer/cer + test wer, wav2vec 1h wer/cer, logmel 10h wer, wav2vec 10h wer

    logmel_wer = row(rows, "logmel", 1.0, "wer")
    assert logmel_wer["seeds"] == 3, "0.99987 h, 1.0002 h and 1.0 h are one labelled-data point"
    assert logmel_wer["mean"] == pytest.approx(32.0)
    assert logmel_wer["ci95"] == pytest.approx(4.303 * 2 / math.sqrt(3))
    assert row(rows, "logmel", 1.0, "cer")["ci95"] == pytest.approx(4.303 * 1 / math.sqrt(3))

    w2v_wer = row(rows, "wav2vec-c", 1.0, "wer")
    # 24, 24, 27: mean 25, sample std sqrt(3), so the half-width is t * sqrt(3) / sqrt(3) = 4.303.
    assert (w2v_wer["seeds"], w2v_wer["mean"], w2v_wer["ci95"]) == (3, pytest.approx(25.0), pytest.approx(4.303))
    assert (row(rows, "logmel", 1.0, "wer", "test")["mean"], row(rows, "logmel", 1.0, "wer", "test")["ci95"]) == (40.0, 0.0)
    assert row(rows, "logmel", 10.0, "wer")["ci95"] == pytest.approx(12.706)
    single = row(rows, "wav2vec-c", 10.0, "wer")
    assert (single["seeds"], single["mean"], single["ci95"]) == (1, 14.0, None)


def test_relative_gains_over_log_mel(sweep_runs: list[Path]) -> None:
    gains = relative_gains(aggregate(collect(sweep_runs)))
    by_key = {(g["labelled_hours"], g["metric"]): g for g in gains}
    assert set(by_key) == {(1.0, "wer"), (1.0, "cer"), (10.0, "wer")}
    assert all(g["features"] == "wav2vec-c" for g in gains)
    assert by_key[(1.0, "wer")]["relative_reduction"] == pytest.approx((32 - 25) / 32)  # 21.875 %
    assert by_key[(1.0, "cer")]["relative_reduction"] == pytest.approx((11 - 9) / 11)
    assert by_key[(10.0, "wer")]["relative_reduction"] == pytest.approx((21 - 14) / 21)
    assert (by_key[(10.0, "wer")]["baseline"], by_key[(10.0, "wer")]["value"]) == (pytest.approx(21.0), 14.0)


def test_feature_names_and_empty_input(tmp_path: Path) -> None:
    assert feature_name({}) == "logmel"
    assert feature_name(WAV2VEC) == "wav2vec-c"
    assert feature_name({"features": {"kind": "wav2vec", "wav2vec": {"representation": "z"}}}) == "wav2vec-z"
    assert feature_name({"features": {"kind": "wav2vec"}}) == "wav2vec-c"
    # Features of two pretrained models are two rows, never pooled as seeds of one.
    ours = {"kind": "wav2vec", "wav2vec": {"checkpoint": "exp/pretrain_gpu_base/checkpoints/last.ckpt"}}
    assert feature_name({"features": ours}) == "wav2vec-c (pretrain_gpu_base)"
    fairseq = {"kind": "wav2vec", "wav2vec": {"checkpoint": "models/wav2vec_large.pt", "representation": "z"}}
    assert feature_name({"features": fairseq}) == "wav2vec-z (wav2vec_large)"
    undecoded = write_run(tmp_path, "undecoded", LOGMEL, 0, 1.0, {})
    with pytest.raises(AsrBenchError, match="no results found"):
        collect([undecoded])


# ---------------------------------------------------------------------------------------------
# written tables


def test_markdown_csv_and_json_reports(sweep_runs: list[Path], tmp_path: Path) -> None:
    written = write_report(sweep_runs, tmp_path / "report", corpus="wsj")
    assert set(written) == {"md", "csv", "json"} and all(p.is_file() for p in written.values())

    md = written["md"].read_text()
    assert "| logmel | 1.00 | dev | greedy | WER | 32.00 ± 4.97 | 3 |" in md
    assert "| wav2vec-c | 1.00 | dev | greedy | WER | 25.00 ± 4.30 | 3 |" in md
    assert "| logmel | 10.00 | dev | greedy | WER | 21.00 ± 12.71 | 2 |" in md
    assert "| wav2vec-c | 10.00 | dev | greedy | WER | 14.00 | 1 |" in md
    assert "| wav2vec-c | 1.00 | dev | greedy | WER | 32.00 | 25.00 | 21.9% |" in md
    assert "| wav2vec-c | 10.00 | dev | greedy | WER | 21.00 | 14.00 | 33.3% |" in md
    # The paper's WSJ figures (Schneider et al. 2019, table 1; no-LM from vq-wav2vec) beside ours.
    assert "| system | pretraining | nov93dev LER | nov93dev WER | nov92 LER | nov92 WER |" in md
    assert "| log-mel baseline | - | 3.32 | 8.57 | 2.19 | 5.64 |" in md
    assert "| wav2vec large | LibriSpeech 960 h | 2.73 | 6.96 | 1.57 | 4.32 |" in md
    assert "| log-mel baseline | - | 6.28 | 19.46 | 4.14 | 13.93 |" in md
    assert md.index("| logmel | 1.00 |") < md.index("Paper (Schneider et al. 2019)")

    with written["csv"].open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert len(csv_rows) == 7
    assert list(csv_rows[0]) == ["features", "labelled_hours", "split", "decoder", "metric", "seeds", "mean", "ci95"]
    logmel_wer = next(r for r in csv_rows if (r["features"], r["labelled_hours"], r["split"], r["metric"]) == ("logmel", "1.0", "dev", "wer"))
    assert float(logmel_wer["mean"]) == 32.0
    assert float(logmel_wer["ci95"]) == pytest.approx(4.303 * 2 / math.sqrt(3))
    single = next(r for r in csv_rows if r["features"] == "wav2vec-c" and r["labelled_hours"] == "10.0")
    assert single["ci95"] == ""

    data = json.loads(written["json"].read_text())
    assert len(data["rows"]) == 7 and len(data["relative_gains"]) == 3
    assert len(data["records"]) == 3 * 3 + 3 * 2 + 2 + 1  # one per (run, split, metric)
    assert {r["seed"] for r in data["records"]} == {0, 1, 2}


def test_timit_and_librispeech_reference_sections(tmp_path: Path) -> None:
    runs = [write_run(tmp_path / "runs", f"s{seed}", LOGMEL, seed, 3.0, {"test": {"greedy": {"per": 20.0 + seed}}})
            for seed in range(2)]
    timit = write_report(runs, tmp_path / "timit", corpus="timit")["md"].read_text()
    assert "| logmel | 3.00 | test | greedy | PER | 20.50 ± 6.35 | 2 |" in timit  # 12.706 * std(20, 21) / sqrt(2) = 12.706 / 2
    assert "| system | pretraining | dev PER | test PER |" in timit
    assert "| log-mel baseline | - | 16.90 | 17.60 |" in timit
    assert "| wav2vec | LibriSpeech 960 h | 13.60 | 15.60 |" in timit
    assert "nov92" not in timit

    libri = write_report(runs, tmp_path / "libri", corpus="librispeech")["md"].read_text()
    assert "Paper (Schneider et al. 2019)" not in libri
    assert "The paper reports no LibriSpeech ASR figures" in libri
    none = write_report(runs, tmp_path / "none")["md"].read_text()
    assert "Paper (" not in none and "LibriSpeech" not in none


def test_a_paper_figure_the_paper_does_not_give_is_shown_as_a_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = [PaperRow("Deep Speech 2", "-", {"nov92 LER": None, "nov92 WER": 3.1})]
    monkeypatch.setitem(tables.PAPER_TABLES, "wsj", {"WSJ, other systems": partial})
    run = write_run(tmp_path / "runs", "s0", LOGMEL, 0, 1.0, {"nov92": {"greedy": {"wer": 9.0}}})
    md = write_report([run], tmp_path / "report", corpus="wsj")["md"].read_text()
    assert "| Deep Speech 2 | - | - | 3.10 |" in md


# ---------------------------------------------------------------------------------------------
# plot


def test_sweep_plot_is_written(sweep_runs: list[Path], tmp_path: Path) -> None:
    rows = aggregate(collect(sweep_runs))
    out = tmp_path / "wer_dev_greedy.png"
    assert plot_sweep(rows, out, "dev", "greedy", "wer") == out
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    # Nothing for that combination: no file.
    missing = tmp_path / "per.png"
    assert plot_sweep(rows, missing, "dev", "greedy", "per") is None
    assert not missing.exists()


def test_runs_without_labelled_hours_still_group_over_seeds(tmp_path: Path) -> None:
    """results.json from elsewhere may lack labelled_hours: its seeds are one row, listed after known sizes."""
    paths = [write_run(tmp_path, "known", LOGMEL, 0, 1.0, {"dev": {"greedy": {"wer": 30.0}}})]
    for seed, wer in enumerate([20.0, 24.0]):
        path = write_run(tmp_path, f"unknown-s{seed}", LOGMEL, seed, 0.0, {"dev": {"greedy": {"wer": wer}}})
        results = json.loads(path.read_text())
        del results["labelled_hours"]
        path.write_text(json.dumps(results))
        paths.append(path)
    rows = aggregate(collect(paths))
    assert [(r["labelled_hours"], r["seeds"], r["mean"]) for r in rows] == [(1.0, 1, 30.0), (None, 2, 22.0)]
    written = write_report(paths, tmp_path / "report")
    assert "| logmel | - | dev | greedy | WER | 22.00 ± " in written["md"].read_text()
    assert plot_sweep(rows, tmp_path / "sweep.png", "dev", "greedy", "wer") is not None  # the unknown size is left out

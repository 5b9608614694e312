"""`asr-bench report` as a user runs it, and the figures it draws: titles, legends clear of the curves."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from matplotlib.transforms import Bbox

from asr_bench.cli import main
from asr_bench.report.plots import pretraining_figure, sweep_figure, training_figure
from asr_bench.report.pooling import pool, run_groups
from asr_bench.report.runs import load_runs
from report_fixtures import LOGMEL, WAV2VEC, write_run

SPLITS = {"dev": {"greedy": {"wer": 30.0, "cer": 10.0}}, "test": {"greedy": {"wer": 32.0, "cer": 11.0}}}


def _sweep(root: Path) -> Path:
    """A sweep folder: <features>/<size>/seed<k>/ run folders, log-mel and wav2vec at 1 h and 2 h, 2 seeds."""
    for features, config, shift in (("logmel", LOGMEL, 0.0), ("wav2vec", WAV2VEC, -5.0)):
        for hours in (1, 2):
            for seed in range(2):
                decodes = {split: {"greedy": {"wer": 40.0 - 5 * hours + shift + seed, "cer": 12.0 + seed}}
                           for split in ("dev", "test")}
                run = write_run(root / features / f"{hours}h", f"seed{seed}",
                                {**config, "data": {"train_manifest": f"train_{hours}h.jsonl"}}, seed, hours, decodes)
                # What a run folder also holds: neither is a run of its own.
                (run.parent / "checkpoints").mkdir()
                (run.parent / "checkpoints" / "results.json").write_text("not json")
                (run.parent / "decode" / "dev").mkdir(parents=True)
                (run.parent / "decode" / "dev" / "results.json").write_text("{}")
    return root


def _outside(legend_box: Bbox, axes_boxes: list[Bbox]) -> bool:
    return not any(legend_box.overlaps(box) for box in axes_boxes)


def _drawn(fig) -> tuple[list[Bbox], list[Bbox]]:
    """(legend boxes, axes boxes) in display coordinates after drawing the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend().get_window_extent(renderer) for ax in fig.axes if ax.get_legend()]
    return legends, [ax.get_window_extent(renderer) for ax in fig.axes]


# ---------------------------------------------------------------------------------------------
# the command


def test_report_over_a_sweep_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = _sweep(tmp_path / "sweep")
    out = sweep / "report"  # inside the sweep: a second report must not read the first one's results.json
    for metric in ("cer", "wer"):
        assert main(["report", str(sweep), "--out-dir", str(out), "--metric", metric, "--bootstrap-replicates", "200"]) == 0
    printed = capsys.readouterr().out
    assert "| logmel | 1.00 | dev | greedy | WER | 35.50 ± 0.71 | [29.15, 41.85] | 2 | baseline | " in printed
    md = (out / "results.md").read_text()
    assert "| wav2vec | 2.00 | test | greedy | CER |" not in md  # names come from configs, not folders
    assert "| wav2vec-c | 2.00 | test | greedy | CER | 12.50 ± 0.71 |" in md
    assert "logmel/1h/seed{0,1}" in md, "two runs share a folder name: rows name them by path"
    data = json.loads((out / "results.json").read_text())
    assert len(data["rows"]) == 2 * 2 * 2 * 2  # features x sizes x splits x metrics
    for metric in ("wer", "cer"):
        for split in ("dev", "test"):
            assert (out / f"{metric}_{split}_greedy.png").is_file()
    # A single run folder and a results.json file are accepted as well.
    single = sweep / "logmel" / "1h" / "seed0"
    assert main(["report", str(single), str(sweep / "wav2vec" / "1h" / "seed0" / "results.json"),
                 "--out-dir", str(tmp_path / "two"), "--metric", "cer"]) == 0
    assert len(json.loads((tmp_path / "two" / "results.json").read_text())["rows"]) == 2 * 2 * 2  # runs x splits x metrics
    assert sorted(p.name for p in (tmp_path / "two").glob("*.png")) == ["cer_dev_greedy.png", "cer_test_greedy.png"]


def test_results_md_states_what_produced_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASR_BENCH_COMMIT", "0123abc")
    sweep = _sweep(tmp_path / "sweep")
    for results in sweep.rglob("seed*/results.json"):
        data = json.loads(results.read_text())
        data["provenance"] = {"git_commit": "feedbeef", "hardware": {"processor": "Test CPU", "cpu_count": 2, "gpus": []}}
        results.write_text(json.dumps(data))
    target = tmp_path / "recipe" / "RESULTS.md"
    argv = ["report", str(sweep), "--out-dir", str(tmp_path / "out"), "--corpus", "librispeech",
            "--results-md", str(target), "--bootstrap-replicates", "100"]
    assert main(argv) == 0
    text = target.read_text()
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert text.startswith("# LibriSpeech results\n")
    assert f"on {today} (UTC) at commit 0123abc" in text
    assert "asr-bench " + " ".join(argv) in text
    assert "from 8 runs" in text and "commits feedbeef (8 runs); hardware Test CPU (CPU only, 2 cores) (8 runs)" in text
    assert "| ours | logmel | 1.00 | greedy |" in text and "## Every row" in text
    assert "![wer_dev_greedy](RESULTS_figures/wer_dev_greedy.png)" in text
    assert (target.parent / "RESULTS_figures" / "wer_dev_greedy.png").is_file() and "training/" not in text


def test_bad_input_gives_a_message_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--out-dir", str(tmp_path / "out")]) == 2
    assert f"{empty} holds no results.json" in capsys.readouterr().err

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "results.json").write_text('{"splits": {"dev": ')
    assert main(["report", str(corrupt), "--out-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{corrupt / 'results.json'} is corrupt: not valid JSON" in err and "Traceback" not in err

    (corrupt / "results.json").write_text('{"splits": {"dev": {"greedy": {"wer": "high"}}}}')
    assert main(["report", str(corrupt), "--out-dir", str(tmp_path / "out")]) == 2
    assert "splits.dev.greedy.wer is 'high', expected a number" in capsys.readouterr().err

    (corrupt / "results.json").write_text("[1, 2]")
    assert main(["report", str(corrupt), "--out-dir", str(tmp_path / "out")]) == 2
    assert f"{corrupt / 'results.json'}: expected a JSON object with 'splits'" in capsys.readouterr().err

    assert main(["report", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path / "out")]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err

    run = write_run(tmp_path, "letters", LOGMEL, 0, 1.0, SPLITS)
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(run), "--out-dir", str(tmp_path / "out"), "--metric", "accuracy"])
    assert exit_.value.code == 2 and "invalid choice: 'accuracy'" in capsys.readouterr().err
    assert main(["report", str(run), "--out-dir", str(tmp_path / "out"), "--metric", "per"]) == 2
    assert "these runs have no per results (they have wer, cer)" in capsys.readouterr().err

    undecoded = write_run(tmp_path, "undecoded", LOGMEL, 0, 1.0, {})
    assert main(["report", str(undecoded), "--out-dir", str(tmp_path / "out")]) == 2
    assert "no decodes in" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# the figures


def test_sweep_figure_lines_bands_title_and_legend(tmp_path: Path) -> None:
    rows = pool(load_runs([_sweep(tmp_path / "sweep")]))
    fig = sweep_figure(rows, "dev", "greedy", "wer", "WER")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert ax.get_title().startswith("dev WER against labelled data, greedy decoding")
    assert "band: min–max over seeds" in ax.get_title()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"logmel (mean)", "wav2vec-c (mean)"}
    assert list(lines["logmel (mean)"].get_xdata()) == [1.0, 2.0]
    assert list(lines["logmel (mean)"].get_ydata()) == [35.5, 30.5]
    # One shaded band per feature set, from the lowest to the highest seed.
    (band, _) = ax.collections
    lowest, highest = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
    assert (lowest, highest) == (30.0, 36.0)
    legend_labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend_labels == ["logmel (mean)", "wav2vec-c (mean)", "band: min–max over seeds"]
    legends, axes = _drawn(fig)
    assert _outside(legends[0], axes)
    assert sweep_figure(rows, "dev", "greedy", "per", "PER") is None


def _write_log(run_dir: Path, rows: list[dict[str, float]]) -> None:
    columns = ["epoch", "step", "train/loss", "valid/loss", "valid/wer", "valid/cer"]
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    (run_dir / "logs" / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_training_and_pretraining_figures_say_what_they_are(tmp_path: Path) -> None:
    paths = [write_run(tmp_path, f"s{seed}", {**LOGMEL, "data": {"tokens": "phones"}}, seed, 1.0, SPLITS)
             for seed in range(2)]
    for seed, path in enumerate(paths):
        _write_log(path.parent, [{"step": 10, "train/loss": 3.0}, {"step": 20, "train/loss": 2.0 + seed},
                                 {"step": 20, "valid/loss": 2.5, "valid/wer": 60.0, "valid/cer": 30.0}])
    (group,) = run_groups(load_runs(paths))
    fig = training_figure(group)
    assert fig._suptitle.get_text() == "Acoustic-model training: logmel, 1 h labelled"
    assert [ax.get_title() for ax in fig.axes] == ["CTC loss", "valid PER (%), greedy"]  # phones: no CER panel
    loss = fig.axes[0]
    assert len(loss.get_lines()) == 4  # train and valid for each seed
    train_seed1 = next(line for line in loss.get_lines() if line.get_label() == "seed 1 train (s1)")
    assert list(train_seed1.get_xdata()) == [10, 20] and list(train_seed1.get_ydata()) == [3.0, 3.0]
    legends, axes = _drawn(fig)
    assert len(legends) == 1 and _outside(legends[0], axes)

    log = tmp_path / "pretrain" / "logs" / "metrics.csv"
    log.parent.mkdir(parents=True)
    log.write_text("step,train/loss,train/accuracy,valid/loss,valid/accuracy\n10,3.5,0.1,,\n20,3.0,0.2,3.1,0.15\n")
    fig = pretraining_figure(log, "pretrain")
    assert fig._suptitle.get_text() == "wav2vec pretraining: pretrain"
    assert fig.axes[0].get_title() == "contrastive loss"
    legends, axes = _drawn(fig)
    assert len(legends) == 1 and _outside(legends[0], axes)

"""recipes/speechocean762/run.sh end to end on a speechocean762 tree of the real utterances in ../shared/data/ci."""

from __future__ import annotations

import json
import os
import sys
import subprocess
from pathlib import Path

import pytest
import yaml

from corpus_fixtures import build_speechocean_tree
from decode_fixtures import HAVE_LMPLZ

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE = REPO_ROOT / "recipes" / "speechocean762"


@pytest.mark.skipif(not HAVE_LMPLZ, reason="KenLM's lmplz is not built: run scripts/build_kenlm.sh")
def test_whole_recipe_with_its_sweep(tmp_path: Path, ci_speechocean_rows, shared_data: Path) -> None:
    corpus = build_speechocean_tree(tmp_path / "speechocean762", ci_speechocean_rows, shared_data)
    # The ci speakers are mostly children: as adults all, they make two groups (gender) of four speakers, enough to
    # hold one out of each for dev and one for test.
    ages = corpus / "train" / "spk2age"
    ages.write_text("".join(f"{line.split()[0]} 30\n" for line in ages.read_text().splitlines()))
    pretrain = tmp_path / "wav2vec_tiny.yaml"
    pretrain.write_text(yaml.safe_dump({
        "data": {"crop_samples": 10000, "min_samples": 8000, "max_samples_per_batch": 80000, "num_workers": 0},
        "model": {
            "encoder_layers": [{"channels": 8, "kernel": k, "stride": s} for k, s in ((10, 5), (8, 4), (4, 2), (4, 2), (4, 2))],
            "context_layers": [{"channels": 8, "kernel": 3}],
            "prediction_steps": 4,
        },
        "trainer": {"max_epochs": -1, "max_steps": 3, "val_check_interval": 3, "check_val_every_n_epoch": None,
                    "progress_bar": False},
    }))
    wrapper = tmp_path / "asr-bench"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m asr_bench.cli \"$@\"\n")
    wrapper.chmod(0o755)
    exp = tmp_path / "exp"
    done = subprocess.run(
        ["bash", str(RECIPE / "run.sh"), "--corpus-dir", str(corpus), "--exp-dir", str(exp),
         "--dev-speakers-per-group", "1", "--test-speakers-per-group", "1",
         "--subset-hours", "0.004", "--subset-tolerance", "0.5", "--lm-order", "2", "--pretrain-config", str(pretrain),
         "--sweep", "all", "--sweep-steps", "2", "--tune-budget", "2", "--results-md", str(tmp_path / "RESULTS.md"),
         "--", "model.layers=[{channels: 16, kernel: 5, stride: 2}]", "trainer.val_check_interval=2",
         "trainer.progress_bar=false"],
        capture_output=True, text=True, timeout=1200,
        env={**os.environ, "ASR_BENCH": str(wrapper), "PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "dev: 10 utterances, 2 speakers" in done.stdout and "test: 10 utterances, 2 speakers" in done.stdout
    assert (exp / "data" / "subsets" / "train_0.004h.jsonl").is_file()
    runs = [exp / "logmel", exp / "wav2vec"] + [exp / "sweep" / "all" / f / f"seed{k}"
                                               for f in ("logmel", "wav2vec") for k in range(3)]
    for run in runs:
        splits = json.loads((run / "results.json").read_text())["splits"]
        assert set(splits) == {"dev", "test"} and {"greedy", "beam"} <= set(splits["dev"]), run
        assert "per" in splits["test"]["beam"] and "wer" not in splits["test"]["beam"], run
    page = (tmp_path / "RESULTS.md").read_text()
    assert page.startswith("# speechocean762 results\n") and "from 8 runs" in page and "| PER |" in page
    assert "sweep/all/wav2vec/seed{0,1,2}" in page

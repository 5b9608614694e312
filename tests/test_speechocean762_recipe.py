"""recipes/speechocean762/run.sh end to end on a speechocean762 tree of the real utterances in ../shared/data/ci."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus_fixtures import build_speechocean_tree
from decode_fixtures import HAVE_LMPLZ
from recipe_fixtures import run_recipe, write_tiny_wav2vec_config


@pytest.mark.skipif(not HAVE_LMPLZ, reason="KenLM's lmplz is not built: run scripts/build_kenlm.sh")
def test_whole_recipe_with_its_sweep(tmp_path: Path, ci_speechocean_rows, shared_data: Path) -> None:
    corpus = build_speechocean_tree(tmp_path / "speechocean762", ci_speechocean_rows, shared_data)
    # The ci speakers are mostly children: as adults all, they make two groups (gender) of four speakers, enough to
    # hold one out of each for dev and one for test.
    ages = corpus / "train" / "spk2age"
    ages.write_text("".join(f"{line.split()[0]} 30\n" for line in ages.read_text().splitlines()))
    pretrain = write_tiny_wav2vec_config(tmp_path / "wav2vec_tiny.yaml")
    exp = tmp_path / "exp"
    done = run_recipe(
        "speechocean762", tmp_path, "--corpus-dir", str(corpus), "--exp-dir", str(exp),
        "--dev-speakers-per-group", "1", "--test-speakers-per-group", "1",
        "--subset-hours", "0.004", "--subset-tolerance", "0.5", "--lm-order", "2", "--pretrain-config", str(pretrain),
        "--sweep", "all", "--sweep-steps", "2", "--tune-budget", "2", "--results-md", str(tmp_path / "RESULTS.md"),
        "--", "model.layers=[{channels: 16, kernel: 5, stride: 2}]", "trainer.val_check_interval=2",
        "trainer.progress_bar=false",
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

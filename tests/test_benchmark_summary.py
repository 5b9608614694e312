"""benchmarks/summarize.py: the tables RESULTS.md gets from the throughput benchmark's JSON lines."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SUMMARIZE = Path(__file__).resolve().parents[1] / "benchmarks" / "summarize.py"


def load_summarize():
    spec = importlib.util.spec_from_file_location("summarize", SUMMARIZE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pretrain_rows_pair_our_scoring_with_the_naive_one(tmp_path: Path) -> None:
    context = {"hardware": {"gpus": ["NVIDIA H100 80GB HBM3"]}, "versions": {"torch": "2.11.0"}, "git_commit": "abc"}
    lines = [
        {"benchmark": "wav2vec_pretrain", "model": "base", "precision": "bf16", "batch_crops": 8, "scoring": "ours",
         "audio_s_per_s": 12000.0, "peak_memory_gib": 10.0, **context},
        {"benchmark": "wav2vec_pretrain", "model": "base", "precision": "bf16", "batch_crops": 8, "scoring": "naive",
         "audio_s_per_s": 1500.0, "peak_memory_gib": 40.0, **context},
        {"benchmark": "wav2vec_featurize", "model": "base", "precision": "bf16", "batch_utterances": 32,
         "audio_s_per_s": 60000.0, "peak_memory_gib": 3.5, **context},
        {"benchmark": "wav2vec_pretrain", "model": "large", "precision": "fp32", "batch_crops": 10, "scoring": "naive",
         "error": "out of memory", **context},
    ]
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    table = load_summarize().summarize([path])
    assert table.startswith("NVIDIA H100 80GB HBM3; torch 2.11.0; commit abc")
    assert "| base | bf16 | 8 | 12,000.0 | 1,500.0 | 8.00x | 10.00 | 40.00 |" in table
    assert "| base | bf16 | 32 | 60,000.0 | 3.50 |" in table
    assert "wav2vec_pretrain large (precision=fp32, batch_crops=10, scoring=naive): out of memory" in table

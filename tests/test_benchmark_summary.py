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


def test_pretrain_rows_compare_each_variant_with_today_and_the_naive_scoring(tmp_path: Path) -> None:
    context = {"hardware": {"gpus": ["NVIDIA H200"]}, "versions": {"torch": "2.11.0"}, "git_commit": "abc"}
    pretrain = {"benchmark": "wav2vec_pretrain", "model": "base", "precision": "bf16", "batch_crops": 80, **context}
    lines = [
        {**pretrain, "variant": "time_major:compiled", "audio_s_per_s": 12000.0, "peak_memory_gib": 15.0,
         "tflop_per_s": 250.0, "first_step_s": 60.0},
        {**pretrain, "variant": "reference:eager", "audio_s_per_s": 3000.0, "peak_memory_gib": 25.0},
        {**pretrain, "scoring": "naive", "audio_s_per_s": 1500.0, "peak_memory_gib": 30.0},  # a row of an earlier version
        {"benchmark": "wav2vec_featurize", "model": "base", "precision": "bf16", "batch_utterances": 128,
         "variant": "time_major", "audio_s_per_s": 60000.0, "peak_memory_gib": 3.5, **context},
        {"benchmark": "wav2vec_featurize", "model": "base", "precision": "bf16", "batch_utterances": 128,
         "variant": "reference", "audio_s_per_s": 3000.0, "peak_memory_gib": 7.0, **context},
        {"benchmark": "wav2vec_norm", "variant": "triton", "ms_forward_backward": 2.0, "gb_per_s_at_16_bytes": 3000.0, **context},
        {"benchmark": "wav2vec_pretrain", "model": "large", "precision": "fp32", "batch_crops": 80, "variant": "naive:eager",
         "error": "out of memory", **context},
    ]
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot a row\n")
    table = load_summarize().summarize([path])
    assert table.startswith("NVIDIA H200; torch 2.11.0; commit abc")
    assert "| base | bf16 | 80 | time_major:compiled | 12,000.0 | 4.00x | 250.0 | 15.00 | 0.50x | 60.0 |" in table
    assert "| base | bf16 | 80 | naive:eager | 1,500.0 | 0.50x | - | 30.00 | 1.00x | - |" in table
    assert "| base | bf16 | 128 | time_major | 60,000.0 | 20.00x | 3.50 |" in table
    assert "| triton | 2.00 | 3,000 |" in table
    assert "wav2vec_pretrain large (precision=fp32, batch_crops=80, variant=naive:eager): out of memory" in table

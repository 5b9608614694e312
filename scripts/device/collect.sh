#!/usr/bin/env bash
# Here, after the device call: put what it brought back where the recipe and the benchmark tables read it.
#
#   bash scripts/device/collect.sh FILES_AT [EXP_DIR]     (EXP_DIR default recipes/librispeech/exp)
#
#   FILES_AT/results.tar.gz              -> EXP_DIR/pretrain_*_lr*/ (config, curves, summary),
#                                           EXP_DIR/device_session_<date>-<time>/ (logs, benchmark rows, bench.md),
#                                           benchmarks/results/<date>-<time>-gpu-{pretrain,featurize}.jsonl (in git)
#   FILES_AT/pretrain_*_lr*.pt.part-*    -> EXP_DIR/pretrain_*_lr*/checkpoints/last.ckpt (bf16 weights)
#
# It ends by printing the recipe commands that train and decode on each GPU-pretrained model here.
set -euo pipefail
cd "$(dirname "$0")/../.."
files=${1:?"usage: $0 FILES_AT [EXP_DIR]"}
exp=${2:-recipes/librispeech/exp}
python=${PYTHON:-.venv/bin/python}
[ -f "$files/results.tar.gz" ] || { echo "collect: no $files/results.tar.gz" >&2; exit 2; }

mkdir -p "$exp" benchmarks/results
tar -xzf "$files/results.tar.gz" -C "$exp"
stamp=$(date -u +%Y%m%d-%H%M)
session="$exp/device_session_$stamp"
rm -rf "$session"
mv "$exp/session" "$session"
for mode in pretrain featurize; do
    [ -s "$session/bench-$mode.jsonl" ] && cp "$session/bench-$mode.jsonl" "benchmarks/results/$stamp-gpu-$mode.jsonl"
done
cat "$session/gpu.csv" 2>/dev/null || true

for first in "$files"/pretrain_*.pt.part-00; do
    [ -f "$first" ] || continue
    name=$(basename "$first" .pt.part-00)
    mkdir -p "$exp/$name/checkpoints"
    cat "$files/$name.pt.part-"* > "$exp/$name/checkpoints/last.ckpt"
    "$python" - "$exp/$name" <<'EOF'
import csv, sys
from pathlib import Path
from asr_bench.models.checkpoint import load_wav2vec
run = Path(sys.argv[1])
loaded = load_wav2vec(run / "checkpoints" / "last.ckpt")  # fails here, not in stage 7, if the parts were not all there
rows = [r for r in csv.DictReader((run / "logs" / "metrics.csv").open()) if r.get("valid/loss")]
last = rows[-1] if rows else {}
print(f"{run.name}: {sum(p.numel() for p in loaded.model.parameters()) / 1e6:.1f} M parameters; last validation: "
      f"step {last.get('step', '-')}, loss {last.get('valid/loss', '-')}, accuracy {last.get('valid/accuracy', '-')}")
EOF
    echo "  recipes/librispeech/run.sh --stage 7 --stop-stage 10 --exp-dir $exp --pretrain-dir $exp/$name --wav2vec-run wav2vec_${name#pretrain_}"
done

#!/usr/bin/env bash
# Here, after a device call: put what it brought back where the recipe and the benchmark tables read it.
#
#   bash scripts/device/collect.sh FILES_AT [EXP_DIR]     (EXP_DIR default recipes/librispeech/exp)
#
#   FILES_AT/results.tar.gz          -> EXP_DIR/<run>/ (config, curves, summary),
#                                       EXP_DIR/device_call_<date>-<time>/ (logs, benchmark rows, bench.md, profile),
#                                       benchmarks/results/<date>-<time>-gpu-<part>.jsonl and -gpu-profile.md (in git)
#   FILES_AT/<run>.pt.part-*         -> MODEL_DIR (default recipes/librispeech/pretrained/wav2vec_base_gpu), the
#                                       ready pretrained model in the repository: checkpoints/last.ckpt (bf16 weights),
#                                       logs/metrics.csv, config.yaml, train_summary.json, model.json (every run it
#                                       came from) and README.md, its model card
#
# It checks that the weights load and ends by printing the recipe command that trains and decodes on them here.
set -euo pipefail
cd "$(dirname "$0")/../.."
files=${1:?"usage: $0 FILES_AT [EXP_DIR]"}
exp=${2:-recipes/librispeech/exp}
python=${PYTHON:-.venv/bin/python}
model_dir=${MODEL_DIR:-recipes/librispeech/pretrained/wav2vec_base_gpu}
[ -f "$files/results.tar.gz" ] || { echo "collect: no $files/results.tar.gz" >&2; exit 2; }

mkdir -p "$exp" benchmarks/results
tar -xzf "$files/results.tar.gz" -C "$exp"
stamp=$(date -u +%Y%m%d-%H%M)
session="$exp/device_call_$stamp"
rm -rf "$session"
mv "$exp/call" "$session"
for part in env pretrain featurize conv norm; do
    [ -s "$session/bench-$part.jsonl" ] && cp "$session/bench-$part.jsonl" "benchmarks/results/$stamp-gpu-$part.jsonl"
done
[ -s "$session/profile-pretrain.md" ] && cp "$session/profile-pretrain.md" "benchmarks/results/$stamp-gpu-profile.md"
cat "$session/gpu.csv" 2>/dev/null || true
[ -f "$session/bench.md" ] && cat "$session/bench.md"

for first in "$files"/*.pt.part-00; do
    [ -f "$first" ] || continue
    name=$(basename "$first" .pt.part-00)
    mkdir -p "$model_dir/checkpoints" "$model_dir/logs"
    cat "$files/$name.pt.part-"* > "$model_dir/checkpoints/last.ckpt.new"
    "$python" - "$exp/$name" "$model_dir" "$session" <<'EOF'
import csv, json, shutil, sys
from pathlib import Path
import yaml
from asr_bench.models.checkpoint import load_wav2vec

run, model_dir, session = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
weights = model_dir / "checkpoints" / "last.ckpt.new"
loaded = load_wav2vec(weights)  # fails here, not in the recipe, if the parts were not all there
config = yaml.safe_load((run / "config.yaml").read_text())
summary = json.loads((run / "train_summary.json").read_text())
provenance = json.loads((run / "provenance.json").read_text())
rows = list(csv.DictReader((run / "logs" / "metrics.csv").open()))
last = lambda key: next((r for r in reversed(rows) if r.get(key)), {})
audio = json.loads((session / "audio.json").read_text()) if (session / "audio.json").is_file() else {}
this = {
    "run": run.name, "commit": provenance.get("git_commit"), "gpus": provenance.get("hardware", {}).get("gpus"),
    "init_from": config.get("init_from") or "", "updates": summary["steps"], "audio_hours": summary.get("pretrain_hours"),
    "lr": config["optim"]["lr"], "batch_samples": config["data"]["max_samples_per_batch"],
    "implementation": summary.get("implementation"), "compiled": summary.get("compiled"), "wall_time_s": summary["wall_time_s"],
    "train_loss": last("train/loss").get("train/loss"), "train_accuracy": last("train/accuracy").get("train/accuracy"),
    "valid_loss": last("valid/loss").get("valid/loss"), "valid_accuracy": last("valid/accuracy").get("valid/accuracy"),
    "audio": audio,
}
previous = json.loads((model_dir / "model.json").read_text())["runs"] if (model_dir / "model.json").is_file() else []
if previous and previous[-1]["run"] == this["run"] and previous[-1]["init_from"] == this["init_from"] \
        and this["updates"] >= previous[-1]["updates"]:
    runs = previous[:-1] + [this]  # the same run, resumed on a machine that still held it
elif this["init_from"]:
    runs = previous + [this]  # started from the model this one replaces
else:
    runs = [this]  # from scratch
weights.replace(model_dir / "checkpoints" / "last.ckpt")
for name in ("config.yaml", "train_summary.json", "provenance.json"):
    shutil.copy(run / name, model_dir / name)
shutil.copy(run / "logs" / "metrics.csv", model_dir / "logs" / "metrics.csv")
(model_dir / "model.json").write_text(json.dumps({"updates": sum(r["updates"] for r in runs), "runs": runs}, indent=2) + "\n")

fmt = lambda value, digits=3: "-" if value in (None, "") else f"{float(value):.{digits}f}"
lineage = "; ".join(
    f"`{r['run']}` (commit {str(r['commit'])[:7]}, {r['updates']:,} updates {'from the previous model' if r['init_from'] else 'from scratch'}, "
    f"lr {r['lr']}, {r['wall_time_s'] / 60:.1f} min)" for r in runs
)
sources = (f"{audio['librispeech_utterances']} mini LibriSpeech utterances (the recipe's train split) and "
           f"{audio['speechocean762_utterances']} speechocean762 ones (its train half), re-encoded as Opus at about "
           f"{audio['kbit_per_s']} kbit/s to travel to the GPU (the shared copy's is 31)") if audio else "see the run's config"
parameters = sum(p.numel() for p in loaded.model.parameters()) / 1e6
card = f"""# wav2vec base, pretrained on a GPU

`checkpoints/last.ckpt` holds wav2vec 1.0 base ({parameters:.1f} M parameters) in bf16, as `asr-bench export --dtype bf16`
writes it ({(model_dir / 'checkpoints' / 'last.ckpt').stat().st_size / 1e6:.0f} MB); it loads wherever a checkpoint of
`asr-bench pretrain` does. `scripts/device/collect.sh` wrote this folder from a call of `scripts/device/run.sh`.

| | |
|---|---|
| audio | {fmt(this['audio_hours'], 2)} h: {sources}; 20 dev utterances for validation |
| updates | **{sum(r['updates'] for r in runs):,}** in all: {lineage} |
| batch | {this['batch_samples']:,} samples per update, crops of at most {config['data']['crop_samples']:,} samples; the {this['implementation']} path, compiled: {this['compiled']} |
| last training loss / accuracy | {fmt(this['train_loss'])} / {fmt(this['train_accuracy'])} (the trivial solution: 3.351 / 0.091) |
| last validation loss / accuracy | {fmt(this['valid_loss'])} / {fmt(this['valid_accuracy'])} |
| hardware | {', '.join(this['gpus'] or ['-'])} |

`logs/metrics.csv` has the curves of the last run, `model.json` every run this model came from.

Features from it, trained and decoded beside log-mel on a CPU:

    recipes/librispeech/run.sh --stage 7 --stop-stage 10 --exp-dir recipes/librispeech/exp --pretrain-dir {model_dir} --wav2vec-run wav2vec_gpu

More pretraining on a GPU machine starts from it and replaces it (`scripts/device/README.md`, `continue`).
"""
(model_dir / "README.md").write_text(card)
print(card)
EOF
    echo "  recipes/librispeech/run.sh --stage 7 --stop-stage 10 --exp-dir $exp --pretrain-dir $model_dir --wav2vec-run wav2vec_gpu"
done

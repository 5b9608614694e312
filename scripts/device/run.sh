#!/usr/bin/env bash
# There, on the lent GPU machine (the device tool runs it from the repository root; see README.md beside this).
#
#   bash scripts/device/run.sh session SECONDS   all of the below in one call that ends within SECONDS
#   bash scripts/device/run.sh unpack            wheels -> $SITE, .carry/pretrain.tar -> $DATA (manifests made absolute)
#   bash scripts/device/run.sh bench SECONDS     wav2vec throughput (pretraining and featurization) -> $OUT
#   bash scripts/device/run.sh pretrain SECONDS  the PRETRAIN_LRS runs side by side on the GPU, stopped in time;
#                                                curves and bf16 weights -> $OUT
#
# A session has 15 minutes of device time, the machine's start included, and a call at most 10: hence one call,
# time-boxed. Its files come back as results.tar.gz (benchmarks, curves, configs, logs) and the weights of each
# pretraining run split in parts under 16 MiB; scripts/device/collect.sh puts them in place here.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-/root/asr-bench-data}
EXP=${EXP:-/root/asr-bench-exp}
OUT=${OUT:-/tmp/asr-bench-out}
SITE=${SITE:-/tmp/site}
PYTHON=${PYTHON:-python3}
BENCH_MODELS=${BENCH_MODELS:-base large}
PRETRAIN_CONFIG=${PRETRAIN_CONFIG:-recipes/librispeech/conf/wav2vec_base.yaml}
PRETRAIN_LRS=${PRETRAIN_LRS:-5e-3 1e-3}   # the paper's rate, and one at which the binary loss escapes at CPU scale
PRETRAIN_NAME=${PRETRAIN_NAME:-pretrain_gpu}  # run directories <name>_lr<lr>: another name per call
mkdir -p "$DATA" "$EXP" "$OUT"
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
[ -f .carry/commit ] && export ASR_BENCH_COMMIT=$(cat .carry/commit)  # the copy's .git can be stale: this names it
started=$SECONDS

unpack() {
    if compgen -G ".whl/*.whl" > /dev/null; then
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
    fi
    tar -xf .carry/pretrain.tar -C "$DATA"
    "$PYTHON" - "$DATA" <<'EOF'
import json, sys
from pathlib import Path
data = Path(sys.argv[1])
for name in ("train", "valid"):
    rows = [json.loads(line) for line in (data / f"{name}.jsonl").open()]
    (data / f"{name}.abs.jsonl").write_text("".join(json.dumps({**r, "audio": str(data / r["audio"])}) + "\n" for r in rows))
    print(f"{name}: {len(rows)} utterances, {sum(r['duration'] for r in rows) / 3600:.2f} h")
EOF
    "$PYTHON" -c "import soundfile, torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
}

bench() {  # SECONDS: featurization (1/5), pretraining (2/5), then base bf16's profile (1/10) and torch.compile (3/10)
    local seconds=$1 script=benchmarks/wav2vec_throughput.py
    local first=(${BENCH_MODELS})
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true
    timeout -k 5 $((seconds / 5)) "$PYTHON" $script featurize --model $BENCH_MODELS \
        --precision bf16 fp32 --batch-utterances 1 8 32 | tee "$OUT/bench-featurize.jsonl" || true
    timeout -k 5 $((seconds * 2 / 5)) "$PYTHON" $script pretrain --model $BENCH_MODELS \
        --precision bf16 fp32 --batch-crops 4 10 --scoring ours naive | tee "$OUT/bench-pretrain.jsonl" || true
    timeout -k 5 $((seconds / 10)) "$PYTHON" $script profile --model "${first[0]}" --batch-crops 10 \
        > "$OUT/profile-pretrain.log" 2>&1 || true
    timeout -k 5 $((seconds * 3 / 10)) "$PYTHON" $script pretrain --model "${first[0]}" --batch-crops 10 --compile \
        | tee -a "$OUT/bench-pretrain.jsonl" || true
    "$PYTHON" benchmarks/summarize.py "$OUT"/bench-*.jsonl > "$OUT/bench.md" || true
}

pretrain() {  # SECONDS: every run of PRETRAIN_LRS at once, max_steps sized so that the cosine schedule ends in time
    local seconds=$1 lrs=($PRETRAIN_LRS)
    local steps
    steps=$("$PYTHON" - "$PRETRAIN_CONFIG" "$OUT/bench-pretrain.jsonl" "$seconds" "${#lrs[@]}" <<'EOF'
import json, sys
from pathlib import Path
import yaml
config, bench, seconds, runs = yaml.safe_load(open(sys.argv[1])), Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
batch_audio_s = config["data"]["max_samples_per_batch"] / 16000
rows = [json.loads(l) for l in bench.open() if l.startswith("{")] if bench.is_file() else []
ours = [r["audio_s_per_s"] for r in rows if r.get("model") == "base" and r.get("precision") == "bf16" and r.get("scoring") == "ours"
        and not r.get("cudnn_benchmark") and not r.get("compiled")]  # as training runs
speed = max(ours) if ours else 2000.0  # audio-s/s of one run alone; side by side they share the GPU
# Two runs side by side made 0.94x the benchmark's speed together (2026-11-26); 0.8x leaves time for loading,
# validation and the first steps. A multiple of 4, so that the last of the 4 validations is at the last step.
print(max(100, int(0.8 * speed / runs * seconds / batch_audio_s) // 4 * 4))
EOF
)
    local hms
    hms=$(printf '00:%02d:%02d:%02d' $((seconds / 3600)) $((seconds % 3600 / 60)) $((seconds % 60)))
    echo "pretraining ${#lrs[@]} runs for at most $hms, $steps updates each"
    local pids=()
    for lr in "${lrs[@]}"; do
        "$PYTHON" -m asr_bench.cli pretrain -c "$PRETRAIN_CONFIG" out_dir="$EXP/${PRETRAIN_NAME}_lr$lr" \
            data.train_manifests="[$DATA/train.abs.jsonl]" data.valid_manifests="[$DATA/valid.abs.jsonl]" \
            data.waveform_cache_dir="$EXP/waveforms" optim.lr="$lr" optim.warmup_steps=$((steps < 5000 ? steps / 10 : 500)) \
            trainer.max_steps="$steps" trainer.max_time="$hms" trainer.val_check_interval=$((steps / 4)) \
            trainer.check_val_every_n_epoch=null trainer.progress_bar=false > "$OUT/pretrain_lr$lr.log" 2>&1 &
        pids+=($!)  # the first to reach the waveform cache fills it; the others wait for it (features/cache.py)
    done
    local status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
    for lr in "${lrs[@]}"; do
        local run="$EXP/${PRETRAIN_NAME}_lr$lr"
        tail -n 3 "$OUT/pretrain_lr$lr.log"
        [ -f "$run/checkpoints/last.ckpt" ] || continue
        "$PYTHON" -m asr_bench.cli export "$run/checkpoints/last.ckpt" "$EXP/weights_lr$lr.pt" --dtype bf16
        split -b 15M -d "$EXP/weights_lr$lr.pt" "$OUT/${PRETRAIN_NAME}_lr$lr.pt.part-"
    done
    return $status
}

pack() {  # the small files in one archive: benchmarks and logs, each run's config, curves and summary
    mkdir -p "$EXP/session"
    mv "$OUT"/*.jsonl "$OUT"/*.md "$OUT"/*.csv "$OUT"/*.log "$EXP/session/" 2>/dev/null || true
    (cd "$EXP" && find session "$PRETRAIN_NAME"_* \( -path 'session/*' -o -name '*.json' -o -name '*.csv' -o -name '*.yaml' \) \
        -type f -print0 2>/dev/null | tar --null -czf "$OUT/results.tar.gz" -T -)
    ls -l "$OUT"
}

step=${1:?"usage: $0 session SECONDS | unpack | bench SECONDS | pretrain SECONDS"}
case "$step" in
    unpack) unpack ;;
    bench) bench "${2:?seconds}" ;;
    pretrain) pretrain "${2:?seconds}"; pack ;;
    session)
        budget=${2:?seconds}
        unpack 2>&1 | tee "$OUT/session.log"
        timeout -k 5 60 "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee -a "$OUT/session.log" || true
        bench $(( (budget - (SECONDS - started)) / 3 )) 2>&1 | tee -a "$OUT/session.log"
        # what is left, less the time to export, split and pack (and Lightning's final validation)
        status=0
        pretrain $((budget - (SECONDS - started) - 60)) 2>&1 | tee -a "$OUT/session.log" || status=$?
        pack
        exit $status
        ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
esac

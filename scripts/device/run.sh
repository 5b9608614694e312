#!/usr/bin/env bash
# On the GPU machine, from the repository root (README.md beside this says what to carry there and back).
#
#   bash scripts/device/run.sh measure SECONDS    the CUDA tests, the throughput measurements, then pretraining base
#                                                 for the time left, bf16 weights exported; ends within SECONDS
#   bash scripts/device/run.sh continue SECONDS   the convolution and norm measurements, then more pretraining: a new
#                                                 run from the newest weights, this machine's last run where it still
#                                                 holds one, else the ready model in $MODEL_DIR; ends within SECONDS
#   bash scripts/device/run.sh unpack | tests | bench SECONDS | pieces SECONDS | pretrain SECONDS   one part at a time
#
# Sized for 15 minutes of GPU time in all, the machine's start included, and at most 10 a command: hence time-boxed calls.
# Their files come back as results.tar.gz (benchmarks, profile, curves, configs, logs) and the bf16 weights of the
# pretraining run in parts under 16 MiB; scripts/device/collect.sh puts them in place here.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-/root/asr-bench-data}
EXP=${EXP:-/root/asr-bench-exp}
OUT=${OUT:-/tmp/asr-bench-out}
SITE=${SITE:-/tmp/site}
PYTHON=${PYTHON:-python3}
BENCH_MODELS=${BENCH_MODELS:-base large}
BENCH_CROPS=${BENCH_CROPS:-80}            # the paper's global batch on one GPU
BENCH_CROP_SAMPLES=${BENCH_CROP_SAMPLES:-150000}
BENCH_STEPS=${BENCH_STEPS:-10}
BENCH_UTTERANCES=${BENCH_UTTERANCES:-256}
BENCH_BATCHES=${BENCH_BATCHES:-32 128}    # featurization, utterances per batch
PIECE_CROPS=${PIECE_CROPS:-16}            # `continue`: crops for the convolution and norm measurements
# Pretraining variants per model, each in its own process: the new path, today's, the naive scoring (add
# time_major:eager or reference:compiled for more). The first model's first variant is also profiled.
BENCH_VARIANTS=${BENCH_VARIANTS:-time_major:compiled reference:eager naive:eager}
EAGER_BOX=${EAGER_BOX:-25}                # seconds for an eager row; a compiled one gets the rest of its model's share
PRETRAIN_CONFIG=${PRETRAIN_CONFIG:-recipes/librispeech/conf/wav2vec_base.yaml}
# 1e-3: at 10 crops per update base escaped the binary loss's trivial solution at once at 1e-3 and spent 900
# updates in it at the paper's 5e-3; at 80 crops neither is measured yet (benchmarks/RESULTS.md).
PRETRAIN_LR=${PRETRAIN_LR:-1e-3}
PRETRAIN_NAME=${PRETRAIN_NAME:-pretrain_gpu}
PRETRAIN_OVERRIDES=${PRETRAIN_OVERRIDES:-}  # more key=value overrides of the pretraining config
MODEL_DIR=${MODEL_DIR:-recipes/librispeech/pretrained/wav2vec_base_gpu}  # the ready model `continue` starts from
mkdir -p "$DATA" "$EXP" "$OUT"
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
[ -f .carry/commit ] && export ASR_BENCH_COMMIT=$(cat .carry/commit)  # the copy's .git can be stale: this names it
started=$SECONDS
left() { echo $(( $1 - (SECONDS - started) )); }

unpack() {
    if [ -f "$DATA/train.abs.jsonl" ]; then echo "unpack: $DATA already holds the audio"; return; fi
    if ! "$PYTHON" -c "import soundfile" 2>/dev/null && compgen -G ".whl/*.whl" > /dev/null; then
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

tests() {  # SECONDS: the GPU's code paths against the CPU's; the compiled-step test is last and the slowest
    timeout -k 5 "$1" "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/tests.log" || true
}

bench() {  # SECONDS: ceilings, pretraining rows per model and variant, featurization; each process cut at its box
    local seconds=$1 script=benchmarks/wav2vec_throughput.py models=($BENCH_MODELS) variants=($BENCH_VARIANTS)
    local begin=$SECONDS share=$(( seconds * 42 / 100 ))  # per model; featurization gets the rest
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true
    timeout -k 5 $((seconds / 25 + 5)) "$PYTHON" $script env | tee "$OUT/bench-env.jsonl" || true
    for model in "${models[@]}"; do
        local model_begin=$SECONDS eager=0 variant
        for variant in "${variants[@]}"; do [[ $variant == *:compiled ]] || eager=$(( eager + 1 )); done
        for variant in "${variants[@]}"; do  # one process each: a compilation that overruns its box costs only its row
            local box=$EAGER_BOX profile=()
            if [[ $variant == *:compiled ]]; then  # what the model's share leaves after the eager rows still to come
                box=$(( share - (SECONDS - model_begin) - eager * EAGER_BOX ))
            else
                eager=$(( eager - 1 ))
            fi
            [ "$model/$variant" = "${models[0]}/${variants[0]}" ] && profile=(--profile-to "$OUT/profile-pretrain.md")
            timeout -k 5 $(( box > 30 ? box : 30 )) "$PYTHON" $script pretrain --model "$model" --variants "$variant" \
                --batch-crops $BENCH_CROPS --crop-samples "$BENCH_CROP_SAMPLES" --steps "$BENCH_STEPS" "${profile[@]}" \
                | tee -a "$OUT/bench-pretrain.jsonl" || true
        done
    done
    local rest=$(( seconds - (SECONDS - begin) ))
    timeout -k 5 $(( rest > 20 ? rest : 20 )) "$PYTHON" $script featurize --model "${models[0]}" --variants time_major reference \
        --batch-utterances $BENCH_BATCHES --utterances "$BENCH_UTTERANCES" | tee "$OUT/bench-featurize.jsonl" || true
    summarize
}

pieces() {  # SECONDS: each convolution shape three ways, the first layer's norm four ways
    local script=benchmarks/wav2vec_throughput.py
    timeout -k 5 $(( $1 * 6 / 10 )) "$PYTHON" $script conv --batch-crops "$PIECE_CROPS" | tee "$OUT/bench-conv.jsonl" || true
    timeout -k 5 $(( $1 * 4 / 10 )) "$PYTHON" $script norm --batch-crops "$PIECE_CROPS" | tee "$OUT/bench-norm.jsonl" || true
    summarize
}

summarize() { "$PYTHON" benchmarks/summarize.py "$OUT"/bench-*.jsonl > "$OUT/bench.md" 2>/dev/null || true; }

pretrain() {  # SECONDS [continue]: a new run of PRETRAIN_CONFIG, max_steps sized from the measured speed
    local seconds=$1 run="$EXP/$PRETRAIN_NAME" extra=()
    if [ "${2:-}" = continue ]; then  # a run of its own, from the newest weights: this machine's, else the ready model's
        local newest
        newest=$(ls -td "$EXP"/"$PRETRAIN_NAME"*/checkpoints/last.ckpt 2>/dev/null | head -1)
        [ -n "$newest" ] || newest="$MODEL_DIR/checkpoints/last.ckpt"
        [ -f "$newest" ] || { echo "continue: no weights to continue from (neither $EXP/$PRETRAIN_NAME* nor $newest)" >&2; return 2; }
        run="$EXP/${PRETRAIN_NAME}_$(date -u +%H%M%S)"
        extra+=("init_from=$newest")
    fi
    local plan
    local models=($BENCH_MODELS) measured
    # This call's rows, else an earlier call's on this machine, else the newest collected here (they travel in the tree).
    measured=$(ls -t "$OUT/bench-pretrain.jsonl" "$EXP/bench-pretrain.jsonl" benchmarks/results/*-gpu-pretrain.jsonl 2>/dev/null | head -1)
    plan=$("$PYTHON" - "$PRETRAIN_CONFIG" "${measured:-none}" "${models[0]}" "$seconds" <<'EOF'
import json, sys
from pathlib import Path
import yaml
config, measured, model, seconds = yaml.safe_load(open(sys.argv[1])), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
batch_audio_s = config["data"]["max_samples_per_batch"] / 16000
rows = [json.loads(l) for l in measured.open() if l.startswith("{")] if measured.is_file() else []
speed = {r["variant"]: r["audio_s_per_s"] for r in rows if r.get("model") == model and r.get("precision") == "bf16" and "variant" in r}
# Compiled where the compiled step was measured (and faster); eager where compiling did not finish in its time box.
compiled = speed.get("time_major:compiled", 0) > speed.get("time_major:eager", 0)
# The eager time-major step where it was not measured: at least today's eager speed.
rate = speed["time_major:compiled"] if compiled else speed.get("time_major:eager", speed.get("reference:eager", 2000.0))
# Start-up (decoding the audio into the cache, the graph's tracing, the sanity check) about 60 s; 0.85 of the
# benchmark's speed for loading, validation and logging. A multiple of 4: the last of 4 validations at the last step.
steps = max(40, int(0.85 * rate * max(seconds - 60, 30) / batch_audio_s) // 4 * 4)
print(steps, str(compiled).lower())
EOF
)
    read -r steps compile <<< "$plan"
    local hms training=$(( seconds > 90 ? seconds - 60 : 30 ))  # max_time counts from the first step: start-up apart
    hms=$(printf '00:%02d:%02d:%02d' $((training / 3600)) $((training % 3600 / 60)) $((training % 60)))
    echo "pretraining $run: $steps updates in at most $hms, compile=$compile, lr $PRETRAIN_LR ${extra[*]}"
    local status=0
    "$PYTHON" -m asr_bench.cli pretrain -c "$PRETRAIN_CONFIG" out_dir="$run" \
        data.train_manifests="[$DATA/train.abs.jsonl]" data.valid_manifests="[$DATA/valid.abs.jsonl]" \
        data.waveform_cache_dir="$EXP/waveforms" optim.lr="$PRETRAIN_LR" optim.warmup_steps=$((steps / 10)) \
        trainer.max_steps="$steps" trainer.max_time="$hms" trainer.val_check_interval=$((steps / 4)) \
        trainer.check_val_every_n_epoch=null trainer.progress_bar=false compile="$compile" "${extra[@]}" $PRETRAIN_OVERRIDES \
        > "$OUT/pretrain.log" 2>&1 || status=$?
    tail -n 5 "$OUT/pretrain.log"
    if [ -f "$run/checkpoints/last.ckpt" ]; then
        "$PYTHON" -m asr_bench.cli export "$run/checkpoints/last.ckpt" "$EXP/weights.pt" --dtype bf16
        split -b 15M -d "$EXP/weights.pt" "$OUT/$(basename "$run").pt.part-"
    fi
    return $status
}

pack() {  # the small files in one archive: benchmarks, profile and logs, the run's config, curves and summary
    mkdir -p "$EXP/call"
    cp "$OUT"/bench-*.jsonl "$EXP/" 2>/dev/null || true  # a later `continue` on this machine sizes its run from them
    mv "$OUT"/*.jsonl "$OUT"/*.md "$OUT"/*.csv "$OUT"/*.log "$EXP/call/" 2>/dev/null || true
    cp .carry/audio.json "$EXP/call/" 2>/dev/null || true
    local runs=()  # the runs whose weights this call returns
    for part in "$OUT"/*.pt.part-00; do [ -f "$part" ] && runs+=("$(basename "$part" .pt.part-00)"); done
    (cd "$EXP" && find call "${runs[@]}" \( -path 'call/*' -o -name '*.json' -o -name '*.csv' -o -name '*.yaml' \) \
        -type f -print0 2>/dev/null | tar --null -czf "$OUT/results.tar.gz" -T -)
    rm -rf "$EXP/call"
    ls -l "$OUT"
}

step=${1:?"usage: $0 measure SECONDS | continue SECONDS | unpack | tests | bench SECONDS | pieces SECONDS | pretrain SECONDS"}
case "$step" in
    unpack) unpack ;;
    tests) tests "${2:-120}" ;;
    bench) bench "${2:?seconds}" ;;
    pieces) pieces "${2:?seconds}" ;;
    pretrain) pretrain "${2:?seconds}"; pack ;;
    measure | continue)
        budget=${2:?seconds}
        unpack 2>&1 | tee "$OUT/call.log"
        if [ "$step" = measure ]; then
            tests $(( budget / 9 ))
            # Measurements: at most 80 % of what is left. Pretraining gets the rest, less export, split and pack.
            bench $(( $(left "$budget") * 8 / 10 )) 2>&1 | tee -a "$OUT/call.log"
        else
            pieces $(( budget / 6 )) 2>&1 | tee -a "$OUT/call.log"
        fi
        status=0
        pretrain $(( $(left "$budget") - 45 )) "$step" 2>&1 | tee -a "$OUT/call.log" || status=$?
        pack
        exit $status
        ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
esac

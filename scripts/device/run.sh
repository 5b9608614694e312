#!/usr/bin/env bash
# There, on the lent GPU machine (run from the repository root by the device tool; see README.md beside this).
#
#   bash scripts/device/run.sh unpack                 wheels -> /tmp/site, carried .carry/audio-*.tar -> $DATA
#   bash scripts/device/run.sh bench                  wav2vec throughput, base and large -> $OUT/bench-*.jsonl
#   bash scripts/device/run.sh recipe FIRST LAST [-- KEY=VALUE ...]
#                                                     LibriSpeech recipe stages FIRST..LAST in $EXP -> $OUT/exp.tar.gz
#
# Steps can be chained in one command (`... unpack && ... bench`). $DATA and $EXP live outside the
# checkout, so they survive between calls while the machine stays warm; the checkout is re-sent each call.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-/root/asr-bench-data}
EXP=${EXP:-/root/asr-bench-exp}
OUT=${OUT:-/tmp/asr-bench-out}
SITE=${SITE:-/tmp/site}
PYTHON=${PYTHON:-python3}
mkdir -p "$DATA" "$EXP" "$OUT"
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

# The recipe calls `asr-bench`; there is no installed entry point there, so a two-line one.
asr="$SITE/bin/asr-bench"
mkdir -p "$SITE/bin"
printf '#!/bin/sh\nexec %s -m asr_bench.cli "$@"\n' "$PYTHON" > "$asr"
chmod +x "$asr"

step=${1:?"usage: $0 unpack | bench | recipe FIRST LAST [-- KEY=VALUE ...]"}
shift
case "$step" in
    unpack)
        if compgen -G ".whl/*.whl" > /dev/null; then
            "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
        fi
        for archive in .carry/audio-*.tar; do
            [ -f "$archive" ] && tar -xf "$archive" -C "$DATA" && echo "unpacked $archive into $DATA"
        done
        "$PYTHON" -c "import soundfile, jiwer, torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
        find "$DATA" -type f | wc -l | xargs echo "files in $DATA:"
        ;;
    bench)
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true
        "$PYTHON" benchmarks/wav2vec_throughput.py pretrain --model base large --precision bf16 fp32 \
            --batch-crops 4 8 10 --scoring ours naive "$@" | tee "$OUT/bench-pretrain.jsonl"
        "$PYTHON" benchmarks/wav2vec_throughput.py featurize --model base large --precision bf16 fp32 \
            --batch-utterances 1 8 32 | tee "$OUT/bench-featurize.jsonl"
        "$PYTHON" benchmarks/summarize.py "$OUT"/bench-*.jsonl | tee "$OUT/bench.md"
        ;;
    recipe)
        first=${1:?first stage}
        last=${2:?last stage}
        shift 2
        [ "${1:-}" = "--" ] && shift
        # The LM comes from home (stage 3 needs lmplz, which the image lacks): carried as
        # recipes/librispeech/exp/lm, it is copied into $EXP and stage 3 is skipped.
        ranges=("$first $last")
        if [ -d recipes/librispeech/exp/lm ]; then
            [ -d "$EXP/lm" ] || cp -r recipes/librispeech/exp/lm "$EXP/lm"
            ranges=("$first $((last < 2 ? last : 2))" "$((first > 4 ? first : 4)) $last")
        fi
        # Stopped before the call's 10-minute limit so that the results still come back; every stage
        # resumes where it stopped (last.ckpt), so the same command again carries on.
        deadline=$((SECONDS + ${RECIPE_TIMEOUT_S:-540}))
        status=0
        for range in "${ranges[@]}"; do
            read -r from to <<< "$range"
            [ "$from" -le "$to" ] || continue
            [ "$deadline" -gt "$SECONDS" ] || { status=124; break; }
            ASR_BENCH="$asr" timeout -k 20 $((deadline - SECONDS)) recipes/librispeech/run.sh \
                --corpus-dir "$DATA/LibriSpeech" --exp-dir "$EXP" --stage "$from" --stop-stage "$to" \
                --pretrain-config "${PRETRAIN_CONFIG:-recipes/librispeech/conf/wav2vec_base.yaml}" -- "$@" \
                >> "$OUT/recipe-$first-$last.log" 2>&1 || { status=$?; break; }
        done
        tr '\r' '\n' < "$OUT/recipe-$first-$last.log" | grep -v 'it/s' | tail -n 40
        # What comes back: results, curves, summaries and configs; no features, waveforms or optimizer states.
        (cd "$EXP" && find . \( -name '*.json' -o -name '*.csv' -o -name '*.yaml' -o -name '*.md' -o -name '*.png' \) \
            -not -path './features/*' -not -path './waveforms/*' -not -path './data/*' -print0 \
            | tar --null -czf "$OUT/exp.tar.gz" -T -)
        ls -l "$OUT"
        [ "$status" = 0 ] || { echo "recipe stopped with status $status (124: the time limit; run again to resume)"; exit "$status"; }
        ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
esac

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
mkdir -p "$DATA" "$EXP" "$OUT"
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
started=$SECONDS

unpack() {  # the small files in one archive: benchmarks and logs, each run's config, curves and summary
    mkdir -p "$EXP/session"
    mv "$OUT"/*.jsonl "$OUT"/*.md "$OUT"/*.csv "$OUT"/*.log "$EXP/session/" 2>/dev/null || true
    (cd "$EXP" && find session pretrain_gpu_* \( -path '*/session/*' -o -name '*.json' -o -name '*.csv' -o -name '*.yaml' \) \
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
        bench $(( (budget - (SECONDS - started)) * 2 / 7 )) 2>&1 | tee -a "$OUT/session.log"
        # what is left, less the time to export, split and pack (and Lightning's final validation)
        status=0
        pretrain $((budget - (SECONDS - started) - 60)) 2>&1 | tee -a "$OUT/session.log" || status=$?
        pack
        exit $status
        ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
esac

# What every recipe's run.sh shares, sourced (never copied): option parsing, stage selection, logging,
# and the train / decode / report steps every recipe runs the same way.
#
# A run.sh sets its options as shell variables with defaults, sources this file, then calls
#   parse_options "$@"
# Every `--some-name VALUE` sets the variable some_name (which must already exist: an unknown option is an
# error), `--stage N` / `--stop-stage M` choose the stages, `-h`/`--help` prints the run.sh header comment,
# and everything after `--` lands in the array `overrides` (KEY=VALUE config overrides for training).
# Stages then read:   if run_stage 3; then log_stage 3 "what it does"; ...; fi

set -euo pipefail

recipe_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$recipe_dir/../.." && pwd)
asr="${ASR_BENCH:-$repo_root/.venv/bin/asr-bench}"
stage=${stage:-1}
stop_stage=${stop_stage:-100}
sweep_processes=1  # --sweep-processes N: sweep cells run N at a time (each with its share of the cores)
results_md=""  # --results-md FILE: where the report stage writes the results page (default: $exp_dir/report/RESULTS.md)
overrides=()

recipe_help() {  # the comment block at the top of run.sh, without the '#'
    awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

die() { echo "$(basename "$recipe_dir"): $*" >&2; exit 2; }

parse_options() {
    while [ $# -gt 0 ]; do
        case "$1" in
            -h|--help) recipe_help; exit 0 ;;
            --) shift; overrides=("$@"); return 0 ;;
            --*)
                local name=${1#--}
                local var=${name//-/_}
                declare -p "$var" >/dev/null 2>&1 || die "unknown option $1 (see --help)"
                [ $# -ge 2 ] || die "option $1 needs a value"
                printf -v "$var" '%s' "$2"
                shift 2 ;;
            *) die "unexpected argument '$1' (options are --name value; config overrides go after --)" ;;
        esac
    done
}

run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
log_stage() { local n=$1; shift; echo "[$(date +%H:%M:%S)] stage $n: $*"; }

# prepare_corpus CORPUS OUT_DIR [prepare options ...]: stage 1, `asr-bench prepare CORPUS` on --corpus-dir.
prepare_corpus() {
    local corpus=$1 out=$2; shift 2
    [ -n "$corpus_dir" ] || die "--corpus-dir is required for stage 1"
    log_stage 1 "prepare $corpus_dir"
    "$asr" prepare "$corpus" --corpus-dir "$corpus_dir" --out-dir "$out" "$@"
}

# train_model NAME CONFIG TRAIN_MANIFEST VALID_MANIFEST [KEY=VALUE ...]: an acoustic model in $exp_dir/NAME.
train_model() {
    local name=$1 config=$2 train=$3 valid=$4; shift 4
    "$asr" train -c "$config" out_dir="$exp_dir/$name" seed="$seed" features.cache_dir="$exp_dir/features" \
        data.train_manifest="$train" data.valid_manifest="$valid" "$@" ${overrides[@]+"${overrides[@]}"}
}

# pretrain_wav2vec DIR CONFIG TRAIN_MANIFEST VALID_MANIFEST: wav2vec on the manifests' audio (transcripts unused) in DIR.
pretrain_wav2vec() {
    local dir=$1 config=$2 train=$3 valid=$4
    "$asr" pretrain -c "$config" out_dir="$dir" seed="$seed" data.waveform_cache_dir="$exp_dir/waveforms" \
        data.train_manifests="[$train]" data.valid_manifests="[$valid]"
}

# decode_model NAME [decode options ...]: greedy (and beam search with --lm) on the splits given as -m SPLIT=MANIFEST.
decode_model() {
    local name=$1; shift
    "$asr" decode --run-dir "$exp_dir/$name" "$@"
}

# sweep_runs CONFIG [KEY=VALUE ...]: `asr-bench sweep -c CONFIG` from $exp_dir (a recipe's sweep config names its
# manifests relative to it); the acoustic-model overrides given after `--` apply to every cell.
sweep_runs() {
    local config=$1; shift
    (cd "$exp_dir" && "$asr" sweep -c "$config" launcher.local.processes="$sweep_processes" "$@" \
        ${overrides[@]+"${overrides[@]/#/train.}"})
}

# report_runs CORPUS [report options ...]: every run under $exp_dir with results (sweep cells included) into
# $exp_dir/report, with the curves of every pretraining run in $exp_dir/pretrain* and the results page
# (--results-md recipes/<corpus>/RESULTS.md publishes it beside the recipe).
report_runs() {
    local corpus=$1; shift
    local curves=()
    for dir in "$exp_dir"/pretrain*/; do [ -f "$dir/logs/metrics.csv" ] && curves+=(--pretrain-run "${dir%/}"); done
    "$asr" report "$exp_dir" --out-dir "$exp_dir/report" --corpus "$corpus" --results-md "${results_md:-$exp_dir/report/RESULTS.md}" \
        ${curves[@]+"${curves[@]}"} "$@"
}

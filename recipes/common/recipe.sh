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

# train_model NAME CONFIG TRAIN_MANIFEST VALID_MANIFEST [KEY=VALUE ...]: an acoustic model in $exp_dir/NAME.
train_model() {
    local name=$1 config=$2 train=$3 valid=$4; shift 4
    "$asr" train -c "$config" out_dir="$exp_dir/$name" seed="$seed" features.cache_dir="$exp_dir/features" \
        data.train_manifest="$train" data.valid_manifest="$valid" "$@" ${overrides[@]+"${overrides[@]}"}
}

# decode_model NAME [decode options ...]: greedy (and beam search with --lm) on the splits given as -m SPLIT=MANIFEST.
decode_model() {
    local name=$1; shift
    "$asr" decode --run-dir "$exp_dir/$name" "$@"
}

# report_runs CORPUS [report options ...]: every run folder under $exp_dir that has results, into $exp_dir/report.
# CORPUS "" for a corpus the paper has no table for.
report_runs() {
    local corpus=$1; shift
    local runs=()
    for dir in "$exp_dir"/*/; do [ -f "$dir/results.json" ] && runs+=("${dir%/}"); done
    [ ${#runs[@]} -gt 0 ] || die "no run under $exp_dir has results yet: run the training and decoding stages first"
    "$asr" report "${runs[@]}" --out-dir "$exp_dir/report" ${corpus:+--corpus "$corpus"} "$@"
}

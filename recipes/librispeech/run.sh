#!/usr/bin/env bash
# LibriSpeech recipe: log-mel vs wav2vec features for a CTC letter model, with greedy and 4-gram LM decoding.
#
#   recipes/librispeech/run.sh --corpus-dir ../shared/data/librispeech-mini/LibriSpeech [--stage N] [--stop-stage M]
#
# Stages (each idempotent; outputs under --exp-dir):
#   1 prepare     OpenSLR layout (or a Hugging Face copy saved to disk) -> JSONL manifests
#   2 split       speaker-disjoint train/dev/test (2 F + 2 M speakers held out) and nested labelled subsets
#   3 lm          4-gram KenLM on training transcripts (dev/test sentences excluded) + lexicon
#   4 logmel      log-mel features -> acoustic model
#   5 decode      log-mel model: greedy and lexicon+LM beam search (LM weights tuned on dev)
#   6 pretrain    wav2vec on all training audio, transcripts unused (dev/test speakers stay unseen)
#   7 wav2vec     wav2vec features -> acoustic model
#   8 decode      wav2vec model: greedy and beam search
#   9 sweep       with --sweep 30min,1h,...: both feature types again on each labelled subset, each trained for
#                 --sweep-steps updates (default 900, what the full 4.78 h gets), decoded as above
#  10 report      results table (Markdown/CSV/JSON) and plots of every run, error rate against labelled hours
# Extra KEY=VALUE arguments after `--` override the acoustic-model configs (e.g. -- trainer.max_epochs=3).
# --pretrain-dir DIR (default EXP/pretrain) and --wav2vec-run NAME (default wav2vec) let stages 6-9 work on another
# wav2vec beside the first, e.g. one pretrained on a GPU (scripts/device/README.md). --tune-budget N tunes the LM
# weights by N random draws instead of the 7 x 5 grid (35 decodes of dev per model).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

corpus_dir=""
exp_dir="$here/exp"
stage=1
stop_stage=10
seed=0
source_split=train-clean-5          # the corpus split to divide into train/dev/test by speaker
subset_hours=10min,30min,1h,2h      # nested labelled subsets of train, for the labelled-data sweep
wav2vec_pretrain_conf="$here/conf/wav2vec_cpu.yaml"   # wav2vec_base.yaml / wav2vec_large.yaml on a GPU
pretrain_dir=""                     # default: $exp_dir/pretrain
wav2vec_run=wav2vec
sweep=""                            # labelled subsets for stage 9, e.g. 30min,1h,2h (from --subset-hours)
sweep_steps=900
tune_budget=0
asr="${ASR_BENCH:-$root/.venv/bin/asr-bench}"
overrides=()
while [ $# -gt 0 ]; do
    case "$1" in
        --corpus-dir) corpus_dir=$2; shift 2 ;;
        --exp-dir) exp_dir=$2; shift 2 ;;
        --stage) stage=$2; shift 2 ;;
        --stop-stage) stop_stage=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --source-split) source_split=$2; shift 2 ;;
        --subset-hours) subset_hours=$2; shift 2 ;;
        --pretrain-config) wav2vec_pretrain_conf=$2; shift 2 ;;
        --pretrain-dir) pretrain_dir=$2; shift 2 ;;
        --wav2vec-run) wav2vec_run=$2; shift 2 ;;
        --sweep) sweep=$2; shift 2 ;;
        --sweep-steps) sweep_steps=$2; shift 2 ;;
        --tune-budget) tune_budget=$2; shift 2 ;;
        --) shift; overrides=("$@"); break ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
log() { echo "[$(date +%H:%M:%S)] stage $*"; }

data="$exp_dir/data"
pretrain_dir=${pretrain_dir:-$exp_dir/pretrain}
features="$exp_dir/features"
mkdir -p "$exp_dir"
SECONDS=0

if run_stage 1; then
    [ -n "$corpus_dir" ] || { echo "--corpus-dir is required for stage 1" >&2; exit 2; }
    log "1: prepare $corpus_dir"
    "$asr" prepare librispeech --corpus-dir "$corpus_dir" --out-dir "$data/corpus"
fi

if run_stage 2; then
    log "2: speaker-disjoint split and labelled subsets"
    "$asr" split --manifest "$data/corpus/$source_split.jsonl" --out-dir "$data" --seed "$seed" \
        --subset-hours "$subset_hours"
fi

if run_stage 3; then
    log "3: 4-gram LM on training transcripts"
    "$asr" lm build --order 4 --out "$exp_dir/lm" \
        --train-manifest "$data/train.jsonl" --exclude-manifest "$data/dev.jsonl" --exclude-manifest "$data/test.jsonl"
fi

train_model() {  # name train-manifest [extra overrides...]
    local name=$1 manifest=$2; shift 2
    "$asr" train -c "$here/conf/acoustic_model.yaml" out_dir="$exp_dir/$name" seed="$seed" features.cache_dir="$features" \
        data.train_manifest="$manifest" data.valid_manifest="$data/dev.jsonl" "$@" "${overrides[@]}"
}

decode_both() {  # name
    "$asr" decode --run-dir "$exp_dir/$1" -m dev="$data/dev.jsonl" -m test="$data/test.jsonl" \
        --lm "$exp_dir/lm" --tune-on dev --tune-budget "$tune_budget"
}

wav2vec_features=(features.kind=wav2vec features.wav2vec.checkpoint="$pretrain_dir/checkpoints/last.ckpt")

if run_stage 4; then
    log "4: log-mel acoustic model"
    train_model logmel "$data/train.jsonl"
fi
if run_stage 5; then
    log "5: decode log-mel model"
    decode_both logmel
fi
if run_stage 6; then
    log "6: wav2vec pretraining on the training audio"
    "$asr" pretrain -c "$wav2vec_pretrain_conf" out_dir="$pretrain_dir" seed="$seed" \
        data.waveform_cache_dir="$exp_dir/waveforms" \
        data.train_manifests="[$data/train.jsonl]" data.valid_manifests="[$data/dev.jsonl]"
fi
if run_stage 7; then
    log "7: wav2vec acoustic model"
    train_model "$wav2vec_run" "$data/train.jsonl" "${wav2vec_features[@]}"
fi
if run_stage 8; then
    log "8: decode wav2vec model"
    decode_both "$wav2vec_run"
fi
if run_stage 9 && [ -n "$sweep" ]; then
    for subset in ${sweep//,/ }; do
        manifest="$data/train_$subset.jsonl"
        [ -f "$manifest" ] || { echo "stage 9: no $manifest (stage 2 makes the subsets of --subset-hours)" >&2; exit 2; }
        log "9: labelled-data sweep, $subset"
        steps=(trainer.max_epochs=-1 trainer.max_steps="$sweep_steps")
        train_model "logmel_$subset" "$manifest" "${steps[@]}"
        decode_both "logmel_$subset"
        train_model "${wav2vec_run}_$subset" "$manifest" "${wav2vec_features[@]}" "${steps[@]}"
        decode_both "${wav2vec_run}_$subset"
    done
fi
if run_stage 10; then
    log "10: report"
    runs=() curves=()
    for dir in "$exp_dir"/*/; do [ -f "$dir/results.json" ] && runs+=("${dir%/}"); done
    declare -A seen=()
    for dir in "$exp_dir"/pretrain*/ "$pretrain_dir/"; do  # the pretraining curves, each run once
        [ -f "$dir/logs/metrics.csv" ] || continue
        dir=$(cd "$dir" && pwd)
        [ -z "${seen[$dir]:-}" ] || continue
        seen[$dir]=1
        curves+=(--pretrain-run "$dir")
    done
    "$asr" report "${runs[@]}" --out-dir "$exp_dir/report" --corpus librispeech "${curves[@]}"
fi
echo "done in ${SECONDS}s; results: $exp_dir/report/results.md"

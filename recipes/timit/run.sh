#!/usr/bin/env bash
# TIMIT recipe: phone recognition with log-mel vs wav2vec features, PER on the standard dev and core test sets.
#
#   recipes/timit/run.sh --corpus-dir /data/LDC93S1/timit [--stage N] [--stop-stage M] [--checkpoint wav2vec_large.pt]
#
# Stages (each idempotent; outputs under --exp-dir):
#   1 prepare    the LDC93S1 tree (or a Kaggle/deepai copy) -> train (3696), dev (400), test (core, 192) manifests
#   2 logmel     log-mel features -> phone acoustic model
#   3 pretrain   wav2vec on the training audio, transcripts unused (--pretrain-config, default the LibriSpeech
#                recipe's conf/wav2vec_cpu.yaml); skipped when --checkpoint FILE gives a wav2vec already trained
#                (ours, or a fairseq wav2vec 1.0 file such as wav2vec_large.pt)
#   4 wav2vec    wav2vec features -> phone acoustic model
#   5 decode     both models, greedy: PER on dev and test, scored on 39 phones
#   6 report     results table with the paper's TIMIT rows (dev/test PER, mean +- std) beside ours
# --am-config FILE picks the acoustic model: conf/acoustic_model.yaml (default, CPU-sized) or
# conf/acoustic_model_paper.yaml (the paper's, for a GPU). --phone-set timit61|timit48|timit39 overrides the
# config's training phone set. Extra KEY=VALUE arguments after `--` override the acoustic-model config
# (e.g. -- trainer.max_epochs=3).
corpus_dir=""
exp_dir="$(cd "$(dirname "$0")" && pwd)/exp"
seed=0
am_config=""                        # default conf/acoustic_model.yaml
phone_set=""                        # default: the config's data.phone_set
pretrain_config=""                  # default ../librispeech/conf/wav2vec_cpu.yaml
pretrain_dir=""                     # default: $exp_dir/pretrain
checkpoint=""                       # a trained wav2vec instead of stage 3's
stop_stage=6
source "$(dirname "$0")/../common/recipe.sh"
parse_options "$@"

data="$exp_dir/data"
am_conf=${am_config:-$recipe_dir/conf/acoustic_model.yaml}
pretrain_conf=${pretrain_config:-$recipe_dir/../librispeech/conf/wav2vec_cpu.yaml}
pretrain_dir=${pretrain_dir:-$exp_dir/pretrain}
wav2vec_checkpoint=${checkpoint:-$pretrain_dir/checkpoints/last.ckpt}
phones=()
[ -z "$phone_set" ] || phones=(data.phone_set="$phone_set")
mkdir -p "$exp_dir"
SECONDS=0

if run_stage 1; then
    prepare_corpus timit "$data"
fi
if run_stage 2; then
    log_stage 2 "log-mel phone model"
    train_model logmel "$am_conf" "$data/train.jsonl" "$data/dev.jsonl" ${phones[@]+"${phones[@]}"}
fi
if run_stage 3; then
    if [ -n "$checkpoint" ]; then
        [ -f "$checkpoint" ] || die "--checkpoint $checkpoint does not exist"
        log_stage 3 "no pretraining: wav2vec from $checkpoint"
    else
        log_stage 3 "wav2vec pretraining on the training audio"
        pretrain_wav2vec "$pretrain_dir" "$pretrain_conf" "$data/train.jsonl" "$data/dev.jsonl"
    fi
fi
if run_stage 4; then
    log_stage 4 "wav2vec phone model"
    train_model wav2vec "$am_conf" "$data/train.jsonl" "$data/dev.jsonl" ${phones[@]+"${phones[@]}"} \
        features.kind=wav2vec features.wav2vec.checkpoint="$wav2vec_checkpoint"
fi
if run_stage 5; then
    decoded=0
    for name in logmel wav2vec; do
        [ -d "$exp_dir/$name/checkpoints" ] || continue
        log_stage 5 "decode $name model"
        decode_model "$name" -m dev="$data/dev.jsonl" -m test="$data/test.jsonl"
        decoded=$((decoded + 1))
    done
    [ "$decoded" -gt 0 ] || die "stage 5: no trained model under $exp_dir (stages 2 and 4 train them)"
fi
if run_stage 6; then
    log_stage 6 "report"
    report_runs timit
fi
echo "done in ${SECONDS}s; results: $exp_dir/report/results.md"

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
#   9 sweep       with --sweep 30min,1h,... (or all-subsets): `asr-bench sweep` of conf/sweep.yaml over those labelled
#                 subsets x {log-mel, wav2vec} x its seeds, each cell trained for --sweep-steps updates, decoded as above
#  10 report      tables (Markdown/CSV/JSON), plots and RESULTS.md of every run and sweep cell, error rate against
#                 labelled hours
# Extra KEY=VALUE arguments after `--` override the acoustic-model configs (e.g. -- trainer.max_epochs=3).
# --pretrain-dir DIR (default EXP/pretrain) and --wav2vec-run NAME (default wav2vec) let stages 6-9 work on another
# wav2vec beside the first, e.g. one pretrained on a GPU (scripts/device/README.md). --tune-budget N tunes the LM
# weights by N random draws instead of the 7 x 5 grid (35 decodes of dev per model).
corpus_dir=""
exp_dir="$(cd "$(dirname "$0")" && pwd)/exp"
seed=0
source_split=train-clean-5          # the corpus split to divide into train/dev/test by speaker
subset_hours=10min,30min,1h,2h      # nested labelled subsets of train, for the labelled-data sweep
pretrain_config=""                  # default conf/wav2vec_cpu.yaml; wav2vec_base.yaml / wav2vec_large.yaml on a GPU
pretrain_dir=""                     # default: $exp_dir/pretrain
wav2vec_run=wav2vec
sweep=""                            # labelled subsets for stage 9, e.g. 30min,1h,2h (from --subset-hours)
sweep_steps=900
tune_budget=0
stop_stage=10
source "$(dirname "$0")/../common/recipe.sh"
parse_options "$@"
here=$recipe_dir
wav2vec_pretrain_conf=${pretrain_config:-$here/conf/wav2vec_cpu.yaml}

data="$exp_dir/data"
pretrain_dir=${pretrain_dir:-$exp_dir/pretrain}
mkdir -p "$exp_dir"
SECONDS=0
am_conf="$here/conf/acoustic_model.yaml"

if run_stage 1; then
    prepare_corpus librispeech "$data/corpus"
fi

if run_stage 2; then
    log_stage 2 "speaker-disjoint split and labelled subsets"
    "$asr" split --manifest "$data/corpus/$source_split.jsonl" --out-dir "$data" --seed "$seed" \
        --subset-hours "$subset_hours"
fi

if run_stage 3; then
    log_stage 3 "4-gram LM on training transcripts"
    "$asr" lm build --order 4 --out "$exp_dir/lm" \
        --train-manifest "$data/train.jsonl" --exclude-manifest "$data/dev.jsonl" --exclude-manifest "$data/test.jsonl"
fi

decode_both() {  # name
    decode_model "$1" -m dev="$data/dev.jsonl" -m test="$data/test.jsonl" --lm "$exp_dir/lm" --tune-on dev \
        --tune-budget "$tune_budget"
}

wav2vec_features=(features.kind=wav2vec features.wav2vec.checkpoint="$pretrain_dir/checkpoints/last.ckpt")

if run_stage 4; then
    log_stage 4 "log-mel acoustic model"
    train_model logmel "$am_conf" "$data/train.jsonl" "$data/dev.jsonl"
fi
if run_stage 5; then
    log_stage 5 "decode log-mel model"
    decode_both logmel
fi
if run_stage 6; then
    log_stage 6 "wav2vec pretraining on the training audio"
    pretrain_wav2vec "$pretrain_dir" "$wav2vec_pretrain_conf" "$data/train.jsonl" "$data/dev.jsonl"
fi
if run_stage 7; then
    log_stage 7 "wav2vec acoustic model"
    train_model "$wav2vec_run" "$am_conf" "$data/train.jsonl" "$data/dev.jsonl" "${wav2vec_features[@]}"
fi
if run_stage 8; then
    log_stage 8 "decode wav2vec model"
    decode_both "$wav2vec_run"
fi
if run_stage 9 && [ -n "$sweep" ]; then
    log_stage 9 "labelled-data sweep over ${sweep} (conf/sweep.yaml)"
    only=$([ "$sweep" = all-subsets ] && echo "[]" || echo "[$sweep]")
    sweep_runs "$here/conf/sweep.yaml" base_config="$am_conf" only_subsets="$only" updates_per_cell="$sweep_steps" \
        feature_sets.wav2vec.features.wav2vec.checkpoint="$pretrain_dir/checkpoints/last.ckpt" \
        decode.tune_budget="$tune_budget"
fi
if run_stage 10; then
    log_stage 10 "report"
    report_runs librispeech
fi
echo "done in ${SECONDS}s; results: $exp_dir/report/results.md"

#!/usr/bin/env bash
# WSJ recipe, the paper's headline table: log-mel against wav2vec features for a CTC letter model trained on si284,
# decoded greedily and with a 4-gram LM (weights tuned on dev93), scored on dev93 (nov93dev) and eval92 (nov92),
# and the low-resource comparison on an 8 h subset.
#
#   recipes/wsj/run.sh --wsj0 /data/LDC93S6B --wsj1 /data/LDC94S13B [--stage N] [--stop-stage M]
#   recipes/wsj/run.sh --corpus-dir /data/wsj                  (one folder holding both, discs or flattened)
#
# Stages (each idempotent; outputs under --exp-dir):
#   1 prepare       the LDC discs -> si84, si284, dev93, eval92 manifests, the normalised LM text, the 20k vocabulary
#   2 subsets       nested, seeded, speaker-balanced subsets of --subset-source (si84) of --subset-hours, each within
#                   --subset-tolerance (1%) of its size
#   3 lm            --lm-order (4)-gram KenLM on the WSJ LM text + si284 transcripts; lexicon of the si284 and dev93
#                   words as the paper (--lexicon 20k: WSJ's 20k open vocabulary)
#   4 logmel        log-mel features -> acoustic model on --train-set (si284), validated on dev93
#   5 decode        greedy and lexicon + LM beam search on dev93 and eval92, LM weights tuned on dev93
#   6 pretrain      wav2vec on the --train-set audio (transcripts unused); skipped with --checkpoint FILE, a wav2vec
#                   checkpoint of ours or fairseq's (e.g. the published wav2vec_large.pt)
#   7 wav2vec       wav2vec features -> acoustic model
#   8 decode        wav2vec model, as stage 5
#   9 low-resource  `asr-bench sweep` of conf/sweep.yaml: both feature types on the --low-resource subset (8h) and on
#                   each --sweep subset, decoded as above
#  10 report        every run against the paper's WSJ table (asr-bench report --corpus wsj)
# --am-config: the acoustic model (default conf/acoustic_model.yaml, sized for a CPU; conf/acoustic_model_paper.yaml
# is the paper's gated ConvNet, for a GPU). --pretrain-config: wav2vec (default ../librispeech/conf/wav2vec_cpu.yaml;
# wav2vec_base.yaml / wav2vec_large.yaml on a GPU). Extra KEY=VALUE arguments after `--` override the acoustic-model
# configs (e.g. -- trainer.max_epochs=3). --skip-bad true leaves unusable utterances out (listed in summary.json).
wsj0=""
wsj1=""
corpus_dir=""
exp_dir="$(cd "$(dirname "$0")" && pwd)/exp"
seed=0
skip_bad=false
train_set=si284
subset_source=si84
subset_hours=1h,2h,4h,8h
subset_tolerance=0.01
low_resource=8h
sweep=""                 # more subsets of --subset-hours for stage 9, e.g. 1h,2h,4h
lexicon=si284+dev93      # or 20k
lm_order=4
am_config=""
pretrain_config=""
checkpoint=""
tune_budget=0
source "$(dirname "$0")/../common/recipe.sh"
parse_options "$@"
here=$recipe_dir
am_conf=${am_config:-$here/conf/acoustic_model.yaml}
pretrain_conf=${pretrain_config:-$repo_root/recipes/librispeech/conf/wav2vec_cpu.yaml}
data="$exp_dir/data"
corpus="$data/corpus"
subsets="$data/subsets"
pretrain_dir="$exp_dir/pretrain"
mkdir -p "$exp_dir"
SECONDS=0

if run_stage 1; then
    [ -n "$wsj0$wsj1$corpus_dir" ] || die "stage 1 needs --wsj0 and --wsj1, or --corpus-dir"
    log_stage 1 "prepare WSJ"
    where=()
    [ -z "$wsj0" ] || where+=(--wsj0 "$wsj0")
    [ -z "$wsj1" ] || where+=(--wsj1 "$wsj1")
    [ -z "$corpus_dir" ] || where+=(--corpus-dir "$corpus_dir")
    [ "$skip_bad" = false ] || where+=(--skip-bad)
    "$asr" prepare wsj ${where[@]+"${where[@]}"} --out-dir "$corpus" --lm-text "$corpus/lm_text.txt"
fi

if run_stage 2; then
    log_stage 2 "nested labelled subsets of $subset_source: $subset_hours"
    "$asr" split --manifest "$corpus/$subset_source.jsonl" --out-dir "$subsets" --no-hold-out --seed "$seed" \
        --subset-hours "$subset_hours" --subset-tolerance "$subset_tolerance"
fi

if run_stage 3; then
    log_stage 3 "$lm_order-gram LM on the WSJ LM text and the si284 transcripts, lexicon $lexicon"
    case "$lexicon" in
        si284+dev93) words=(--lexicon-manifest "$corpus/si284.jsonl" --lexicon-manifest "$corpus/dev93.jsonl") ;;
        20k) words=(--lexicon-words "$corpus/vocab_20k.txt") ;;
        *) die "--lexicon is si284+dev93 or 20k, not '$lexicon'" ;;
    esac
    "$asr" lm build --order "$lm_order" --out "$exp_dir/lm" --text "$corpus/lm_text.txt" \
        --train-manifest "$corpus/si284.jsonl" "${words[@]}"
fi

decode_wsj() {  # name
    decode_model "$1" -m dev93="$corpus/dev93.jsonl" -m eval92="$corpus/eval92.jsonl" --lm "$exp_dir/lm" \
        --tune-on dev93 --tune-budget "$tune_budget"
}

wav2vec_features=(features.kind=wav2vec features.wav2vec.checkpoint="${checkpoint:-$pretrain_dir/checkpoints/last.ckpt}")

if run_stage 4; then
    log_stage 4 "log-mel acoustic model on $train_set"
    train_model logmel "$am_conf" "$corpus/$train_set.jsonl" "$corpus/dev93.jsonl"
fi
if run_stage 5; then
    log_stage 5 "decode log-mel model"
    decode_wsj logmel
fi
if run_stage 6 && [ -z "$checkpoint" ]; then
    log_stage 6 "wav2vec pretraining on the $train_set audio"
    pretrain_wav2vec "$pretrain_dir" "$pretrain_conf" "$corpus/$train_set.jsonl" "$corpus/dev93.jsonl"
fi
if run_stage 7; then
    log_stage 7 "wav2vec acoustic model on $train_set"
    train_model wav2vec "$am_conf" "$corpus/$train_set.jsonl" "$corpus/dev93.jsonl" "${wav2vec_features[@]}"
fi
if run_stage 8; then
    log_stage 8 "decode wav2vec model"
    decode_wsj wav2vec
fi
if run_stage 9; then
    sizes=$(echo "$low_resource,$sweep" | tr ',' '\n' | awk 'NF && !seen[$0]++' | paste -sd, -)
    log_stage 9 "low-resource: both feature types on the $sizes subsets (conf/sweep.yaml)"
    sweep_runs "$here/conf/sweep.yaml" base_config="$am_conf" only_subsets="[$sizes]" seeds="[$seed]" \
        subsets="{$(for size in ${sizes//,/ }; do printf '%s: %s, ' "$size" "$subsets/${subset_source}_$size.jsonl"; done)}" \
        feature_sets.wav2vec.features.wav2vec.checkpoint="${checkpoint:-$pretrain_dir/checkpoints/last.ckpt}" \
        decode.tune_budget="$tune_budget"
fi
if run_stage 10; then
    log_stage 10 "report"
    report_runs wsj
fi
echo "done in ${SECONDS}s; results: $exp_dir/report/results.md"

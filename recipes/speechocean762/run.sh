#!/usr/bin/env bash
# speechocean762 recipe: log-mel vs wav2vec features for a CTC phone model (ARPAbet-39), PER with greedy decoding
# and with a phone 4-gram LM.
#
#   recipes/speechocean762/run.sh --corpus-dir ../shared/data/speechocean762 [--stage N] [--stop-stage M]
#
# Stages (each idempotent; outputs under --exp-dir):
#   1 prepare     train/ (and test/ where the copy has it) -> train/dev/test manifests with canonical phones; dev
#                 (and test, without test/) speakers held out of train/, balanced by gender and child/adult
#   2 subsets     nested, speaker-balanced labelled subsets of train (--subset-hours)
#   3 lm          phone 4-gram on the training phones (dev/test phone sequences excluded)
#   4 logmel      log-mel features -> phone model
#   5 decode      log-mel model: greedy, and lexicon-free beam search with the phone LM (its weight tuned on dev)
#   6 pretrain    wav2vec on the training audio, transcripts unused (skipped with --checkpoint)
#   7 wav2vec     wav2vec features -> phone model
#   8 decode      wav2vec model: greedy and beam search
#   9 sweep       with --sweep 30min,1h,... (or all-subsets): `asr-bench sweep` of conf/sweep.yaml over those labelled
#                 subsets x {log-mel, wav2vec} x its seeds, each cell trained for --sweep-steps updates, decoded as above
#  10 report      tables (Markdown/CSV/JSON), plots and RESULTS.md of every run and sweep cell: PER on dev and test
# --checkpoint FILE: wav2vec features from this checkpoint (ours, or a fairseq wav2vec 1.0 file such as
# wav2vec_large.pt) instead of stage 6's. --pretrain-config FILE: stage 6's config (default: the LibriSpeech
# recipe's conf/wav2vec_cpu.yaml). Extra KEY=VALUE arguments after `--` override the acoustic-model config
# (e.g. -- trainer.max_epochs=3).
corpus_dir=""
exp_dir="$(cd "$(dirname "$0")" && pwd)/exp"
seed=0
dev_speakers_per_group=2            # held-out speakers from each gender x child/adult group
test_speakers_per_group=2           # the same for test, when the copy has no test/
subset_hours=10min,30min,1h,2h      # nested labelled subsets of train, for the labelled-data sweep
subset_tolerance=0.02               # largest relative gap between a subset's hours and its target
lm_order=4
checkpoint=""
pretrain_config=""
sweep=""                            # labelled subsets for stage 9, e.g. 30min,1h (from --subset-hours), or all-subsets
sweep_steps=0                       # updates per sweep cell; 0: conf/acoustic_model.yaml's schedule
tune_budget=0
stop_stage=10
source "$(dirname "$0")/../common/recipe.sh"
parse_options "$@"
here=$recipe_dir

data="$exp_dir/data"
am_conf="$here/conf/acoustic_model.yaml"
pretrain_conf=${pretrain_config:-$here/../librispeech/conf/wav2vec_cpu.yaml}
wav2vec_checkpoint=${checkpoint:-$exp_dir/pretrain/checkpoints/last.ckpt}
mkdir -p "$exp_dir"
SECONDS=0

if run_stage 1; then
    [ -n "$corpus_dir" ] || die "--corpus-dir is required for stage 1"
    log_stage 1 "prepare $corpus_dir"
    "$asr" prepare speechocean762 --corpus-dir "$corpus_dir" --out-dir "$data" --seed "$seed" \
        --dev-speakers-per-group "$dev_speakers_per_group" --test-speakers-per-group "$test_speakers_per_group"
fi

if run_stage 2; then
    log_stage 2 "nested labelled subsets of train: $subset_hours"
    "$asr" split --manifest "$data/train.jsonl" --out-dir "$data/subsets" --no-hold-out --seed "$seed" \
        --subset-hours "$subset_hours" --subset-tolerance "$subset_tolerance"
fi

if run_stage 3; then
    log_stage 3 "phone $lm_order-gram on the training phones"
    "$asr" lm build --unit phones --phone-set arpabet39 --order "$lm_order" --out "$exp_dir/phone_lm" \
        --train-manifest "$data/train.jsonl" --exclude-manifest "$data/dev.jsonl" --exclude-manifest "$data/test.jsonl"
fi

decode_both() {  # name
    decode_model "$1" -m dev="$data/dev.jsonl" -m test="$data/test.jsonl" --lm "$exp_dir/phone_lm" --tune-on dev \
        --tune-budget "$tune_budget"
}

if run_stage 4; then
    log_stage 4 "log-mel phone model"
    train_model logmel "$am_conf" "$data/train.jsonl" "$data/dev.jsonl"
fi
if run_stage 5; then
    log_stage 5 "decode log-mel model"
    decode_both logmel
fi
if run_stage 6 && [ -z "$checkpoint" ]; then
    log_stage 6 "wav2vec pretraining on the training audio"
    pretrain_wav2vec "$exp_dir/pretrain" "$pretrain_conf" "$data/train.jsonl" "$data/dev.jsonl"
fi
if run_stage 7; then
    log_stage 7 "wav2vec phone model ($wav2vec_checkpoint)"
    train_model wav2vec "$am_conf" "$data/train.jsonl" "$data/dev.jsonl" \
        features.kind=wav2vec features.wav2vec.checkpoint="$wav2vec_checkpoint"
fi
if run_stage 8; then
    log_stage 8 "decode wav2vec model"
    decode_both wav2vec
fi
if run_stage 9 && [ -n "$sweep" ]; then
    log_stage 9 "labelled-data sweep over ${sweep} (conf/sweep.yaml)"
    only=$([ "$sweep" = all-subsets ] && echo "[]" || echo "[$sweep]")
    sweep_runs "$here/conf/sweep.yaml" base_config="$am_conf" only_subsets="$only" updates_per_cell="$sweep_steps" \
        feature_sets.wav2vec.features.wav2vec.checkpoint="$wav2vec_checkpoint" decode.tune_budget="$tune_budget"
fi
if run_stage 10; then
    log_stage 10 "report"
    report_runs speechocean762
fi
echo "done in ${SECONDS}s; results: $exp_dir/report/results.md"

#!/usr/bin/env bash
# speechocean762 recipe: log-mel vs wav2vec features for a CTC phone model (ARPAbet-39), PER with greedy decoding
# and with a phone 4-gram LM.
#
#   recipes/speechocean762/run.sh --corpus-dir ../shared/data/speechocean762 [--stage N] [--stop-stage M]
#
# Stages (each idempotent; outputs under --exp-dir):
#   1 prepare     train/ (and test/ where the copy has it) -> train/dev/test manifests with canonical phones; dev
#                 (and test, without test/) speakers held out of train/, balanced by gender and child/adult
#   2 lm          phone 4-gram on the training phones (dev/test phone sequences excluded)
#   3 logmel      log-mel features -> phone model
#   4 decode      log-mel model: greedy, and lexicon-free beam search with the phone LM (its weight tuned on dev)
#   5 pretrain    wav2vec on the training audio, transcripts unused (skipped with --checkpoint)
#   6 wav2vec     wav2vec features -> phone model
#   7 decode      wav2vec model: greedy and beam search
#   8 report      results table (Markdown/CSV/JSON) of every run: PER on dev and test
# --checkpoint FILE: wav2vec features from this checkpoint (ours, or a fairseq wav2vec 1.0 file such as
# wav2vec_large.pt) instead of stage 5's. --pretrain-config FILE: stage 5's config (default: the LibriSpeech
# recipe's conf/wav2vec_cpu.yaml). Extra KEY=VALUE arguments after `--` override the acoustic-model config
# (e.g. -- trainer.max_epochs=3).
corpus_dir=""
exp_dir="$(cd "$(dirname "$0")" && pwd)/exp"
seed=0
dev_speakers_per_group=2            # held-out speakers from each gender x child/adult group
test_speakers_per_group=2           # the same for test, when the copy has no test/
lm_order=4
checkpoint=""
pretrain_config=""
stop_stage=8
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
    log_stage 2 "phone $lm_order-gram on the training phones"
    "$asr" lm build --unit phones --phone-set arpabet39 --order "$lm_order" --out "$exp_dir/phone_lm" \
        --train-manifest "$data/train.jsonl" --exclude-manifest "$data/dev.jsonl" --exclude-manifest "$data/test.jsonl"
fi

decode_both() {  # name
    decode_model "$1" -m dev="$data/dev.jsonl" -m test="$data/test.jsonl" --lm "$exp_dir/phone_lm" --tune-on dev
}

if run_stage 3; then
    log_stage 3 "log-mel phone model"
    train_model logmel "$am_conf" "$data/train.jsonl" "$data/dev.jsonl"
fi
if run_stage 4; then
    log_stage 4 "decode log-mel model"
    decode_both logmel
fi
if run_stage 5 && [ -z "$checkpoint" ]; then
    log_stage 5 "wav2vec pretraining on the training audio"
    "$asr" pretrain -c "$pretrain_conf" out_dir="$exp_dir/pretrain" seed="$seed" \
        data.waveform_cache_dir="$exp_dir/waveforms" \
        data.train_manifests="[$data/train.jsonl]" data.valid_manifests="[$data/dev.jsonl]"
fi
if run_stage 6; then
    log_stage 6 "wav2vec phone model ($wav2vec_checkpoint)"
    train_model wav2vec "$am_conf" "$data/train.jsonl" "$data/dev.jsonl" \
        features.kind=wav2vec features.wav2vec.checkpoint="$wav2vec_checkpoint"
fi
if run_stage 7; then
    log_stage 7 "decode wav2vec model"
    decode_both wav2vec
fi
if run_stage 8; then
    log_stage 8 "report"
    report_runs "" --metric per
fi
echo "done in ${SECONDS}s; results: $exp_dir/report/results.md"

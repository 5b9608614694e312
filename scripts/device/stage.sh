#!/usr/bin/env bash
# Here, before a GPU session: put what the lent GPU machine lacks into git-ignored folders that `carry` sends.
#
#   bash scripts/device/stage.sh [CORPUS_DIR]      (default ../shared/data/librispeech-mini/LibriSpeech)
#
#   .whl/                Python 3.12 wheels the GPU image lacks: soundfile (+cffi, pycparser), jiwer
#                        (+rapidfuzz), flashlight-text. KenLM is not needed there: the LM is built here
#                        (recipe stage 3) and carried as recipes/librispeech/exp/lm.
#   .carry/audio-1.tar   the corpus, split by speaker into two tars under 60 MiB each, because one call
#   .carry/audio-2.tar   carries at most 64 MiB: send one per call (scripts/device/run.sh unpack).
#
# Then the calls, in order, are listed in scripts/device/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${1:-../shared/data/librispeech-mini/LibriSpeech}
limit=$((60 * 1024 * 1024))
[ -d "$corpus" ] || { echo "stage: $corpus is not a directory" >&2; exit 2; }

mkdir -p .whl .carry
rm -f .whl/*.whl .carry/audio-*.tar
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl soundfile cffi pycparser jiwer rapidfuzz flashlight-text==0.0.7

# Speakers in two groups of about equal size (greedy by size), the corpus' top-level files in the first.
parent=$(cd "$corpus/.." && pwd)
name=$(basename "$corpus")
mapfile -t speakers < <(cd "$parent" && du -sb "$name"/*/* | sort -rn | cut -f2)
groups=("" "")
sizes=(0 0)
for dir in "${speakers[@]}"; do
    size=$(cd "$parent" && du -sb "$dir" | cut -f1)
    g=$([ "${sizes[0]}" -le "${sizes[1]}" ] && echo 0 || echo 1)
    groups[$g]+="$dir"$'\n'
    sizes[$g]=$((sizes[g] + size))
done
top=$(cd "$parent" && find "$name" -maxdepth 1 -type f)
for g in 0 1; do
    list=$( { [ "$g" = 0 ] && echo "$top"; printf '%s' "${groups[$g]}"; } | sed '/^$/d')
    (cd "$parent" && tar -cf - -T <(echo "$list")) > ".carry/audio-$((g + 1)).tar"
    size=$(stat -c %s ".carry/audio-$((g + 1)).tar")
    [ "$size" -lt "$limit" ] || { echo "stage: .carry/audio-$((g + 1)).tar is $size bytes, over 60 MiB" >&2; exit 1; }
done
ls -l .whl .carry

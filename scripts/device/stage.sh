#!/usr/bin/env bash
# Here, before a GPU call: what the GPU machine lacks, put into git-ignored folders that `carry` sends.
#
#   bash scripts/device/stage.sh [EXP_DIR]      (default recipes/librispeech/exp, after the recipe's stages 1-2)
#
#   .whl/                 Python 3.12 wheels the GPU image lacks for pretraining: soundfile (+cffi, pycparser).
#                         jiwer, KenLM and flashlight-text stay here: decoding runs here.
#   .carry/pretrain.tar   all the training audio the project has: the recipe's train split of mini LibriSpeech
#                         (EXP_DIR/data/train.jsonl) and speechocean762's train half (SPEECHOCEAN, its Kaldi-style
#                         train/wav.scp), plus 20 dev utterances for validation, with manifests train.jsonl /
#                         valid.jsonl whose audio paths are relative to the tar's root (scripts/device/run.sh makes
#                         them absolute there). The audio is re-encoded as Ogg/Opus at the bitrate that makes
#                         everything that travels fit one call's 64 MiB (about 7.7 h in about 55 MiB: 16-17 kbit/s
#                         against the shared copy's 31; less where the tree holds more, e.g. a ready model).
#   .carry/audio.json     what was staged: hours, utterances per corpus, the bitrate (for the model card)
#   .carry/commit         the commit staged, which results name there (the .git that travels can be stale)
#
# STAGE_UTTERANCES=N stages the first N training utterances only (a quick try of the scripts).
# Then the calls in scripts/device/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
exp=${1:-recipes/librispeech/exp}
python=${PYTHON:-.venv/bin/python}
speechocean=${SPEECHOCEAN:-../shared/data/speechocean762}
limit_mib=${CALL_LIMIT_MIB:-64}
for split in train dev; do
    [ -f "$exp/data/$split.jsonl" ] || { echo "stage: no $exp/data/$split.jsonl: run the recipe's stages 1-2 first" >&2; exit 2; }
done
[ -f "$speechocean/train/wav.scp" ] || { echo "stage: no $speechocean/train/wav.scp (speechocean762's Kaldi-style train half)" >&2; exit 2; }

mkdir -p .whl .carry
rm -f .whl/*.whl .carry/*.tar .carry/audio.json
# The .git that travels with the copy can be older than the tree: results name this commit (stage right before the call).
echo "$(git rev-parse HEAD)$([ -z "$(git status --porcelain --untracked-files=no)" ] || echo +dirty)" > .carry/commit
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl soundfile cffi pycparser
# Everything else that travels: tracked files and untracked ones git does not ignore, and the wheels.
tree_bytes=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
wheel_bytes=$(du -cb .whl/*.whl | tail -1 | cut -f1)

"$python" - "$exp/data" "$speechocean" "$((limit_mib * 1048576 - tree_bytes - wheel_bytes - 1048576))" .carry/pretrain.tar \
    "${STAGE_UTTERANCES:-0}" <<'EOF'
import io
import json
import os
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import soundfile

data, speechocean, budget, out, limit = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5])
RATE = 16_000
librispeech = [json.loads(line) for line in (data / "train.jsonl").open()]
dev = [json.loads(line) for line in (data / "dev.jsonl").open()]
valid = dev[:: max(1, len(dev) // 20)][:20]  # spread over the held-out speakers
texts = dict(line.rstrip("\n").split(" ", 1) for line in (speechocean / "train" / "text").open() if " " in line)
ocean = []
for line in (speechocean / "train" / "wav.scp").open():
    utt, path = line.split()
    info = soundfile.info(speechocean / path)
    ocean.append({"id": f"so762-{utt}", "audio": str(speechocean / path), "duration": info.frames / info.samplerate,
                  "speaker": f"so762-{Path(path).parent.name}", "text": texts.get(utt, "")})
train = librispeech + ocean
if limit:
    train = train[:limit]


def encode(row: dict, level: float) -> bytes:
    """The utterance as Ogg/Opus at compression `level`: libsndfile keeps the sample count."""
    samples, rate = soundfile.read(row["audio"], dtype="float32")
    if rate != RATE:
        raise SystemExit(f"{row['audio']}: {rate} Hz, expected {RATE}")
    buffer = io.BytesIO()
    buffer.name = "x.opus"
    soundfile.write(buffer, samples, RATE, format="OGG", subtype="OPUS", compression_level=level)
    return buffer.getvalue()


def in_tar(size: int) -> int:
    return 512 + -(-size // 512) * 512  # header block, data padded to whole blocks


threads = os.cpu_count() or 1
seconds = sum(row["duration"] for row in train + valid)
budget -= 10240 + 2 * 1024 + 200 * len(train + valid)  # end blocks, the manifests' headers, their lines
# Calibrate: bytes per second of audio at a few compression levels, on every 40th utterance.
sample = (train + valid)[:: max(1, len(train + valid) // 40)]
sample_seconds = sum(row["duration"] for row in sample)
with ThreadPoolExecutor(threads) as pool:
    rates = {level: sum(in_tar(len(b)) for b in pool.map(lambda r: encode(r, level), sample)) / sample_seconds
             for level in (0.9, 0.93, 0.95, 0.96, 0.97, 0.98, 0.99)}
fitting = [level for level, rate in rates.items() if rate * seconds * 1.06 <= budget]  # 6 % for the sample's error
if not fitting:
    raise SystemExit(f"stage: {seconds / 3600:.2f} h of audio do not fit {budget / 2**20:.1f} MiB even at the lowest bitrate")
level = min(fitting)
with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(threads) as pool:
    encoded = list(pool.map(lambda r: encode(r, level), train + valid))
    chosen, size = [], sum(in_tar(len(b)) for b in encoded[len(train):])  # the validation audio first
    for row, blob in zip(train, encoded):
        if size + in_tar(len(blob)) > budget:
            break  # only when the calibration was off: the rest is left out, and said so below
        chosen.append((row, blob))
        size += in_tar(len(blob))
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:  # no per-file PAX headers
        for name, rows in (("train.jsonl", chosen), ("valid.jsonl", list(zip(valid, encoded[len(train):])))):
            entries = []
            for row, blob in rows:
                member = f"audio/{row['id']}.opus"
                info = tarfile.TarInfo(member)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
                entries.append(json.dumps({**row, "audio": member}))
            text = "".join(line + "\n" for line in entries).encode()
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
hours = lambda rows: sum(row["duration"] for row in rows) / 3600
kbit = rates[level] * 8 / 1000
assert out.stat().st_size <= budget + 10240, f"{out} is over its budget"
kept = [r for r, _ in chosen]
(out.parent / "audio.json").write_text(json.dumps({  # what the model card says of the audio (scripts/device/collect.sh)
    "train_hours": hours(kept), "train_utterances": len(kept),
    "librispeech_utterances": sum(not r["id"].startswith("so762-") for r in kept),
    "speechocean762_utterances": sum(r["id"].startswith("so762-") for r in kept),
    "valid_utterances": len(valid), "opus_compression_level": level, "kbit_per_s": round(kbit, 1),
}, indent=2))
print(f"{out}: {len(chosen)}/{len(train)} training utterances ({hours([r for r, _ in chosen]):.2f} of {hours(train):.2f} h: "
      f"{len(librispeech)} mini LibriSpeech, {len(ocean)} speechocean762), {len(valid)} dev utterances; Opus at compression "
      f"{level} (about {kbit:.1f} kbit/s in the tar), {out.stat().st_size / 2**20:.1f} MiB of {budget / 2**20:.1f} MiB")
EOF
ls -l .whl .carry

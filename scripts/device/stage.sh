#!/usr/bin/env bash
# Here, before a GPU session: what the lent GPU machine lacks, put into git-ignored folders that `carry` sends.
#
#   bash scripts/device/stage.sh [EXP_DIR]      (default recipes/librispeech/exp, after the recipe's stages 1-2)
#
#   .whl/                 Python 3.12 wheels the GPU image lacks for pretraining: soundfile (+cffi, pycparser).
#                         jiwer, KenLM and flashlight-text stay here: decoding runs here.
#   .carry/pretrain.tar   the recipe's training audio, as much of it as fits one call (64 MiB with the code and
#                         wheels: 4.36 of the 4.78 h of the recipe's train split), and 20 dev utterances
#                         for validation, with manifests train.jsonl / valid.jsonl whose audio paths are relative
#                         to the tar's root (scripts/device/run.sh makes them absolute there).
#   .carry/commit         the commit staged, which results name there (the .git that travels can be stale)
#
# Then the one device call in scripts/device/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
exp=${1:-recipes/librispeech/exp}
python=${PYTHON:-.venv/bin/python}
audio_budget_mib=${AUDIO_BUDGET_MIB:-60}
for split in train dev; do
    [ -f "$exp/data/$split.jsonl" ] || { echo "stage: no $exp/data/$split.jsonl: run the recipe's stages 1-2 first" >&2; exit 2; }
done

mkdir -p .whl .carry
rm -f .whl/*.whl .carry/*.tar
# The .git that travels with the copy can be older than the tree: results name this commit (stage right before the call).
echo "$(git rev-parse HEAD)$([ -z "$(git status --porcelain --untracked-files=no)" ] || echo +dirty)" > .carry/commit
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl soundfile cffi pycparser

"$python" - "$exp/data" "$audio_budget_mib" .carry/pretrain.tar <<'EOF'
import io
import json
import os
import sys
import tarfile
from pathlib import Path

data, budget, out = Path(sys.argv[1]), int(sys.argv[2]) * 2**20, Path(sys.argv[3])
train = [json.loads(line) for line in (data / "train.jsonl").open()]
dev = [json.loads(line) for line in (data / "dev.jsonl").open()]
valid = dev[:: max(1, len(dev) // 20)][:20]  # spread over the held-out speakers
root = Path(os.path.commonpath([row["audio"] for row in train + valid]))


def relative(row: dict) -> dict:
    return {**row, "audio": str(Path(row["audio"]).relative_to(root))}


def in_tar(row: dict) -> int:
    """Bytes an utterance takes in the tar: the audio's header block and data padded to whole blocks, its manifest line."""
    return 512 + -(-os.path.getsize(row["audio"]) // 512) * 512 + len(json.dumps(relative(row))) + 1


budget -= 10240 + 2 * 1024 + sum(in_tar(row) for row in valid)  # end blocks, the manifests' headers and padding
chosen, size = [], 0
for row in train:  # manifest order: whole speakers first, the last ones left out when the budget ends
    if size + in_tar(row) > budget:
        break
    chosen.append(row)
    size += in_tar(row)
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:  # no per-file PAX headers
    for name, rows in (("train.jsonl", chosen), ("valid.jsonl", valid)):
        text = "".join(json.dumps(relative(row)) + "\n" for row in rows).encode()
        info = tarfile.TarInfo(name)
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        for row in rows:
            tar.add(row["audio"], arcname=relative(row)["audio"])
hours = lambda rows: sum(row["duration"] for row in rows) / 3600
assert out.stat().st_size <= int(sys.argv[2]) * 2**20, f"{out} is over its budget"
print(f"{out}: {len(chosen)}/{len(train)} training utterances ({hours(chosen):.2f} of {hours(train):.2f} h), "
      f"{len(valid)} dev utterances ({hours(valid):.2f} h), {out.stat().st_size / 2**20:.1f} MiB")
EOF
ls -l .whl .carry

"""Shorten decoding speed, in audio-seconds per second, with desphere's Rust accelerator and without it, on this CPU.

    python benchmarks/shorten_decode.py [--utterances 10] [--repeats 5] [--out benchmarks/results/FILE.jsonl]

The files are WSJ-style `.wv1` (SPHERE header + shorten v2 stream, coded as NIST's encoder does by default:
256-sample blocks, the best fixed predictor per block; tests/sphere_fixtures.py) made from the real speech of
../shared/data/ci, one speaker's utterances joined to at least WSJ's 7.8 s per utterance. Each mode runs in a
process of its own, pinned to one core with one torch thread (as decode_rtf.py): "desphere-native" as installed,
"pure Python" with desphere_native unimportable (what an install without its wheel gets). Both read the files
through `asr_bench.data.audio.load_audio`, the call every cache build makes, and must give identical samples
before their times count. A mode's speed is its audio seconds over the median of `--repeats` passes over all
files. Prints one JSON line (both modes, their ratio, the hours si284's 81 h would take on one core, the load
average while measuring, hardware, versions, commit), appended to --out if given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CI_DATA = REPO.parent / "shared" / "data" / "ci"
WSJ_SECONDS_PER_UTTERANCE = 7.8  # si284: 81 h over 37416 utterances
SI284_HOURS = 81
MODES = ("desphere-native", "pure Python")


def write_files(out_dir: Path, count: int) -> list[Path]:
    """Up to `count` `.wv1` files of joined ci LibriSpeech utterances, each at least WSJ's mean length."""
    import csv

    import numpy as np
    import soundfile

    sys.path.insert(0, str(REPO / "tests"))  # the shorten writer is a test fixture, not part of the package
    from sphere_fixtures import write_shorten_sphere

    with (CI_DATA / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["corpus"] == "librispeech"]
    by_speaker: dict[str, list[np.ndarray]] = {}
    for row in sorted(rows, key=lambda r: r["utt_id"]):
        samples, rate = soundfile.read(str(CI_DATA / row["path"]), dtype="int16")
        if rate != 16_000:
            raise SystemExit(f"{row['path']}: {rate} Hz, expected 16000")
        by_speaker.setdefault(row["speaker"], []).append(samples)
    files: list[Path] = []
    for speaker, pieces in sorted(by_speaker.items()):
        joined: list[np.ndarray] = []
        for piece in pieces:
            joined.append(piece)
            if sum(len(p) for p in joined) >= WSJ_SECONDS_PER_UTTERANCE * 16_000 and len(files) < count:
                files.append(write_shorten_sphere(out_dir / f"{speaker}_{len(files):03d}.wv1", np.concatenate(joined)))
                joined = []
    return files


def child(mode: str, files: list[Path], repeats: int) -> dict[str, Any]:
    """Time `load_audio` over the files in this process; `mode` "pure Python" hides desphere_native first."""
    if mode == "pure Python":
        sys.modules["desphere_native"] = None  # type: ignore[assignment]  # import fails: desphere's pure path
    import desphere
    import numpy as np

    from asr_bench.data.audio import SAMPLE_RATE_HZ, load_audio
    from decode_rtf import pin_to_one_core

    if desphere.native_available() != (mode == "desphere-native"):
        raise SystemExit(f"{mode}: desphere.native_available() is {desphere.native_available()}")
    cores = pin_to_one_core()
    digest = hashlib.sha256()
    audio_s = 0.0
    for path in files:  # the first pass checks the samples and warms the file cache
        samples = load_audio(path).numpy()
        digest.update(np.round(samples * 32768).astype(np.int16).tobytes())
        audio_s += len(samples) / SAMPLE_RATE_HZ
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for path in files:
            load_audio(path)
        passes.append(time.perf_counter() - started)
    median_s = statistics.median(passes)
    return {"mode": mode, "audio_s": audio_s, "pass_s": passes, "median_pass_s": median_s,
            "audio_s_per_s": audio_s / median_s, "samples_sha256": digest.hexdigest(), "pinned_cores": cores}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from asr_bench.provenance import provenance

    with tempfile.TemporaryDirectory(prefix="shorten_decode_") as tmp:
        files = write_files(Path(tmp), args.utterances)
        rows = []
        for mode in MODES:
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--repeats", str(args.repeats), *map(str, files)],
                capture_output=True, text=True,
            )
            if done.returncode != 0:
                raise SystemExit(f"{mode} run failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if len({row["samples_sha256"] for row in rows}) != 1:
        raise SystemExit("the two modes decoded different samples: the speeds are not comparable")
    native, pure = rows
    return {
        "benchmark": "shorten_decode",
        "files": len(files),
        "mean_utterance_s": native["audio_s"] / len(files),
        "rows": rows,
        "native_over_pure": native["audio_s_per_s"] / pure["audio_s_per_s"],
        "si284_hours_to_decode_on_one_core": {row["mode"]: SI284_HOURS / row["audio_s_per_s"] for row in rows},
        "load_average_1min": os.getloadavg()[0],  # other work on the machine while measuring slows both modes
        **provenance(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--utterances", type=int, default=10, help="files to decode (default 10, what ci's speech gives)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over all files per mode (default 5)")
    parser.add_argument("--out", type=Path, help="JSONL file the result line is appended to")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.files, args.repeats)))
        return 0
    line = json.dumps(measure(args))
    print(line)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""NIST SPHERE files for tests and benchmarks: WSJ-style headers, a shorten encoder, header edits.

The real WSJ-style sample (../shared/data/sphere/wsj_style.wv1) is 0.256 s long. To give tests and the
decoding benchmark utterances of realistic length from real speech, `write_shorten_sphere` encodes any
16-bit samples as a shorten v2 stream the way NIST's encoder does by default (blocks of 256 samples, each
coded with the best of the fixed polynomial predictors DIFF0..DIFF3 and a Rice code), after a 1024-byte
SPHERE header with `sample_coding pcm,embedded-shorten-v2.00`. desphere decodes it back bit for bit,
which the tests check; the format itself is desphere's docs/SHORTEN.md (Robinson 1994, TR.156).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HEADER_BYTES = 1024
SHORTEN_CODING = "pcm,embedded-shorten-v2.00"
_BLOCK_SAMPLES = 256
_TYPE_S16LH = 5  # shorten's sample type for 16-bit little-endian PCM
_FN_QUIT, _FN_BLOCKSIZE = 4, 5


def sphere_header(fields: dict[str, int | str], size: int = HEADER_BYTES) -> bytes:
    """`NIST_1A`, the size line, `name -i value` / `name -sN value` lines, `end_head`, space padding."""
    lines = [b"NIST_1A", f"{size:7d}".encode()]
    for name, value in fields.items():
        typed = f"-i {value}" if isinstance(value, int) else f"-s{len(value)} {value}"
        lines.append(f"{name} {typed}".encode())
    body = b"\n".join([*lines, b"end_head"]) + b"\n"
    if len(body) > size:
        raise ValueError(f"SPHERE fields take {len(body)} bytes, more than the {size}-byte header")
    return body + b" " * (size - len(body))


def wsj_header_fields(num_samples: int, sample_rate_hz: int = 16_000, coding: str = SHORTEN_CODING) -> dict[str, int | str]:
    """The header fields of wsj_style.wv1 (as WSJ's .wv1 files carry them), for `num_samples` samples."""
    return {
        "sample_count": num_samples,
        "sample_rate": sample_rate_hz,
        "channel_count": 1,
        "sample_n_bytes": 2,
        "sample_byte_format": "01",
        "sample_sig_bits": 16,
        "sample_coding": coding,
    }


def replace_header(path: Path, **fields: int | str) -> None:
    """Rewrite some fields of a SPHERE file's header in place (same header size), e.g. sample_rate=8000."""
    data = path.read_bytes()
    size = int(data.split(b"\n", 2)[1])
    parsed: dict[str, int | str] = {}
    for line in data[:size].decode("ascii").split("\n")[2:]:
        if line.strip() == "end_head":
            break
        name, kind, value = line.split(None, 2)
        parsed[name] = int(value) if kind == "-i" else value.strip()
    parsed.update(fields)
    path.write_bytes(sphere_header(parsed, size) + data[size:])


class _BitWriter:
    """MSB-first bit packing with shorten's variable-length codes."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, width: int) -> None:
        self.bits.extend((value >> (width - 1 - i)) & 1 for i in range(width))

    def uvar(self, value: int, k: int) -> None:
        self.bits.extend([0] * (value >> k) + [1])
        if k:
            self.put(value & ((1 << k) - 1), k)

    def ulong(self, value: int) -> None:
        k = max(value.bit_length(), 1)
        self.uvar(k, 2)
        self.uvar(value, k)

    def var(self, value: int, k: int) -> None:
        self.uvar(2 * value if value >= 0 else -2 * value - 1, k)

    def to_bytes(self) -> bytes:
        padded = self.bits + [0] * (-len(self.bits) % 8)
        return np.packbits(np.array(padded, dtype=np.uint8)).tobytes()


def _residuals(block: np.ndarray, history: np.ndarray, order: int) -> np.ndarray:
    """Residuals of the order-`order` fixed polynomial predictor (order 0: the sample itself; nmean is 0)."""
    x = np.concatenate([history, block]).astype(np.int64)
    for _ in range(order):
        x = np.diff(x)
    return x[-len(block):]


_RICE_PARAMETERS = np.arange(1, 17)


def _best_rice_parameter(residuals: np.ndarray) -> tuple[int, int]:
    """(bits, k): the Rice parameter that codes these residuals in the fewest bits, and that many bits."""
    folded = np.where(residuals >= 0, 2 * residuals, -2 * residuals - 1)
    bits = ((folded[:, None] >> _RICE_PARAMETERS[None, :]) + 1 + _RICE_PARAMETERS[None, :]).sum(axis=0)
    best = int(np.argmin(bits))
    return int(bits[best]), int(_RICE_PARAMETERS[best])


def encode_shorten(samples: np.ndarray) -> bytes:
    """16-bit mono samples -> a shorten v2 stream (`ajkg`, version 2, blocks, QUIT)."""
    samples = np.asarray(samples, dtype=np.int16).astype(np.int64)
    writer = _BitWriter()
    for value in (_TYPE_S16LH, 1, _BLOCK_SAMPLES, 0, 0, 0):  # type, channels, block size, maxnlpc, nmean, nskip
        writer.ulong(value)
    history = np.zeros(3, dtype=np.int64)
    block_size = _BLOCK_SAMPLES
    for start in range(0, len(samples), _BLOCK_SAMPLES):
        block = samples[start : start + _BLOCK_SAMPLES]
        if len(block) != block_size:
            writer.uvar(_FN_BLOCKSIZE, 2)
            writer.ulong(len(block))
            block_size = len(block)
        (_, k), order = min((_best_rice_parameter(_residuals(block, history, order)), order) for order in range(4))
        writer.uvar(order, 2)  # DIFF0..DIFF3 are function codes 0..3
        writer.uvar(k - 1, 3)  # shorten stores the Rice parameter minus one
        for residual in _residuals(block, history, order):
            writer.var(int(residual), k)
        history = np.concatenate([history, block])[-3:]
    writer.uvar(_FN_QUIT, 2)
    return b"ajkg\x02" + writer.to_bytes()


def write_shorten_sphere(path: Path, samples: np.ndarray, sample_rate_hz: int = 16_000) -> Path:
    """A WSJ-style `.wv1`: SPHERE header plus the shorten stream of `samples` (int16, mono)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sphere_header(wsj_header_fields(len(samples), sample_rate_hz)) + encode_shorten(samples))
    return path

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
_RICE_PARAMETERS = np.arange(1, 17)  # the k of a block's Rice code: shorten stores k - 1 in 3 bits and more


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


def _rice_bits(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Shorten's uvar codes, MSB first: `value >> k` zeros, a one, then the `k` low bits, for every (value, k)."""
    high = values >> k
    lengths = high + 1 + k
    starts = np.cumsum(lengths) - lengths
    bits = np.zeros(int(lengths.sum()), dtype=np.uint8)
    bits[starts + high] = 1
    owner = np.repeat(np.arange(len(values)), k)  # one entry per low bit, naming its value
    first_low = np.cumsum(k) - k
    within = np.arange(len(owner)) - first_low[owner]  # 0 for the most significant low bit
    bits[starts[owner] + high[owner] + 1 + within] = (values[owner] >> (k[owner] - 1 - within)) & 1
    return bits


def _fold(residuals: np.ndarray) -> np.ndarray:
    """Signed -> unsigned as shorten's var() codes them: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ..."""
    return np.where(residuals >= 0, 2 * residuals, -2 * residuals - 1)


def _ulong(value: int) -> list[tuple[int, int]]:
    width = max(value.bit_length(), 1)
    return [(width, 2), (value, width)]


def _blocks(folded: list[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, widths) of consecutive blocks of `size` samples, each coded with its cheapest predictor and k:
    the function code (DIFF0..DIFF3 are 0..3) in 2 bits, k - 1 in 3, then the residuals with k."""
    blocks = [f.reshape(-1, size) for f in folded]  # order -> (blocks, size)
    cost = np.stack([((b[:, :, None] >> _RICE_PARAMETERS) + 1 + _RICE_PARAMETERS).sum(axis=1) for b in blocks])
    best = cost.transpose(1, 0, 2).reshape(len(blocks[0]), -1).argmin(axis=1)  # per block, over (order, k)
    order, k = best // len(_RICE_PARAMETERS), _RICE_PARAMETERS[best % len(_RICE_PARAMETERS)]
    chosen = np.stack(blocks)[order, np.arange(len(order))]
    values = np.concatenate([order[:, None], (k - 1)[:, None], chosen], axis=1)
    widths = np.concatenate([np.full((len(k), 1), 2), np.full((len(k), 1), 3), np.repeat(k[:, None], size, axis=1)], axis=1)
    return values.ravel(), widths.ravel()


def encode_shorten(samples: np.ndarray) -> bytes:
    """16-bit mono samples -> a shorten v2 stream (`ajkg`, version 2, blocks, QUIT)."""
    samples = np.asarray(samples, dtype=np.int16).astype(np.int64)
    # The residuals of each fixed predictor; a block's history is the samples before it (zeros at the start).
    padded = np.concatenate([np.zeros(3, dtype=np.int64), samples])
    folded = [_fold(np.diff(padded, n=order)[3 - order :]) for order in range(4)]
    full = len(samples) - len(samples) % _BLOCK_SAMPLES

    def pairs(items: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        return np.array([v for v, _ in items], dtype=np.int64), np.array([k for _, k in items], dtype=np.int64)

    # type, channels, block size, maxnlpc, nmean, nskip
    codes = [pairs([pair for value in (_TYPE_S16LH, 1, _BLOCK_SAMPLES, 0, 0, 0) for pair in _ulong(value)])]
    if full:
        codes.append(_blocks([f[:full] for f in folded], _BLOCK_SAMPLES))
    if full < len(samples):  # a shorter last block: announce its size first
        codes.append(pairs([(_FN_BLOCKSIZE, 2), *_ulong(len(samples) - full)]))
        codes.append(_blocks([f[full:] for f in folded], len(samples) - full))
    codes.append(pairs([(_FN_QUIT, 2)]))
    values, widths = (np.concatenate(parts) for parts in zip(*codes))
    return b"ajkg\x02" + np.packbits(_rice_bits(values, widths)).tobytes()  # packbits pads the last byte with zeros


def write_shorten_sphere(path: Path, samples: np.ndarray, sample_rate_hz: int = 16_000) -> Path:
    """A WSJ-style `.wv1`: SPHERE header plus the shorten stream of `samples` (int16, mono)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sphere_header(wsj_header_fields(len(samples), sample_rate_hz)) + encode_shorten(samples))
    return path

"""The wav2vec paper's figures (arXiv 1904.05862, final version): the one place they are written down.

Source: ../shared/reference/wav2vec-paper.md. Error rates are in percent, keyed by (split as the
paper names it, metric as asr-bench names it: "wer", "cer" for letters (the paper's LER), "per");
None where the paper gives no figure; `std` is the spread over seeds where the paper gives one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PaperRow:
    system: str
    pretraining: str
    error_rates: dict[tuple[str, str], float | None]
    std: dict[tuple[str, str], float] = field(default_factory=dict)


def _wsj(dev_ler: float, dev_wer: float, eval_ler: float, eval_wer: float) -> dict[tuple[str, str], float | None]:
    return {("nov93dev", "cer"): dev_ler, ("nov93dev", "wer"): dev_wer, ("nov92", "cer"): eval_ler, ("nov92", "wer"): eval_wer}


WSJ_4GRAM = [
    PaperRow("log-mel baseline", "-", _wsj(3.32, 8.57, 2.19, 5.64)),
    PaperRow("wav2vec", "LibriSpeech 80 h", _wsj(3.71, 9.11, 2.17, 5.55)),
    PaperRow("wav2vec", "LibriSpeech 960 h", _wsj(2.85, 7.40, 1.76, 4.57)),
    PaperRow("wav2vec", "LibriSpeech + WSJ 1041 h", _wsj(2.91, 7.59, 1.67, 4.61)),
    PaperRow("wav2vec large", "LibriSpeech 960 h", _wsj(2.73, 6.96, 1.57, 4.32)),
]

# No-LM figures for the same systems, as the vq-wav2vec paper reports them.
WSJ_NO_LM = [
    PaperRow("log-mel baseline", "-", _wsj(6.28, 19.46, 4.14, 13.93)),
    PaperRow("wav2vec", "LibriSpeech 960 h", _wsj(5.07, 16.24, 3.26, 11.20)),
]


def _timit(system: str, pretraining: str, dev: float, dev_std: float, test: float, test_std: float) -> PaperRow:
    return PaperRow(system, pretraining, {("dev", "per"): dev, ("test", "per"): test},
                    {("dev", "per"): dev_std, ("test", "per"): test_std})


TIMIT_PER = [
    _timit("log-mel baseline", "-", 16.9, 0.15, 17.6, 0.11),
    _timit("wav2vec", "LibriSpeech 80 h", 15.5, 0.03, 17.6, 0.12),
    _timit("wav2vec", "LibriSpeech 960 h", 13.6, 0.20, 15.6, 0.23),
    _timit("wav2vec", "LibriSpeech + WSJ", 12.9, 0.18, 14.7, 0.42),
]

# WSJ split names: ours (Kaldi's and ESPnet's spellings, and the paper's own) -> the paper's.
WSJ_PAPER_SPLITS = {
    "dev93": "nov93dev",
    "test_dev93": "nov93dev",
    "nov93dev": "nov93dev",
    "eval92": "nov92",
    "test_eval92": "nov92",
    "nov92": "nov92",
}

# Low-resource WSJ: with about this many labelled hours, wav2vec lowers nov92 WER by up to this much
# relative to log-mel (the paper's figure; its exact points are not given in the text).
WSJ_LOW_RESOURCE_LABELLED_HOURS = 8.0
WSJ_LOW_RESOURCE_MAX_RELATIVE_WER_REDUCTION = 0.36

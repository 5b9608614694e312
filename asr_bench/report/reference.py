"""The wav2vec paper's figures (arXiv 1904.05862, final version): the one place they are written down.

Source: ../shared/reference/wav2vec-paper.md. Rows are (system, pretraining) with
error rates in percent; None where the paper gives no figure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperRow:
    system: str
    pretraining: str
    metrics: dict[str, float | None]


WSJ_4GRAM = [
    PaperRow("log-mel baseline", "-", {"nov93dev LER": 3.32, "nov93dev WER": 8.57, "nov92 LER": 2.19, "nov92 WER": 5.64}),
    PaperRow("wav2vec", "LibriSpeech 80 h", {"nov93dev LER": 3.71, "nov93dev WER": 9.11, "nov92 LER": 2.17, "nov92 WER": 5.55}),
    PaperRow("wav2vec", "LibriSpeech 960 h", {"nov93dev LER": 2.85, "nov93dev WER": 7.40, "nov92 LER": 1.76, "nov92 WER": 4.57}),
    PaperRow("wav2vec", "LibriSpeech + WSJ 1041 h", {"nov93dev LER": 2.91, "nov93dev WER": 7.59, "nov92 LER": 1.67, "nov92 WER": 4.61}),
    PaperRow("wav2vec large", "LibriSpeech 960 h", {"nov93dev LER": 2.73, "nov93dev WER": 6.96, "nov92 LER": 1.57, "nov92 WER": 4.32}),
]

# No-LM figures as reported in the vq-wav2vec paper for the same systems.
WSJ_NO_LM = [
    PaperRow("log-mel baseline", "-", {"nov93dev LER": 6.28, "nov93dev WER": 19.46, "nov92 LER": 4.14, "nov92 WER": 13.93}),
    PaperRow("wav2vec", "LibriSpeech 960 h", {"nov93dev LER": 5.07, "nov93dev WER": 16.24, "nov92 LER": 3.26, "nov92 WER": 11.20}),
]

TIMIT_PER = [
    PaperRow("log-mel baseline", "-", {"dev PER": 16.9, "test PER": 17.6}),
    PaperRow("wav2vec", "LibriSpeech 80 h", {"dev PER": 15.5, "test PER": 17.6}),
    PaperRow("wav2vec", "LibriSpeech 960 h", {"dev PER": 13.6, "test PER": 15.6}),
    PaperRow("wav2vec", "LibriSpeech + WSJ", {"dev PER": 12.9, "test PER": 14.7}),
]

# Low-resource WSJ (about 8 h labelled): wav2vec lowers nov92 WER by up to this much relative to log-mel.
WSJ_LOW_RESOURCE_MAX_RELATIVE_WER_REDUCTION = 0.36

PAPER_TABLES: dict[str, dict[str, list[PaperRow]]] = {
    "wsj": {"WSJ, 4-gram LM": WSJ_4GRAM, "WSJ, no LM": WSJ_NO_LM},
    "timit": {"TIMIT PER": TIMIT_PER},
    # The paper reports no LibriSpeech ASR results: LibriSpeech is its pretraining audio.
    "librispeech": {},
}

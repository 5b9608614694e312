"""How each corpus's results are laid out: the paper's tables, our split and metric names mapped onto them.

`asr-bench report --corpus NAME` shapes tables like the paper's for NAME: rows are systems, columns
(split, metric) cells of mean ± std over seeds, and the paper's rows beside ours where it has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from asr_bench.report.reference import (
    TIMIT_PER,
    WSJ_4GRAM,
    WSJ_LOW_RESOURCE_LABELLED_HOURS,
    WSJ_LOW_RESOURCE_MAX_RELATIVE_WER_REDUCTION,
    WSJ_NO_LM,
    WSJ_PAPER_SPLITS,
    PaperRow,
)

# One name per unit: words, letters, phones.
METRIC_NAMES = {"wer": "WER", "cer": "CER", "per": "PER"}

Column = tuple[str, str]  # (split as the table names it, metric)


@dataclass(frozen=True)
class PaperTable:
    source: str
    decoder: str  # how the paper decoded, for the decoder column
    rows: tuple[PaperRow, ...]


@dataclass(frozen=True)
class Section:
    """One table: our rows of some decoders over `columns`, and the paper's table for them, if any.

    columns None: every split our rows have, each with `metrics`. decoders "lm": decodes with a
    language model; "no_lm": greedy and lexicon-free; "any": all.
    """

    title: str
    slug: str
    columns: tuple[Column, ...] | None
    metrics: tuple[str, ...]
    decoders: Literal["lm", "no_lm", "any"]
    paper: PaperTable | None = None


@dataclass(frozen=True)
class LowResourceFigure:
    """The paper's low-resource claim: up to `max_relative_reduction` lower `metric` at about `labelled_hours`."""

    split: str
    metric: str
    labelled_hours: float
    max_relative_reduction: float
    tolerance: float = 0.25  # our subset counts as "about" that size within this relative distance


@dataclass(frozen=True)
class CorpusLayout:
    name: str
    split_names: dict[str, str]  # our split -> the table's; unlisted splits keep their names
    metric_names: dict[str, str]
    sections: tuple[Section, ...]
    note: str = ""
    low_resource: LowResourceFigure | None = None

    def split_name(self, split: str) -> str:
        return self.split_names.get(split, split)

    def metric_name(self, metric: str) -> str:
        return self.metric_names.get(metric, METRIC_NAMES[metric])


_WSJ_COLUMNS = (("nov93dev", "cer"), ("nov93dev", "wer"), ("nov92", "cer"), ("nov92", "wer"))
_PHONE_COLUMNS = (("dev", "per"), ("test", "per"))

LAYOUTS = {
    "librispeech": CorpusLayout(
        "LibriSpeech", {}, {},
        (Section("LibriSpeech WER and CER (%), mean ± std over seeds", "librispeech", None, ("wer", "cer"), "any"),),
        note="The paper reports no LibriSpeech ASR figures: LibriSpeech is its pretraining audio.",
    ),
    "wsj": CorpusLayout(
        "WSJ", WSJ_PAPER_SPLITS, {"cer": "LER"},
        (
            Section("WSJ with a language model: LER and WER (%), mean ± std over seeds", "wsj_lm", _WSJ_COLUMNS,
                    ("cer", "wer"), "lm", PaperTable("Schneider et al. 2019", "4-gram LM", tuple(WSJ_4GRAM))),
            Section("WSJ without a language model: LER and WER (%), mean ± std over seeds", "wsj_no_lm", _WSJ_COLUMNS,
                    ("cer", "wer"), "no_lm",
                    PaperTable("Baevski et al. 2020 (vq-wav2vec)", "no LM", tuple(WSJ_NO_LM))),
        ),
        note="LER is the letter error rate (CER elsewhere in asr-bench); nov93dev is dev93, nov92 is eval92.",
        low_resource=LowResourceFigure("nov92", "wer", WSJ_LOW_RESOURCE_LABELLED_HOURS,
                                       WSJ_LOW_RESOURCE_MAX_RELATIVE_WER_REDUCTION),
    ),
    "timit": CorpusLayout(
        "TIMIT", {}, {},
        (Section("TIMIT PER (%), mean ± std over seeds", "timit", _PHONE_COLUMNS, ("per",), "any",
                 PaperTable("Schneider et al. 2019", "-", tuple(TIMIT_PER))),),
    ),
    "speechocean762": CorpusLayout(
        "speechocean762", {}, {},
        (Section("speechocean762 PER (%), mean ± std over seeds", "speechocean762", _PHONE_COLUMNS, ("per",), "any"),),
        note="The paper reports no speechocean762 figures.",
    ),
}

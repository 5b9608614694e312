"""The phone inventories and foldings against the published counts and Kaldi's map."""

from __future__ import annotations

import pytest

from asr_bench.data.phones import ARPABET_39, PHONE_SETS, TIMIT_39, TIMIT_48, TIMIT_61, arpabet_39, fold_timit
from asr_bench.errors import AsrBenchError


def test_inventory_sizes() -> None:
    assert (len(TIMIT_61), len(TIMIT_48), len(TIMIT_39), len(ARPABET_39)) == (61, 48, 39, 39)
    assert "q" in TIMIT_61 and "q" not in PHONE_SETS["timit61"].symbols
    assert {"sil", "dx"} <= set(TIMIT_39) and not {"ao", "zh", "q"} & set(TIMIT_39)


@pytest.mark.parametrize(
    ("label", "to48", "to39"),
    [("ax-h", "ax", "ah"), ("bcl", "vcl", "sil"), ("kcl", "cl", "sil"), ("h#", "sil", "sil"), ("pau", "sil", "sil"),
     ("el", "el", "l"), ("em", "m", "m"), ("nx", "n", "n"), ("eng", "ng", "ng"), ("hv", "hh", "hh"),
     ("ix", "ix", "ih"), ("zh", "zh", "sh"), ("ux", "uw", "uw"), ("ao", "ao", "aa"), ("axr", "er", "er")],
)
def test_kaldi_map_rows(label: str, to48: str, to39: str) -> None:
    assert fold_timit([label], 48) == [to48] and fold_timit([label], 39) == [to39]


def test_q_is_deleted_and_unknown_labels_refused() -> None:
    assert fold_timit(["h#", "q", "iy", "q"], 48) == ["sil", "iy"]
    with pytest.raises(AsrBenchError, match="'xx' is not one of TIMIT's 61"):
        fold_timit(["xx"], 39)


def test_every_training_set_scores_on_39() -> None:
    sentence = ["h#", "sh", "ix", "hv", "eh", "dcl", "jh", "ih", "q", "epi", "axr", "h#"]
    expected = fold_timit(sentence, 39)
    for name in ("timit61", "timit48", "timit39"):
        phone_set = PHONE_SETS[name]
        trained = phone_set.train_labels(sentence)
        assert set(trained) <= set(phone_set.symbols)
        assert phone_set.scoring_labels(trained) == expected


def test_arpabet_stress_stripped() -> None:
    assert arpabet_39(["AH0", "iy1", "W", "ZH"]) == ["AH", "IY", "W", "ZH"]
    with pytest.raises(AsrBenchError, match="not ARPAbet"):
        arpabet_39(["AX"])

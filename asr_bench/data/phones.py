"""Phone inventories and the foldings between them: each fact written once.

* TIMIT's 61 labels as they occur in `.PHN` files, and Lee & Hon's (1989) folding to 48 phones for
  training and 39 for scoring, as Kaldi's `egs/timit/s5/conf/phones.60-48-39.map` writes it. The
  glottal stop `q` has no 48/39 image: it is deleted, as Kaldi does.
* ARPAbet's 39 phones (CMUdict's inventory), with the stress digits of dictionary entries
  (`AH0`, `IY1`) stripped: the phones of speechocean762's canonical transcriptions.

A `PhoneSet` names what an acoustic model is trained on and how its output is scored: TIMIT models
train on 48 (or 61, or 39) and are always scored on 39 through the map; ARPAbet models train and
score on the 39.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from asr_bench.errors import AsrBenchError

# 61-phone label -> (48-phone, 39-phone); None for q, which has neither.
_TIMIT_FOLDING: dict[str, tuple[str, str] | None] = {
    "aa": ("aa", "aa"), "ae": ("ae", "ae"), "ah": ("ah", "ah"), "ao": ("ao", "aa"), "aw": ("aw", "aw"),
    "ax": ("ax", "ah"), "ax-h": ("ax", "ah"), "axr": ("er", "er"), "ay": ("ay", "ay"), "b": ("b", "b"),
    "bcl": ("vcl", "sil"), "ch": ("ch", "ch"), "d": ("d", "d"), "dcl": ("vcl", "sil"), "dh": ("dh", "dh"),
    "dx": ("dx", "dx"), "eh": ("eh", "eh"), "el": ("el", "l"), "em": ("m", "m"), "en": ("en", "n"),
    "eng": ("ng", "ng"), "epi": ("epi", "sil"), "er": ("er", "er"), "ey": ("ey", "ey"), "f": ("f", "f"),
    "g": ("g", "g"), "gcl": ("vcl", "sil"), "h#": ("sil", "sil"), "hh": ("hh", "hh"), "hv": ("hh", "hh"),
    "ih": ("ih", "ih"), "ix": ("ix", "ih"), "iy": ("iy", "iy"), "jh": ("jh", "jh"), "k": ("k", "k"),
    "kcl": ("cl", "sil"), "l": ("l", "l"), "m": ("m", "m"), "n": ("n", "n"), "ng": ("ng", "ng"),
    "nx": ("n", "n"), "ow": ("ow", "ow"), "oy": ("oy", "oy"), "p": ("p", "p"), "pau": ("sil", "sil"),
    "pcl": ("cl", "sil"), "q": None, "r": ("r", "r"), "s": ("s", "s"), "sh": ("sh", "sh"), "t": ("t", "t"),
    "tcl": ("cl", "sil"), "th": ("th", "th"), "uh": ("uh", "uh"), "uw": ("uw", "uw"), "ux": ("uw", "uw"),
    "v": ("v", "v"), "w": ("w", "w"), "y": ("y", "y"), "z": ("z", "z"), "zh": ("zh", "sh"),
}

TIMIT_61: tuple[str, ...] = tuple(sorted(_TIMIT_FOLDING))
TIMIT_48: tuple[str, ...] = tuple(sorted({pair[0] for pair in _TIMIT_FOLDING.values() if pair}))
TIMIT_39: tuple[str, ...] = tuple(sorted({pair[1] for pair in _TIMIT_FOLDING.values() if pair}))

ARPABET_39: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH",
    "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)
_STRESS = re.compile(r"^([A-Z]+)[012]$")


def fold_timit(phones: Iterable[str], to: int) -> list[str]:
    """TIMIT 61-phone labels -> the 61 (q deleted), 48 or 39 set; an unknown label is an error."""
    if to not in (61, 48, 39):
        raise AsrBenchError(f"TIMIT phones fold to 61, 48 or 39, not {to}")
    folded = []
    for phone in phones:
        if phone not in _TIMIT_FOLDING:
            raise AsrBenchError(f"{phone!r} is not one of TIMIT's 61 phone labels ({' '.join(TIMIT_61)})")
        pair = _TIMIT_FOLDING[phone]
        if pair is not None:
            folded.append(phone if to == 61 else pair[0] if to == 48 else pair[1])
    return folded


def strip_stress(phone: str) -> str:
    """`AH0` -> `AH`: dictionary stress digits are not phones."""
    match = _STRESS.match(phone)
    return match.group(1) if match else phone


def arpabet_39(phones: Iterable[str]) -> list[str]:
    """ARPAbet phones with or without stress digits -> the 39 (upper case); an unknown phone is an error."""
    folded = [strip_stress(p.upper()) for p in phones]
    unknown = sorted(set(folded) - set(ARPABET_39))
    if unknown:
        raise AsrBenchError(f"{unknown} are not ARPAbet phones ({' '.join(ARPABET_39)})")
    return folded


@dataclass(frozen=True)
class PhoneSet:
    """What a phone model is trained on (`symbols`) and the set it is scored on (`scoring_symbols`)."""

    name: str
    symbols: tuple[str, ...]
    scoring_symbols: tuple[str, ...]

    def train_labels(self, phones: Iterable[str]) -> list[str]:
        """A manifest's phones (as the corpus writes them) in this set's symbols."""
        if self.name.startswith("timit"):
            return fold_timit(phones, int(self.name.removeprefix("timit")))
        return arpabet_39(phones)

    def scoring_labels(self, phones: Iterable[str]) -> list[str]:
        """Phones of this set (a model's output, or `train_labels`) in the scoring set."""
        if self.name.startswith("timit"):
            return [_TIMIT_39_OF[p] for p in phones]
        return list(phones)


# Every 61-, 48- and 39-phone TIMIT label has exactly one 39-phone image, so model output of any of the
# three sets scores the same way.
_TIMIT_39_OF: dict[str, str] = {}
for _label, _pair in _TIMIT_FOLDING.items():
    if _pair is not None:
        for _symbol in (_label, *_pair):
            if _TIMIT_39_OF.setdefault(_symbol, _pair[1]) != _pair[1]:
                raise AssertionError(f"TIMIT label {_symbol} folds to two 39-phone labels")

PHONE_SETS: dict[str, PhoneSet] = {
    "timit61": PhoneSet("timit61", tuple(p for p in TIMIT_61 if p != "q"), TIMIT_39),
    "timit48": PhoneSet("timit48", TIMIT_48, TIMIT_39),
    "timit39": PhoneSet("timit39", TIMIT_39, TIMIT_39),
    "arpabet39": PhoneSet("arpabet39", ARPABET_39, ARPABET_39),
}


def phone_set(name: str) -> PhoneSet:
    try:
        return PHONE_SETS[name]
    except KeyError:
        raise AsrBenchError(f"unknown phone set {name!r}; known: {', '.join(PHONE_SETS)}") from None

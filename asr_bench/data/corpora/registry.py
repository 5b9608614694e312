"""The corpora `asr-bench prepare` knows: each corpus module declares one `Corpus`, found by name.

A corpus module holds a `prepare_<corpus>(..., out_dir, skip_bad, verify_audio, progress)` library
function and a module-level `CORPUS = Corpus(...)` describing its options; the command line builds
`asr-bench prepare <name>` from that description, so adding a corpus is adding one module to this
package. Options are described here, not as argparse calls, so the data layer stays free of the
command line.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr_bench.data.manifest import ManifestSummary


@dataclass(frozen=True)
class CorpusOption:
    """One `prepare <corpus>` option; `name` is the keyword argument of the prepare function.

    kind: "path", "str", "int", "flag" (true when given), or "list" (comma-separated values).
    """

    name: str
    help: str
    kind: str = "path"
    required: bool = False
    default: Any = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Corpus:
    """What `asr-bench prepare <name>` needs to know about a corpus."""

    name: str
    help: str  # one line, for `asr-bench prepare --help`
    description: str  # the layout read and what is written
    example: str
    prepare: Callable[..., dict[str, ManifestSummary]]  # (out_dir=, skip_bad=, verify_audio=, progress=, **options)
    options: tuple[CorpusOption, ...] = ()
    verify_audio: bool = True  # whether --verify-audio applies (decoding every file to check it)

    def run(self, out_dir: Path, skip_bad: bool, verify_audio: bool, progress: bool, **options: Any) -> dict[str, ManifestSummary]:
        kwargs: dict[str, Any] = {"out_dir": out_dir, "skip_bad": skip_bad, "progress": progress, **options}
        if self.verify_audio:
            kwargs["verify_audio"] = verify_audio
        return self.prepare(**kwargs)


def corpora() -> dict[str, Corpus]:
    """Every corpus module's CORPUS, by name, in alphabetical order (modules without one are shared code)."""
    import asr_bench.data.corpora as package

    found: dict[str, Corpus] = {}
    for module in pkgutil.iter_modules(package.__path__):
        spec = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), "CORPUS", None)
        if isinstance(spec, Corpus):
            found[spec.name] = spec
    return dict(sorted(found.items()))

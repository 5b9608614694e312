"""Fixture corpora generated in the publishers' layouts from the real audio in ../shared/data/ci."""

from __future__ import annotations

from pathlib import Path

from asr_bench.data.manifest import Utterance

REAL_MINI = Path("librispeech-mini") / "LibriSpeech"


def speaker_lines(shared_data: Path, speakers: set[str]) -> list[str]:
    """Those speakers' lines of the real SPEAKERS.TXT, so genders in the fixture are the true ones."""
    lines = (shared_data / REAL_MINI / "SPEAKERS.TXT").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.split("|")[0].strip() in speakers]


def build_openslr_tree(
    root: Path,
    rows: list[dict[str, str]],
    shared_data: Path,
    splits: dict[str, tuple[str, ...]],
    utterances_per_speaker: int,
) -> dict[str, list[dict[str, str]]]:
    """Write `<root>/LibriSpeech/<split>/<spk>/<chapter>/` with symlinked FLACs and trans.txt; return rows per split."""
    corpus = root / "LibriSpeech"
    used: dict[str, list[dict[str, str]]] = {}
    for split, speakers in splits.items():
        for speaker in speakers:
            mine = sorted((r for r in rows if r["speaker"] == speaker), key=lambda r: r["utt_id"])
            mine = mine[:utterances_per_speaker]
            for row in mine:
                _, chapter, _ = row["utt_id"].split("-")
                chapter_dir = corpus / split / speaker / chapter
                chapter_dir.mkdir(parents=True, exist_ok=True)
                (chapter_dir / f"{row['utt_id']}.flac").symlink_to(shared_data / "ci" / row["path"])
                with (chapter_dir / f"{speaker}-{chapter}.trans.txt").open("a", encoding="utf-8") as trans:
                    trans.write(f"{row['utt_id']} {row['text']}\n")
            used.setdefault(split, []).extend(mine)
    header = ";ID  |SEX| SUBSET           |MINUTES| NAME\n"
    speakers = {s for group in splits.values() for s in group}
    (corpus / "SPEAKERS.TXT").write_text(header + "\n".join(speaker_lines(shared_data, speakers)) + "\n")
    return used


def shortest_ci_utterances(rows: list[dict[str, str]], shared_data: Path, count: int) -> list[Utterance]:
    shortest = sorted(rows, key=lambda r: float(r["duration_s"]))[:count]
    return [
        Utterance(r["utt_id"], str(shared_data / "ci" / r["path"]), float(r["duration_s"]), r["speaker"], r["text"])
        for r in shortest
    ]

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


def build_speechocean_tree(root: Path, rows: list[dict[str, str]], shared_data: Path) -> Path:
    """`<root>/{train,resource,WAVE}` in speechocean762's layout for `rows`: symlinked FLACs, the real metadata
    (text, genders, ages, text-phone lines) of those utterances and speakers; returns `root`."""
    real = shared_data / "speechocean762"
    utts = {row["utt_id"] for row in rows}
    speakers = {row["speaker"] for row in rows}
    train, resource = root / "train", root / "resource"
    train.mkdir(parents=True)
    resource.mkdir()
    for row in rows:
        audio = root / "WAVE" / f"SPEAKER{row['speaker']}" / f"{row['utt_id']}.flac"
        audio.parent.mkdir(parents=True, exist_ok=True)
        audio.symlink_to(shared_data / "ci" / row["path"])

    def real_lines(path: Path, keep: set[str], key=lambda k: k) -> str:
        lines = path.read_text(encoding="utf-8").splitlines()
        return "".join(line + "\n" for line in lines if line.split()[0] and key(line.split()[0]) in keep)

    rows = sorted(rows, key=lambda r: r["utt_id"])
    (train / "wav.scp").write_text("".join(f"{r['utt_id']}\tWAVE/SPEAKER{r['speaker']}/{r['utt_id']}.flac\n" for r in rows))
    (train / "text").write_text(real_lines(real / "train" / "text", utts))
    (train / "utt2spk").write_text("".join(f"{r['utt_id']} {r['speaker']}\n" for r in rows))
    for name in ("spk2gender", "spk2age"):
        (train / name).write_text(real_lines(real / "train" / name, speakers))
    (resource / "text-phone").write_text(real_lines(real / "resource" / "text-phone", utts, lambda k: k.rpartition(".")[0]))
    return root

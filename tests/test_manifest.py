"""JSONL manifests: round trip, blank lines, and every malformed-line error naming file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asr_bench.data.manifest import ManifestSummary, Utterance, parse_line, read_manifest, total_hours, write_manifest
from asr_bench.errors import ManifestError

UTTS = [
    Utterance(id="s1-0001", audio="/data/s1/0001.flac", duration=2.5, speaker="s1", text="HELLO WORLD", gender="F"),
    Utterance(id="s1-0002", audio="/data/s1/0002.flac", duration=1.25, speaker="s1", text="IT'S ME"),
    Utterance(id="s2-0001", audio="/data/s2/0001.flac", duration=3.0, speaker="s2", text="ÉTÉ", phones=["ey", "t", "ey"]),
]

GOOD = {"id": "u1", "audio": "a.flac", "duration": 1.5, "speaker": "s", "text": "HI"}


def _line(**changes: object) -> str:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not _DROP})


_DROP = object()


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_round_trip_preserves_every_field(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "sub" / "train.jsonl", UTTS)
    assert path.is_file()
    assert not (tmp_path / "sub" / "train.jsonl.tmp").exists()
    assert read_manifest(path) == UTTS


def test_written_lines_omit_absent_optional_fields_and_keep_unicode(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "m.jsonl", UTTS)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert "phones" not in json.loads(lines[0]) and json.loads(lines[0])["gender"] == "F"
    assert "gender" not in json.loads(lines[1])
    assert "ÉTÉ" in lines[2]  # ensure_ascii=False: readable transcripts


def test_blank_lines_are_ignored_and_line_numbers_still_count_them(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "m.jsonl", ["", UTTS[0].to_json(), "   ", "\t", UTTS[1].to_json(), ""])
    assert read_manifest(path) == UTTS[:2]
    # A bad line after blank lines is reported with its physical line number (blank lines counted).
    path = _write_lines(tmp_path / "bad.jsonl", ["", UTTS[0].to_json(), "", "{oops"])
    with pytest.raises(ManifestError, match=rf"^{_re(path)}:4: not valid JSON"):
        read_manifest(path)


def _re(path: Path) -> str:
    import re

    return re.escape(str(path))


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('["u1", "a.flac"]', "expected a JSON object, got list"),
        ("42", "expected a JSON object, got int"),
        (_line(text=_DROP), "missing field(s) text"),
        (_line(id=_DROP, speaker=_DROP), "missing field(s) id, speaker"),
        (_line(duration="long"), "duration 'long' is not a number"),
        (_line(duration=None), "duration None is not a number"),
        (_line(duration=[1.0]), "is not a number"),
        (_line(duration=0), "duration must be positive seconds, got 0.0"),
        (_line(duration=-1.5), "duration must be positive seconds, got -1.5"),
        (_line(duration="NaN"), "duration must be positive seconds, got nan"),
        (_line(phones="ah b"), "phones must be a list of strings"),
        (_line(phones=["ah", 3]), "phones must be a list of strings"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str, expected: str) -> None:
    path = _write_lines(tmp_path / "m.jsonl", [UTTS[0].to_json(), UTTS[1].to_json(), bad_line])
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: ")
    assert expected in message


def test_duplicate_id_names_the_second_occurrence(tmp_path: Path) -> None:
    dup = Utterance(id=UTTS[0].id, audio="/other.flac", duration=1.0, speaker="s9", text="AGAIN")
    path = _write_lines(tmp_path / "m.jsonl", [UTTS[0].to_json(), "", UTTS[1].to_json(), dup.to_json()])
    with pytest.raises(ManifestError, match=rf"^{_re(path)}:4: duplicate utterance id 's1-0001'"):
        read_manifest(path)


def test_missing_manifest_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nope.jsonl")


def test_parse_line_coerces_types_and_accepts_numeric_string_duration() -> None:
    utt = parse_line(json.dumps({"id": 7, "audio": "x.wav", "duration": "2.5", "speaker": 19, "text": "A"}))
    assert utt == Utterance(id="7", audio="x.wav", duration=2.5, speaker="19", text="A")


def test_summary_counts_speakers_hours_and_skips() -> None:
    summary = ManifestSummary.of(UTTS, skipped={"zero-length audio": 2, "empty transcript": 1})
    # 2.5 + 1.25 + 3.0 = 6.75 s = 0.001875 h
    assert summary.num_utterances == 3
    assert summary.num_speakers == 2
    assert summary.hours == pytest.approx(6.75 / 3600)
    assert total_hours(UTTS) == pytest.approx(6.75 / 3600)
    # skip reasons are listed in sorted order
    assert summary.describe() == "3 utterances, 2 speakers, 0.00 h; skipped 1 empty transcript, 2 zero-length audio"


def test_summary_without_skips_and_hours_rounding() -> None:
    long = [Utterance(id=str(i), audio="a", duration=1800.0, speaker=f"s{i % 3}", text="A") for i in range(7)]
    # 7 * 1800 s = 3.5 h over 3 speakers
    assert ManifestSummary.of(long).describe() == "7 utterances, 3 speakers, 3.50 h"
    assert ManifestSummary.of([]).describe() == "0 utterances, 0 speakers, 0.00 h"

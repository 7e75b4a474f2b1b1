"""Bad input: every failure names the file and says what to do; a batch goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.corpus import infer_source
from pipeline.errors import EmptyDocumentError, ExtractionError, UnsupportedFormatError
from pipeline.extract import extract, extract_all, extract_file


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "tom.txt").write_bytes(b"")
    with pytest.raises(EmptyDocumentError, match=r"tom.txt: the file is empty \(0 bytes\)"):
        extract_file(tmp_path / "tom.txt")


def test_whitespace_only_file(tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("\n \n\t\n", encoding="utf-8")
    with pytest.raises(EmptyDocumentError, match=r"blank\.txt: no text could be extracted"):
        extract_file(tmp_path / "blank.txt")


def test_binary_file_with_text_extension(tmp_path: Path) -> None:
    (tmp_path / "bilde.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(
        ExtractionError, match=r"bilde.txt: could not be read as TXT .*looks binary"
    ):
        extract_file(tmp_path / "bilde.txt")


def test_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "tabell.xlsx").write_bytes(b"PK")
    with pytest.raises(
        UnsupportedFormatError, match=r"tabell.xlsx: no extractor for '.xlsx' files; convert it"
    ):
        extract_file(tmp_path / "tabell.xlsx")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"borte\.txt: the file does not exist"):
        extract(infer_source(tmp_path / "borte.txt"))


def test_batch_reports_every_failure_and_keeps_the_rest(tmp_path: Path) -> None:
    good = [tmp_path / f"rapport{i}.txt" for i in range(3)]
    for path in good:
        path.write_text("Kvalifiseringsprogrammet er et tilbud.\n", encoding="utf-8")
    (tmp_path / "tom.txt").write_bytes(b"")
    (tmp_path / "ødelagt.pdf").write_bytes(b"%PDF-1.4 not really")
    sources = [infer_source(p) for p in sorted(tmp_path.iterdir())]
    batch = extract_all(sources)
    assert sorted(d.source.path.name for d in batch.documents) == [p.name for p in good]
    reasons = {f.path.name: f.reason for f in batch.failures}
    assert set(reasons) == {"tom.txt", "ødelagt.pdf"}
    assert "empty" in reasons["tom.txt"]

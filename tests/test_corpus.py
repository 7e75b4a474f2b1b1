"""Reading a corpus folder and its manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.corpus import load_corpus, source_for_file
from pipeline.errors import CorpusError, ManifestError
from pipeline.model import Kind

from .conftest import CORPUS

ENTRY = """
[[document]]
id = "{id}"
file = "{file}"
kind = "{kind}"
title = "En rapport"
year = 2021
"""


def make_corpus(tmp_path: Path, manifest: str, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "MANIFEST.toml").write_text(manifest, encoding="utf-8")
    return tmp_path


def test_sample_manifest_lists_every_document() -> None:
    scan = load_corpus(CORPUS)
    assert not scan.failures and not scan.notices
    by_id = {s.doc_id: s for s in scan.sources}
    assert set(by_id) == {
        "sotjl",
        "kvp-forskrift",
        "velferdsetaten-2025",
        "uis-bachelor-2023",
        "oxford-research-2022",
        "fafo-2021-35",
        "moss-revisjon-2018",
    }
    assert by_id["sotjl"].kind is Kind.LAW and by_id["sotjl"].official_id == "LOV-2009-12-18-131"
    assert by_id["fafo-2021-35"].year == 2021 and by_id["fafo-2021-35"].path.is_file()


def test_file_without_entry_is_ingested_with_inferred_metadata(tmp_path: Path) -> None:
    folder = make_corpus(
        tmp_path,
        ENTRY.format(id="a", file="a.txt", kind="report"),
        {"a.txt": "Tekst.", "nye/Rundskriv_2024.md": "# Rundskriv\n\nTekst."},
    )
    scan = load_corpus(folder)
    inferred = next(s for s in scan.sources if s.inferred)
    assert inferred.doc_id == "rundskriv_2024" and inferred.year == 2024
    assert inferred.kind is Kind.OTHER
    assert any("no manifest entry" in n and "Rundskriv_2024.md" in n for n in scan.notices)


def test_missing_file_is_a_failure_and_the_rest_goes_on(tmp_path: Path) -> None:
    manifest = ENTRY.format(id="a", file="a.txt", kind="report") + ENTRY.format(
        id="b", file="borte.pdf", kind="report"
    )
    scan = load_corpus(make_corpus(tmp_path, manifest, {"a.txt": "Tekst."}))
    assert [s.doc_id for s in scan.sources] == ["a"]
    (failure,) = scan.failures
    assert failure.path.name == "borte.pdf"
    assert "'b' names file 'borte.pdf', which does not exist" in failure.reason


def test_malformed_manifest_names_the_problem(tmp_path: Path) -> None:
    folder = make_corpus(tmp_path, '[[document]]\nid = "a\n', {})
    with pytest.raises(ManifestError, match=r"not valid TOML .*line 2"):
        load_corpus(folder)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            ENTRY.format(id="a", file="a.txt", kind="roman"),
            r"kind 'roman' is not one of law, regulation",
        ),
        ('[[document]]\nid = "a"\nfile = "a.txt"\n', r"missing kind, title"),
        (ENTRY.format(id="A b", file="a.txt", kind="report"), r"id 'A b' must be lower-case"),
        (
            ENTRY.format(id="a", file="a.txt", kind="report") + 'forfatter = "x"\n',
            r"unknown key\(s\) forfatter",
        ),
    ],
)
def test_bad_entries_are_reported_with_the_fix(tmp_path: Path, entry: str, message: str) -> None:
    scan = load_corpus(make_corpus(tmp_path, entry, {"a.txt": "Tekst."}))
    assert any(__import__("re").search(message, f.reason) for f in scan.failures), scan.failures


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    manifest = ENTRY.format(id="a", file="a.txt", kind="report") + ENTRY.format(
        id="a", file="b.txt", kind="report"
    )
    with pytest.raises(ManifestError, match=r"id 'a' is used for both a\.txt and b\.txt"):
        load_corpus(make_corpus(tmp_path, manifest, {"a.txt": "x", "b.txt": "y"}))


def test_unsupported_file_is_reported(tmp_path: Path) -> None:
    scan = load_corpus(make_corpus(tmp_path, "", {"data.xlsx": "x", "a.txt": "Tekst."}))
    (failure,) = scan.failures
    assert failure.path.name == "data.xlsx" and "no extractor for '.xlsx' files" in failure.reason


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist or is not a folder"):
        load_corpus(tmp_path / "finnes-ikke")


def test_a_corpus_file_gets_its_manifest_entry() -> None:
    source = source_for_file(CORPUS / "law" / "sosialtjenesteloven.md")
    assert source.doc_id == "sotjl" and not source.inferred

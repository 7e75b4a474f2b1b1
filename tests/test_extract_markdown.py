"""The statute texts in Markdown: each § its own section, amendment notes apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ExtractionError
from pipeline.extract import extract_file
from pipeline.model import Document, Role


def test_each_paragraph_section_is_a_section(corpus_documents: dict[str, Document]) -> None:
    law = corpus_documents["sotjl"]
    ledd = [b for b in law.blocks if b.section[-1:] == ("§ 35. Kvalifiseringsstønad",)]
    paragraphs = [b for b in ledd if b.role is Role.PARAGRAPH]
    assert len(paragraphs) == 4
    assert paragraphs[1].text.startswith("Kvalifiseringsstønaden skal på årsbasis være lik 2,041")
    assert paragraphs[0].section == (
        "Lov om sosiale tjenester i arbeids- og velferdsforvaltningen (sosialtjenesteloven)",
        "Kapittel 4. Individuelle tjenester",
        "§ 35. Kvalifiseringsstønad",
    )
    notes = [b for b in ledd if b.role is Role.NOTE]
    assert len(notes) == 1 and notes[0].text.startswith("Endret ved lover 20 des 2018")


def test_list_letters_are_restored_in_statutes(corpus_documents: dict[str, Document]) -> None:
    law = corpus_documents["sotjl"]
    items = [b for b in law.blocks if b.role is Role.LIST_ITEM and b.section[-1].startswith("§ 8.")]
    assert [b.label for b in items] == ["a", "b", "c", "d", "e", "f"]


def test_link_residue_spacing_is_fixed(corpus_documents: dict[str, Document]) -> None:
    assert "kommuneloven § 25-1." in corpus_documents["sotjl"].text
    assert " ." not in corpus_documents["kvp-forskrift"].text


def test_plain_markdown_without_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "notat.md"
    path.write_text(
        "# Notat om KVP\n\nFørste avsnitt med *uthevet* tekst.\n\n## Tabell\n\n"
        "| År | Deltakere |\n|---|---|\n| 2020 | 1 400 |\n\n- punkt én\n- punkt to\n",
        encoding="utf-8",
    )
    document = extract_file(path)
    roles = [(b.role, b.text) for b in document.blocks]
    assert roles[1] == (Role.PARAGRAPH, "Første avsnitt med uthevet tekst.")
    table = next(b for b in document.blocks if b.role is Role.TABLE)
    assert table.rows == (("År", "Deltakere"), ("2020", "1 400"))
    assert table.section == ("Notat om KVP", "Tabell")
    assert [b.label for b in document.blocks if b.role is Role.LIST_ITEM] == ["1", "2"]


NOTE = "# Notat om KVP\n\nSøknaden behandles av Nav-kontoret på Ås.\n"


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("utf-8-sig", NOTE.encode("utf-8-sig")),
        ("utf-16", NOTE.encode("utf-16")),
        ("utf-16-le", NOTE.encode("utf-16-le")),
        ("utf-32", NOTE.encode("utf-32")),
    ],
)
def test_markdown_in_unicode_encodings_is_read(tmp_path: Path, encoding: str, data: bytes) -> None:
    """Reported: Markdown saved as UTF-16 with a BOM was refused as binary."""
    path = tmp_path / "notat.md"
    path.write_bytes(data)
    document = extract_file(path)
    assert [(b.role, b.text) for b in document.blocks] == [
        (Role.HEADING, "Notat om KVP"),
        (Role.PARAGRAPH, "Søknaden behandles av Nav-kontoret på Ås."),
    ]
    changed = {r.before for r in document.report.repairs if r.kind == "encoding"}
    assert changed == (set() if encoding == "utf-8-sig" else {encoding})


def test_binary_markdown_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "vedlegg.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)
    with pytest.raises(
        ExtractionError,
        match=r"vedlegg\.md: could not be read as MD because the file looks binary .*convert it",
    ):
        extract_file(path)

"""The statute texts in Markdown: each § its own section, amendment notes apart."""

from __future__ import annotations

from pathlib import Path

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

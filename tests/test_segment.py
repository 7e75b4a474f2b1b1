"""Segmentation invariants over every sample document, and the statute rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.extract import extract_file
from pipeline.model import Document, Role
from pipeline.segment import DEFAULT_SETTINGS, segment


@pytest.fixture(scope="module")
def segmented(corpus_documents: dict[str, Document]) -> dict[str, list]:
    return {doc_id: segment(d) for doc_id, d in corpus_documents.items()}


def test_offsets_order_and_provenance(
    corpus_documents: dict[str, Document], segmented: dict
) -> None:
    for doc_id, passages in segmented.items():
        document = corpus_documents[doc_id]
        assert passages, doc_id
        previous_end = 0
        for passage in passages:
            assert document.text[passage.char_start : passage.char_end] == passage.text
            assert passage.char_start >= previous_end, "passages overlap or run backwards"
            previous_end = passage.char_end


def blocks_inside(document: Document, start: int, end: int) -> list:
    return [b for b in document.blocks if b.char_start < end and b.char_end > start]


def test_no_passage_mixes_sections_or_roles(
    corpus_documents: dict[str, Document], segmented: dict
) -> None:
    for doc_id, passages in segmented.items():
        document = corpus_documents[doc_id]
        for passage in passages:
            inside = blocks_inside(document, passage.char_start, passage.char_end)
            body = [b for b in inside if b.role is not Role.HEADING]
            assert len({b.section for b in body}) <= 1, passage.text[:80]
            roles = {b.role for b in inside}
            if passage.role is Role.FOOTNOTE:
                assert roles == {Role.FOOTNOTE}
            else:
                assert not roles & {Role.FOOTNOTE, Role.CAPTION, Role.TOC, Role.FIGURE, Role.NOTE}
            headings = [b for b in inside if b.role is Role.HEADING]
            assert len(headings) <= 1 and (not headings or headings[0] is inside[0])


def test_coverage_of_body_text(corpus_documents: dict[str, Document], segmented: dict) -> None:
    for doc_id, passages in segmented.items():
        document = corpus_documents[doc_id]
        covered = sum(p.char_end - p.char_start for p in passages if p.role is not Role.FOOTNOTE)
        paragraphs = [b for b in document.blocks if b.role in (Role.PARAGRAPH, Role.LIST_ITEM)]
        for block in (b for b in paragraphs if len(b.text.split()) >= 5):
            inside = sum(
                max(0, min(p.char_end, block.char_end) - max(p.char_start, block.char_start))
                for p in passages
            )
            # Sentence splits leave out only the spaces between sentences.
            assert inside >= len(block.text) - block.text.count(" "), (doc_id, block.text[:60])
        assert covered > 0.6 * len(document.text) or doc_id in {"sotjl", "kvp-forskrift"}


def test_passage_lengths(segmented: dict) -> None:
    for passages in segmented.values():
        for passage in passages:
            if passage.locator:  # statute passages are a whole § or ledd
                continue
            assert len(passage.text) <= 2 * DEFAULT_SETTINGS.max_chars


def test_ids_are_stable_and_unique(corpus_documents: dict[str, Document], segmented: dict) -> None:
    for doc_id, passages in segmented.items():
        again = segment(corpus_documents[doc_id])
        assert [p.passage_id for p in again] == [p.passage_id for p in passages]
        assert len({p.passage_id for p in passages}) == len(passages)
        assert all(p.passage_id.startswith(f"{doc_id}:") for p in passages)


def test_ids_do_not_depend_on_the_rest_of_the_document(tmp_path: Path) -> None:
    later = "# Varighet\n\nProgrammet kan vare i inntil to år og forlenges med ett år.\n"
    first = "# Innledning\n\nFørste avsnitt om kvalifiseringsprogrammet og deltakerne.\n\n"
    changed = "# Innledning\n\nEt omskrevet avsnitt som flytter alle posisjoner lenger ned.\n\n"
    (tmp_path / "a.md").write_text(first + later, encoding="utf-8")
    (tmp_path / "b.md").write_text(changed + later, encoding="utf-8")
    ids_a = [p.passage_id.split(":")[1] for p in segment(extract_file(tmp_path / "a.md"))]
    ids_b = [p.passage_id.split(":")[1] for p in segment(extract_file(tmp_path / "b.md"))]
    assert ids_a[0] != ids_b[0] and ids_a[1] == ids_b[1]


def test_statutes_one_section_or_ledd_per_passage(segmented: dict) -> None:
    law = segmented["sotjl"]
    by_locator = {p.locator: p for p in law}
    assert by_locator["§ 32"].text.startswith("§ 32. Programmets varighet")
    assert "Endret ved" not in by_locator["§ 32"].text
    assert "§ 35" in by_locator and "ikke lenger enn to år" in by_locator["§ 32"].text
    long_sections = [p for p in law if "ledd" in p.locator]
    assert long_sections, "a long § is cited ledd by ledd"
    for passage in law:
        assert passage.text.count("\n#") == 0
        assert sum(line.startswith("§ ") for line in passage.text.split("\n\n")) <= 1
    regulation = {p.locator for p in segmented["kvp-forskrift"]}
    assert {"§ 1", "§ 2", "§ 3"} <= {
        loc.split(" ledd")[0].rsplit(" ", 1)[0] if "ledd" in loc else loc for loc in regulation
    }


def test_sentences_split_long_paragraphs_at_sentence_ends(tmp_path: Path) -> None:
    sentence = "Deltakeren skal ha en individuell plan, jf. sotjl. § 33, og planen skal følges opp bl.a. av veilederen. "
    (tmp_path / "lang.md").write_text("# Lang\n\n" + sentence * 20, encoding="utf-8")
    passages = segment(extract_file(tmp_path / "lang.md"))
    assert len(passages) > 1
    for passage in passages:
        assert passage.text.endswith("veilederen."), passage.text[-40:]

"""The labels store: coders' decisions, kept across rebuilds, and what the queue offers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.errors import LabelError
from pipeline.labels import LabelStore
from pipeline.model import THEMES, Passage
from pipeline.review import (
    ReviewStatus,
    coding_status,
    merge_reviews,
    place_all,
    queue,
    resolve,
    uncertainty,
)
from pipeline.themes import LabelledExample

from .helpers import HashingEncoder


def passage(pid: str, text: str, doc: str = "rapport", **scores: float) -> Passage:
    themes = tuple((t, scores.get(t, 0.05)) for t in THEMES)
    return Passage(f"{doc}:{pid}", doc, text, ("Kapittel",), 0, len(text), themes=themes)


YOUTH = passage("a", "Deltaker under 25 år mottar 2/3 stønad.", youth=0.4, funding=0.9)
BARRIER = passage("b", "Rus og psykisk uhelse hindrer mange i å delta.", barriers=0.97)
UNSURE = passage("c", "Kontoret har et eget team for KVP.", organisation=0.52)


@pytest.fixture
def store(tmp_path: Path) -> LabelStore:
    return LabelStore(tmp_path / "labels.sqlite")


def test_decide_starts_from_the_model_then_from_the_coders_own_review(store: LabelStore) -> None:
    first = store.decide("AB", YOUTH, add=["youth"])
    assert first.labels == ("youth", "funding") and first.model_labels == ("funding",)
    assert first.corrected
    second = store.decide("AB", YOUTH, reject=["funding"])
    assert second.labels == ("youth",)  # the earlier add is kept
    other = store.decide("CD", YOUTH, accept=["funding"])
    assert other.labels == ("funding",) and not other.corrected  # coders are apart


def test_bad_decisions_say_what_to_change(store: LabelStore) -> None:
    with pytest.raises(LabelError, match="unknown theme 'ungdom'"):
        store.decide("AB", YOUTH, add=["ungdom"])
    with pytest.raises(LabelError, match="both kept and rejected"):
        store.decide("AB", YOUTH, add=["youth"], reject=["youth"])
    with pytest.raises(LabelError, match="coder name"):
        store.decide("  ", YOUTH, add=["youth"])
    with pytest.raises(LabelError, match="within the passage"):
        store.code_span("AB", YOUTH, 5, 500, "youth")
    with pytest.raises(LabelError, match="add the code first"):
        store.code_span("AB", YOUTH, 0, 8, "aldersgrense")
    assert store.reviews() == [] and store.spans() == []


def test_spans_memos_and_own_codes_are_kept_per_coder(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite"
    with LabelStore(path) as store:
        store.add_code("aldersgrense", "AB", "Regler som gjelder etter alder")
        span = store.code_span("AB", YOUTH, 0, 20, "aldersgrense", memo="25 år")
        store.code_span("CD", YOUTH, 21, 39, "funding")
        store.write_memo("AB", YOUTH, "Er dette også økonomi?")
    with LabelStore(path) as reopened:  # written through: a new process sees it all
        assert [s.quote for s in reopened.spans("AB")] == ["Deltaker under 25 år"]
        assert reopened.spans("CD")[0].quote == "mottar 2/3 stønad."
        assert reopened.memo("AB", YOUTH.passage_id) == "Er dette også økonomi?"
        assert reopened.memo("CD", YOUTH.passage_id) == ""
        assert [c.name for c in reopened.codes()] == ["aldersgrense"]
        reopened.remove_span("AB", span.span_id)
        assert reopened.spans("AB") == []
        with pytest.raises(LabelError):
            reopened.remove_span("CD", span.span_id)  # not theirs, and gone anyway


def test_the_queue_puts_the_least_certain_first_and_leaves_out_what_is_done(
    store: LabelStore,
) -> None:
    passages = [BARRIER, YOUTH, UNSURE]
    assert uncertainty(UNSURE) > uncertainty(YOUTH) > uncertainty(BARRIER)
    order = queue(passages, [], "AB")
    assert [p.passage_id for p in order] == [UNSURE.passage_id, YOUTH.passage_id,
                                             BARRIER.passage_id]  # fmt: skip
    store.review("AB", UNSURE, ["organisation"])
    placed = place_all(store.reviews(), passages)
    assert UNSURE not in queue(passages, placed, "AB")
    assert UNSURE in queue(passages, placed, "CD")  # another coder still has it
    by_theme = queue(passages, placed, "AB", order="theme", theme="youth")
    assert by_theme[0] == YOUTH
    assert queue(passages, placed, "AB", order="document") == [BARRIER, YOUTH]
    with pytest.raises(LabelError, match="needs a theme"):
        queue(passages, placed, "AB", order="theme")


def test_a_changed_text_is_flagged_for_review_on_the_passage_that_took_its_place(
    store: LabelStore,
) -> None:
    store.review("AB", BARRIER, ["barriers"])
    store.review("AB", YOUTH, ["youth", "funding"])
    repaired = passage("b2", "Rus og psykisk uhelse hindrer mange i å delta i KVP.", barriers=0.9)
    unrelated = passage("d", "Kommunen fatter vedtak om programmet.", organisation=0.9)
    passages = [repaired, unrelated]  # YOUTH's text is gone, BARRIER's was repaired
    placed = {p.review.passage_id: p for p in place_all(store.reviews(), passages)}
    assert placed[BARRIER.passage_id].status is ReviewStatus.CHANGED
    assert placed[BARRIER.passage_id].passage_id == repaired.passage_id
    assert placed[YOUTH.passage_id].status is ReviewStatus.MISSING
    assert len(store.reviews()) == 2  # kept, never dropped
    todo = queue(passages, list(placed.values()), "AB")
    assert todo[0] == repaired  # to review again comes first
    resolved = resolve(passages, placed.values())
    assert resolved[repaired.passage_id].source == "model"
    assert resolved[repaired.passage_id].status == "changed"
    (row,) = coding_status(placed.values(), [])
    assert (row.reviewed, row.changed, row.missing) == (0, 1, 1)


def test_resolve_takes_the_latest_current_review_and_says_whose(store: LabelStore) -> None:
    store.review("AB", YOUTH, ["funding"])
    store.review("CD", YOUTH, ["youth", "funding"])
    placed = place_all(store.reviews(), [YOUTH, BARRIER])
    resolved = resolve([YOUTH, BARRIER], placed)
    assert resolved[YOUTH.passage_id].labels == ("youth", "funding")
    assert resolved[YOUTH.passage_id].coder == "CD"
    assert resolved[BARRIER.passage_id].source == "model"
    assert resolved[BARRIER.passage_id].labels == ("barriers",)


def test_reviews_enter_training_but_never_the_held_out_split(store: LabelStore) -> None:
    examples = [
        LabelledExample("rapport", YOUTH.text, ("funding",), "train"),
        LabelledExample("rapport", BARRIER.text, ("barriers",), "test"),
        LabelledExample("rapport", UNSURE.text, ("organisation",), "train"),
    ]
    store.review("AB", YOUTH, ["youth", "funding"])
    store.review("AB", BARRIER, [])  # a test passage: its review stays out
    store.review("AB", UNSURE, ["organisation"])
    new = passage("e", "Unge får tett oppfølging av et eget ungdomsteam.", youth=0.6)
    store.review("AB", new, ["youth", "organisation"])
    merged = merge_reviews(examples, store.reviews())
    assert (merged.replaced, merged.confirmed, merged.added, merged.held_out) == (1, 1, 1, 1)
    by_text = {e.text: e for e in merged.examples}
    assert by_text[YOUTH.text].labels == ("youth", "funding")
    assert by_text[BARRIER.text] == examples[1]  # test labels unchanged
    assert by_text[new.text].split == "train"


def test_reviewed_since_counts_passages_not_verdicts(store: LabelStore) -> None:
    store.review("AB", YOUTH, ["youth"])
    store.review("AB", BARRIER, ["barriers"])
    assert store.reviewed_since(None) == 2
    assert store.reviewed_since("9999") == 0


def test_a_store_of_another_version_or_place_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite"
    LabelStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE labels_schema SET version = 99")
    with pytest.raises(LabelError, match="schema version 99"):
        LabelStore(path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(LabelError, match="cannot be opened"):
        LabelStore(tmp_path / "file" / "labels.sqlite")


def test_decisions_survive_a_rebuild_and_a_repaired_passage_is_flagged(tmp_path: Path) -> None:
    from pipeline.index import build_index
    from pipeline.search import Index

    corpus = tmp_path / "korpus"
    corpus.mkdir()
    (corpus / "MANIFEST.toml").write_text(
        '[[document]]\nid = "notat"\nfile = "notat.md"\nkind = "report"\ntitle = "Notat"\n',
        encoding="utf-8",
    )
    first = ("Mange unge deltakere mangler arbeidserfaring og trenger tett oppfølging fra "
             "veilederen sin i hele programperioden, også etter at de har fått jobb.")  # fmt: skip
    second = ("Kommunen finansierer kvalifiseringsstønaden over rammetilskuddet, og budsjettet "
              "for programmet fastsettes av kommunestyret hvert år i desember.")  # fmt: skip
    (corpus / "notat.md").write_text(
        f"# Unge\n\n{first}\n\n# Penger\n\n{second}\n", encoding="utf-8"
    )
    build_index(corpus, tmp_path / "idx", encoder=HashingEncoder())  # type: ignore[arg-type]
    index = Index(tmp_path / "idx", encoder=HashingEncoder())  # type: ignore[arg-type]
    store = LabelStore(tmp_path / "labels.sqlite")

    def holding(text: str, passages: list[Passage]) -> Passage:  # a passage starts with its heading
        return next(p for p in passages if text in p.text)

    store.review("AB", holding(first, index.passages), ["youth", "barriers"])
    store.review("AB", holding(second, index.passages), ["funding"])
    index.store.close()

    repaired = first.replace("veilederen sin", "veilederen sin (KVP-veilederen)")
    (corpus / "notat.md").write_text(
        f"# Unge\n\n{repaired}\n\n# Penger\n\n{second}\n", encoding="utf-8"
    )
    build_index(corpus, tmp_path / "idx", encoder=HashingEncoder())  # type: ignore[arg-type]
    rebuilt = Index(tmp_path / "idx", encoder=HashingEncoder())  # type: ignore[arg-type]
    placed = {p.review.labels: p for p in place_all(store.reviews(), rebuilt.passages)}
    assert placed[("funding",)].status is ReviewStatus.CURRENT
    moved = placed[("barriers", "youth")]
    assert moved.status is ReviewStatus.CHANGED
    successor = next(p for p in rebuilt.passages if p.passage_id == moved.passage_id)
    assert successor == holding(repaired, rebuilt.passages)
    resolved = resolve(rebuilt.passages, placed.values())
    assert resolved[placed[("funding",)].passage_id].labels == ("funding",)
    assert resolved[successor.passage_id].status == "changed"

"""Retrieval training data: every bad line refused with its number, splits by passage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import TrainingDataError
from pipeline.model import Passage
from pipeline.training import (
    HELDOUT_DOC,
    assign_split,
    bucket,
    load_training,
    passage_split,
)

PASSAGES = [
    Passage("sotjl:aaa", "sotjl", "§ 32. Programmets varighet\n\nProgrammet gis for inntil to år.", ("§ 32",), 0, 60),
    Passage(f"{HELDOUT_DOC}:bbb", HELDOUT_DOC, "Revisjonen fant at vedtakene var mangelfulle.", ("6",), 0, 45),
]


def line(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "t0001", "question": "Hvor lenge varer KVP?", "answerable": True,
        "passages": [{"passage_id": "sotjl:aaa", "quote": "Programmet gis for inntil to år."}],
        "persona": "layperson", "style": "paraphrase", "lang": "nb", "kind": "rule", "split": "train",
    }  # fmt: skip
    return {**row, **changes}


def every_split() -> list[dict[str, object]]:
    return [
        line(id=f"t{n}", question=f"Spørsmål {n}?", split=split)
        for n, split in enumerate(("train", "dev", "test", "heldout"))
    ]


def write(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    questions = load_training(PASSAGES, write(tmp_path, every_split()))
    assert [q.split for q in questions] == ["train", "dev", "test", "heldout"]
    assert questions[0].passage_ids == ("sotjl:aaa",)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (line(id="x", question="Ny?", passages=[{"passage_id": "sotjl:aaa", "quote": "inntil tre år"}]),
         r"questions.jsonl:5: the quote «inntil tre år…» is not verbatim in sotjl:aaa"),
        (line(id="x", question="Ny?", passages=[{"passage_id": "sotjl:zzz", "quote": "to år"}]),
         r":5: passage 'sotjl:zzz' is not in the index"),
        (line(id="x", question="Spørsmål 0?"), r":5: the same question as line 1"),
        (line(id="x", question="Ny?", persona="dommer"), r":5: persona 'dommer' is not one of caseworker"),
        (line(id="x", question="Ny?", answerable=False), r":5: an answerable question needs passages"),
        ({"question": "Ny?"}, r":5: not a training question"),
    ],
)  # fmt: skip
def test_bad_lines_are_refused_by_number(tmp_path: Path, bad: dict[str, object], message: str) -> None:
    with pytest.raises(TrainingDataError, match=message):
        load_training(PASSAGES, write(tmp_path, [*every_split(), bad]))


def test_an_empty_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="the heldout split is empty"):
        load_training(PASSAGES, write(tmp_path, every_split()[:3]))


def test_a_missing_file_says_where_to_look(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match=r"no training data at .*DATA\.md"):
        load_training(PASSAGES, tmp_path / "finnes-ikke.jsonl")


def test_splits_follow_passages_and_the_strictest_wins() -> None:
    doc_of = {p.passage_id: p.doc_id for p in PASSAGES}
    assert passage_split(f"{HELDOUT_DOC}:bbb", HELDOUT_DOC) == "heldout"
    both = line(passages=[{"passage_id": "sotjl:aaa", "quote": "x"},
                          {"passage_id": f"{HELDOUT_DOC}:bbb", "quote": "y"}])  # fmt: skip
    assert assign_split(both, doc_of) == "heldout"
    assert assign_split(line(), doc_of) == passage_split("sotjl:aaa", "sotjl")
    unanswerable = line(answerable=False, passages=[])
    assert assign_split(unanswerable, doc_of) == passage_split(str(unanswerable["question"]), "")
    assert 0 <= bucket("sotjl:aaa") < 1 and bucket("sotjl:aaa") == bucket("sotjl:aaa")

"""Retrieval training data: question → passage pairs written for the corpus, and their checks.

`models/retrieval/questions.jsonl` holds one question a line (see `models/retrieval/DATA.md`
for how it was written and split):

    {"id": "t0001", "question": "…", "answerable": true,
     "passages": [{"passage_id": "sotjl:…", "quote": "verbatim words of that passage"}],
     "persona": "caseworker", "style": "paraphrase", "lang": "nb", "kind": "rule",
     "split": "train", "note": "…"}

Splits: ``train``, ``dev`` and ``test`` by passage (a passage that supports a dev or test
question is never a training positive), and ``heldout``: every question about one report
(`HELDOUT_DOC`), whose passages training never sees, to show what happens with documents a
user adds later. Unanswerable near-misses carry no passages and are split by question.

`load_training` refuses a file with a quote that is not verbatim in its passage, a passage id
the index does not have, a duplicate question or an empty split, naming the line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from pipeline.errors import TrainingDataError
from pipeline.model import Passage, Support, TrainingQuestion

Persona = Literal["caseworker", "researcher", "layperson"]
Style = Literal["paraphrase", "direct", "keyword", "legal"]
Language = Literal["nb", "nn", "en"]
QuestionKind = Literal["rule", "practice", "statistic", "research"]
Split = Literal["train", "dev", "test", "heldout"]
SPLITS: tuple[str, ...] = get_args(Split)
HELDOUT_DOC = "moss-revisjon-2018"  # a municipal audit: the kind of report users add later
SHARES = (("test", 0.1), ("dev", 0.1))  # the rest is train


def training_file() -> Path:
    from pipeline.paths import models_dir

    return models_dir() / "retrieval" / "questions.jsonl"


def load_training(
    passages: Sequence[Passage], path: Path | str | None = None
) -> list[TrainingQuestion]:
    """Every question of the file, checked against the passages of an index."""
    path = Path(path or training_file())
    if not path.is_file():
        raise TrainingDataError(f"no training data at {path}; see models/retrieval/DATA.md.")
    by_id = {p.passage_id: p for p in passages}
    questions: list[TrainingQuestion] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = parse_question(json.loads(line))
            check_question(question, by_id)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise TrainingDataError(f"{path}:{number}: not a training question ({err}).") from err
        except TrainingDataError as err:
            raise TrainingDataError(f"{path}:{number}: {err}") from err
        key = " ".join(question.question.lower().split())
        if key in seen:
            raise TrainingDataError(
                f"{path}:{number}: the same question as line {seen[key]}; remove one of them."
            )
        seen[key] = number
        questions.append(question)
    for split in SPLITS:
        if not any(q.split == split for q in questions):
            raise TrainingDataError(f"{path}: the {split} split is empty; run the split again.")
    return questions


def parse_question(data: dict[str, object]) -> TrainingQuestion:
    support = data.get("passages") or []
    assert isinstance(support, list)
    return TrainingQuestion(
        qid=str(data["id"]),
        question=str(data["question"]),
        answerable=bool(data["answerable"]),
        support=tuple(Support(str(s["passage_id"]), str(s["quote"])) for s in support),
        persona=str(data["persona"]),
        style=str(data["style"]),
        lang=str(data["lang"]),
        kind=str(data["kind"]),
        split=str(data["split"]),
        note=str(data.get("note", "")),
    )


def check_question(question: TrainingQuestion, by_id: dict[str, Passage]) -> None:
    choices = {"persona": Persona, "style": Style, "lang": Language, "kind": QuestionKind,
               "split": Split}  # fmt: skip
    for field, kind in choices.items():
        value, valid = getattr(question, field), get_args(kind)
        if value not in valid:
            raise TrainingDataError(f"{field} '{value}' is not one of {', '.join(valid)}.")
    if not question.question.strip():
        raise TrainingDataError("the question is empty.")
    if question.answerable != bool(question.support):
        raise TrainingDataError("an answerable question needs passages, an unanswerable none.")
    for support in question.support:
        passage = by_id.get(support.passage_id)
        if passage is None:
            raise TrainingDataError(
                f"passage '{support.passage_id}' is not in the index; the corpus or its "
                "segmentation changed: find the quote's passage again."
            )
        if support.quote not in passage.text:
            raise TrainingDataError(
                f"the quote «{support.quote[:60]}…» is not verbatim in {support.passage_id}."
            )


def bucket(key: str) -> float:
    """A stable position in [0, 1) for a key: splits never move when data is added."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 16**8


def passage_split(passage_id: str, doc_id: str) -> str:
    if doc_id == HELDOUT_DOC:
        return "heldout"
    position, low = bucket(passage_id), 0.0
    for split, share in SHARES:
        if low <= position < low + share:
            return split
        low += share
    return "train"


STRICTNESS = {"heldout": 3, "test": 2, "dev": 1, "train": 0}


def assign_split(question: TrainingQuestion | dict[str, object], doc_of: dict[str, str]) -> str:
    """A question's split: the strictest of its passages' splits, so that no dev, test or
    held-out passage is ever a training positive; unanswerable questions by their text."""
    if isinstance(question, dict):
        ids = [str(s["passage_id"]) for s in question.get("passages") or []]  # type: ignore[attr-defined]
        text = str(question["question"])
    else:
        ids, text = list(question.passage_ids), question.question
    if not ids:
        return passage_split(text, "")
    return max((passage_split(pid, doc_of[pid]) for pid in ids), key=STRICTNESS.__getitem__)

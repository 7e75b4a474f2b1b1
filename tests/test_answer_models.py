"""The trained answer models: sentence labels from quotes, thresholds, the shipped files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.answer import Candidate
from pipeline.answer_models import (
    ABSTENTION_FILE,
    EVIDENCE_FEATURES,
    MANIFEST_FILE,
    SENTENCE_FEATURES,
    AnswerModels,
    answer_models_dir,
    supporting,
)
from pipeline.encoder_model import fingerprint
from pipeline.errors import TrainingDataError
from pipeline.model import Hit, Passage, Support, TrainingQuestion

TEXT = "Første setning om noe annet. Stønaden er 2 G i året. Siste setning her."


def candidate(start: int, end: int) -> Candidate:
    passage = Passage("d:1", "d", TEXT, ("d",), 0, len(TEXT))
    return Candidate(Hit(passage, 1.0, rank=1), start, end)


def question(quote: str) -> TrainingQuestion:
    return TrainingQuestion("t1", "Hvor mye?", True, (Support("d:1", quote),), "caseworker",
                            "paraphrase", "nb", "rule", "train")  # fmt: skip


def test_a_sentence_is_supporting_when_it_overlaps_the_quote() -> None:
    second = TEXT.index("Stønaden")
    q = question("er 2 G i året")
    assert supporting(candidate(second, TEXT.index(" Siste")), q)
    assert not supporting(candidate(0, second - 1), q)
    assert not supporting(candidate(TEXT.index("Siste"), len(TEXT)), q)


def test_a_quote_over_two_sentences_makes_both_supporting() -> None:
    q = question("annet. Stønaden")
    assert supporting(candidate(0, TEXT.index(" Stønaden")), q)
    assert supporting(candidate(TEXT.index("Stønaden"), TEXT.index(" Siste")), q)


def test_shipped_models_match_their_manifest() -> None:
    folder = answer_models_dir()
    meta = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert meta["fingerprint"] == fingerprint(folder / ABSTENTION_FILE)[:12]
    assert meta["sentence_features"] == list(SENTENCE_FEATURES)
    assert meta["evidence_features"] == list(EVIDENCE_FEATURES)
    models = AnswerModels.load()
    calibration = models.calibration
    assert 0.0 < calibration.abstain_below < 1.0 and 0.0 < calibration.keep_above < 1.0
    row = np.zeros(len(EVIDENCE_FEATURES), dtype=np.float32)
    assert 0.0 <= models.answerable_probability(row) <= 1.0


def test_missing_models_say_how_to_train_them(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="kvp train-answers"):
        AnswerModels.load(tmp_path)


@pytest.mark.slow
def test_train_answers_end_to_end_on_the_statutes(statute_index: Path, tmp_path: Path) -> None:
    """`train_answer_models` on a few questions written for the statute index: it trains,
    saves, loads, and `ask` runs on what it saved."""
    from dataclasses import replace

    from pipeline.answer import ask
    from pipeline.answer_models import train_answer_models
    from pipeline.legal import parse_ref
    from pipeline.search import Index

    index = Index(statute_index)
    rows = []
    for key, texts in (
        ("sotjl § 32", ("Hvor lenge varer programmet?", "Kan programmet forlenges?",
                        "Hva er lengste tid i KVP?")),
        ("sotjl § 35", ("Hvor mye får man i stønad?", "Hva er stønaden for unge?",
                        "Hvor stor er kvalifiseringsstønaden?")),
        ("kvp-forskriften § 17", ("Hvor mye ferie har deltakerne?", "Får jeg fri i sommer?",
                                  "Hvor mange feriedager er det?")),
    ):  # fmt: skip
        passage = index.provision(parse_ref(key))[0]
        a, b = passage.sentences[0]
        rows += [(text, passage.passage_id, passage.text[a:b]) for text in texts]
    questions = [
        TrainingQuestion(f"t{n}", text, True, (Support(pid, quote),), "caseworker",
                         "paraphrase", "nb", "rule", "dev" if n % 3 == 2 else "train")
        for n, (text, pid, quote) in enumerate(rows)
    ] + [
        TrainingQuestion(f"u{n}", text, False, (), "layperson", "paraphrase", lang,
                         "statistic", split)
        for n, (text, lang, split) in enumerate((
            ("Hva koster parkering i Bergen?", "nb", "train"),
            ("How many people live in Tromsø?", "en", "train"),
            ("Hva er prisen på strøm i 2026?", "nb", "dev"),
        ))
    ]  # fmt: skip
    models, scored = train_answer_models(index, questions)
    assert {g.question.split for g in scored} == {"dev"}
    models.save(tmp_path)
    loaded = AnswerModels.load(tmp_path)
    assert loaded.meta["train_questions"] == 8 and loaded.meta["fingerprint"]
    with_models = Index(statute_index)
    with_models.__dict__["answer_models"] = loaded  # the cached property, given
    answer = ask(with_models, "Hvor lenge kan programmet vare?")
    assert answer.sources and 0.0 <= answer.confidence <= 1.0
    assert replace(answer, sources=()).question == "Hvor lenge kan programmet vare?"

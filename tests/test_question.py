"""Question understanding: type, the §§ a question is about, and its language."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import TrainingDataError
from pipeline.model import QuestionType, Support, TrainingQuestion
from pipeline.question import NO_PROVISION, QuestionModel, statute_examples, train_question_model
from pipeline.search import Index


@pytest.fixture(scope="module")
def shipped() -> QuestionModel:
    return QuestionModel.load()


def test_a_lay_question_finds_its_paragraph_without_naming_it(shipped: QuestionModel) -> None:
    seen = shipped.understand("Kan jeg jobbe deltid samtidig som jeg er med i programmet?")
    assert seen.question_type is QuestionType.RULE
    assert seen.provision_keys[0] == "sotjl § 30"
    assert seen.language == "nb" and not seen.named


def test_a_named_paragraph_comes_first_and_makes_it_a_rule_question(shipped: QuestionModel) -> None:
    seen = shipped.understand("Hva sier forskriften § 11 om fri når barna er syke?")
    assert seen.named == ("kvp-forskriften § 11",)
    assert seen.provision_keys[0] == "kvp-forskriften § 11"
    assert seen.question_type is QuestionType.RULE


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("How long can someone stay in the qualification programme?", "en"),
        ("Kor lenge kan eg vere med i programmet?", "nn"),
        ("Hvor lenge kan jeg være med i programmet?", "nb"),
    ],
)
def test_language(shipped: QuestionModel, question: str, language: str) -> None:
    assert shipped.understand(question).language == language


def test_a_statistics_question_is_not_a_rule_question(shipped: QuestionModel) -> None:
    seen = shipped.understand("Hvor mange deltakere hadde Oslo i 2024?")
    assert seen.question_type is QuestionType.STATISTIC


def test_probabilities_cover_every_type(shipped: QuestionModel) -> None:
    seen = shipped.understand("Hvordan organiserer kontorene oppfølgingen?")
    assert [t for t, _ in seen.type_probabilities] == [t.value for t in QuestionType]
    assert sum(p for _, p in seen.type_probabilities) == pytest.approx(1.0)


def test_statute_text_teaches_every_paragraph(statute_index: Path) -> None:
    """A § no training question is about is still predicted from its own words."""
    index = Index(statute_index)
    examples = statute_examples(index.passages)
    keys = {key for _, key in examples}
    assert {"sotjl § 32", "kvp-forskriften § 11"} <= keys
    questions = [
        TrainingQuestion(f"t{n}", text, True, (Support(pid, quote),), "caseworker",
                         "paraphrase", "nb", kind, "train")
        for n, (text, pid, quote, kind) in enumerate(training_rows(index))
    ] + [
        TrainingQuestion("u1", "Hva koster parkering i Bergen?", False, (), "layperson",
                         "paraphrase", "nb", "statistic", "train"),
        TrainingQuestion("u2", "What does parking cost in Bergen?", False, (), "layperson",
                         "paraphrase", "en", "statistic", "train"),
    ]  # fmt: skip
    model = train_question_model(questions, index.passages)
    seen = model.understand("Hvor mange virkedager ferie har en deltaker?")
    assert seen.provision_keys and seen.provision_keys[0] == "kvp-forskriften § 17"
    assert NO_PROVISION not in seen.provision_keys


def test_one_language_only_is_refused(statute_index: Path) -> None:
    index = Index(statute_index)
    questions = [
        TrainingQuestion(f"t{n}", text, True, (Support(pid, quote),), "caseworker",
                         "paraphrase", "nb", "rule" if n else "statistic", "train")
        for n, (text, pid, quote, _) in enumerate(training_rows(index))
    ]  # fmt: skip
    with pytest.raises(TrainingDataError, match="same lang"):
        train_question_model(questions, index.passages)


def training_rows(index: Index) -> list[tuple[str, str, str, str]]:
    """A few training questions on two §§, the rest of the §§ left to their own text."""
    from pipeline.legal import parse_ref

    rows = []
    for key, texts in (
        ("sotjl § 32", ("Hvor lenge varer programmet?", "Kan programmet forlenges?")),
        ("sotjl § 35", ("Hvor mye får man i stønad?", "Hva er stønaden for unge?")),
    ):
        passage = index.provision(parse_ref(key))[0]
        a, b = passage.sentences[0]
        rows += [(text, passage.passage_id, passage.text[a:b], "rule") for text in texts]
    return rows

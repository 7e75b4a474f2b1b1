"""Answers: the rule first, then what the reports say, each sentence cited — or an honest refusal.

No generative model is involved. A question is first understood (`pipeline.question`): its
type (rule, practice, statistic, research), the §§ it is about even when none is named, and
its language. The answering passages are the top search hits plus the statute text of those
§§, and their whole sentences are the candidates. A trained sentence relevance model
(`pipeline.answer_models`) scores each; the answer keeps the ones that answer:

- **Regelverket**: sentences of the act or regulation, cited with act, § and ledd.
- **Fra rapportene**: sentences of reports, theses and audits, with their source and year.

A report sentence that states a rule (an amount in G, an age limit, a duration, a number of
days) the current statute text in the corpus states differently is marked superseded
(`pipeline.supersede`), and the current rule is quoted first in "Regelverket".

Whether to answer at all is the abstention model's call: its probability that the sources
answer the question is the answer's confidence, and the answer abstains below the threshold
chosen on the dev split. A refusal names what the sources lack and lists the nearest sources.

Every quote is verbatim from its passage, with offsets into it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pipeline.model import (
    NO_FILTERS,
    REPORTS_HEADING,
    RULES_HEADING,
    STATUTE_KINDS,
    Answer,
    AnswerSection,
    Citation,
    Filters,
    Hit,
    Passage,
    QuestionType,
    Source,
)
from pipeline.search import Index, check_query
from pipeline.settings import AnswerSettings

if TYPE_CHECKING:
    import numpy as np

    from pipeline.answer_models import AnswerModels, Calibration
    from pipeline.question import Understanding
    from pipeline.supersede import StatuteText

LANGUAGE_NOTES = {
    "en": "The sources are in Norwegian; the answer quotes them word for word.",
    "nn": "Kjeldene er på bokmål; svaret siterer dei ordrett.",
}
# A quote must be a whole sentence: not opening inside one, not leaving a bracket open.
OPENS_MID_SENTENCE_RE = re.compile(r"^[a-zæøå,;:)\]]")
PAIRS = (("(", ")"), ("[", "]"), ("«", "»"))
NUMBER_RE = re.compile(r"\b\d+(?:[.,]\d+)?\b")
# Nynorsk function words that bokmål's stop-word list lacks: absent from the bokmål sources,
# they would look like the specific words a question is about.
NYNORSK_FUNCTION_WORDS = frozenset((
    "kva", "kven", "kor", "korleis", "kvifor", "kvar", "eg", "ikkje", "dei", "deira", "ein",
    "eit", "eitt", "frå", "òg", "berre", "vere", "vore", "fekk", "gjekk", "kjem", "ifølgje",
    "nokon", "noko", "nokre", "mykje", "meir", "sidan", "saman", "heile", "heime", "vert",
    "vart", "blei",
))  # fmt: skip
# A statute sentence that qualifies the one before it: a condition or an exception.
EXCEPTION_RE = re.compile(
    r"^(Når|Dersom|Hvis|Om|Ved|Unntak|Første ledd|Annet ledd|Bestemmelsen|Det gjelder|"
    r"Dette gjelder|Det samme gjelder)\b|^[^.]*\blikevel\b"
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence of an answering passage, with how well it answers the question."""

    hit: Hit
    start: int  # offsets of the sentence in the passage text
    end: int
    statute: bool = False  # from the act or the regulation
    similarity: float = 0.0  # the (trained) encoder's cosine to the question
    probability: float = 0.0  # the sentence relevance model's P(it answers)

    @property
    def text(self) -> str:
        return self.hit.passage.text[self.start : self.end]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the sources offer for a question: everything the answer and the refusal read."""

    hits: tuple[Hit, ...]  # the search hits, shown as sources
    candidates: tuple[Candidate, ...]  # whole sentences of the answering passages
    features: np.ndarray = field(repr=False)  # `answer_models.SENTENCE_FEATURES` per candidate
    coverage: float  # share of the question's content words (expanded) in the passages
    coverage_plain: float  # the same without synonyms and lay terms
    content_words: int
    absent: tuple[tuple[str, int], ...]  # question words not in them, with their df
    absent_numbers: int = 0  # numbers of the question (a year, an age) not in them

    @property
    def via_reference(self) -> bool:
        return bool(self.hits) and self.hits[0].via_reference

    @property
    def best(self) -> Candidate | None:
        return max(self.candidates, key=lambda c: c.probability, default=None)


def ask(
    index: Index,
    question: str,
    *,
    filters: Filters = NO_FILTERS,
    settings: AnswerSettings | None = None,
) -> Answer:
    """Answer a question from the index, with citations, or abstain with the nearest sources."""
    from pipeline.answer_models import evidence_features

    settings = settings or index.answer_settings
    text = check_query(question, index.settings.max_query_chars)
    models = index.answer_models
    understanding = models.question.understand(text)
    hits = index.search(text, k=settings.source_count, filters=filters)
    if not hits:
        reason = "ingen kilder passer til søket; fjern en avgrensning eller spør på en annen måte"
        return refusal(question, understanding, 0.0, (), reason)
    evidence = gather_evidence(index, text, understanding, hits, models, filters, settings)
    if evidence.via_reference:
        confidence = 1.0
    else:
        confidence = models.answerable_probability(evidence_features(evidence, understanding))
    rules, reports = choose(evidence, understanding, models.calibration, settings, text)
    if (confidence < models.calibration.abstain_below and not evidence.via_reference) or not (
        rules or reports
    ):
        reason = abstention_reason(evidence, models.calibration)
        return refusal(question, understanding, round(confidence, 3), hits, reason)
    return compose(index, question, understanding, rules, reports, round(confidence, 3), hits)


def refusal(
    question: str,
    understanding: Understanding,
    confidence: float,
    hits: Sequence[Hit],
    reason: str,
) -> Answer:
    """An abstention: why, and the nearest sources to read instead."""
    return Answer(
        question,
        "",
        True,
        confidence,
        (),
        tuple(hits),
        reason,
        question_type=understanding.question_type,
        language=understanding.language,
        provisions=understanding.provision_keys,
        note=LANGUAGE_NOTES.get(understanding.language, ""),
    )


# Evidence -------------------------------------------------------------------------------------


def gather_evidence(
    index: Index,
    question: str,
    understanding: Understanding,
    hits: Sequence[Hit] | None = None,
    models: AnswerModels | None = None,
    filters: Filters = NO_FILTERS,
    settings: AnswerSettings | None = None,
) -> Evidence:
    """The answering passages' whole sentences, with features and (given models) probabilities.

    The answering passages are the top hits plus the statute text of the §§ the question is
    about, when the filters allow statutes: a lay question often shares no word with its §.
    """
    from pipeline.answer_models import QuestionTerms, sentence_features
    from pipeline.rerank import share

    settings = settings or index.answer_settings
    if hits is None:
        hits = index.search(question, k=settings.source_count, filters=filters)
    answering = list(hits[: settings.answer_passages])
    answering += provision_hits(index, understanding, answering, filters, settings)
    statute = {p.passage_id for p in (h.passage for h in answering) if is_statute(index, p)}
    candidates = [
        Candidate(hit, start, end, hit.passage.passage_id in statute)
        for hit in answering
        for start, end in hit.passage.sentences
        if is_whole_sentence(hit.passage.text[start:end], settings.min_sentence_chars)
    ]
    similarities = sentence_similarities(index, question, candidates)
    candidates = [replace(c, similarity=s) for c, s in zip(candidates, similarities, strict=True)]
    terms = QuestionTerms.of(index, question)
    features = sentence_features(
        question, terms, understanding, candidates, lambda p: p.passage_id in statute
    )
    if models is not None:
        probabilities = models.sentence_probabilities(features)
        candidates = [
            replace(c, probability=p) for c, p in zip(candidates, probabilities, strict=True)
        ]
    present = tokens_of([h.passage for h in answering])
    plain_present = tokens_of([h.passage for h in answering], expand=False)
    texts = " ".join(h.passage.text for h in answering)
    return Evidence(
        tuple(hits),
        tuple(candidates),
        features,
        share(terms.expanded, present),
        share(terms.plain, plain_present),
        len(terms.plain),
        tuple(absent_words(index, question, present, understanding.language)),
        sum(1 for number in dict.fromkeys(NUMBER_RE.findall(question)) if number not in texts),
    )


def provision_hits(
    index: Index,
    understanding: Understanding,
    answering: Sequence[Hit],
    filters: Filters,
    settings: AnswerSettings,
) -> list[Hit]:
    """Statute passages of the §§ the question is about that the top hits do not hold yet."""
    from pipeline.legal import parse_ref

    if (
        filters.theme
        or filters.years
        or (filters.kinds and not set(filters.kinds) & {k.value for k in STATUTE_KINDS})
    ):
        return []  # statutes carry no theme or year, or their kind is filtered out
    have = {h.passage.passage_id for h in answering}
    added: list[Hit] = []
    for key in understanding.provision_keys[:2]:
        for passage in index.provision(parse_ref(key)):
            if passage.passage_id not in have and len(added) < settings.provision_passages:
                have.add(passage.passage_id)
                added.append(Hit(passage, 0.0, (), rank=0))
    return added


def is_statute(index: Index, passage: Passage) -> bool:
    return index.source_of(passage).kind in STATUTE_KINDS


def is_whole_sentence(text: str, min_chars: int) -> bool:
    """A sentence worth quoting: long enough, not a fragment, every bracket closed."""
    stripped = text.strip()
    if len(stripped) < min_chars or OPENS_MID_SENTENCE_RE.match(stripped):
        return False
    return all(stripped.count(a) == stripped.count(b) for a, b in PAIRS)


def sentence_similarities(
    index: Index, question: str, candidates: Sequence[Candidate]
) -> list[float]:
    """Each sentence's cosine similarity to the question, by the index's encoder: trained on
    this corpus's questions, it has learnt lay → legal wording ("deltid" → "50 prosent
    stilling"), which the original e5 measured worse on the dev split."""
    if not candidates:
        return []
    vectors = index.sentence_vectors([c.text for c in candidates])
    query = index.encoder.encode_queries([question])[0]
    return [float(s) for s in vectors @ query]


def tokens_of(passages: Sequence[Passage], *, expand: bool = True) -> frozenset[str]:
    """Every normalised token of the answering passages, computed once per question."""
    from pipeline.rerank import text_terms

    return frozenset().union(*(text_terms(p.text, expand=expand) for p in passages))


def absent_words(
    index: Index, question: str, present: frozenset[str], language: str = "nb"
) -> list[tuple[str, int]]:
    """Content words of the question absent from the `present` tokens, with how many
    passages of the whole index hold them (a rare one is what the question is about).

    An English question's words are not looked for: the sources are Norwegian, so every
    one of them would be "absent". Nynorsk function words are left out like bokmål ones.
    """
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    from pipeline.language import compound_parts, stem, words

    if language == "en":
        return []
    absent = []
    for word in dict.fromkeys(words(without_references(question))):
        if word in STOPWORDS_NORWEGIAN or word in NYNORSK_FUNCTION_WORDS:
            continue
        if not word.isalpha() or len(word) < 3:
            continue
        if stem(word) in present or any(stem(p) in present for p in compound_parts(word)):
            continue
        absent.append((word, index.document_frequency(stem(word))))
    return absent


def without_references(text: str) -> str:
    """The question without its legal references ("sotjl § 35 barnetillegg" → "barnetillegg")."""
    from pipeline.legal import find_refs

    for ref in sorted(find_refs(text, default_act="sotjl"), key=lambda r: -r.char_start):
        text = text[: ref.char_start] + " " + text[ref.char_end :]
    return text


def abstention_reason(evidence: Evidence, calibration: Calibration) -> str:
    """Why the sources do not answer, in Norwegian: what they lack, as specifically as known."""
    missing = [word for word, df in evidence.absent if df <= 5]
    if missing:
        return "kildene nevner ikke " + ", ".join(f"«{w}»" for w in missing[:3])
    best = evidence.best
    if best is None or best.probability < calibration.keep_above:
        return "ingen setning i kildene svarer på spørsmålet"
    return "kildene handler om noe nær spørsmålet, men ingen av dem svarer sikkert på det"


# Choosing sentences ---------------------------------------------------------------------------


def choose(
    evidence: Evidence,
    understanding: Understanding,
    calibration: Calibration,
    settings: AnswerSettings,
    question: str,
) -> tuple[list[Candidate], list[Candidate]]:
    """The statute sentences and the report sentences that answer, in reading order.

    A rule question quotes the governing statute text — of a § the question is about, or
    among the top three hits — even when a report words the rule closer to the question or
    the sentence model is unsure which of the §'s sentences answers; other questions quote
    statute text only when it is about as likely to answer as the best report sentence.
    """
    from pipeline.legal import provision_of

    if evidence.via_reference and not content_words(without_references(question)):
        opening = [c for c in evidence.candidates if c.hit is evidence.hits[0]]
        return opening[: settings.max_sentences], []
    ranked = sorted(evidence.candidates, key=lambda c: -c.probability)
    if not ranked:
        return [], []
    best = ranked[0].probability
    statute = [c for c in ranked if c.statute]
    report = [c for c in ranked if not c.statute]
    floor = calibration.keep_above
    about = set(understanding.provision_keys)

    def governing(candidate: Candidate) -> bool:
        held = provision_of(candidate.hit.passage)
        return bool(held and held[0] in about) or 0 < candidate.hit.rank <= 3

    limit = settings.max_rule_sentences
    if understanding.question_type is QuestionType.RULE or evidence.via_reference:
        rules = keep([c for c in statute if governing(c)], floor, calibration.keep_within,
                     limit, settings, first_always=True)  # fmt: skip
    elif statute and statute[0].probability >= best - calibration.keep_within:
        rules = keep(statute, floor, calibration.keep_within, limit, settings)
    else:
        rules = []
    reports = keep(report, floor, calibration.keep_within, settings.max_report_sentences, settings)
    if not rules and not reports:
        top = ranked[0]
        (rules if top.statute else reports).append(top)  # the best there is, when it passes
    rules = [with_context(c, settings.max_quote_chars) for c in rules]
    return in_reading_order(rules), in_reading_order(reports)


def keep(
    ranked: Sequence[Candidate],
    floor: float,
    within: float,
    limit: int,
    settings: AnswerSettings,
    *,
    first_always: bool = False,
) -> list[Candidate]:
    """The most probable sentences above the floor and near the best, a few per passage
    (with `first_always`, the most probable one whatever its probability)."""
    if not ranked or (ranked[0].probability < floor and not first_always):
        return []
    best = ranked[0].probability
    if first_always:
        floor = min(floor, best)
    chosen: list[Candidate] = []
    per_passage: dict[str, int] = {}
    for candidate in ranked:
        if len(chosen) == limit or candidate.probability < max(floor, best - within):
            break
        pid = candidate.hit.passage.passage_id
        if per_passage.get(pid, 0) < settings.max_per_passage and candidate.text not in {
            c.text for c in chosen
        }:
            chosen.append(candidate)
            per_passage[pid] = per_passage.get(pid, 0) + 1
    return chosen


def in_reading_order(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Sources in rank order, sentences in text order; a sentence inside another's quote
    (its context sentence) is dropped."""
    kept: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (c.hit.rank or 99, c.start)):
        same = [k for k in kept if k.hit.passage.passage_id == candidate.hit.passage.passage_id]
        if any(k.start < candidate.end and candidate.start < k.end for k in same):
            continue
        kept.append(candidate)
    return kept


def with_context(candidate: Candidate, max_chars: int) -> Candidate:
    """A statute sentence with the rule or exception beside it in the same ledd.

    Statutes state a rule and then its exception ("… ikke lenger enn to år. Når særlige
    grunner tilsier det, kan programmet forlenges med inntil ett år."): either alone misleads.
    An exception takes the sentence before it; a rule takes the next sentence when that one
    is an exception (it opens with a condition or says "likevel"). Both must fit one quote.
    """
    text = candidate.hit.passage.text
    sentences = candidate.hit.passage.sentences
    start, end = candidate.start, candidate.end
    before = [s for s in sentences if s[1] <= start]
    after = [s for s in sentences if s[0] >= end]
    if before and EXCEPTION_RE.match(text[start:end]):
        start = before[-1][0]
    elif after and EXCEPTION_RE.match(text[after[0][0] : after[0][1]]):
        end = after[0][1]
    joined = text[start:end]
    if "\n\n" in joined or len(joined) > max_chars:
        return candidate
    return replace(candidate, start=start, end=end)


def content_words(text: str) -> set[str]:
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    from pipeline.language import words

    return {w for w in words(text) if w not in STOPWORDS_NORWEGIAN and w.isalpha() and len(w) > 1}


# Composing ------------------------------------------------------------------------------------


def compose(
    index: Index,
    question: str,
    understanding: Understanding,
    rules: Sequence[Candidate],
    reports: Sequence[Candidate],
    confidence: float,
    hits: Sequence[Hit],
) -> Answer:
    """Citations numbered rules first; report sentences checked against the current law."""
    rule_citations = [cite(index, c) for c in rules]
    report_citations = [cite(index, c) for c in reports]
    statutes = statute_texts(index) if report_citations else []
    checked = [mark_superseded(c, statutes) for c in report_citations]
    for citation in checked:
        current = citation.superseded
        if current and not any(current.current in r.quote for r in rule_citations):
            rule_citations.insert(0, current_rule_citation(index, current.by, current.current))
    citations = (*rule_citations, *checked)
    sections = []
    if rule_citations:
        numbers = tuple(range(1, len(rule_citations) + 1))
        text = " ".join(
            f"{provision_label(index, c)}: {c.quote} [{n}]"
            for n, c in zip(numbers, rule_citations, strict=True)
        )
        sections.append(AnswerSection(RULES_HEADING, text, numbers))
    if checked:
        numbers = tuple(range(len(rule_citations) + 1, len(citations) + 1))
        text = " ".join(
            f"{source_name(index, c)} ({c.year}): {c.quote} [{n}]" if c.year else f"{c.quote} [{n}]"
            for n, c in zip(numbers, checked, strict=True)
        )
        sections.append(AnswerSection(REPORTS_HEADING, text, numbers))
    return Answer(
        question,
        "\n\n".join(f"{s.heading}: {s.text}" for s in sections),
        False,
        confidence,
        citations,
        tuple(hits),
        question_type=understanding.question_type,
        language=understanding.language,
        provisions=understanding.provision_keys,
        sections=tuple(sections),
        note=LANGUAGE_NOTES.get(understanding.language, ""),
    )


def provision_label(index: Index, citation: Citation) -> str:
    """The act's short name with the § and ledd: "sosialtjenesteloven § 32 første ledd"."""
    return act_label(index.documents[citation.doc_id].source, citation.locator)


def act_label(source: Source, locator: str) -> str:
    """How a caseworker names a place in a statute: its short name, then § (and ledd)."""
    return f"{source.short or source.title} {locator}".strip()


def source_name(index: Index, citation: Citation) -> str:
    """A report's publisher as a caseworker names it: "Fafo", "Velferdsetaten"."""
    source = index.documents[citation.doc_id].source
    return re.split(r",| for | \(", source.publisher or source.title)[0].strip()


def cite(index: Index, candidate: Candidate) -> Citation:
    passage = candidate.hit.passage
    source = index.source_of(passage)
    statute = source.kind in STATUTE_KINDS
    return Citation(
        passage_id=passage.passage_id,
        doc_id=passage.doc_id,
        title=source.title,
        kind=source.kind,
        section=passage.section,
        locator=sentence_locator(passage, candidate.start) if statute else passage.locator,
        page=passage.page_start,
        quote=candidate.text,
        quote_start=candidate.start,
        quote_end=candidate.end,
        score=round(candidate.probability, 4),
        year=source.year,
        legal_refs=passage.legal_refs,
        related_law=related_law(index, passage) if not statute else (),
        in_force=index.in_force(passage) if statute else None,
    )


def sentence_locator(passage: Passage, start: int) -> str:
    from pipeline.statutes import sentence_locator as locate

    return locate(passage, start)


def current_rule_citation(index: Index, passage_id: str, quote: str) -> Citation:
    """A citation of the statute sentence that states a superseded report's rule today."""
    passage = index.passage(passage_id)
    start = passage.text.index(quote)
    hit = Hit(passage, 0.0, (), rank=0)
    return cite(index, Candidate(hit, start, start + len(quote), statute=True, probability=1.0))


def statute_texts(index: Index) -> list[StatuteText]:
    """Every statute passage, as the superseded-claim check reads them. All of them: which §
    a report sentence is about is the check's to find (the §§ it cites, else agreement of
    the words around its figures), not only the §§ of the question."""
    from pipeline.supersede import StatuteText

    return [
        StatuteText(p, act_label(index.source_of(p), p.locator), index.in_force(p))
        for p in index.statutes
    ]


def mark_superseded(citation: Citation, statutes: Sequence[StatuteText]) -> Citation:
    from pipeline.supersede import supersession

    # The check reads the §§ of these references itself (statute ones only).
    found = supersession(citation.quote, statutes, cited=[r.key for r in citation.legal_refs])
    return replace(citation, superseded=found) if found else citation


def statute_label(index: Index, passage_id: str) -> str:
    """How a caseworker names a statute passage: "sosialtjenesteloven § 32"."""
    passage = index.passage(passage_id)
    return act_label(index.source_of(passage), passage.locator)


def related_law(index: Index, passage: Passage) -> tuple[str, ...]:
    """Statute passages in the corpus that hold the §§ a report passage refers to."""
    found: list[str] = []
    for ref in passage.legal_refs:
        for statute in index.provision(ref):
            if statute.passage_id not in found:
                found.append(statute.passage_id)
    return tuple(found[:3])

"""Answers: the best supporting sentences, each cited, or an honest abstention.

No generative model is involved. The answer is built from verbatim sentences of the top
passages, chosen by how close each sentence is to the question (e5 vectors, with the
question's words as a tie-breaker) and spread over the sources. Each sentence is cited with
its passage, document, section or §, page where known, and the exact quote with offsets.

The answer abstains when the evidence is weak: when no sentence is close enough to the
question, or a word that the question is specifically about is absent from the answering
passages. `abstention_reason` is that one decision, over the `Evidence` gathered for a
question; its thresholds (`AnswerSettings`) were chosen on the dev half of the evaluation set
(`benchmarks/tune_search.py` calls the same function); the test half only reports.

When a cited passage is a report that refers to a § of a statute in the corpus, the
statute passage holding that § is attached, so the current law stands beside the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pipeline.model import NO_FILTERS, Answer, Citation, Filters, Hit, Kind, Passage
from pipeline.search import Index, check_query
from pipeline.settings import AnswerSettings

if TYPE_CHECKING:
    import numpy as np

STATUTES = frozenset({Kind.LAW, Kind.REGULATION})


@dataclass(frozen=True, slots=True)
class Candidate:
    hit: Hit
    start: int  # offsets of the sentence in the passage text
    end: int
    similarity: float = 0.0
    overlap: float = 0.0
    lexical_weight: float = AnswerSettings().lexical_weight

    @property
    def text(self) -> str:
        return self.hit.passage.text[self.start : self.end]

    @property
    def score(self) -> float:
        return self.similarity + self.lexical_weight * self.overlap


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the sources offer for a question: everything the abstention decision reads."""

    hits: tuple[Hit, ...]
    candidates: tuple[Candidate, ...]  # scored sentences of the answering passages
    best: Candidate | None
    coverage: float  # share of the question's content words in the answering passages
    absent: tuple[tuple[str, int], ...]  # question words not in them, with their df

    @property
    def via_reference(self) -> bool:
        return bool(self.hits) and self.hits[0].via_reference


def ask(
    index: Index,
    question: str,
    *,
    filters: Filters = NO_FILTERS,
    settings: AnswerSettings | None = None,
) -> Answer:
    """Answer a question from the index, with citations, or abstain with the nearest sources."""
    settings = settings or index.answer_settings
    text = check_query(question, index.settings.max_query_chars)
    hits = index.search(text, k=settings.source_count, filters=filters)
    if not hits:
        return Answer(question, "", True, 0.0, (), ())
    if hits[0].via_reference:
        return answer_from_provision(index, question, text, hits, settings)
    evidence = gather_evidence(index, text, hits, settings)
    confidence = answer_confidence(evidence.best, evidence.coverage, settings)
    reason = abstention_reason(evidence, settings)
    if reason is not None or evidence.best is None:
        return Answer(question, "", True, confidence, (), tuple(hits), reason or "")
    chosen = choose(list(evidence.candidates), evidence.best, settings)
    return compose(index, question, chosen, confidence, hits)


def gather_evidence(
    index: Index, question: str, hits: Sequence[Hit], settings: AnswerSettings
) -> Evidence:
    """The answering passages' sentences scored against the question, and the word check."""
    top = hits[: settings.answer_passages]
    present = tokens_of([h.passage for h in top])
    candidates = score_sentences(index, question, candidate_sentences(top, settings), settings)
    best = max(candidates, key=lambda c: c.score, default=None)
    return Evidence(
        tuple(hits),
        tuple(candidates),
        best,
        content_coverage(question, present),
        tuple(absent_words(index, question, present)),
    )


def abstention_reason(evidence: Evidence, settings: AnswerSettings) -> str | None:
    """Why the sources do not answer (in Norwegian), or None when they do."""
    if evidence.via_reference:
        return None  # a named § is answered from its own text
    if evidence.best is None or evidence.best.similarity < settings.min_similarity:
        return "ingen setning i kildene ligger nær nok spørsmålet"
    missing = [word for word, df in evidence.absent if 0 < df <= settings.specific_df]
    if missing:
        return "kildene som ligner mest, nevner ikke " + ", ".join(f"«{w}»" for w in missing)
    return None


def tokens_of(passages: Sequence[Passage]) -> set[str]:
    """Every normalised token of the answering passages, computed once per question."""
    from pipeline.language import normalize_tokens

    return set().union(*(normalize_tokens(p.text) for p in passages)) if passages else set()


def absent_words(index: Index, question: str, present: set[str]) -> list[tuple[str, int]]:
    """Content words of the question absent from the `present` tokens, with how many
    passages of the whole index hold them (a rare one is what the question is about)."""
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    from pipeline.language import stem, words

    absent = []
    for word in dict.fromkeys(words(question)):
        if word in STOPWORDS_NORWEGIAN or not word.isalpha() or stem(word) in present:
            continue
        absent.append((word, index.document_frequency(stem(word))))
    return absent


def compose(
    index: Index, question: str, chosen: Sequence[Candidate], confidence: float, hits: Sequence[Hit]
) -> Answer:
    citations = tuple(cite(index, c) for c in chosen)
    answer_text = " ".join(f"{c.text} [{n}]" for n, c in enumerate(chosen, start=1))
    return Answer(question, answer_text, False, confidence, citations, tuple(hits))


def answer_from_provision(
    index: Index, question: str, text: str, hits: Sequence[Hit], settings: AnswerSettings
) -> Answer:
    """A question naming a § is answered from that statute text itself.

    With nothing asked beyond the reference ("sotjl § 35") the answer is the provision's
    opening; otherwise its sentences closest to the question ("§ 35 barnetillegg").
    """
    top = hits[: settings.answer_passages]
    holding = [h for h in top if h.via_reference and h.passage.locator]
    candidates = candidate_sentences(holding or hits[:1], settings)
    if not candidates:
        return Answer(question, "", True, 1.0, (), tuple(hits))
    if not content_stems(without_references(text)):
        opening = [c for c in candidates if c.hit is candidates[0].hit][: settings.max_sentences]
        return compose(index, question, opening, 1.0, hits)
    scored = score_sentences(index, text, candidates, settings)
    best = max(scored, key=lambda c: c.score)
    return compose(index, question, choose(scored, best, settings), 1.0, hits)


def without_references(text: str) -> str:
    """The question without its legal references ("sotjl § 35 barnetillegg" → "barnetillegg")."""
    from pipeline.legal import find_refs

    for ref in sorted(find_refs(text, default_act="sotjl"), key=lambda r: -r.char_start):
        text = text[: ref.char_start] + " " + text[ref.char_end :]
    return text


def candidate_sentences(hits: Sequence[Hit], settings: AnswerSettings) -> list[Candidate]:
    """The stored sentences of the top passages (headings were left out at build time)."""
    return [
        Candidate(hit, start, end, lexical_weight=settings.lexical_weight)
        for hit in hits
        for start, end in hit.passage.sentences
        if end - start >= settings.min_sentence_chars
    ]


def with_context(candidate: Candidate, max_chars: int) -> Candidate:
    """The sentence with the one before it in the same paragraph, when both fit one quote.

    Statutes state a rule and then its exception ("… ikke lenger enn to år. Når særlige
    grunner tilsier det, kan programmet forlenges …"): the exception alone misleads.
    """
    text = candidate.hit.passage.text
    before = [s for s in candidate.hit.passage.sentences if s[1] <= candidate.start]
    if not before:
        return candidate
    start, _ = before[-1]
    joined = text[start : candidate.end]
    if "\n\n" in joined or len(joined) > max_chars:
        return candidate
    return replace(candidate, start=start)


def score_sentences(
    index: Index, question: str, candidates: list[Candidate], settings: AnswerSettings
) -> list[Candidate]:
    """Each sentence's cosine similarity to the question and its share of the question's words."""
    if not candidates:
        return []
    vectors = index.sentence_encoder.encode_passages([c.text for c in candidates])
    query = index.sentence_encoder.encode_queries([question])[0]
    similarities: np.ndarray = vectors @ query
    wanted = content_stems(question)
    return [
        Candidate(c.hit, c.start, c.end, float(s), overlap(wanted, c.text), settings.lexical_weight)
        for c, s in zip(candidates, similarities, strict=True)
    ]


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry a question's content (stop words dropped)."""
    # bm25s's Norwegian list: already loaded for search, unlike spaCy's (2 s to import).
    from bm25s.stopwords import STOPWORDS_NORWEGIAN as STOP_WORDS

    from pipeline.language import normalize_tokens, words

    kept = " ".join(w for w in words(text) if w not in STOP_WORDS and len(w) > 1)
    return set(normalize_tokens(kept, expand=False))


def overlap(wanted: set[str], text: str) -> float:
    from pipeline.language import normalize_tokens

    if not wanted:
        return 0.0
    return len(wanted & set(normalize_tokens(text))) / len(wanted)


def content_coverage(question: str, present: set[str]) -> float:
    """Share of the question's content words among the answering passages' tokens."""
    wanted = content_stems(question)
    if not wanted:
        return 0.0
    return len(wanted & present) / len(wanted)


def answer_confidence(
    best: Candidate | None, coverage: float, settings: AnswerSettings
) -> float:
    """A 0–1 summary of how well the sources support an answer (not a calibrated probability).

    The best sentence's cosine is read against the abstention threshold: 0 at 0.1 below it,
    1 at 0.2 above it, whatever the encoder's scale."""
    if best is None:
        return 0.0
    low = settings.min_similarity - 0.1
    closeness = min(1.0, max(0.0, (best.similarity - low) / 0.3))
    return round(0.7 * closeness + 0.3 * coverage, 3)


def choose(
    candidates: list[Candidate], best: Candidate, settings: AnswerSettings
) -> list[Candidate]:
    """Up to three sentences near the best, at most two per passage, in reading order."""
    chosen: list[Candidate] = []
    per_passage: dict[str, int] = {}
    for candidate in sorted(candidates, key=lambda c: -c.score):
        if len(chosen) == settings.max_sentences or candidate.score < best.score - (
            settings.keep_within
        ):
            break
        pid = candidate.hit.passage.passage_id
        if per_passage.get(pid, 0) < settings.max_per_passage and candidate.text not in {
            c.text for c in chosen
        }:
            chosen.append(candidate)
            per_passage[pid] = per_passage.get(pid, 0) + 1
    kept: list[Candidate] = []
    contexts = (with_context(c, settings.max_quote_chars) for c in chosen)
    for candidate in sorted(contexts, key=lambda c: (c.hit.rank, c.start)):
        same_passage = [k for k in kept if k.hit is candidate.hit]
        if any(k.start < candidate.end and candidate.start < k.end for k in same_passage):
            continue  # its context sentence is already quoted
        kept.append(candidate)
    return kept


def cite(index: Index, candidate: Candidate) -> Citation:
    passage = candidate.hit.passage
    source = index.source_of(passage)
    return Citation(
        passage_id=passage.passage_id,
        doc_id=passage.doc_id,
        title=source.title,
        kind=source.kind,
        section=passage.section,
        locator=passage.locator,
        page=passage.page_start,
        quote=candidate.text,
        quote_start=candidate.start,
        quote_end=candidate.end,
        score=round(candidate.score, 4),
        year=source.year,
        legal_refs=passage.legal_refs,
        related_law=related_law(index, passage) if source.kind not in STATUTES else (),
    )


def statute_label(index: Index, passage_id: str) -> str:
    """How a caseworker names a statute passage: "sosialtjenesteloven § 32"."""
    passage = index.passage(passage_id)
    source = index.source_of(passage)
    return f"{source.short or source.title} {passage.locator}".strip()


def related_law(index: Index, passage: Passage) -> tuple[str, ...]:
    """Statute passages in the corpus that hold the §§ a report passage refers to."""
    found: list[str] = []
    for ref in passage.legal_refs:
        for statute in index.provision(ref):
            if statute.passage_id not in found:
                found.append(statute.passage_id)
    return tuple(found[:3])

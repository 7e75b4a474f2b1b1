"""Answers: the best supporting sentences, each cited, or an honest abstention.

No generative model is involved. The answer is built from verbatim sentences of the top
passages, chosen by how close each sentence is to the question (e5 vectors, with the
question's words as a tie-breaker) and spread over the sources. Each sentence is cited with
its passage, document, section or §, page where known, and the exact quote with offsets.

The answer abstains when the evidence is weak: when no sentence is close enough to the
question, or the sources share too few of its content words. Both thresholds were chosen
on the dev half of the evaluation set (`kvp eval retrieval`); the test half only reports.

When a cited passage is a report that refers to a § of a statute in the corpus, the
statute passage holding that § is attached, so the current law stands beside the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.model import Answer, Citation, Hit, Kind, Passage
from pipeline.search import DEFAULT_K, NO_FILTERS, Filters, Index, check_query

if TYPE_CHECKING:
    import numpy as np

SOURCE_COUNT = DEFAULT_K
ANSWER_PASSAGES = 4  # the top passages whose sentences may answer
MAX_SENTENCES = 3
MAX_PER_PASSAGE = 2
MIN_SENTENCE_CHARS = 25
# Abstention (both chosen on the dev half of the evaluation set, benchmarks/tune_search.py):
MIN_SIMILARITY = 0.85  # below this cosine of the best sentence to the question (e5 scale)
SPECIFIC_DF = 5  # a question word found in at most this many passages is what it is about;
# when such a word is absent from every answering passage, the sources do not answer it
LEXICAL_WEIGHT = 0.05  # word overlap as a tie-breaker beside cosine similarity
KEEP_WITHIN = 0.03  # further sentences must be this close to the best one
STATUTES = frozenset({Kind.LAW, Kind.REGULATION})
MAX_QUOTE_CHARS = 400  # a quote with its context sentence stays readable


@dataclass(frozen=True, slots=True)
class Candidate:
    hit: Hit
    start: int  # offsets of the sentence in the passage text
    end: int
    similarity: float = 0.0
    overlap: float = 0.0

    @property
    def text(self) -> str:
        return self.hit.passage.text[self.start : self.end]

    @property
    def score(self) -> float:
        return self.similarity + LEXICAL_WEIGHT * self.overlap


def ask(index: Index, question: str, *, filters: Filters = NO_FILTERS) -> Answer:
    """Answer a question from the index, with citations, or abstain with the nearest sources."""
    text = check_query(question)
    hits = index.search(text, k=SOURCE_COUNT, filters=filters)
    if not hits:
        return Answer(question, "", True, 0.0, (), ())
    if hits[0].via_reference:
        return answer_from_provision(index, question, text, hits)
    present = tokens_of([h.passage for h in hits[:ANSWER_PASSAGES]])
    candidates = score_sentences(index, text, candidate_sentences(hits[:ANSWER_PASSAGES]))
    best = max(candidates, key=lambda c: c.score, default=None)
    confidence = answer_confidence(best, content_coverage(text, present))
    missing = missing_specific_words(index, text, present)
    if best is None or best.similarity < MIN_SIMILARITY:
        reason = "ingen setning i kildene ligger nær nok spørsmålet"
        return Answer(question, "", True, confidence, (), tuple(hits), reason)
    if missing:
        reason = "kildene som ligner mest, nevner ikke " + ", ".join(f"«{w}»" for w in missing)
        return Answer(question, "", True, confidence, (), tuple(hits), reason)
    return compose(index, question, choose(candidates, best), confidence, hits)


def tokens_of(passages: Sequence[Passage]) -> set[str]:
    """Every normalised token of the answering passages, computed once per question."""
    from pipeline.language import normalize_tokens

    return set().union(*(normalize_tokens(p.text) for p in passages)) if passages else set()


def missing_specific_words(index: Index, question: str, present: set[str]) -> list[str]:
    """Rare words of the question (≤ SPECIFIC_DF passages) absent from the `present` tokens."""
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    from pipeline.language import stem, words

    missing = []
    for word in dict.fromkeys(words(question)):
        if word in STOPWORDS_NORWEGIAN or not word.isalpha():
            continue
        frequency = index.document_frequency(stem(word))
        if 0 < frequency <= SPECIFIC_DF and stem(word) not in present:
            missing.append(word)
    return missing


def compose(
    index: Index, question: str, chosen: Sequence[Candidate], confidence: float, hits: Sequence[Hit]
) -> Answer:
    citations = tuple(cite(index, c) for c in chosen)
    answer_text = " ".join(f"{c.text} [{n}]" for n, c in enumerate(chosen, start=1))
    return Answer(question, answer_text, False, confidence, citations, tuple(hits))


def answer_from_provision(index: Index, question: str, text: str, hits: Sequence[Hit]) -> Answer:
    """A question naming a § is answered from that statute text itself.

    With nothing asked beyond the reference ("sotjl § 35") the answer is the provision's
    opening; otherwise its sentences closest to the question ("§ 35 barnetillegg").
    """
    holding = [h for h in hits[:ANSWER_PASSAGES] if h.via_reference and h.passage.locator]
    candidates = candidate_sentences(holding or hits[:1])
    if not candidates:
        return Answer(question, "", True, 1.0, (), tuple(hits))
    if not content_stems(without_references(text)):
        opening = [c for c in candidates if c.hit is candidates[0].hit][:MAX_SENTENCES]
        return compose(index, question, opening, 1.0, hits)
    scored = score_sentences(index, text, candidates)
    best = max(scored, key=lambda c: c.score)
    return compose(index, question, choose(scored, best), 1.0, hits)


def without_references(text: str) -> str:
    """The question without its legal references ("sotjl § 35 barnetillegg" → "barnetillegg")."""
    from pipeline.legal import find_refs

    for ref in sorted(find_refs(text, default_act="sotjl"), key=lambda r: -r.char_start):
        text = text[: ref.char_start] + " " + text[ref.char_end :]
    return text


def candidate_sentences(hits: Sequence[Hit]) -> list[Candidate]:
    """The stored sentences of the top passages (headings were left out at build time)."""
    return [
        Candidate(hit, start, end)
        for hit in hits
        for start, end in hit.passage.sentences
        if end - start >= MIN_SENTENCE_CHARS
    ]


def with_context(candidate: Candidate) -> Candidate:
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
    if "\n\n" in joined or len(joined) > MAX_QUOTE_CHARS:
        return candidate
    return Candidate(candidate.hit, start, candidate.end, candidate.similarity, candidate.overlap)


def score_sentences(index: Index, question: str, candidates: list[Candidate]) -> list[Candidate]:
    """Each sentence's cosine similarity to the question and its share of the question's words."""
    if not candidates:
        return []
    vectors = index.encoder.encode_passages([c.text for c in candidates])
    query = index.encoder.encode_queries([question])[0]
    similarities: np.ndarray = vectors @ query
    wanted = content_stems(question)
    return [
        Candidate(c.hit, c.start, c.end, float(s), overlap(wanted, c.text))
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


def answer_confidence(best: Candidate | None, coverage: float) -> float:
    """A 0–1 summary of how well the sources support an answer."""
    if best is None:
        return 0.0
    # e5 cosines of related Norwegian texts lie in about 0.75–0.95; map that range to 0–1.
    closeness = min(1.0, max(0.0, (best.similarity - 0.75) / 0.2))
    return round(0.7 * closeness + 0.3 * coverage, 3)


def choose(candidates: list[Candidate], best: Candidate) -> list[Candidate]:
    """Up to three sentences near the best, at most two per passage, in reading order."""
    chosen: list[Candidate] = []
    per_passage: dict[str, int] = {}
    for candidate in sorted(candidates, key=lambda c: -c.score):
        if len(chosen) == MAX_SENTENCES or candidate.score < best.score - KEEP_WITHIN:
            break
        pid = candidate.hit.passage.passage_id
        if per_passage.get(pid, 0) < MAX_PER_PASSAGE and candidate.text not in {
            c.text for c in chosen
        }:
            chosen.append(candidate)
            per_passage[pid] = per_passage.get(pid, 0) + 1
    kept: list[Candidate] = []
    for candidate in sorted((with_context(c) for c in chosen), key=lambda c: (c.hit.rank, c.start)):
        same_passage = [k for k in kept if k.hit is candidate.hit]
        if any(k.start < candidate.end and candidate.start < k.end for k in same_passage):
            continue  # its context sentence is already quoted
        kept.append(candidate)
    return kept


def cite(index: Index, candidate: Candidate) -> Citation:
    passage = candidate.hit.passage
    source = index.document_of(passage).source
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
    passage = index.passages[index.row_of[passage_id]]
    source = index.document_of(passage).source
    return f"{source.short or source.title} {passage.locator}".strip()


def related_law(index: Index, passage: Passage) -> tuple[str, ...]:
    """Statute passages in the corpus that hold the §§ a report passage refers to."""
    from pipeline.legal import statute_passages

    found: list[str] = []
    for ref in passage.legal_refs:
        for statute in statute_passages(index.passages, ref):
            if statute.passage_id not in found:
                found.append(statute.passage_id)
    return tuple(found[:3])


def citation_json(citation: Citation, index: Index) -> dict[str, Any]:
    """A citation as the JSON the CLI and the API print; `text` is the whole passage."""
    row = index.row_of[citation.passage_id]
    return {
        "passage_id": citation.passage_id,
        "doc_id": citation.doc_id,
        "title": citation.title,
        "kind": citation.kind.value,
        "year": citation.year,
        "section": " › ".join(citation.section),
        "locator": citation.locator,
        "page": citation.page,
        "quote": citation.quote,
        "quote_start": citation.quote_start,
        "quote_end": citation.quote_end,
        "text": index.passages[row].text,
        "score": citation.score,
        "legal_refs": [r.key for r in citation.legal_refs],
        "related_law": list(citation.related_law),
    }


def answer_json(answer: Answer, index: Index) -> dict[str, Any]:
    from pipeline.search import hit_json

    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "reason": answer.reason,
        "confidence": answer.confidence,
        "citations": [citation_json(c, index) for c in answer.citations],
        "sources": [hit_json(h, index) for h in answer.sources],
    }

"""The theme classifier's word features, and the words of a text behind each feature.

A feature is a Norwegian Snowball stem ("mangler" → "mang"), a stem of a compound's known
part ("kvalifiseringsstønaden" → "stønad"), a term an abbreviation stands for ("AAP" →
"arbeidsavklaringspeng"), a bigram of two neighbouring stems, and — in the
"stems+quantities" variant — one token per normalised quantity (`pipeline.quantities`:
"under 25 år" and "18–29 år" → `‹alder≤30›`, "2,041 ganger grunnbeløpet" → `‹grunnbeløp›`,
"kr 150 000" → `‹kroner›`). Stems match inflected forms; they are not words a reader knows,
so `feature_spans` keeps, for every feature, the stretch of the text that produced it, and
`strongest_phrases` turns the features that count most into the text's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Literal, get_args

from pipeline.language import WORD_RE, compound_parts, expansions, stem

WordFeatures = Literal["stems", "stems+quantities"]
WORD_FEATURES: tuple[str, ...] = get_args(WordFeatures)
YOUNG_AGE = 30  # the codebook's youth: "under 25/30", "18–29 år", "unge under 30"
_NUMBER = r"\d+(?:[ \u00a0]\d{3})*(?:[.,]\d+)?"
# Money and shares are what `pipeline.quantities` leaves out: it reads rule figures.
_MONEY_RE = re.compile(
    rf"\bkr\.?\s*{_NUMBER}|{_NUMBER}\s*(?:kroner\b|kr\b|,-|nok\b)"
    r"|\b(?:millioner|milliarder|mill\.|mrd\.)(?:\s+(?:kroner|kr\b))?",
    re.IGNORECASE,
)
_PERCENT_RE = re.compile(rf"{_NUMBER}\s*(?:%|prosent\b)", re.IGNORECASE)
# An age without "år" ("unge under 30"), unless a unit follows that makes it something else.
_BARE_AGE_RE = re.compile(
    r"\b(?:under|over)\s+(\d{2})\b(?!\s*(?:%|prosent|kr|kroner|mill|timer|dager|uker|måneder"
    r"|mnd|år))",
    re.IGNORECASE,
)
_SENTENCE_END_RE = re.compile(r"[.!?;:]\s")
MAX_PHRASE_WORDS = 4
_AGE_NOUN_RE = re.compile(r"\b(\d{2})(?:\s*[–-]\s*\d{2})?\s*-?\s*åring", re.IGNORECASE)


def word_features(text: str) -> Iterator[tuple[str, int, int]]:
    """(feature, start, end): each stem, part, expansion and bigram with the span of its
    words in the text."""
    table = expansions()
    found = list(WORD_RE.finditer(text))
    stems = []
    for match in found:
        word, start, end = match.group().lower(), match.start(), match.end()
        stemmed = stem(word)
        stems.append(stemmed)
        yield stemmed, start, end
        parts = word.split("-") if "-" in word else compound_parts(word)
        for part in parts:
            if len(part) > 1:
                yield stem(part), start, end
        for term in table.get(stemmed, ()):
            yield term, start, end
    for i in range(len(found) - 1):
        yield f"{stems[i]} {stems[i + 1]}", found[i].start(), found[i + 1].end()


def quantity_features(text: str) -> Iterator[tuple[str, int, int]]:
    """(token, start, end) for ages, G amounts, shares, durations, money and percentages."""
    from pipeline.quantities import quantities

    for found in quantities(text):
        if found.kind == "alder":
            yield "‹alder›", found.start, found.end
            yield age_token(found.value), found.start, found.end
        else:
            yield f"‹{found.kind}›", found.start, found.end
    for pattern in (_BARE_AGE_RE, _AGE_NOUN_RE):
        for match in pattern.finditer(text):
            years = int(match.group(1))
            if pattern is _AGE_NOUN_RE or 15 <= years <= YOUNG_AGE + 5:
                yield "‹alder›", match.start(), match.end()
                yield age_token(years), match.start(), match.end()
    for pattern, token in ((_MONEY_RE, "‹kroner›"), (_PERCENT_RE, "‹prosent›")):
        for match in pattern.finditer(text):
            yield token, match.start(), match.end()


def age_token(years: float) -> str:
    return f"‹alder≤{YOUNG_AGE}›" if years <= YOUNG_AGE else f"‹alder>{YOUNG_AGE}›"


def stems(text: str) -> list[str]:
    """The "stems" features of a text (a TfidfVectorizer analyzer)."""
    return [feature for feature, _, _ in word_features(text)]


def stems_and_quantities(text: str) -> list[str]:
    """The "stems+quantities" features of a text."""
    return stems(text) + [token for token, _, _ in quantity_features(text)]


ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "stems": stems,
    "stems+quantities": stems_and_quantities,
}


def feature_spans(text: str, words: str = "stems") -> dict[str, tuple[int, int]]:
    """Each feature of the text → the span of its first occurrence."""
    found = list(word_features(text))
    if words == "stems+quantities":
        found += quantity_features(text)
    spans: dict[str, tuple[int, int]] = {}
    for feature, start, end in found:
        spans.setdefault(feature, (start, end))
    return spans


def strongest_phrases(
    text: str, contributions: dict[tuple[int, int], float], limit: int
) -> list[str]:
    """The `limit` spans with the largest positive contributions, as the text's own words.

    Overlapping spans join into one phrase ("under 25" and "25 år" → "under 25 år") of at
    most `MAX_PHRASE_WORDS`; a span of only function words (spaCy's Norwegian stop words)
    or one reaching over a sentence end is not shown by itself, and a phrase loses the
    function words it ends in.
    """
    from spacy.lang.nb.stop_words import STOP_WORDS

    phrases: list[tuple[int, int]] = []
    ranked = sorted(contributions.items(), key=lambda item: -item[1])
    for (start, end), total in ranked[: 4 * limit]:
        surface = text[start:end]
        words = [w.lower() for w in WORD_RE.findall(surface)]
        if total <= 0:
            break
        if all(w in STOP_WORDS for w in words) or _SENTENCE_END_RE.search(surface):
            continue
        joined = [i for i, (s, e) in enumerate(phrases) if s < end and start < e]
        if joined:
            first = joined[0]
            span = (min(start, *(phrases[i][0] for i in joined)),
                    max(end, *(phrases[i][1] for i in joined)))  # fmt: skip
            if len(WORD_RE.findall(text[span[0] : span[1]])) <= MAX_PHRASE_WORDS:
                phrases[first] = span
                phrases = [p for i, p in enumerate(phrases) if i not in joined[1:]]
        elif len(phrases) < limit:
            phrases.append((start, end))
    return list(dict.fromkeys(trim_function_words(text[s:e], STOP_WORDS) for s, e in phrases))


def trim_function_words(phrase: str, stop_words: Collection[str]) -> str:
    """A phrase without the function words and punctuation it ends in ("unge er" → "unge");
    a leading one stays ("under 25 år"), and so does a unit after a number ("25 år")."""
    found = list(WORD_RE.finditer(phrase))
    while (
        len(found) > 1
        and found[-1].group().lower() in stop_words
        and not found[-2].group()[0].isdigit()
    ):
        found.pop()
    return phrase[: found[-1].end()] if found else phrase

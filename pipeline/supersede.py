"""Superseded rules: report sentences that state a rule the current statute states otherwise.

A report sentence is checked only when it states a rule (`states_rule`): a modal or a rule
verb, a bound word or a § cite, and no statistic or history cue. Its quantities
(`pipeline.quantities`: an amount in G, a share, an age, a duration, a deadline, days, hours)
are normalised, and each gets the content-word stems of its clause and sentence as context. A
report quantity is paired with the statute quantities of the same kind and unit whose context
agrees (shared stems, weighted by how much they tell rules apart); when none of them has the
report's figure, the best-agreeing one is the current rule. Equal figures are never flagged.

Every cue list is Norwegian grammar or the vocabulary of the programme as such, never a
corpus sentence.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

from pipeline.errors import LegalRefError
from pipeline.language import DOMAIN_TERMS, compound_parts, stem, words
from pipeline.legal import find_refs, parse_ref, provision_key, provision_of
from pipeline.model import Passage, Supersession
from pipeline.quantities import NUMBER_RE, NUMBER_WORDS, Quantity, quantities
from pipeline.segment import PARAGRAPH_HEADING_RE, sentences_of
from pipeline.statutes import sentence_locator


@dataclass(frozen=True, slots=True)
class StatuteText:
    """A statute passage to check against, how a caseworker names it, and when it took effect."""

    passage: Passage
    label: str = ""  # "sosialtjenesteloven § 35"; the ledd is added where the passage has more
    since: str | None = None  # ISO date the § was last amended in force (`statutes.in_force_dates`)


@dataclass(frozen=True, slots=True)
class SupersessionSettings:
    """How much shared words count when a report quantity is paired with a statute quantity.

    Set by reading every hit of `benchmarks/scan_superseded.py` over the sample corpus: one
    shared content word is real agreement; a shared rule verb is enough when the sentence
    names the § itself.
    """

    min_agreement: float = 1.0
    min_agreement_named: float = 0.5  # when the sentence names the § itself
    light_weight: float = 0.5  # a rule verb ("gis", "har rett") says little about which rule
    programme_weight: float = 0.25  # once, however many names of the programme are shared
    far_weight: float = 0.5  # a word shared only by the sentences (or the § heading)
    min_near_words: int = 2  # a clause with fewer content words borrows its neighbours'


DEFAULT_SETTINGS = SupersessionSettings()


# Rule statements ------------------------------------------------------------------------

# A rule is stated with a modal, a rule verb, a bound word, a source of law or a § cite;
# "når det gjelder" ("as for") is not the rule verb "gjelder".
_RULE_RE = re.compile(
    r"§|\b(?:skal|kan|må|bør|har rett|rett til|gis|ytes|utgjør|tilsvarer|er satt til"
    r"|settes til|er på|mottar|får|økes|reduseres|fastsettes|inntil|opptil|maksimalt|minst|høyst"
    r"|varer|(?<!når det )(?<!hva )gjelder"
    r"|regnes|ifølge (?:loven|lovverket|forskriften|regelverket|rundskrivet)|i henhold til"
    r"|etter (?:loven|lovverket|forskriften|regelverket))\b",
    re.IGNORECASE,
)
_PEOPLE = (
    r"(?:deltakere|brukere|personer|unge|mottakere|respondenter|informanter|kontorer"
    r"|veiledere|kommuner|søknader|saker)"
)
# A statistic or a finding reports what people did or had: shares, averages, counts of
# people, what a study shows.
_STATISTIC_RE = re.compile(
    rf"%|\b(?:prosent|gjennomsnitt\w*|snitt(?:et)?|andel(?:en|er|ene)?|median\w*|flertall\w*"
    rf"|halvpart\w*|antallet som|viser|viste|fant)\b|\bav (?:de |alle )?(?:deltakerne|brukerne"
    rf"|personene|respondentene|informantene|kontorene|veilederne|kommunene)\b"
    rf"|\b{NUMBER_RE.pattern} av (?:de |disse |dem\b)|\b{NUMBER_RE.pattern} {_PEOPLE}\b",
    re.IGNORECASE,
)
# A sentence in the past tense, dating its rule to the past or telling of a change, is
# history, not a claim about the rule today ("Ifølge tidligere regelverk …", "… ble redusert
# fra 2G til …", "Alle var mellom 20 og 55 år"); "tidligere fraværsdager" is not.
_HISTORY_RE = re.compile(
    r"\b(?:var|hadde|opprinnelig\w*|daværende|ble(?:\s+\w+){0,3}\s+(?:endret|redusert|økt|innført|avviklet|fjernet"
    r"|forlenget|kortet|hevet|senket)|tidligere (?:regel\w*|lov\w*|forskrift\w*|ordning\w*"
    r"|bestemmels\w*|praksis|kunne|var|ble|gjaldt)|(?:i stedet for|enn) tidligere)\b|\btidligere,",
    re.IGNORECASE,
)


def states_rule(sentence: str) -> bool:
    """Whether a report sentence states a rule, rather than a statistic or a former rule."""
    return bool(
        _RULE_RE.search(sentence)
        and not _STATISTIC_RE.search(sentence)
        and not _HISTORY_RE.search(sentence)
    )


# Context --------------------------------------------------------------------------------

# Units, bounds and number words are compared as quantities, not as context.
_NOT_CONTEXT = [
    "år", "års", "året", "årene", "måned", "måneder", "uke", "uker", "dag", "dager",
    "virkedager", "kalenderdager", "stønadsdager", "time", "timer", "g", "grunnbeløp",
    "grunnbeløpet", "folketrygdens", "ganger", "gang", "gangen", "inntil", "opptil", "maks",
    "maksimalt", "maksimal", "maksimale", "minst", "høyst", "lenger", "mer", "mindre", "under",
    "utover", "per", "pr", "hver", "hvert", "eldre", "yngre", "periode", "perioden", "tid",
    "tiden", "løpet", "ekstra", "henholdsvis", "antall", "antallet", "jf", "nr", "må", "bør",
]  # fmt: skip
# Rule verbs and everyday verbs: nearly every sentence has one, so sharing one says little.
_LIGHT = [
    "gis", "gi", "gir", "gitt", "få", "får", "fått", "ytes", "yte", "gjelder", "utgjør",
    "settes", "sette", "mottar", "rett", "regnes", "komme", "kommer", "kommet", "gå", "går",
    "ta", "tar", "gjøre", "gjør", "gjort",
]  # fmt: skip
# The programme, its participants and its office are named in nearly every sentence on both
# sides; sharing them counts once, and little.
_PROGRAMME = [
    "kvalifiseringsprogram", "kvalifiseringsprogrammet", "program", "programmet", "kvp",
    "kvalifisering", "deltaker", "deltakeren", "deltakere", "deltakelse", "deltager",
    "deltagelse", "delta", "deltar", "deltatt", "programdeltaker", "programdeltakeren",
    "person", "personer", "bruker", "brukere", "kommune", "kommunen", "nav", "vedkommende",
]  # fmt: skip
_CLAUSE_BREAK_RE = re.compile(r"[,;:()\[\]]|\s[–—-]\s|\s(?:og|men|eller|samt)\s")
_ACRONYM_RE = re.compile(r"(?<![\w-])[A-ZÆØÅ]{2,6}(?![\wæøå])")


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    ignored: frozenset[str]
    light: frozenset[str]
    programme: frozenset[str]
    synonyms: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    return _Vocabulary(
        ignored=frozenset(stem(w) for w in (*STOPWORDS_NORWEGIAN, *_NOT_CONTEXT, *NUMBER_WORDS)),
        light=frozenset(stem(w) for w in _LIGHT),
        programme=frozenset(stem(w) for w in _PROGRAMME),
        synonyms={stem(k): tuple(stem(t) for t in v) for k, v in DOMAIN_TERMS.items()},
    )


@lru_cache(maxsize=50_000)
def _word_stems(word: str) -> frozenset[str]:
    """A word's stem, its compound parts' stems and its synonyms', stop words dropped."""
    if len(word) < 2 or not word[0].isalpha():
        return frozenset()
    vocabulary = _vocabulary()
    stemmed = stem(word)
    if stemmed in vocabulary.ignored:
        return frozenset()  # a unit's parts too: "virke" of "virkedager" is not context
    parts = word.split("-") if "-" in word else compound_parts(word)
    found = {
        stemmed,
        *vocabulary.synonyms.get(stemmed, ()),
        *(stem(p) for p in parts if len(p) > 1),
    }
    return frozenset(found - vocabulary.ignored)


def _stems(text: str) -> frozenset[str]:
    return frozenset().union(*(_word_stems(w) for w in words(text)))


@dataclass(frozen=True, slots=True)
class _Located:
    """A quantity with its context: stems of its clause (`near`) and of its sentence (`far`)."""

    quantity: Quantity
    sentence: tuple[int, int]
    clause: int  # the quantity's clause within its sentence
    near: frozenset[str]
    far: frozenset[str]


def _clauses(text: str, found: Sequence[Quantity]) -> list[tuple[int, int]]:
    """Clause spans: cut at punctuation and coordinators, never inside a quantity."""
    cuts = [
        m.start()
        for m in _CLAUSE_BREAK_RE.finditer(text)
        if not any(q.start <= m.start() < q.end for q in found)
    ]
    bounds = [0, *cuts, len(text)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _content(stems: frozenset[str]) -> int:
    vocabulary = _vocabulary()
    return len(stems - vocabulary.light - vocabulary.programme)


def _near(stems: list[frozenset[str]], i: int, settings: SupersessionSettings) -> frozenset[str]:
    """Clause `i`'s stems, widened clause by clause while it has too few content words."""
    near, lo, hi = stems[i], i, i
    while _content(near) < settings.min_near_words and (lo > 0 or hi < len(stems) - 1):
        lo, hi = max(lo - 1, 0), min(hi + 1, len(stems) - 1)
        near = frozenset().union(*stems[lo : hi + 1])
    return near


def _locate(
    text: str, settings: SupersessionSettings, offset: int = 0, topic: str = ""
) -> list[_Located]:
    """The quantities of one sentence with their contexts; offsets shifted by `offset`.

    A word near another quantity of the sentence is that quantity's context, not this one's:
    "kan gis for inntil ett år og kan forlenges med inntil ett år" states two rules.
    """
    found = quantities(text)
    if not found:
        return []
    clauses = _clauses(text, found)
    stems = [_stems(text[a:b]) for a, b in clauses]
    where = [max(n for n, (a, _) in enumerate(clauses) if a <= q.start) for q in found]
    nears = [_near(stems, i, settings) for i in where]
    sentence = _stems(text) | _stems(topic)
    located = []
    for q, near, i in zip(found, nears, where, strict=True):
        others = frozenset().union(*(n for n, j in zip(nears, where, strict=True) if j != i))
        # the other figures of its clause are context too: "over 60 år … fem ekstra virkedager"
        near = near | {
            _figure_token(o) for o, j in zip(found, where, strict=True) if j == i and o is not q
        }
        far = (sentence - others) | near
        shifted = replace(q, start=q.start + offset, end=q.end + offset)
        located.append(_Located(shifted, (offset, offset + len(text)), i, near, far))
    return located


def _figure_token(q: Quantity) -> str:
    return f"<{q.kind} {q.value:g}>"  # never a stem: stems have no "<"


def _shared(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    """Stems in both; a stem of 7+ letters also meets its derivations ("forleng-else")."""
    long_b = [y for y in b if len(y) >= 7]
    return frozenset(
        x
        for x in a
        if x in b or (len(x) >= 7 and any(x.startswith(y) or y.startswith(x) for y in long_b))
    )


def _weight(stems: frozenset[str], settings: SupersessionSettings) -> float:
    vocabulary = _vocabulary()
    generic = settings.programme_weight if stems & vocabulary.programme else 0.0
    light = settings.light_weight * len(stems & vocabulary.light)
    return _content(stems) + light + generic


def _agreement(a: _Located, b: _Located, settings: SupersessionSettings) -> float:
    """How strongly two quantities' contexts say they are about the same rule."""
    near = _shared(a.near, b.near)
    if not _content(near) and not near & _vocabulary().light:
        return 0.0  # words shared only far from the figures, or only the programme's name
    far = _shared(a.far, b.far) - near
    return _weight(near, settings) + settings.far_weight * _weight(far, settings)


def _acronyms(sentence: str) -> list[frozenset[str]]:
    """The names each acronym of a sentence stands for, the programme's own left out."""
    vocabulary = _vocabulary()
    found = []
    for acronym in _ACRONYM_RE.findall(sentence):
        names = frozenset(
            {stem(acronym.lower()), *vocabulary.synonyms.get(stem(acronym.lower()), ())}
        )
        if not names & vocabulary.programme:
            found.append(names)
    return found


def _foreign(acronyms: Sequence[frozenset[str]], statute_words: frozenset[str]) -> bool:
    """Whether a sentence names a scheme by an acronym ("AAP") the statute passage never names.

    Such a sentence is about that scheme's rules, however much else it shares with the §.
    """
    return any(not names & statute_words for names in acronyms)


# Pairing --------------------------------------------------------------------------------


def _unit_fits(a: Quantity, b: Quantity) -> bool:
    """Same kind and unit; plain "dager" fits any day unit and a missing rate any rate."""
    if a.kind != b.kind:
        return False
    (base_a, _, rate_a), (base_b, _, rate_b) = a.unit.partition(" per "), b.unit.partition(" per ")
    bases = base_a == base_b or "dager" in (base_a, base_b)
    return bases and (rate_a == rate_b or not rate_a or not rate_b)


def _same(a: Quantity, b: Quantity) -> bool:
    # the bound is wording: "utover to år" and "ikke lenger enn to år" state one limit
    return math.isclose(a.value, b.value, rel_tol=1e-6, abs_tol=1e-9)


def _key(passage: Passage) -> str | None:
    return _provision_key(passage.doc_id, passage.locator)


@lru_cache(maxsize=4096)
def _provision_key(doc_id: str, locator: str) -> str | None:
    found = provision_of(Passage("", doc_id, "", (), 0, 0, locator=locator))
    return found[0] if found else None


def _cited_key(cited: str) -> str | None:
    try:
        return provision_key(parse_ref(cited))
    except LegalRefError:
        return None


def _candidates(
    sentence: str, statutes: Sequence[StatuteText], cited: Sequence[str]
) -> tuple[list[StatuteText], list[StatuteText]]:
    """The statutes of the §§ a sentence names, and those to fall back on when they do not
    state its rule: the §§ in `cited` that are given, else every statute given.

    A § of another act named in passing ("jf. folketrygdloven § 2-5") narrows nothing.
    """
    refs = find_refs(sentence) if re.search(r"§|lov|forskrift", sentence, re.IGNORECASE) else []
    sections = [r for r in refs if r.section]
    keys = {key for r in sections if (key := provision_key(r))}
    bare = {r.section for r in sections if not r.act}
    named = [
        s
        for s in statutes
        if (key := _key(s.passage)) and (key in keys or key.partition("§ ")[2] in bare)
    ]
    wanted = {key for c in cited if (key := _cited_key(c))}
    holding = [s for s in statutes if _key(s.passage) in wanted]
    return named, holding or list(statutes)


@dataclass(frozen=True, slots=True)
class _StatuteFacts:
    located: tuple[_Located, ...]
    words: frozenset[str]  # every stem of the passage, for `_foreign`


def _statute_facts(passage: Passage, settings: SupersessionSettings) -> _StatuteFacts:
    """Each sentence's quantities in a statute passage, with the § heading as shared topic."""
    heading = passage.section[-1] if passage.section else ""
    spans = passage.sentences or sentences_of(passage.text)
    return _facts(passage.passage_id, passage.text, spans, heading, settings)


@lru_cache(maxsize=2048)
def _facts(
    passage_id: str,
    text: str,
    spans: tuple[tuple[int, int], ...],
    heading: str,
    settings: SupersessionSettings,
) -> _StatuteFacts:
    topic = heading if PARAGRAPH_HEADING_RE.match(heading) else ""
    located = tuple(
        found for a, b in spans for found in _locate(text[a:b], settings, offset=a, topic=topic)
    )
    return _StatuteFacts(located, _stems(text))


Pool = Sequence[tuple[StatuteText, _Located]]


def _pair(
    report: _Located, pool: Pool, threshold: float, settings: SupersessionSettings
) -> tuple[bool, tuple[StatuteText, _Located] | None]:
    """Whether any statute quantity agrees with the report's, and the one that states the
    report's rule with another figure (None when an agreeing one has the report's figure)."""
    scored = [
        (score, statute, located)
        for statute, located in pool
        if _unit_fits(report.quantity, located.quantity)
        and (score := _agreement(report, located, settings)) >= threshold
    ]
    if not scored or any(_same(report.quantity, located.quantity) for _, _, located in scored):
        return bool(scored), None
    _, statute, located = max(scored, key=lambda item: item[0])
    return True, (statute, located)


def _pool(
    statutes: Sequence[StatuteText],
    acronyms: Sequence[frozenset[str]],
    settings: SupersessionSettings,
) -> Pool:
    return [
        (statute, located)
        for statute in statutes
        if not _foreign(acronyms, (facts := _statute_facts(statute.passage, settings)).words)
        for located in facts.located
    ]


def supersession(
    sentence: str,
    statutes: Sequence[StatuteText],
    *,
    cited: Sequence[str] = (),
    settings: SupersessionSettings = DEFAULT_SETTINGS,
) -> Supersession | None:
    """How the current statute states a rule that a report sentence gives another figure for.

    Checked against the §§ the sentence names first (where a shared rule verb is agreement
    enough), else those in `cited` (provision keys such as "sotjl § 35"), else every statute
    given; None when the sentence states no rule, or no statute states it with other figures.
    """
    if not states_rule(sentence) or not (found := _locate(sentence, settings)):
        return None
    named, fallback = _candidates(sentence, statutes, cited)
    acronyms = _acronyms(sentence)
    named_pool, fallback_pool = (
        _pool(named, acronyms, settings),
        _pool(fallback, acronyms, settings),
    )
    for report in found:
        agreed, paired = _pair(report, named_pool, settings.min_agreement_named, settings)
        if not agreed:
            agreed, paired = _pair(report, fallback_pool, settings.min_agreement, settings)
        if paired and not _stated_together(report, found, *paired, settings):
            return _describe(report.quantity, *paired)
    return None


_UPWARD, _DOWNWARD = frozenset({"min"}), frozenset({"max", "below"})


def _figures_of(
    statute: StatuteText, report: Quantity, settings: SupersessionSettings
) -> list[Quantity]:
    located = _statute_facts(statute.passage, settings).located
    return [f.quantity for f in located if _unit_fits(report, f.quantity)]


def _stated_together(
    report: _Located,
    found: Sequence[_Located],
    statute: StatuteText,
    located: _Located,
    settings: SupersessionSettings,
) -> bool:
    """Whether the § paired with states the report's figure after all, read with its clause.

    In "forlenges utover to år med opptil ett år" the two years pair with the one-year
    extension, which the clause's other figure states, and the § states two years too.
    """
    mates = [
        other.quantity for other in found
        if other is not report and other.clause == report.clause
        and other.quantity.kind == report.quantity.kind
    ]  # fmt: skip
    figures = _figures_of(statute, report.quantity, settings)
    if any(_same(mate, located.quantity) for mate in mates):
        return any(_same(report.quantity, figure) for figure in figures)
    # a limit seen from the other side is the same limit: "forlenges utover to år" and
    # "ikke lenger enn to år" in the § the report's rule is paired with
    return any(
        _same(report.quantity, figure)
        and {report.quantity.bound, figure.bound} & _UPWARD
        and {report.quantity.bound, figure.bound} & _DOWNWARD
        for figure in figures
    )


def _describe(report: Quantity, statute: StatuteText, located: _Located) -> Supersession:
    passage, (a, b) = statute.passage, located.sentence
    locator = sentence_locator(passage, located.quantity.start)
    label = statute.label or locator
    if passage.locator and label.endswith(passage.locator):
        label = label[: len(label) - len(passage.locator)] + locator
    now = _display(located.quantity)
    return Supersession(
        by=passage.passage_id,
        current=passage.text[a:b],
        since=statute.since,
        reason=f"Rapporten oppgir {_display(report)}; {label} sier nå {now}.",
        label=label,
    )


_BOUND_WORDS = {"max": "inntil ", "min": "minst ", "below": "under ", "exact": ""}


def _figure(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".").replace(".", ",")


def _amount(q: Quantity) -> str:
    """The normalised figure with its unit: "2,041 G", "2 år", "8 uker", "20 virkedager"."""
    if q.kind == "grunnbeløp":
        return f"{_figure(q.value)} G"
    if q.kind == "andel":
        return str(Fraction(q.value).limit_denominator(1000))
    if q.kind == "alder":
        return f"{_figure(q.value)} år"
    if q.kind in ("varighet", "frist"):
        if math.isclose(q.value / 12, round(q.value / 12), abs_tol=1e-6):
            return f"{_figure(q.value / 12)} år"
        weeks = q.value * 52 / 12
        if not q.value.is_integer() and math.isclose(weeks, round(weeks), abs_tol=1e-6):
            return f"{_figure(weeks)} uker"
        return f"{_figure(q.value)} {'måned' if q.value == 1 else 'måneder'}"
    return f"{_figure(q.value)} {q.unit}"


def _display(q: Quantity) -> str:
    """A figure as a caseworker reads it, with the report's or the law's own bound words:
    "ikke lenger enn 2 år", "utover 2 år", "under 25 år", "2,041 G"."""
    number = NUMBER_RE.search(q.surface)
    words_before = " ".join(q.surface[: number.start()].lower().split()) if number else ""
    if words_before.startswith("maks"):
        words_before = "maksimalt"
    elif words_before in ("", "mellom"):
        words_before = _BOUND_WORDS[q.bound].strip()
    return f"{words_before} {_amount(q)}".strip()

"""Quantities: the figures rules are stated with, read from Norwegian text and normalised.

`quantities(text)` recognises amounts in G ("2G", "2,041 ganger folketrygdens grunnbeløp"),
shares ("2/3"), ages ("under 25 år", "fyller tolv år"), durations ("inntil ett år", "to år
pluss seks måneder"), deadlines ("senest innen seks måneder"), days ("20 virkedager per år")
and hours ("37,5 timer per uke"). Numbers may be digits or words, bokmål or nynorsk ("eitt",
"tjuge", "et halvt år", "halvannet år"); numbers listed before one unit ("mellom 18 og 67 år")
are one quantity each, and the words around a number give its bound (inntil, minst, under).

Report sentences and statute sentences word one rule differently, so figures are compared,
not text: durations and deadlines are normalised to months, ages to years, and a unit keeps
what it counts ("virkedager per år"). Years ("i 2019") and § numbers are dates and
references, never figures. Every pattern is Norwegian grammar or unit vocabulary, never a
corpus sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

QuantityKind = Literal["grunnbeløp", "andel", "alder", "varighet", "frist", "dager", "timer"]
Bound = Literal["exact", "max", "min", "below"]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A rule's figure, normalised: durations and deadlines in months, ages in years.

    `unit` keeps what the value counts where kinds mix units: "G", "år", "måneder",
    "virkedager per år", "timer per uke". `start`/`end` locate `surface` in the text.
    """

    kind: QuantityKind
    value: float
    bound: Bound
    start: int
    end: int
    surface: str
    unit: str = ""


# Numbers --------------------------------------------------------------------------------

_ONES = {
    "null": 0, "en": 1, "én": 1, "ein": 1, "ei": 1, "eit": 1, "et": 1, "ett": 1, "eitt": 1,
    "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "sju": 7, "syv": 7, "åtte": 8, "ni": 9,
}  # fmt: skip
_TEENS = {
    "ti": 10, "elleve": 11, "tolv": 12, "tretten": 13, "fjorten": 14, "femten": 15,
    "seksten": 16, "sytten": 17, "atten": 18, "nitten": 19,
}  # fmt: skip
_TENS = {
    "tjue": 20, "tjuge": 20, "tyve": 20, "tretti": 30, "tredve": 30, "førti": 40, "femti": 50,
    "seksti": 60, "sytti": 70, "søtti": 70, "åtti": 80, "nitti": 90,
}  # fmt: skip
# Number words and the number pattern are also what `pipeline.supersede` must not read as a
# sentence's context or as a count of people.
NUMBER_WORDS = frozenset(_ONES) | frozenset(_TEENS) | frozenset(_TENS)


def _alternation(options: Sequence[str]) -> str:
    return "|".join(sorted(options, key=len, reverse=True))


_WORD = (
    rf"(?:(?:{_alternation(list(_TENS))})(?:{_alternation(list(_ONES))})?"
    rf"|{_alternation(list(_TEENS))}|{_alternation(list(_ONES))})(?![\w-])"
)
# "et halvt år", "ett og et halvt år", "halvannet år"
_HALF = (
    r"(?:(?:en|et|ett|eitt|ein)\s+og\s+)?(?:en|ei|et|eit|ett)\s+halv[te]?(?!\w)|halvann(?:en|et|a)"
)
_DIGIT = r"(?<![\w.,/§½-])(?:\d+(?:,\d+)?(?:[ \u00a0]?½)?|½)(?!\d|[.,/]\d)"
_NUM = rf"(?:(?<![\w-])(?:{_HALF}|{_WORD})|{_DIGIT})"
_SEP = r"(?:\s*[,–-]\s*|\s+(?:og|eller|til)\s+)"
_MODIFIER = r"(?:\s+(?:første|siste|ekstra|hele|påfølgende|sammenhengende|nye))?"
_DAY = r"(?:virke|kalender|stønads|fraværs|arbeids|ferie|fri)?dag(?:er|en|ene|ers)?"
_UNIT = (
    r"(?-i:G)(?!\w)|ganger\s+(?:folketrygdens\s+)?grunnbeløp(?:et)?\b|år(?:s|et|ene)?\b"
    rf"|måned(?:er|en|ene|s|ers)?\b|mnd\b|uke(?:r|n|ne|rs)?\b|{_DAY}\b|tim(?:e|er|en|ene|ers)\b"
)
_QUANTITY_RE = re.compile(
    rf"(?P<list>{_NUM}(?:{_SEP}{_NUM})*){_MODIFIER}\s*(?P<unit>{_UNIT})", re.IGNORECASE
)
# "Antall stønadsdager hvert år settes til 260", "økes antallet virkedager til henholdsvis 20 og 30"
_COUNT_FIRST_RE = re.compile(
    rf"\bantall(?:et)?\s+(?P<unit>{_DAY})\b(?P<mid>[^.;]{{0,40}}?)\btil\s+(?:henholdsvis\s+)?"
    rf"(?P<list>{_NUM}(?:{_SEP}{_NUM})*)(?!\s*(?:{_UNIT}))",
    re.IGNORECASE,
)
NUMBER_RE = re.compile(_NUM, re.IGNORECASE)
_FRACTION_RE = re.compile(r"(?<![\w./-])(\d{1,3})/(\d{1,4})(?![\w/]|[.,]\d)")
_SECTION_BEFORE_RE = re.compile(r"§§?\s*(?:\d+(?:\s?[a-z])?\s*(?:,|og|til|–|-)\s*)*$")

# Bounds and kinds are read from the words right before a number (back to its clause's
# start) and right after its unit; a bound phrase belongs to the quantity's surface.
_MAX_BEFORE_RE = re.compile(
    r"(?:\binntil|\bopptil|\bopp\s+til|\bhøyst|\bikke\s+(?:mer|lenger|over)\s+enn|\bikke\s+over"
    r"|\bmaks\w*(?:\s+\w+){0,2})\s*$",
    re.IGNORECASE,
)
_MIN_BEFORE_RE = re.compile(
    r"(?:\bminst|\bmer\s+enn|\butover|\but\s+over|\bover|\bfra\s+og\s+med)\s*$", re.IGNORECASE
)
_BELOW_BEFORE_RE = re.compile(
    r"(?:\bunder|\byngre\s+enn|\bmindre\s+enn|\bkortere\s+enn)\s*$", re.IGNORECASE
)
_BOUNDS_BEFORE: tuple[tuple[re.Pattern[str], Bound], ...] = (
    (_MAX_BEFORE_RE, "max"),
    (_MIN_BEFORE_RE, "min"),
    (_BELOW_BEFORE_RE, "below"),
)
_BETWEEN_BEFORE_RE = re.compile(r"\bmellom\s*$", re.IGNORECASE)
_MIN_AFTER_RE = re.compile(r"^\s*(?:og|eller)\s+(?:eldre|over|mer|lenger)\b", re.IGNORECASE)
_BELOW_AFTER_RE = re.compile(r"^\s*(?:og|eller)\s+(?:yngre|under|mindre)\b", re.IGNORECASE)
# "under/over/mellom/fra" make an age only from 10 years up: the rules' age limits run from
# 12 to 67, while "over to år" is a duration.
_AGE_THRESHOLD_RE = re.compile(r"\b(?:under|over|mellom|fra)\s*$", re.IGNORECASE)
_AGE_BEFORE_RE = re.compile(
    r"\b(?:fyller|fylt|fylte|fyll|yngre\s+enn|eldre\s+enn|alder\w*(?:\s+\w+){0,2})\s*$",
    re.IGNORECASE,
)
_AGE_AFTER_RE = re.compile(
    r"^\s*(?:(?:og|eller)\s+(?:eldre|yngre)\b|gam(?:mel|le|alt)\b)", re.IGNORECASE
)
_MIN_AGE = 10
_DEADLINE_BEFORE_RE = re.compile(r"\b(?:innen|senest|seinast)\b(?:\s+\w+)?\s*$", re.IGNORECASE)
_RATE_RE = re.compile(
    r"^\s*(?:(?:per|pr\.?|i|hver|hvert|om|for\s+hver|for\s+hvert)\s+)?(?P<rate>uke|uka|uken"
    r"|dag|dagen|døgnet|år|året|kalenderår|kalenderåret|daglig|ukentlig|årlig)\b",
    re.IGNORECASE,
)
_RATES = {"uk": "uke", "da": "dag", "dø": "dag", "år": "år", "ka": "år"}
_MONTHS = {"år": 12.0, "må": 1.0, "mn": 1.0, "uk": 12 / 52}


def _number(token: str) -> float:
    text = " ".join(token.lower().split())
    if "halv" in text:
        return 1.5 if ("og" in text or "halvann" in text) else 0.5
    if text[0].isdigit() or text == "½":
        whole = text.replace("½", "").strip().replace(",", ".")
        return (float(whole) if whole else 0.0) + (0.5 if "½" in text else 0.0)
    for tens, value in _TENS.items():
        if text.startswith(tens):
            return float(value + _ONES.get(text[len(tens) :], 0))
    return float(_ONES.get(text, _TEENS.get(text, 0)))


def _clause_start(text: str, start: int) -> int:
    """Where the clause holding `start` begins, looking back at most 40 characters."""
    window = max(0, start - 40)
    cut = max(text.rfind(c, window, start) for c in ",;:()\n")
    return max(cut + 1, window)


def _bound(text: str, start: int, after: str) -> tuple[Bound, int]:
    """The bound the words before `start` (or after the unit) give, and where they begin."""
    before = text[_clause_start(text, start) : start]
    offset = start - len(before)
    for pattern, bound in _BOUNDS_BEFORE:
        if found := pattern.search(before):
            return bound, offset + found.start()
    if _MIN_AFTER_RE.match(after):
        return "min", start
    return ("below" if _BELOW_AFTER_RE.match(after) else "exact"), start


def _with_rate(unit: str, after: str) -> str:
    rate = _RATE_RE.match(after)
    return f"{unit} per {_RATES[rate.group('rate').lower()[:2]]}" if rate else unit


def _days_unit(unit: str, after: str) -> str:
    """ "virkedager per år": the day unit kept as written, with the rate it is counted at."""
    word = unit.lower()
    base = next((b for b in ("virke", "kalender", "stønads") if word.startswith(b)), "")
    return _with_rate(f"{base}dager", after)


def _is_age(value: float, before: str, after: str) -> bool:
    threshold = bool(_AGE_THRESHOLD_RE.search(before)) and value >= _MIN_AGE
    return threshold or bool(_AGE_BEFORE_RE.search(before) or _AGE_AFTER_RE.match(after))


def _kind(unit: str, value: float, before: str, after: str) -> tuple[QuantityKind, float, str]:
    """The kind, the normalised value and the unit of a number written before `unit`."""
    word = unit.lower()
    if unit == "G" or word.startswith("ganger"):
        return "grunnbeløp", value, "G"
    if word.startswith("tim"):
        return "timer", value, _with_rate("timer", after)
    deadline = bool(_DEADLINE_BEFORE_RE.search(before))
    if "dag" in word:
        return ("frist" if deadline else "dager"), value, _days_unit(unit, after)
    if word.startswith("år") and _is_age(value, before, after):
        return "alder", value, "år"
    return ("frist" if deadline else "varighet"), value * _MONTHS[word[:2]], "måneder"


def _is_year_or_section(text: str, token: re.Match[str]) -> bool:
    raw = token.group()
    if re.fullmatch(r"(?:19|20)\d\d", raw):
        return True  # a year ("i 2019") is a date, never a figure of a rule
    return bool(_SECTION_BEFORE_RE.search(text, max(0, token.start() - 20), token.start()))


def _listed(text: str, match: re.Match[str], unit: str, after_end: int) -> Iterator[Quantity]:
    """One quantity per number of a list sharing a unit: "mellom 18 og 67 år"."""
    tokens = list(NUMBER_RE.finditer(text, match.start("list"), match.end("list")))
    first = match.start("list")
    clause = _clause_start(text, first)
    before = text[clause:first]
    after = text[after_end : after_end + 30]
    between = len(tokens) > 1 and _BETWEEN_BEFORE_RE.search(before)
    bound, bound_start = _bound(text, first, after)
    for i, token in enumerate(tokens):
        if _is_year_or_section(text, token):
            continue
        kind, value, norm = _kind(unit, _number(token.group()), before, after)
        start = bound_start if i == 0 else token.start()
        if between:
            bound = "min" if i == 0 else "max"
            start = clause + between.start() if i == 0 else start
        end = match.end()
        yield Quantity(kind, value, bound, start, end, text[start:end], norm)


def quantities(text: str) -> list[Quantity]:
    """The figures of rules in a text: G amounts, shares, ages, durations, deadlines, days, hours.

    Years ("2019") and § numbers are not figures; "2/3 av 2G" is a share (2/3) and an amount
    (2 G); "to år pluss seks måneder" is one duration.
    """
    found: list[Quantity] = []
    for match in _QUANTITY_RE.finditer(text):
        found += _listed(text, match, match.group("unit"), match.end())
    for match in _COUNT_FIRST_RE.finditer(text):
        unit = match.group("unit")
        rate = _RATE_RE.match(match.group("mid"))
        mid_rate = f" {rate.group()}" if rate else ""
        found += [
            replace(q, unit=_days_unit(unit, mid_rate))
            for q in _listed(text, match, unit, match.end())
        ]
    for match in _FRACTION_RE.finditer(text):
        numerator, denominator = int(match.group(1)), int(match.group(2))
        if 0 < numerator < denominator:
            bound, start = _bound(text, match.start(), text[match.end() : match.end() + 30])
            share = numerator / denominator
            found.append(
                Quantity("andel", share, bound, start, match.end(), text[start : match.end()])
            )
    return _merged(_deduplicated(sorted(found, key=lambda q: (q.start, q.end))), text)


def _deduplicated(found: list[Quantity]) -> list[Quantity]:
    """ "to ganger grunnbeløpet (2G)" states one figure twice."""
    kept: list[Quantity] = []
    for q in found:
        last = kept[-1] if kept else None
        if (
            last
            and (last.kind, last.value, last.unit) == (q.kind, q.value, q.unit)
            and (last.start == q.start or q.start - last.end <= 3)
        ):
            continue
        kept.append(q)
    return kept


def _merged(found: list[Quantity], text: str) -> list[Quantity]:
    """ "to år pluss seks måneder", "ett år og seks måneder": one duration."""
    kept: list[Quantity] = []
    for q in found:
        last = kept[-1] if kept else None
        if (
            last
            and last.kind == q.kind
            and q.kind in ("varighet", "frist")
            and re.fullmatch(r"\s+(?:pluss|og)\s+", text[last.end : q.start])
            and last.surface.split()[-1].lower().startswith("år")
            and not q.surface.split()[-1].lower().startswith("år")
        ):
            kept[-1] = replace(
                last, value=last.value + q.value, end=q.end, surface=text[last.start : q.end]
            )
            continue
        kept.append(q)
    return kept

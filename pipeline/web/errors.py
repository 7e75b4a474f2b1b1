"""Errors in the web app: the one table of HTTP statuses, and every message in Norwegian.

The library writes its messages in English for the CLI; people using the web app read
Norwegian. `message_for` gives an error's message in Norwegian: errors the web layer raises
itself (`WebError`, `WebNotFoundError`) already are, and the library's messages are
translated by `TRANSLATIONS`, a table of their wordings. `validation_message` does the same
for the request validation errors of FastAPI and pydantic, and `route_message` for unknown
addresses and methods.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.errors import (
    EncoderError,
    NotFoundError,
    PipelineError,
    TrainingDataError,
    UnavailableError,
    UnusableIndexError,
)
from pipeline.web.render import KIND_LABELS, THEME_LABELS


class WebError(PipelineError):
    """A request the web layer refuses itself; the message is already in Norwegian, and a
    page may show `heading` above it."""

    def __init__(self, message: str, heading: str = "") -> None:
        super().__init__(message)
        self.heading = heading


class WebNotFoundError(WebError, NotFoundError):
    """Something asked for (a §, a page number) that the corpus does not have."""


class WebInvalidError(WebError):
    """Input a page cannot use as it is (a blank or too long question): 422, as in the API."""


class BodyTooLargeError(WebError):
    """A request body larger than its route takes (`pipeline.web.limits`)."""


class AddressTooLongError(WebError):
    """An address (path and query) longer than the app takes (`pipeline.web.limits`)."""


# Most specific first: the first class an error is an instance of decides its status.
STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (WebInvalidError, 422),
    (BodyTooLargeError, 413),
    (AddressTooLongError, 414),
    (NotFoundError, 404),
    (UnusableIndexError, 503),  # no index, a damaged one, or one from another version
    (EncoderError, 503),
    (UnavailableError, 503),
    (TrainingDataError, 503),  # a request never brings training data: a model is missing
    (PipelineError, 400),  # SearchError, LegalRefError, ThemeError …: the request must change
)


def status_for(error: Exception) -> int:
    """The HTTP status of an error: 4xx for what the user can fix, 503 for what is missing."""
    for cls, status in STATUSES:
        if isinstance(error, cls):
            return status
    return 500


# The library's messages ------------------------------------------------------------------

THEME_NAMES = ", ".join(f"{key} ({label.lower()})" for key, label in THEME_LABELS.items())
KIND_NAMES = ", ".join(f"{key} ({label.lower()})" for key, label in KIND_LABELS.items())
QUOTED = r"(?P<{}>'[^']*'|\"[^\"]*\")"  # a value the library wrote with repr()

# (pattern of the library's English message, the Norwegian message; {name} is a group)
WORDINGS: tuple[tuple[str, str], ...] = (
    (r"no document with id '(?P<id>.*)'",
     "Dokumentet «{id}» finnes ikke i korpuset. Velg et dokument fra lista over "
     "dokumenter (/dokumenter)."),
    (r"no passage with id '(?P<id>.*)'",
     "Passasjen «{id}» finnes ikke i indeksen; lenken kan være fra en eldre indeks. "
     "Søk etter teksten på nytt."),
    (r"unknown theme '(?P<theme>.*)'; valid themes",
     "Temaet «{theme}» finnes ikke. Velg et av disse: " + THEME_NAMES + "."),
    (r"unknown document kind '(?P<kind>.*)'; valid kinds",
     "Dokumenttypen «{kind}» finnes ikke. Velg en av disse: " + KIND_NAMES + "."),
    (r"the question is empty", "Skriv et spørsmål: feltet er tomt."),
    (r"the question '(?P<q>.*)' has no words or numbers",
     "Spørsmålet «{q}» har ingen ord eller tall å søke etter. Skriv det med vanlige ord."),
    (r"k must be between 1 and (?P<most>\d+), not (?P<k>-?\d+)",
     "k må være mellom 1 og {most}, ikke {k}."),
    (r"no § or point in " + QUOTED.format("q"),
     "Fant ingen paragraf i «{q}». Skriv lov og paragraf, for eksempel «sotjl § 35»."),
    (r"unknown act " + QUOTED.format("act") + " in " + QUOTED.format("q"),
     "Kjenner ikke loven «{act}» i «{q}». Skriv for eksempel «sotjl § 35» "
     "(sosialtjenesteloven) eller «kvp-forskriften § 11»."),
    (r"cannot read " + QUOTED.format("rest") + " in " + QUOTED.format("q"),
     "Forstår ikke «{rest}» i «{q}». Skriv for eksempel «sotjl § 35 første ledd»."),
    (QUOTED.format("q") + r" names (?P<n>\d+) provisions \((?P<keys>.*)\)",
     "«{q}» viser til {n} paragrafer ({keys}). Slå opp én av dem."),
    (r"no index at (?P<dir>.*?); run",
     "Det finnes ingen indeks i {dir}. Den som driver tjenesten, må bygge den med "
     "`kvp build`."),
    (r"the index at (?P<dir>.*?) is damaged",
     "Indeksen i {dir} er skadet. Den som driver tjenesten, må bygge den på nytt med "
     "`kvp build`."),
    (r"the index at (?P<dir>.*?) was built by an older version",
     "Indeksen i {dir} er laget av en eldre versjon av kvp. Den som driver tjenesten, "
     "må bygge den på nytt med `kvp build`."),
    (r"the index was built with encoder '(?P<built>.*)', but '(?P<loaded>.*)' is loaded",
     "Indeksen er bygget med språkmodellen «{built}», men «{loaded}» er lastet. Bygg "
     "indeksen på nytt med `kvp build`, eller bruk den modellen."),
    (r"no answer models in (?P<path>.*?); run",
     "Svarmodellene finnes ikke ({path}). Den som driver tjenesten, må lage dem med "
     "`kvp train-answers`."),
    (r"no theme model at (?P<path>.*?); run",
     "Temamodellen finnes ikke ({path}). Den som driver tjenesten, må lage den med "
     "`kvp train-themes`."),
)  # fmt: skip
TRANSLATIONS = tuple((re.compile(pattern, re.DOTALL), norwegian) for pattern, norwegian in WORDINGS)
# When no wording matches: a Norwegian sentence per status, and the library's own words.
FALLBACKS = {
    400: "Forespørselen kan ikke utføres slik den er skrevet; endre den og prøv igjen.",
    404: "Fant ikke det du ba om; sjekk adressen.",
    503: "Tjenesten mangler noe den trenger; si fra til den som driver den.",
}


def unquoted(value: str) -> str:
    """'sotjl § 3' → sotjl § 3: a value as the user typed it, without repr()'s quotes."""
    if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
        return value[1:-1]
    return value


def message_for(error: Exception) -> str:
    """The error's message in Norwegian, saying what to do next."""
    text = str(error)
    if isinstance(error, WebError):
        return text
    for pattern, norwegian in TRANSLATIONS:
        match = pattern.search(text)
        if match is not None:
            return norwegian.format(**{k: unquoted(v) for k, v in match.groupdict().items()})
    status = status_for(error)
    if status == 500:
        return UNEXPECTED
    return f"{FALLBACKS.get(status, FALLBACKS[400])} (Detaljer, på engelsk: {text})"


UNEXPECTED = (
    "Noe uventet gikk galt hos oss. Prøv igjen om litt; skjer det igjen, si fra til den som "
    "driver tjenesten (detaljene står i serverloggen)."
)


# Request validation ----------------------------------------------------------------------


def _limit(key: str, one: str, many: str) -> Callable[[dict[str, Any]], str]:
    def phrase(ctx: dict[str, Any]) -> str:
        count = ctx.get(key)
        return (one if count == 1 else many).format(count)

    return phrase


def _expected(ctx: dict[str, Any]) -> str:
    return "må være " + str(ctx.get("expected", "")).replace(" or ", " eller ")


# pydantic's error type → how the value is wrong, as the end of a sentence about the field
VALIDATION: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: "mangler; ta det med",
    "string_too_short": _limit("min_length", "kan ikke være tomt", "må ha minst {} tegn"),
    "string_too_long": _limit("max_length", "kan ha høyst ett tegn", "kan ha høyst {} tegn"),
    "too_short": _limit("min_length", "må ha minst ett element", "må ha minst {} elementer"),
    "too_long": _limit("max_length", "kan ha høyst ett element", "kan ha høyst {} elementer"),
    "greater_than_equal": lambda ctx: f"må være minst {ctx.get('ge')}",
    "greater_than": lambda ctx: f"må være større enn {ctx.get('gt')}",
    "less_than_equal": lambda ctx: f"kan være høyst {ctx.get('le')}",
    "less_than": lambda ctx: f"må være mindre enn {ctx.get('lt')}",
    "int_parsing": lambda ctx: "må være et heltall, for eksempel 1",
    "int_type": lambda ctx: "må være et heltall, for eksempel 1",
    "int_from_float": lambda ctx: "må være et heltall, for eksempel 1",
    "float_parsing": lambda ctx: "må være et tall",
    "float_type": lambda ctx: "må være et tall",
    "bool_parsing": lambda ctx: "må være true eller false",
    "bool_type": lambda ctx: "må være true eller false",
    "string_type": lambda ctx: "må være tekst",
    "list_type": lambda ctx: 'må være en liste, for eksempel ["law"]',
    "tuple_type": lambda ctx: "må være en liste",
    "dict_type": lambda ctx: "må være et JSON-objekt",
    "model_type": lambda ctx: "må være et JSON-objekt",
    "model_attributes_type": lambda ctx: "må være et JSON-objekt",
    "literal_error": _expected,
    "enum": _expected,
    "extra_forbidden": lambda ctx: "er ikke et felt her; fjern det",
    "value_error": lambda ctx: str(ctx.get("error", "har en ugyldig verdi")),
}


def validation_message(errors: Sequence[Any]) -> str:
    """FastAPI's validation errors as Norwegian sentences: "«k» må være minst 1."."""
    parts = []
    for error in errors:
        kind = str(error.get("type", ""))
        if kind == "json_invalid":
            return (
                "Forespørselen er ikke gyldig JSON. Send et JSON-objekt, for eksempel "
                '{"question": "Hvor lenge kan programmet vare?"}.'
            )
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        ctx = error.get("ctx") or {}
        phrase = VALIDATION.get(kind)
        wrong = phrase(ctx) if phrase else f"har en ugyldig verdi ({error.get('msg', '')})"
        parts.append(f"«{'.'.join(location)}» {wrong}" if location else f"Forespørselen {wrong}")
    return ("; ".join(parts) or "Forespørselen er ikke gyldig") + "."


# Routes ----------------------------------------------------------------------------------


def route_message(status: int, path: str, method: str, *, api: bool, allowed: str = "") -> str:
    """Why an address gave `status` (no route, wrong method), and what to do instead."""
    if status == 404 and api:
        return f"Det finnes ingen API-adresse {path}. Se /docs for adressene som finnes."
    if status == 404:
        return f"Det finnes ingen side på adressen {path}. Sjekk adressen, eller gå til forsiden."
    if status == 405:
        instead = f" Bruk {allowed.replace(', ', ' eller ')}." if allowed else ""
        return f"Adressen {path} tar ikke imot {method}-forespørsler.{instead}"
    return FALLBACKS.get(status, FALLBACKS[400])

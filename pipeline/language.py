"""Norwegian text handling shared by segmentation, search and tagging.

- Sentences: spaCy's blank bokmål pipeline with a sentencizer, taught the abbreviations of
  Norwegian policy texts ("bl.a.", "jf.", "Prop.", "kap.", "pkt.") and the sentence ends it
  misses after an ordinal-looking token ("… § 29. Neste", "… 2 G. Den").
- Tokens for lexical matching: lower-cased words, stemmed with the Norwegian Snowball
  stemmer, with compounds split into their known parts ("kvalifiseringsstønad" also
  yields "stønad") and domain abbreviations expanded ("AAP" also yields
  "arbeidsavklaringspenger").
- `DOMAIN_TERMS`: the one table of abbreviations and synonyms that search and tagging share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

# Abbreviations that end in a period but do not end a sentence. spaCy's bokmål exceptions
# already cover many ("bl.a.", "f.eks.", "ca.", "jf."); these are the ones policy texts add.
ABBREVIATIONS = (
    "Prop.", "prop.", "kap.", "Kap.", "pkt.", "Pkt.", "nr.", "Nr.", "jf.", "Jf.", "jfr.",
    "s.", "St.meld.", "Meld.", "St.", "Ot.prp.", "Innst.", "mv.", "m.v.", "m.m.", "m.fl.",
    "iflg.", "ikr.", "res.", "bl.a.", "f.eks.", "dvs.", "ca.", "evt.", "ev.", "osv.", "mht.",
    "vedr.", "iht.", "pga.", "etc.", "ift.", "tlf.", "sotjl.", "ftrl.", "fvl.", "jan.",
    "feb.", "aug.", "sept.", "okt.", "nov.", "des.", "kl.", "lovens", "forskr.",
    "avd.", "dir.", "ang.", "mnd.", "stk.", "kr.", "Kr.",
)  # fmt: skip
# An ordinal-looking token ("29.", "G.") followed by a capitalised word ends a sentence,
# except where the next word is a month or a typical continuation.
ORDINAL_END_RE = re.compile(r"^(\d{1,4}|[A-ZÆØÅ])\.$")

# One table of domain abbreviations and synonyms; keys are lower-case surface forms, values
# the words they stand for. Search expands queries with it; tagging and BM25 index both.
DOMAIN_TERMS: dict[str, tuple[str, ...]] = {
    "kvp": ("kvalifiseringsprogram",),
    "kvalifiseringsprogram": ("kvp",),
    "kvalifiseringsprogrammet": ("kvp",),
    "kvs": ("kvalifiseringsstønad",),
    "kvalifiseringsstønad": ("kvs",),
    "aap": ("arbeidsavklaringspenger",),
    "arbeidsavklaringspenger": ("aap",),
    "aev": ("arbeidsevnevurdering",),
    "arbeidsevnevurdering": ("aev",),
    "g": ("grunnbeløp",),
    "grunnbeløp": ("g",),
    "grunnbeløpet": ("g",),
    "sotjl": ("sosialtjenesteloven",),
    "sosialtjenesteloven": ("sotjl",),
    "ftrl": ("folketrygdloven",),
    "fvl": ("forvaltningsloven",),
    "nav": ("arbeids", "velferdsforvaltningen"),
    "ip": ("individuell", "plan"),
    "se": ("supported", "employment"),
    "ips": ("individual", "placement", "support"),
    "r35-00": ("rundskriv",),
    "ksd": ("kommunal",),
    "ung": ("unge", "ungdom"),
    "unge": ("ungdom",),
    "ungdom": ("unge",),
    "deltaker": ("deltager",),
    "deltager": ("deltaker",),
    "stønad": ("ytelse",),
    "ytelse": ("stønad",),
    "veileder": ("veiledning",),
}
# Everyday words → the statutes' terms for the same thing, taken from the concepts of
# sosialtjenesteloven §§ 29–40 and the KVP regulation (benefit, absence, leave, sickness,
# work income, duration, termination), so a lay question meets the legal text.
LAY_TERMS: dict[str, tuple[str, ...]] = {
    "penger": ("stønad", "kvalifiseringsstønad"),
    "betalt": ("stønad", "utbetaling"),
    "lønn": ("arbeidsinntekt", "stønad"),
    "jobb": ("arbeid",),
    "jobbe": ("arbeid", "arbeidsinntekt"),
    "deltid": ("arbeid", "stilling"),
    "syk": ("sykdom", "egenmelding"),
    "sykemeldt": ("sykdom", "legeerklæring"),
    "borte": ("fravær",),
    "hjemme": ("fravær",),
    "fri": ("permisjon", "fravær"),
    "ferie": ("permisjon",),
    "baby": ("fødsel",),
    "gravid": ("fødsel",),
    "føde": ("fødsel",),
    "trekk": ("reduksjon",),
    "trukket": ("reduseres", "reduksjon"),
    "kuttet": ("reduseres", "reduksjon"),
    "lenge": ("varighet",),
    "maks": ("varighet",),
    "ekstra": ("forlengelse",),
    "slutte": ("avslutning", "avbrudd"),
    "kastet": ("avslutning", "avbrudd"),
    "søke": ("søknad",),
    "forsørger": ("barnetillegg",),
    "unger": ("barn",),
}
WORD_RE = re.compile(r"§|[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
MIN_COMPOUND_PART = 4


@lru_cache(maxsize=1)
def nlp() -> Language:
    """The shared spaCy pipeline: blank bokmål, Norwegian abbreviations, sentencizer."""
    import spacy
    from spacy.language import Language
    from spacy.symbols import ORTH

    if "norwegian_sentence_ends" not in Language.factories:
        Language.component("norwegian_sentence_ends", func=mark_ordinal_sentence_ends)
    pipeline = spacy.blank("nb")
    tokenizer: Any = pipeline.tokenizer
    for abbreviation in ABBREVIATIONS:
        if "." in abbreviation:
            tokenizer.add_special_case(abbreviation, [{ORTH: abbreviation}])
    pipeline.add_pipe("sentencizer")
    pipeline.add_pipe("norwegian_sentence_ends")
    return pipeline


def mark_ordinal_sentence_ends(doc: Doc) -> Doc:
    """Start a sentence after "§ 29." or "2 G." when a capitalised word follows."""
    for token in doc[:-1]:
        following = doc[token.i + 1]
        if ORDINAL_END_RE.match(token.text) and following.is_title and following.is_alpha:
            following.is_sent_start = True
    return doc


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in a text, whitespace trimmed."""
    spans = []
    for sentence in nlp()(text).sents:
        start, end = sentence.start_char, sentence.end_char
        chunk = text[start:end]
        start += len(chunk) - len(chunk.lstrip())
        end -= len(chunk) - len(chunk.rstrip())
        if end > start:
            spans.append((start, end))
    return spans


@lru_cache(maxsize=1)
def stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("norwegian")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return stemmer().stemWord(word)  # type: ignore[attr-defined,no-any-return]


@lru_cache(maxsize=200_000)
def is_known(word: str) -> bool:
    import simplemma

    return bool(simplemma.is_known(word, lang="nb"))


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """Known parts of a compound ("kvalifiseringsstønad" → "kvalifisering", "stønad").

    The longest known tail wins; the head may carry a linking -s- or -e- as Norwegian
    compounds do. Returns () for a word that is not a compound of known words.
    """
    if len(word) < 2 * MIN_COMPOUND_PART or "-" in word:
        return ()
    for cut in range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1):
        head, tail = word[:cut], word[cut:]
        if not is_known(tail):
            continue
        for candidate in (head, head[:-1] if head[-1:] in "se" else ""):
            if len(candidate) >= MIN_COMPOUND_PART and is_known(candidate):
                return (candidate, tail)
    return ()


def words(text: str) -> list[str]:
    """Lower-cased word tokens, "§" and numbers kept (they matter in legal questions)."""
    return [w.lower() for w in WORD_RE.findall(text)]


@lru_cache(maxsize=1)
def expansions() -> dict[str, tuple[str, ...]]:
    """The abbreviation and lay-term tables keyed by stem, so inflected forms match too."""
    table: dict[str, tuple[str, ...]] = {}
    for key, terms in (*DOMAIN_TERMS.items(), *LAY_TERMS.items()):
        stems = tuple(stem(term) for term in terms)
        table[stem(key)] = tuple(dict.fromkeys(table.get(stem(key), ()) + stems))
    return table


def normalize_tokens(text: str, *, expand: bool = True) -> list[str]:
    """Tokens for lexical matching: stems, plus compound parts and expanded terms."""
    tokens: list[str] = []
    table = expansions() if expand else {}
    for word in words(text):
        stemmed = stem(word)
        tokens.append(stemmed)
        if not expand:
            continue
        parts: Iterable[str] = word.split("-") if "-" in word else compound_parts(word)
        tokens.extend(stem(part) for part in parts if len(part) > 1)
        tokens.extend(table.get(stemmed, ()))
    return tokens

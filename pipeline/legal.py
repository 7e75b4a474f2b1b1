"""Legal references: find, normalise and look up citations of acts, §§, ledd and points.

Normalisation: a `LegalRef` per provision, with the act's canonical short name (`ACTS`; an
act outside it keeps its own lower-cased name, "straffeloven"), the § as the act writes it
("29", "14 a", "2-5"), ledd/punktum as numbers ("tredje ledd" = "3. ledd" = 3) and bokstav as
a letter. Lists give one ref each ("§§ 9 og 10", "§ 28 annet og tredje ledd"). A range
("§§ 29-40", "§§ 29 til 40", "§ 6 – § 8") gives one ref per § sharing the range's raw text
and span, so a lookup of "sotjl § 35" finds it; longer than `MAX_RANGE` or with lettered
ends ("§§ 13 til 13 e"), only its two ends. Under one § sign "2-5" is one § (folketrygdloven
§ 2-5). A circular's point stays whole ("r35-00 pkt. 4.29.1.3"); an act named with no § is
an act-level ref.

Context: a § takes the act written right before it ("sotjl. § 35", "Sotjl, 2009, § 33") or
right after it ("§ 29 i sosialtjenesteloven"); §§ joined by "og" or a comma share it. Else
`find_refs` takes the nearest act named earlier within `NEAR_CHARS` or in the same sentence,
else `default_act`, else "" (unresolved, still listed). A statute cites other acts only by
name, so there a bare § is the statute's own, and "loven" in the regulation is sotjl. Other
documents carry the last act cited (else named) earlier in the document across passages.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, Literal

from pipeline.errors import LegalRefError
from pipeline.model import STATUTE_KINDS, Document, LegalRef, Passage, Role
from pipeline.segment import LEDD_ORDINALS

MAX_RANGE = 30  # a longer range is more likely a typo than thirty §§ meant one by one
NEAR_CHARS = 200  # how far back an act named earlier still governs a bare §


@dataclass(frozen=True, slots=True)
class Act:
    """An act, regulation or circular: its title, kind and every name the texts use."""

    title: str
    kind: Literal["law", "regulation", "circular"]
    aliases: tuple[str, ...]


# The act table is data (pipeline/data/acts.toml, which explains its fields), read once here.
_ACT_TABLE: dict[str, dict[str, Any]] = tomllib.loads(
    (resources.files("pipeline") / "data" / "acts.toml").read_text(encoding="utf-8")
)["acts"]
# Canonical short name → the act. Aliases match case-insensitively, with a genitive -s
# ("sosialtjenestelovens") and, for abbreviations, a trailing period ("sotjl.").
ACTS: dict[str, Act] = {
    name: Act(entry["title"], entry["kind"], tuple(entry["aliases"]))
    for name, entry in _ACT_TABLE.items()
}
# The acts whose text is in the corpus: canonical name → manifest doc id.
ACT_DOC_IDS: dict[str, str] = {
    name: entry["doc_id"] for name, entry in _ACT_TABLE.items() if "doc_id" in entry
}
# "loven" inside a regulation means the act the regulation is made under.
PARENT_ACT: dict[str, str] = {
    name: entry["parent"] for name, entry in _ACT_TABLE.items() if "parent" in entry
}
# A term of art that names its act: "§ 14 a-vedtak" is always NAV-loven § 14 a.
TERM_ACTS: dict[tuple[str, str], str] = {
    (term["section"], term["suffix"]): name
    for name, entry in _ACT_TABLE.items()
    for term in entry.get("terms", ())
}

Rule = Literal["nearby", "carry", "statute"]
_GENERIC = "loven"  # "loven", "lovens": an act named only by context

_ORDINALS = {word: n for n, word in enumerate(LEDD_ORDINALS, 1)} | {"andre": 2, "syvende": 7}
_ORD = rf"(?:{'|'.join(_ORDINALS)}|\d{{1,2}}\.)"
_ORDS = rf"{_ORD}(?:\s*(?:,|og)\s*{_ORD})*"
# A § number: "29", "14 a", "14a", "2-5", "7-2 a". A lone "i" is the preposition.
_SEC = r"\d{1,3}(?!\d)(?:-\d{1,3}(?!\d))?(?:[ ]?[a-hj-z](?!\w))?"
# "§§ 30, 1. og 2. ledd": a number followed by "." and ledd/punktum is an ordinal, not a §.
_NOT_ORDINAL = r"(?!\.(?:\s*(?:og|,)\s*\d{1,2}\.)*\s*(?:ledd|punktum))"
_CITE_RE = re.compile(
    rf"(?P<sign>§§?|\b(?i:paragraf(?:ene|en)?)\b)[^\S\n]*"
    rf"(?P<secs>{_SEC}(?:[^\S\n]*(?:,|og|eller|til|[-–])[^\S\n]*{_SEC}{_NOT_ORDINAL})*)"
    rf"(?:[^\S\n]*[-–][^\S\n]*§[^\S\n]*(?P<upto>{_SEC}))?"
)
_SEC_TOKEN_RE = re.compile(rf"(?P<sec>{_SEC})|(?P<to>\btil\b|[-–])")
_TAIL_RE = re.compile(
    rf"[^\S\n]*(?P<sep>,|og\b)?[^\S\n]*(?:(?P<ledd>{_ORDS})\s*ledd\b"
    rf"|(?P<punktum>{_ORDS})\s*punktum\b|bokstav\s+(?P<letter>[a-zæøå])\b"
    rf"|(?P<nth>{_ORD})\s+bokstav\b)",
    re.IGNORECASE,
)
_POINT_RE = re.compile(r"[\s,(]*(?:pkt\.?|punkt)\s*(?P<point>\d+(?:\.\d+)+)", re.IGNORECASE)
_BEFORE_GAP_RE = re.compile(r"\s*(?:,?\s*(?:18|19|20)\d\d\s*,?\s*)?")  # "(Sotjl, 2009, § 33)"
_AFTER_GAP_RE = re.compile(r"\s+(?:i\s+|[A-ZÆØÅ][a-zæøå]+\s+)?")  # "§29 Kvalifiseringsprogram …"
_JOIN_RE = re.compile(r"\s*(?:,|og|eller)\s*")
_MERGE_GAP_RE = re.compile(r"\s*\\?[(\[]?\s*")  # "NAV-loven (lov om arbeids- og …)"
_BLANK_LINE_RE = re.compile(r"\n\s*\n")
_SENTENCE_END_RE = re.compile(r"[.!?]\s+[A-ZÆØÅ«]|\n\s*\n")
_URL_RE = re.compile(r"https?://[^\s>)\]]+")


def _alias_regex(alias: str) -> str:
    body = r"\s+".join(re.escape(word) for word in alias.split())
    if re.fullmatch(r"[a-z]{2,5}", alias):
        return body + r"\.?"  # abbreviations: "sotjl. § 35"
    return body + ("s?" if alias[-1].isalpha() else "")  # genitive: "kommunelovens § 78"


# (alias, act), longest first: a regex alternation takes the first that matches, and the
# fullest name must win ("lov om sosiale tjenester i NAV" over "lov om sosiale tjenester").
_ALIASES = sorted(
    ((alias, act) for act, info in ACTS.items() for alias in info.aliases), key=lambda a: -len(a[0])
)


def _mention_regex() -> re.Pattern[str]:
    """Every alias as group "a<i>_", then "loven", then acts outside ACTS by their form."""
    named = [f"(?P<a{i}_>{_alias_regex(alias)})" for i, (alias, _) in enumerate(_ALIASES)]
    others = [
        r"(?P<generic>lov(?:en|ens|a|as))",
        r"(?P<law>(?:\w+-\s+og\s+)?\w{3,}lov(?:en|a)s?)",  # "helse- og omsorgstjenesteloven"
        r"(?P<reg>forskrift\s+om\s+\w+)",  # "forskrift om arbeidsavklaringspenger"
    ]
    return re.compile(rf"(?<![\w-])(?:{'|'.join(named + others)})(?!\w)", re.IGNORECASE)


_MENTION_RE = _mention_regex()


@dataclass(frozen=True, slots=True)
class _Mention:
    """An act named in the text: canonical name, an outside act's own name, or "loven"."""

    start: int
    end: int
    act: str


@dataclass(slots=True)
class _Pin:
    """One pinpoint below a §, filled in as the words after the § are read."""

    ledd: int | None = None
    bokstav: str = ""
    punktum: int | None = None


@dataclass(frozen=True, slots=True)
class _Cite:
    """A § sign with its §§ and pinpoints (ledd, bokstav, punktum), not yet given an act."""

    start: int
    end: int
    sections: tuple[str, ...]
    pins: tuple[_Pin, ...]


def _kind(act: str) -> str:
    if act in ACTS:
        return ACTS[act].kind
    return "regulation" if act.startswith("forskrift") else "law"


def _mention_act(match: re.Match[str]) -> str:
    group = match.lastgroup or ""
    if group.startswith("a"):
        return _ALIASES[int(group[1:-1])][1]
    if group == "generic":
        return _GENERIC
    name = " ".join(match.group().lower().split())
    return name[:-1] if group == "law" and name.endswith(("lovens", "lovas")) else name


def _mentions(text: str) -> list[_Mention]:
    """Acts named in the text, outside URLs; "X (Y)" naming one act twice is one mention."""
    urls = [m.span() for m in _URL_RE.finditer(text)]
    found: list[_Mention] = []
    for match in _MENTION_RE.finditer(text):
        if any(a <= match.start() < b for a, b in urls):
            continue
        act = _mention_act(match)
        last = found[-1] if found else None
        gap = text[last.end : match.start()] if last else ""
        if last and last.act == act != _GENERIC and _MERGE_GAP_RE.fullmatch(gap):
            closing = re.match(r"\\?[)\]]", text[match.end() :]) if gap.strip() else None
            found[-1] = _Mention(last.start, match.end() + (closing.end() if closing else 0), act)
            continue
        found.append(_Mention(match.start(), match.end(), act))
    return found


def _norm_section(section: str) -> str:
    """ "14a" and "14 a" are the same §."""
    return re.sub(r"(\d)\s*([a-z])$", r"\1 \2", section.strip())


def _expand(first: str, last: str) -> list[str]:
    if first.isdigit() and last.isdigit() and 0 < int(last) - int(first) < MAX_RANGE:
        return [str(n) for n in range(int(first), int(last) + 1)]
    return [first, last]


def _sections(secs: str, plural: bool, upto: str | None) -> list[str]:
    """The §§ a cite names, ranges expanded ("§§ 29-40" is a range, "§ 2-5" one §)."""
    out: list[str] = []
    pending_range = False
    for token in _SEC_TOKEN_RE.finditer(secs):
        if token.group("to"):
            pending_range = bool(out)
            continue
        section = _norm_section(token.group("sec"))
        out = [*out[:-1], *_expand(out[-1], section)] if pending_range else [*out, section]
        pending_range = False
    if plural and len(out) == 1 and (hyphen := re.fullmatch(r"(\d+)-(\d+)", out[0])):
        out = _expand(hyphen.group(1), hyphen.group(2))
    if upto:
        out = [*out[:-1], *_expand(out[-1], _norm_section(upto))]
    return out


def _ordinal(word: str) -> int:
    word = word.lower().rstrip(".")
    return int(word) if word.isdigit() else _ORDINALS[word]


def _pinpoints(text: str, pos: int) -> tuple[list[_Pin], int]:
    """Ledd, bokstav and punktum written after a §, and where they end."""
    pins: list[_Pin] = []
    while match := _TAIL_RE.match(text, pos):
        joined = bool(pins) and not match.group("sep")  # "første ledd annet punktum": one pin
        ledd = pins[-1].ledd if pins else None
        if match.group("ledd"):
            pins += [_Pin(_ordinal(w)) for w in re.findall(_ORD, match.group("ledd"), re.I)]
        elif match.group("letter") or match.group("nth"):
            nth = match.group("nth")
            letter = chr(ord("a") + _ordinal(nth) - 1) if nth else match.group("letter").lower()
            if joined and not pins[-1].bokstav:
                pins[-1].bokstav = letter
            else:
                pins.append(_Pin(ledd, letter))
        else:
            for n, word in enumerate(re.findall(_ORD, match.group("punktum"), re.I)):
                if n == 0 and joined and pins[-1].punktum is None:
                    pins[-1].punktum = _ordinal(word)
                else:
                    pins.append(_Pin(ledd, "", _ordinal(word)))
        pos = match.end()
    return pins, pos


def _cites(text: str) -> list[_Cite]:
    cites = []
    for match in _CITE_RE.finditer(text):
        plural = match.group("sign") == "§§" or match.group("sign").lower().endswith("ene")
        sections = _sections(match.group("secs"), plural, match.group("upto"))
        pins, end = _pinpoints(text, match.end())
        cites.append(_Cite(match.start(), end, tuple(sections), tuple(pins)))
    return cites


def _nearest(mentions: list[_Mention], pos: int, text: str, kinds: tuple[str, ...],
             known_only: bool, anywhere: bool) -> str:  # fmt: skip
    """The act named last before `pos`, if within reach (NEAR_CHARS or the same sentence)."""
    for m in reversed(mentions):
        if m.end > pos or m.act == _GENERIC or _kind(m.act) not in kinds:
            continue
        # "kan gi forskrift om …" names no regulation a later § could belong to
        if (known_only or _kind(m.act) == "regulation") and m.act not in ACTS:
            continue
        near = pos - m.end <= NEAR_CHARS or not _SENTENCE_END_RE.search(text, m.end, pos)
        return m.act if anywhere or near else ""
    return ""


@dataclass(frozen=True, slots=True)
class _Context:
    """What a bare § is resolved against: acts named, and acts cited with a §."""

    text: str
    mentions: list[_Mention]
    cited: list[_Mention]  # the explicit act of every § cite, at the cite's span
    default_act: str
    rule: Rule

    def act(self, pos: int, kinds: tuple[str, ...] = ("law", "regulation")) -> str:
        """The act of a § at `pos` that names none (`kinds` narrows it for "loven")."""
        if self.rule == "statute":
            return self.default_act
        act = _nearest(self.mentions, pos, self.text, kinds, known_only=False, anywhere=False)
        if not act and self.rule == "carry":
            # an act cited with a § sets the § context better than one named in passing
            # ("introduksjonsloven" in a paragraph about another programme)
            act = _nearest(self.cited, pos, self.text, kinds, known_only=True, anywhere=True)
            act = act or _nearest(self.mentions, pos, self.text, kinds, True, anywhere=True)
        if act:
            return act
        default = self.default_act
        return default if not default or _kind(default) in kinds else ""


def _attached(cite: _Cite, mentions: list[_Mention], text: str) -> tuple[int | None, str]:
    """The mention written right before or after a cite (its index), or a term's act."""
    for i, m in enumerate(mentions):
        if m.start > cite.end + NEAR_CHARS:
            break
        if m.end <= cite.start:
            gap, fits = (m.end, cite.start), _BEFORE_GAP_RE.fullmatch(text, m.end, cite.start)
        else:
            gap, fits = (cite.end, m.start), _AFTER_GAP_RE.fullmatch(text, cite.end, m.start)
        if fits and not _BLANK_LINE_RE.search(text, *gap):
            return i, m.act
    for (section, suffix), act in TERM_ACTS.items():
        if cite.sections == (section,) and text.startswith(suffix, cite.end):
            return None, act
    return None, ""


def _share_acts(bound: list[tuple[int | None, str]], cites: list[_Cite], text: str) -> None:
    """A list of §§ shares one act: forward "sotjl § 20, § 20 a", back "§ 7 og § 8 i loven"."""
    pairs = [(i, i - 1) for i in range(1, len(cites))] + [
        (i, i + 1) for i in range(len(cites) - 2, -1, -1)
    ]
    for i, j in pairs:
        first, second = cites[min(i, j)], cites[max(i, j)]
        if not bound[i][1] and _JOIN_RE.fullmatch(text, first.end, second.start):
            bound[i] = (None, bound[j][1])


def _find(text: str, default_act: str, rule: Rule) -> list[LegalRef]:
    """All references in `text`, acts resolved by `rule` (see the module docstring)."""
    mentions = _mentions(text)
    cites = _cites(text)
    bound = [_attached(cite, mentions, text) for cite in cites]
    used = {index for index, _ in bound if index is not None}
    _share_acts(bound, cites, text)
    cited = [_Mention(c.start, c.end, act) for c, (_, act) in zip(cites, bound, strict=True)]
    context = _Context(text, mentions, [m for m in cited if m.act in ACTS], default_act, rule)
    refs: list[LegalRef] = []
    for cite, (index, act) in zip(cites, bound, strict=True):
        start, end = cite.start, cite.end
        if index is not None:
            start, end = min(start, mentions[index].start), max(end, mentions[index].end)
        if act == _GENERIC:  # "loven § 32": the parent act, or the last law named
            parent = PARENT_ACT.get(default_act, "")
            act = parent or context.act(start, ("law",))
        elif not act:
            act = context.act(start)
        raw = text[start:end]
        refs += [
            LegalRef(act, section, pin.ledd, pin.bokstav, pin.punktum, "", raw, start, end)
            for section in cite.sections
            for pin in cite.pins or (_Pin(),)
        ]  # fmt: skip
    for i, m in enumerate(mentions):  # acts named with no §, and the circular's points
        if i not in used and m.act in ACTS:
            point = _POINT_RE.match(text, m.end) if ACTS[m.act].kind == "circular" else None
            end = point.end() if point else m.end
            found = point.group("point") if point else ""
            refs.append(
                LegalRef(m.act, "", None, "", None, found, text[m.start : end], m.start, end)
            )
    return sorted(refs, key=lambda r: (r.char_start, r.char_end))


def find_refs(text: str, *, default_act: str = "") -> list[LegalRef]:
    """Every legal reference in `text`, normalised, with its span; bare §§ by context."""
    return _find(text, default_act, "nearby")


def parse_ref(query: str) -> LegalRef:
    """One provision a user typed: "sotjl § 35", "§ 29 tredje ledd" (sotjl), "r35-00 pkt. 4.29".

    Several ledd of one § ("§ 28 annet og tredje ledd") mean the whole §.
    """
    text = " ".join(query.split())
    if "§" not in text and not re.search(r"(?i)\b(?:pkt|punkt|paragraf)", text):
        # "sotjl 35" means "sotjl § 35"; "r35-00 4.29" means "r35-00 pkt. 4.29"
        dotted = re.search(r"(?<![\w.-])\d+\.\d", text)
        text = re.sub(r"(?<![\w.-])(?=\d)", "pkt. " if dotted else "§ ", text, count=1)
    refs = [r for r in _find(text, "sotjl", "statute") if r.section or r.point]
    known = f"known acts: {', '.join(ACTS)}"
    if not refs:
        raise LegalRefError(f"no § or point in {query!r}; write e.g. 'sotjl § 35'; {known}")
    if (prefix := text[: refs[0].char_start].strip(" ,.;:()")) or refs[0].act not in ACTS:
        raise LegalRefError(f"unknown act {prefix or refs[0].act!r} in {query!r}; {known}")
    if rest := text[refs[-1].char_end :].strip(" ,.;:()"):
        raise LegalRefError(
            f"cannot read {rest!r} in {query!r}; write e.g. 'sotjl § 35 første ledd'"
        )
    if len({(r.section, r.point) for r in refs}) > 1:
        keys = ", ".join(r.key for r in refs)
        raise LegalRefError(f"{query!r} names {len(refs)} provisions ({keys}); look up one")
    ref = refs[0] if len(refs) == 1 else replace(refs[0], ledd=None, bokstav="", punktum=None)
    return replace(ref, raw=query, char_start=0, char_end=len(query))


def _document_refs(document: Document) -> list[LegalRef]:
    """References over a whole document, so context runs across passages in reading order."""
    if document.source.kind not in STATUTE_KINDS:
        return _find(document.text, "", "carry")
    own = next((act for act, doc in ACT_DOC_IDS.items() if doc == document.doc_id), "")
    headings = [(b.char_start, b.char_end) for b in document.blocks if b.role is Role.HEADING]
    return [
        r for r in _find(document.text, own, "statute")
        # a § heading is the § itself, not a reference; nor is the act naming itself
        if not any(a <= r.char_start < b for a, b in headings) and (r.section or r.act != own)
    ]  # fmt: skip


def annotate_refs(documents: Sequence[Document], passages: Sequence[Passage]) -> list[Passage]:
    """Passages with `legal_refs` filled; spans are relative to the passage text."""
    by_doc = {d.doc_id: _document_refs(d) for d in documents}
    annotated = []
    for passage in passages:
        refs = by_doc.get(passage.doc_id)
        if refs is None:  # no document given: read the passage on its own
            own = find_refs(passage.text)
        else:
            own = [
                replace(r, char_start=r.char_start - passage.char_start,
                        char_end=r.char_end - passage.char_start)
                for r in refs
                if passage.char_start <= r.char_start and r.char_end <= passage.char_end
            ]  # fmt: skip
        annotated.append(replace(passage, legal_refs=tuple(own)))
    return annotated


def refs_index(passages: Sequence[Passage]) -> dict[str, list[str]]:
    """Reference key ("sotjl § 35") → ids of the passages that cite it, in passage order."""
    index: dict[str, list[str]] = {}
    for passage in passages:
        for key in dict.fromkeys(r.key for r in passage.legal_refs):
            index.setdefault(key, []).append(passage.passage_id)
    return index


_LOCATOR_RE = re.compile(rf"§\s*(?P<section>{_SEC})(?:\s+(?P<ledd>\w+)\s+ledd)?")
_DOC_ACTS = {doc_id: act for act, doc_id in ACT_DOC_IDS.items()}


def provision_key(ref: LegalRef) -> str | None:
    """The key of the § a statute passage holds, for a reference to it ("sotjl § 35")."""
    if ref.act not in ACT_DOC_IDS or not ref.section:
        return None
    return f"{ref.act} § {_norm_section(ref.section)}"


def provision_of(passage: Passage) -> tuple[str, int | None] | None:
    """The § (its `provision_key`) and ledd a statute passage holds; None for other text."""
    act = _DOC_ACTS.get(passage.doc_id)
    match = _LOCATOR_RE.fullmatch(passage.locator) if act else None
    if act is None or match is None:
        return None
    ledd = match.group("ledd")
    return f"{act} § {_norm_section(match.group('section'))}", _ORDINALS.get(ledd) if ledd else None


def statute_passages(passages: Sequence[Passage], ref: LegalRef) -> list[Passage]:
    """The statute passages that hold the § (just its ledd, when split by ledd and asked).

    The same rule as `pipeline.store.PassageStore.provision`, over a list of passages.
    """
    key = provision_key(ref)
    holding = [(p, found[1]) for p in passages if (found := provision_of(p)) and found[0] == key]
    exact = [p for p, ledd in holding if ref.ledd is not None and ledd == ref.ledd]
    return exact or [p for p, _ in holding]


def ledd_rows(found: Sequence[tuple[int, int | None]], ref: LegalRef) -> list[int]:
    """Of the rows holding a § (row, ledd), those of the ledd the reference names, if any do;
    else all of them: what a store's `provision` returns."""
    exact = [row for row, ledd in found if ref.ledd is not None and ledd == ref.ledd]
    return exact or [row for row, _ in found]


def citing_after(
    holding: Sequence[Passage], candidates: Iterable[Passage], ref: LegalRef
) -> list[Passage]:
    """The statute passages holding a § first, then the candidates that cite it: what a
    store's `citing` returns."""
    seen = {p.passage_id for p in holding}
    citing = [
        p for p in candidates
        if p.passage_id not in seen and any(cites(r, ref) for r in p.legal_refs)
    ]  # fmt: skip
    return [*holding, *citing]


def cites(ref: LegalRef, query: LegalRef) -> bool:
    """Whether a reference found in a text refers to the provision a user asked for."""
    if ref.act != query.act:
        return False
    if query.point:
        return ref.point == query.point or ref.point.startswith(query.point + ".")
    if query.section:
        same = _norm_section(ref.section) == _norm_section(query.section)
        return same and (query.ledd is None or ref.ledd in (None, query.ledd))
    return True  # an act-level query: every reference to the act


def find_citing(passages: Sequence[Passage], ref: LegalRef) -> list[Passage]:
    """The statute passages holding the § first, then every passage that cites it."""
    holding = statute_passages(passages, ref)
    seen = {p.passage_id for p in holding}
    citing = [
        p for p in passages
        if p.passage_id not in seen and any(cites(r, ref) for r in p.legal_refs)
    ]  # fmt: skip
    return holding + citing

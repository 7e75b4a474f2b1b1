"""Text repairs shared by every extractor: Unicode, ligatures, line-end hyphenation.

PDF text (and text already extracted from PDFs) breaks words at line ends
("kvalifiseringsstø-\\nnad") but also carries real hyphenated compounds ("Nav-kontorene",
"AAP-mottakere") and suspended compounds ("arbeids- og velferdsforvaltningen"). The
decision to join or keep is made by `join_hyphenated` from the word's own shape and a
lexicon of the words the document itself uses elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from pipeline.model import Repair

LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
# Characters that only ever carry layout, never meaning, in the texts we read.
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# Tabs are kept: in text files they separate table cells and TOC page numbers.
SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2009\u200a"), " ")
# Private-use bullets from Wingdings/Symbol fonts ("", "") and the usual bullet glyphs.
BULLETS = "\uf0b7\uf0a7\uf0d8\uf076\uf0fc\u2022\u25cf\u25aa\u25a0\u2013\u2212\u00b7\u25e6-"

# A word continues after a hyphen at a line end when it is followed by one of these, the
# hyphen is real and the space is too: "arbeids- og velferdsforvaltningen".
SUSPENDED_CONNECTORS = frozenset({"og", "eller", "samt", "til", "enn", "and", "or", "som"})
WORD_RE = re.compile(r"[\w][\w\-]*", re.UNICODE)
# "stø- nad" inside a line, or "stø-" at the end of one line and "nad" at the next.
INLINE_BREAK_RE = re.compile(r"(?<![\w-])([^\W\d_][\w]*?)- (?=([^\W\d_]\w*))")


def normalize_unicode(text: str) -> tuple[str, int]:
    """NFC, ligatures expanded, invisible characters dropped; returns the count of ligatures."""
    ligatures = sum(text.count(lig) for lig in LIGATURES)
    for lig, plain in LIGATURES.items():
        text = text.replace(lig, plain)
    text = unicodedata.normalize("NFC", text.translate(INVISIBLE).translate(SPACES))
    return text, ligatures


def build_lexicon(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased word counts over a document, the evidence for hyphenation decisions."""
    lexicon: Counter[str] = Counter()
    for text in texts:
        lexicon.update(w.lower() for w in WORD_RE.findall(text))
    return lexicon


def join_hyphenated(head: str, tail: str, lexicon: Counter[str]) -> str | None:
    """How "head-" + "tail" should read, or None when the hyphen and space are both real.

    Returns "headtail" for a word broken at a line end and "head-tail" for a real compound.
    """
    if tail.lower() in SUSPENDED_CONNECTORS:
        return None
    joined, compound = head + tail, f"{head}-{tail}"
    # An acronym or number before the hyphen, or a capital after it, marks a real compound:
    # "NAV-kontor", "AAP-mottaker", "2019-tall", "Oslo-Nav".
    if head[-1].isupper() or head[-1].isdigit() or tail[0].isupper():
        return compound
    seen_joined = lexicon[joined.lower()]
    # A capitalised first part is a name ("Nav-kontorene", "Oslo-skolen") unless the joined
    # word is known: a sentence may start with a broken word ("Kvalifiserings-|programmet").
    if head[0].isupper() and not seen_joined:
        return compound
    seen_compound = lexicon[compound.lower()]
    if seen_compound > seen_joined:
        return compound
    return joined


def repair_inline_breaks(
    text: str, lexicon: Counter[str], page: int | None = None
) -> tuple[str, list[Repair]]:
    """Repair "stø- nad" breaks left inside a line by an earlier extraction."""
    repairs: list[Repair] = []

    def fix(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        joined = join_hyphenated(head, tail, lexicon)
        if joined is None:
            return match.group(0)
        kind = "hyphenation" if joined == head + tail else "hyphen_kept"
        repairs.append(Repair(kind, f"{head}- {tail}", joined, page))
        return joined[: -len(tail)]

    return INLINE_BREAK_RE.sub(fix, text), repairs


def join_lines(
    lines: list[str], lexicon: Counter[str], page: int | None = None
) -> tuple[str, list[Repair]]:
    """Join the wrapped lines of one paragraph, repairing hyphenation at each line end."""
    out = ""
    repairs: list[Repair] = []
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if not out:
            out = line
            continue
        head = re.search(r"([^\W\d_][\w]*)-$", out)
        tail = re.match(r"([^\W\d_]\w*)", line)
        if head and tail and not out.endswith("--"):
            joined = join_hyphenated(head.group(1), tail.group(1), lexicon)
            if joined is not None:
                kind = "hyphenation" if joined == head.group(1) + tail.group(1) else "hyphen_kept"
                repairs.append(Repair(kind, f"{head.group(1)}-|{tail.group(1)}", joined, page))
                out = out[: head.start()] + joined + line[tail.end() :]
                continue
        out = f"{out} {line}"
    return collapse_spaces(out), repairs


def collapse_spaces(text: str) -> str:
    """One space between words, none before closing punctuation."""
    text = re.sub(r"[ ]{2,}", " ", text)
    return text.strip()


TEXT_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file, trying UTF-8 first and the usual Windows/Latin-1 encodings after.

    Returns the text and the encoding that worked. Raises ValueError for binary data.
    """
    if b"\x00" in data[:4096]:
        raise ValueError("the file looks binary (it contains NUL bytes), not like text")
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ValueError("the file is not valid UTF-8, cp1252 or latin-1 text")  # pragma: no cover


def render_table(rows: list[tuple[str, ...]] | tuple[tuple[str, ...], ...]) -> str:
    """A table as readable text: one line per row, cells separated by " | "."""
    lines = (" | ".join(" ".join(cell.split()) for cell in row) for row in rows if any(row))
    return "\n".join(lines)

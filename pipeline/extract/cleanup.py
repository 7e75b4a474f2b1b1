"""Text repairs shared by every extractor: decoding, Unicode, ligatures, hyphenation.

Decoding (`decode_text`) follows a byte-order mark (UTF-8/16/32), reads UTF-16/32 without
one from the pattern of its NUL bytes, and otherwise tries UTF-8, cp1252 and Latin-1; text
that does not read as language (binary garbage decodes as cp1252 all the same) is refused
with the measured reason.

PDF text (and text already extracted from PDFs) breaks words at line ends
("kvalifiseringsstø-\\nnad") but also carries real hyphenated compounds ("Nav-kontorene",
"AAP-mottakere") and suspended compounds ("arbeids- og velferdsforvaltningen"). The
decision to join or keep is made by `join_hyphenated` from the word's own shape and a
lexicon of the words the document itself uses elsewhere.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import ExtractionError
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
# Characters that only ever carry layout, never meaning, in the texts we read. Replaced by
# regex, not str.translate: translate looks up every character of a long text in a dict.
INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# Tabs are kept: in text files they separate table cells and TOC page numbers.
SPACES_RE = re.compile("[\u00a0\u2007\u202f\u2009\u200a]")
# Private-use bullets from Wingdings/Symbol fonts ("", "") and the usual bullet glyphs.
BULLETS = "\uf0b7\uf0a7\uf0d8\uf076\uf0fc\u2022\u25cf\u25aa\u25a0\u2013\u2212\u00b7\u25e6-"

# A word continues after a hyphen at a line end when it is followed by one of these, the
# hyphen is real and the space is too: "arbeids- og velferdsforvaltningen".
SUSPENDED_CONNECTORS = frozenset({"og", "eller", "samt", "til", "enn", "and", "or", "som"})
WORD_RE = re.compile(r"[\w][\w\-]*", re.UNICODE)
# A word broken at the end of a line: searched in the line's last word only (see join_lines).
LINE_END_HYPHEN_RE = re.compile(r"([^\W\d_][\w]*)-$")
# "stø- nad" inside a line, or "stø-" at the end of one line and "nad" at the next.
INLINE_BREAK_RE = re.compile(r"(?<![\w-])([^\W\d_][\w]*?)- (?=([^\W\d_]\w*))")


def normalize_unicode(text: str) -> tuple[str, int]:
    """NFC, ligatures expanded, invisible characters dropped; returns the count of ligatures."""
    ligatures = sum(text.count(lig) for lig in LIGATURES)
    for lig, plain in LIGATURES.items():
        text = text.replace(lig, plain)
    text = unicodedata.normalize("NFC", SPACES_RE.sub(" ", INVISIBLE_RE.sub("", text)))
    return text, ligatures


def build_lexicon(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased word counts over a document, the evidence for hyphenation decisions."""
    lexicon: Counter[str] = Counter()
    for text in texts:
        lexicon.update(map(str.lower, WORD_RE.findall(text)))
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

    if "- " not in text:  # the common case, decided without running the pattern
        return text, repairs
    return INLINE_BREAK_RE.sub(fix, text), repairs


def join_lines(
    lines: list[str], lexicon: Counter[str], page: int | None = None
) -> tuple[str, list[Repair]]:
    """Join the wrapped lines of one paragraph, repairing hyphenation at each line end."""
    # Kept as pieces no longer than a line or two: a line-end word lies in the last piece,
    # so a long paragraph is never searched or copied as a whole (that was quadratic).
    pieces: list[str] = []
    repairs: list[Repair] = []
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if not pieces:
            pieces.append(line)
            continue
        last = pieces[-1]
        head = LINE_END_HYPHEN_RE.search(last, last.rfind(" ") + 1)
        tail = re.match(r"([^\W\d_]\w*)", line)
        if head and tail and not last.endswith("--"):
            joined = join_hyphenated(head.group(1), tail.group(1), lexicon)
            if joined is not None:
                kind = "hyphenation" if joined == head.group(1) + tail.group(1) else "hyphen_kept"
                repairs.append(Repair(kind, f"{head.group(1)}-|{tail.group(1)}", joined, page))
                pieces[-1] = last[: head.start()]
                pieces.append(joined + line[tail.end() :])
                continue
        pieces.append(f" {line}")
    return collapse_spaces("".join(pieces)), repairs


def collapse_spaces(text: str) -> str:
    """One space between words, none before closing punctuation."""
    text = re.sub(r"[ ]{2,}", " ", text)
    return text.strip()


TEXT_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
BOMS = (
    # UTF-32's little-endian mark starts with UTF-16's (FF FE): it must be tried first.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Without a mark, UTF-16/32 shows in where its NUL bytes fall: in Latin text the high
# byte(s) of nearly every character are NUL and the low byte almost never is.
# (codec, bytes per character, index of the low byte, indexes of the high bytes)
WIDE_CODECS = (
    ("utf-32-le", 4, 0, (2, 3)),
    ("utf-32-be", 4, 3, (0, 1)),
    ("utf-16-le", 2, 0, (1,)),
    ("utf-16-be", 2, 1, (0,)),
)
WIDE_HIGH_NUL, WIDE_LOW_NUL = 0.7, 0.05
CONVERT = (
    "if it is a document in another format, convert it to PDF, DOCX or UTF-8 text "
    "and add that instead"
)


def read_text_file(path: Path) -> tuple[str, str]:
    """A text file's text and encoding; an ExtractionError that says why if it is not text."""
    try:
        return decode_text(path.read_bytes())
    except ValueError as err:
        kind = path.suffix.lstrip(".").upper() or "text"
        raise ExtractionError(path, f"could not be read as {kind} because {err}.") from err


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file: by its byte-order mark, as UTF-16/32 when its NUL bytes say so,
    else UTF-8 first and the usual Windows/Latin-1 encodings after.

    Returns the text and the encoding that worked. Raises ValueError, its message a reason
    ("the file looks binary …"), for binary data and for text that is not language-like.
    """
    text, encoding = decode_bytes(data)
    reason = not_text_reason(text)
    if reason is not None:
        raise ValueError(f"it does not look like text: {reason}; {CONVERT}")
    return text, encoding


def decode_bytes(data: bytes) -> tuple[str, str]:
    """The text by byte-order mark, by NUL pattern, or by the 8-bit encodings in turn."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as err:
                raise ValueError(
                    f"it starts with a {encoding.upper()} byte-order mark but is not valid "
                    f"{encoding.upper()} ({err.reason} at byte {err.start}); save it again "
                    "as UTF-8"
                ) from err
    for wide in wide_codecs(data[:4096]):
        with contextlib.suppress(UnicodeDecodeError):  # a NUL pattern by chance
            return data.decode(wide), wide
    if b"\x00" in data[:4096]:
        raise ValueError(f"the file looks binary (it contains NUL bytes), not like text; {CONVERT}")
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ValueError("the file is not valid UTF-8, cp1252 or latin-1 text")  # pragma: no cover


def wide_codecs(sample: bytes) -> list[str]:
    """UTF-32 or UTF-16 without a byte-order mark, told by the pattern of its NUL bytes."""
    if b"\x00" not in sample:
        return []
    return [
        codec
        for codec, width, low, high in WIDE_CODECS
        if len(sample) >= 2 * width
        and nul_share(sample, low, width) <= WIDE_LOW_NUL
        and min(nul_share(sample, i, width) for i in high) >= WIDE_HIGH_NUL
    ]


def nul_share(sample: bytes, index: int, width: int) -> float:
    """The share of NUL bytes at one position of each `width`-byte character."""
    units = len(sample) // width
    return sample[index : units * width : width].count(0) / units


# Language-likeness, measured on the sample reports, notes, English text, CSV and number
# tables, HTML and JSON: their control/unusual characters are 0 % and 90-100 % of their
# tokens read as words or numbers; random bytes and compressed data without NUL bytes have
# 14-25 % unusual characters and 5-40 % word-like tokens, base64 and hex dumps under 10 %.
ODD_LIMIT = 0.05  # share of control, unassigned, private-use or replacement characters
WORDLIKE_MIN = 0.6  # share of tokens that read as words or numbers
MIN_EVIDENCE = 20, 1000  # tokens or characters: less (a short note) decides nothing
SAMPLE_WINDOWS, SAMPLE_WINDOW = 16, 4096  # a long text is judged on windows spread over it
LAYOUT_CONTROLS = "\t\n\r\f\v"
ODD_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Co"})
# Cells and markup separate tokens too: "Oslo;1234;1456" is three of them.
TOKEN_SPLIT_RE = re.compile(r"[\s;,|<>=\"()\[\]{}*#]+")
TOKEN_EDGE_RE = re.compile(r"^[\W_]+|[\W_]+$")  # "___" (a blank to fill in) is no token
WORD_PART_RE = re.compile(r"[^\W\d_]+")
WORDLIKE_RE = re.compile(r"[^\W\d_]+(?:['’./-][^\W\d_]+)*")  # "NAV-kontor", "og/eller"
# "12,5", "2021:35", "2/3", "R35-00", "tid.1" (a footnote marker), "3b".
NUMBERLIKE_RE = re.compile(r"[-+−]?\d[\d.,:/%‰–-]*|[^\W\d_]+[-.]?\d[\d-]*|\d+[^\W\d_]{1,3}")
MAX_WORD = 40  # "arbeidsavklaringspengemottakerne" and longer compounds exist


def not_text_reason(text: str) -> str | None:
    """Why a decoded text does not read as language (or a table of it), or None when it does."""
    sample = text_sample(text)
    if len(sample.strip()) < 64:
        return None
    categories = Counter(map(unicodedata.category, sample))
    controls = sum(sample.count(c) for c in LAYOUT_CONTROLS)
    odd = sum(categories[c] for c in ODD_CATEGORIES) - controls + sample.count("\ufffd")
    tokens = [t for t in (TOKEN_EDGE_RE.sub("", t) for t in TOKEN_SPLIT_RE.split(sample)) if t]
    wordlike = sum(map(is_wordlike, tokens)) / len(tokens) if tokens else 0.0
    letters = percent(sum(n for c, n in categories.items() if c.startswith("L")) / len(sample))
    if odd / len(sample) > ODD_LIMIT:
        return (
            f"{percent(odd / len(sample))} of it is control or unusual characters "
            f"({letters} letters, {percent(wordlike)} of its tokens words or numbers)"
        )
    enough = len(tokens) >= MIN_EVIDENCE[0] or len(sample) >= MIN_EVIDENCE[1]
    if enough and wordlike < WORDLIKE_MIN:
        return (
            f"only {percent(wordlike)} of its tokens read as words or numbers ({letters} letters)"
        )
    return None


def text_sample(text: str) -> str:
    """The text, or for a long one windows spread over it: the check costs the same for any size."""
    if len(text) <= SAMPLE_WINDOWS * SAMPLE_WINDOW:
        return text
    step = len(text) // SAMPLE_WINDOWS
    return "\n".join(text[k * step : k * step + SAMPLE_WINDOW] for k in range(SAMPLE_WINDOWS))


def is_wordlike(token: str) -> bool:
    """A word written as words are (lower, Capitalised or UPPER per part), or a number."""
    if len(token) > MAX_WORD:
        return False
    if NUMBERLIKE_RE.fullmatch(token):
        return True
    if not WORDLIKE_RE.fullmatch(token):
        return False
    return all(map(is_cased_like_a_word, WORD_PART_RE.findall(token)))


def is_cased_like_a_word(part: str) -> bool:
    plain = part[:-1] if len(part) > 2 and part.endswith("s") else part  # "NAVs", "KVPs"
    return part.islower() or plain.isupper() or part.istitle()


def percent(share: float) -> str:
    return f"{round(share * 100)} %"


def render_table(rows: list[tuple[str, ...]] | tuple[tuple[str, ...], ...]) -> str:
    """A table as readable text: one line per row, cells separated by " | "."""
    lines = (" | ".join(" ".join(cell.split()) for cell in row) for row in rows if any(row))
    return "\n".join(lines)

"""Statute structure: where a sentence of a § sits, and when each § last came into force.

`sentence_locator` names the § and ledd of a position in a statute passage, as a citation
gives it ("§ 35 annet ledd"); `in_force_dates` reads the dates of Lovdata's amendment notes.
"""

from __future__ import annotations

import re

from pipeline.legal import ACT_DOC_IDS, provision_key
from pipeline.model import Document, LegalRef, Passage, Role
from pipeline.segment import BLOCK_RE, PARAGRAPH_HEADING_RE, ordinal


def sentence_locator(passage: Passage, start: int) -> str:
    """The § and ledd the text at `start` of a statute passage belongs to: "§ 35 annet ledd".

    A passage cut by ledd keeps its locator; a whole § counts its paragraphs after the heading
    line, a list belonging to the paragraph that introduces it. A § of one ledd is the § alone.
    """
    if not passage.locator or "ledd" in passage.locator:
        return passage.locator
    starts: list[int] = []
    previous = ""
    for block in BLOCK_RE.finditer(passage.text):
        text = block.group().strip()
        if not starts and not previous and PARAGRAPH_HEADING_RE.match(text) and "\n" not in text:
            continue  # the heading line "§ 35. Kvalifiseringsstønad"
        # a ledd ends with a full stop; a block after one that does not is a list item
        item = text.startswith(("- ", "• ", "– ")) or (
            previous and not previous.endswith((".", "!", "?"))
        )
        if not item:
            starts.append(block.start())
        previous = text
    if len(starts) < 2 or start < starts[0]:
        return passage.locator
    return f"{passage.locator} {ordinal(sum(1 for s in starts if s <= start))} ledd"


_IN_FORCE_RE = re.compile(
    r"\b(?:ikr\.|i\s+kraft(?:\s+fra)?)\s+(?P<day>\d{1,2})\.?\s+(?P<month>[a-zæøå]+)\.?\s+(?P<year>\d{4})",
    re.IGNORECASE,
)
_MONTH_NUMBERS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "mai": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "okt": 10, "nov": 11, "des": 12,
}  # fmt: skip


def in_force_dates(document: Document) -> dict[str, str]:
    """Provision key → ISO date of the latest entry into force in the note after the §.

    Lovdata's consolidated texts close an amended § with a note such as "Endret ved lov 20 des
    2018 nr. 98 (ikr. 1 jan 2019)"; a § with no note, or a note with no date, is left out.
    """
    act = next((a for a, doc_id in ACT_DOC_IDS.items() if doc_id == document.doc_id), None)
    if act is None:
        return {}
    dates: dict[str, str] = {}
    key: str | None = None
    for block in document.blocks:
        if block.role is Role.HEADING:
            heading = PARAGRAPH_HEADING_RE.match(block.text)
            key = provision_key(LegalRef(act, heading.group(1).strip())) if heading else None
        elif block.role is Role.NOTE and key:
            found = [
                f"{m['year']}-{month:02d}-{int(m['day']):02d}"
                for m in _IN_FORCE_RE.finditer(block.text)
                if (month := _MONTH_NUMBERS.get(m["month"].lower()[:3]))
            ]
            if found:
                dates[key] = max([*found, dates.get(key, "")])
    return dates

"""Corpus views researchers ask for, as CSV or JSON: themes per document and year
(`theme_year_counts`), and the provisions each theme's passages cite
(`theme_provision_counts`). Which themes a passage counts under is the caller's `labels_of`
(the reviewed ones where a coder has reviewed it); `model_labels` is the model's.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal

from pipeline.errors import SettingsError
from pipeline.export import Delimiter, write_view_csv
from pipeline.model import THEMES, Document, Passage, Source

LabelsOf = Callable[[Passage], Collection[str]]  # the themes a passage counts under
ViewFormat = Literal["csv", "json"]
VIEW_FORMATS: tuple[ViewFormat, ...] = ("csv", "json")
VIEW_ENCODINGS: dict[ViewFormat, str] = {"csv": "utf-8-sig", "json": "utf-8"}
SHARE_DIGITS = 4  # shares in the files: 0.1234 is 12.34 %, finer than any count supports


def model_labels(passage: Passage) -> tuple[str, ...]:
    """The themes the model gives a passage: probability ≥ `pipeline.model.THEME_THRESHOLD`."""
    return passage.labels


@dataclass(frozen=True, slots=True)
class ThemeCounts:
    """How many passages have each theme: in one document, in one year, or in all."""

    doc_id: str  # "" for a year or the whole corpus
    title: str  # "" for a year or the whole corpus
    kind: str
    year: int | None
    documents: int
    passages: int
    counts: dict[str, int]  # theme → passages with it

    def share(self, theme: str) -> float:
        return self.counts.get(theme, 0) / self.passages if self.passages else 0.0


@dataclass(frozen=True, slots=True)
class ThemeYears:
    """A theme × document × year table, with each year's documents summed."""

    themes: tuple[str, ...]
    documents: tuple[ThemeCounts, ...]  # in the order their passages come
    years: tuple[ThemeCounts, ...]  # by year; documents without a year last (year None)
    total: ThemeCounts


def theme_year_counts(
    passages: Iterable[Passage],
    document_of: Callable[[Passage], Document],
    labels_of: LabelsOf = model_labels,
    *,
    themes: Sequence[str] = THEMES,
) -> ThemeYears:
    """Passages per theme in each document, summed per publication year and over all."""
    sources: dict[str, Source] = {}
    sizes: Counter[str] = Counter()
    found: dict[str, Counter[str]] = {}
    for passage in passages:
        if passage.doc_id not in sources:
            sources[passage.doc_id] = document_of(passage).source
            found[passage.doc_id] = Counter()
        sizes[passage.doc_id] += 1
        found[passage.doc_id].update(set(labels_of(passage)))
    documents = tuple(
        ThemeCounts(doc_id, s.title, s.kind.value, s.year, 1, sizes[doc_id],
                    {t: found[doc_id][t] for t in themes})
        for doc_id, s in sources.items()
    )  # fmt: skip
    by_year: dict[int | None, list[ThemeCounts]] = {}
    for row in documents:
        by_year.setdefault(row.year, []).append(row)
    years = tuple(
        _summed(rows, year, themes)
        for year, rows in sorted(by_year.items(), key=lambda item: (item[0] is None, item[0]))
    )
    return ThemeYears(tuple(themes), documents, years, _summed(documents, None, themes))


def _summed(rows: Sequence[ThemeCounts], year: int | None, themes: Sequence[str]) -> ThemeCounts:
    counts = {t: sum(r.counts[t] for r in rows) for t in themes}
    return ThemeCounts("", "", "", year, len(rows), sum(r.passages for r in rows), counts)


@dataclass(frozen=True, slots=True)
class ProvisionCounts:
    """One provision and how many passages of each theme hold or cite it."""

    key: str  # "sotjl § 35", "r35-00 pkt. 4.29"
    act: str  # "sotjl"
    label: str  # "sosialtjenesteloven § 35"
    passages: int  # every passage that holds or cites it, whatever its themes
    counts: dict[str, int]  # theme → its passages that hold or cite it

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class ThemeProvisions:
    """A provisions × themes matrix, the provisions with the most theme passages first."""

    themes: tuple[str, ...]
    provisions: tuple[ProvisionCounts, ...]  # the `top` first, if a top was asked for
    theme_passages: dict[str, int]  # theme → passages with it, citing anything or not
    found: int  # provisions cited at all (before `top`)

    def share(self, row: ProvisionCounts, theme: str) -> float:
        """Of the theme's passages, the part that holds or cites the provision."""
        size = self.theme_passages.get(theme, 0)
        return row.counts.get(theme, 0) / size if size else 0.0


def provision_keys(passage: Passage) -> set[str]:
    """The provisions a passage counts for: the §§ and points it cites (ledd folded into the
    §) and, for a statute passage, the § it is part of."""
    from pipeline.legal import provision_of

    keys = {r.key for r in passage.legal_refs if r.act and (r.section or r.point)}
    if (own := provision_of(passage)) is not None:
        keys.add(own[0])
    return keys


def act_names(documents: Iterable[Document]) -> dict[str, str]:
    """Act → the short name of its text among the documents ("sotjl" → "sosialtjenesteloven")."""
    from pipeline.legal import ACT_DOC_IDS

    acts = {doc_id: act for act, doc_id in ACT_DOC_IDS.items()}
    return {
        acts[d.doc_id]: d.source.short for d in documents if d.doc_id in acts and d.source.short
    }


def provision_label(key: str, names: Mapping[str, str] | None = None) -> tuple[str, str]:
    """A provision key's act and how a reader names it: "sotjl § 35" → ("sotjl",
    "sosialtjenesteloven § 35"). The act's name is the document's short name (`names`),
    else the act table's first name, as `pipeline.web.state.unknown_provision` names it."""
    from pipeline.legal import ACTS

    for sep in (" § ", " pkt. "):
        act, found, rest = key.partition(sep)
        if found:
            known = ACTS.get(act)
            name = (names or {}).get(act) or (known.aliases[0] if known else act)
            return act, f"{name}{sep}{rest}"
    return key, key


def theme_provision_counts(
    passages: Iterable[Passage],
    labels_of: LabelsOf = model_labels,
    top: int | None = None,
    *,
    names: Mapping[str, str] | None = None,
    themes: Sequence[str] = THEMES,
) -> ThemeProvisions:
    """For each theme, how many of its passages hold or cite each provision (`provision_keys`).

    Sorted by the row total over the themes, then by all passages citing it; `names` gives
    the acts' short names (`act_names`)."""
    if top is not None and top < 1:
        raise SettingsError(f"top is {top}; give a positive number of provisions, or none.")
    everyone: Counter[str] = Counter()
    found: dict[str, Counter[str]] = {}
    theme_passages: Counter[str] = Counter()
    for passage in passages:
        labels = set(labels_of(passage)) & set(themes)
        theme_passages.update(labels)
        for key in provision_keys(passage):
            everyone[key] += 1
            found.setdefault(key, Counter()).update(labels)
    rows = [
        ProvisionCounts(key, *provision_label(key, names), everyone[key],
                        {t: found[key][t] for t in themes})
        for key in everyone
    ]  # fmt: skip
    rows.sort(key=lambda r: (-r.total, -r.passages, r.key))
    return ThemeProvisions(
        tuple(themes), tuple(rows[:top]), {t: theme_passages[t] for t in themes}, len(rows)
    )


def counts_to_dict(row: ThemeCounts, themes: Sequence[str]) -> dict[str, Any]:
    return {
        "doc_id": row.doc_id, "title": row.title, "kind": row.kind, "year": row.year,
        "documents": row.documents, "passages": row.passages,
        "counts": {t: row.counts[t] for t in themes},
        "shares": {t: round(row.share(t), SHARE_DIGITS) for t in themes},
    }  # fmt: skip


def theme_years_to_dict(view: ThemeYears) -> dict[str, Any]:
    """The table as JSON: its themes, each document, each year, and the total."""
    return {
        "themes": list(view.themes),
        "documents": [counts_to_dict(r, view.themes) for r in view.documents],
        "years": [counts_to_dict(r, view.themes) for r in view.years],
        "total": counts_to_dict(view.total, view.themes),
    }


def theme_provisions_to_dict(view: ThemeProvisions) -> dict[str, Any]:
    """The matrix as JSON: its themes, their passages, and each provision's counts."""
    return {
        "themes": list(view.themes),
        "theme_passages": dict(view.theme_passages),
        "found": view.found,
        "provisions": [
            {"key": r.key, "act": r.act, "label": r.label, "passages": r.passages,
             "total": r.total, "counts": dict(r.counts),
             "shares": {t: round(view.share(r, t), SHARE_DIGITS) for t in view.themes}}
            for r in view.provisions
        ],
    }  # fmt: skip


def theme_years_table(view: ThemeYears) -> tuple[list[str], list[dict[str, Any]]]:
    """The table as CSV columns and rows: documents, then years, then the total (`level`)."""
    columns = ["level", "doc_id", "title", "kind", "year", "documents", "passages"]
    columns += [f"{part}_{t}" for t in view.themes for part in ("theme", "share")]
    rows = [
        {"level": level, **row, **_flat(row["counts"], row["shares"])}
        for level, group in (("document", view.documents), ("year", view.years),
                             ("total", (view.total,)))
        for row in (counts_to_dict(r, view.themes) for r in group)
    ]  # fmt: skip
    return columns, rows


def theme_provisions_table(view: ThemeProvisions) -> tuple[list[str], list[dict[str, Any]]]:
    """The matrix as CSV columns and rows, one row per provision."""
    columns = ["provision", "act", "label", "passages", "total"]
    columns += [f"{part}_{t}" for t in view.themes for part in ("theme", "share")]
    rows = [
        {**row, "provision": row["key"], **_flat(row["counts"], row["shares"])}
        for row in theme_provisions_to_dict(view)["provisions"]
    ]
    return columns, rows


def _flat(counts: Mapping[str, int], shares: Mapping[str, float]) -> dict[str, Any]:
    return {f"theme_{t}": n for t, n in counts.items()} | {
        f"share_{t}": s for t, s in shares.items()
    }


def check_view_format(fmt: str) -> ViewFormat:
    """The format of a corpus view, or SettingsError naming the valid ones."""
    for known in VIEW_FORMATS:
        if fmt == known:
            return known
    raise SettingsError(f"unknown format '{fmt}'; valid formats are {', '.join(VIEW_FORMATS)}.")


View = ThemeYears | ThemeProvisions
ToDict = Callable[[Any], dict[str, Any]]
ToTable = Callable[[Any], tuple[list[str], list[dict[str, Any]]]]
# Each view's JSON, and its CSV columns and rows.
VIEW_WRITERS: dict[type, tuple[ToDict, ToTable]] = {
    ThemeYears: (theme_years_to_dict, theme_years_table),
    ThemeProvisions: (theme_provisions_to_dict, theme_provisions_table),
}




def save_view(view: View, handle: IO[bytes], fmt: ViewFormat, *, delimiter: Delimiter = ",") -> int:
    """Write a corpus view to a binary file as CSV (with a byte-order mark) or JSON; the
    number of rows written. `delimiter` separates the columns of a CSV."""
    fmt = check_view_format(fmt)
    to_dict, table = VIEW_WRITERS[type(view)]
    columns, rows = table(view)
    text = io.TextIOWrapper(handle, encoding=VIEW_ENCODINGS[fmt], newline="", write_through=True)
    try:
        if fmt == "csv":
            return write_view_csv(columns, rows, text, delimiter)
        json.dump(to_dict(view), text, ensure_ascii=False, indent=1)
        text.write("\n")
        return len(rows)
    finally:
        text.flush()
        text.detach()  # the handle stays open: it is the caller's

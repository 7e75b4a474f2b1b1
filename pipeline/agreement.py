"""Inter-coder agreement for multi-label theme coding.

Each coder gives each unit (a passage) a set of themes, possibly empty. Agreement is measured
per theme on the binary decision "has the theme / has not", and pooled over every
(unit, theme) decision: Krippendorff's α (nominal, any number of coders, missing codings
allowed), Cohen's κ when there are exactly two coders, and percent agreement.

α follows the coincidence-matrix formulation of Krippendorff, "Computing Krippendorff's
Alpha-Reliability" (2011): a unit coded by one coder only cannot be paired and does not count.
Where no disagreement is expected, because a theme was given to every unit or to none, α and
κ are undefined and come back as None rather than NaN or a flattering 1.0.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from pathlib import Path

from pipeline.errors import AgreementError, ThemeError
from pipeline.model import THEMES

Codings = Mapping[str, Mapping[str, AbstractSet[str]]]  # coder → unit id → themes given


@dataclass(frozen=True, slots=True)
class PairTable:
    """Two coders' decisions on one theme over the units both coded."""

    coders: tuple[str, str]
    yes_yes: int
    yes_no: int  # the first coder gave the theme, the second did not
    no_yes: int
    no_no: int

    @property
    def units(self) -> int:
        return self.yes_yes + self.yes_no + self.no_yes + self.no_no


@dataclass(frozen=True, slots=True)
class ThemeAgreement:
    theme: str
    alpha: float | None  # None when undefined: the theme was given to every unit or to none
    kappa: float | None  # exactly two coders only; None when undefined
    agreement: float  # share of units on which all their coders agree (percent agreement / 100)
    units: int  # units coded by two or more coders
    tables: tuple[PairTable, ...]  # one per pair of coders


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A unit whose coders gave different sets of themes."""

    unit: str
    labels: tuple[tuple[str, tuple[str, ...]], ...]  # (coder, themes given), coders in order
    text: str = ""


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement of two or more coders, per theme and over all (unit, theme) decisions."""

    coders: tuple[str, ...]
    coded: tuple[tuple[str, int], ...]  # (coder, units that coder coded)
    ignored: tuple[tuple[str, int], ...]  # (coder, units only that coder coded: not measured)
    units: int  # units coded by two or more coders: the ones measured
    per_theme: tuple[ThemeAgreement, ...]
    alpha: float | None  # pooled over every (unit, theme) decision
    kappa: float | None  # pooled the same way; exactly two coders only
    agreement: float  # share of (unit, theme) decisions on which all coders agree
    macro_alpha: float | None  # mean over the themes where the value is defined
    macro_kappa: float | None
    macro_agreement: float
    disagreements: tuple[Disagreement, ...]  # sorted by unit


# Formulas ----------------------------------------------------------------------------------


def nominal_alpha(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Krippendorff's α for nominal values; each unit is the values its coders gave, missing
    ones left out. None when no disagreement is expected (one value throughout)."""
    totals: Counter[Hashable] = Counter()  # n_c: pairable values of each kind
    matches = Fraction(0)  # Σ_c o_cc: the coincidence matrix's diagonal
    for values in units:
        if len(values) < 2:
            continue
        for value, count in Counter(values).items():
            totals[value] += count
            matches += Fraction(count * (count - 1), len(values) - 1)
    n = sum(totals.values())
    expected = n * (n - 1) - sum(c * (c - 1) for c in totals.values())
    if expected == 0:
        return None
    return float(1 - (n - 1) * (n - matches) / expected)


def cohen_kappa(table: PairTable) -> float | None:
    """Cohen's κ of one 2×2 table. None when chance agreement is certain (or no units)."""
    n = table.units
    if n == 0:
        return None
    observed = Fraction(table.yes_yes + table.no_no, n)
    first_yes, second_yes = table.yes_yes + table.yes_no, table.yes_yes + table.no_yes
    chance = Fraction(first_yes * second_yes + (n - first_yes) * (n - second_yes), n * n)
    if chance == 1:
        return None
    return float((observed - chance) / (1 - chance))


def pair_table(coders: tuple[str, str], decisions: Iterable[Mapping[str, bool]]) -> PairTable:
    """The 2×2 counts of two coders over the units (coder → decision) both of them coded."""
    first, second = coders
    cells: Counter[tuple[bool, bool]] = Counter(
        (unit[first], unit[second]) for unit in decisions if first in unit and second in unit
    )
    return PairTable(
        coders, cells[True, True], cells[True, False], cells[False, True], cells[False, False]
    )


def share_agreeing(decisions: Sequence[Mapping[str, bool]]) -> float:
    return sum(len(set(unit.values())) == 1 for unit in decisions) / len(decisions)


def mean_defined(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def unit_order(unit: str) -> tuple[str | int, ...]:
    """Sort key that puts "p2" before "p10"."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", unit))


# Agreement ---------------------------------------------------------------------------------


def shared_units(codings: Codings) -> dict[str, dict[str, frozenset[str]]]:
    """Unit → coder → themes, for the units two or more coders coded, in unit order."""
    by_unit: dict[str, dict[str, frozenset[str]]] = {}
    for coder, units in codings.items():
        for unit, labels in units.items():
            by_unit.setdefault(unit, {})[coder] = frozenset(labels)
    shared = {unit: coded for unit, coded in by_unit.items() if len(coded) >= 2}
    if not shared:
        counts = ", ".join(
            f"{coder} coded {len(units)} passage{'' if len(units) == 1 else 's'}"
            for coder, units in codings.items()
        )
        raise AgreementError(
            f"no passage was coded by two coders ({counts or 'no coders'}); agreement needs "
            "two coders to code the same passages."
        )
    return dict(sorted(shared.items(), key=lambda item: unit_order(item[0])))


def check_labels(codings: Codings, themes: Sequence[str]) -> None:
    for coder, units in codings.items():
        for unit, labels in units.items():
            unknown = sorted(set(labels) - set(themes))
            if unknown:
                raise ThemeError(
                    f"coder '{coder}' gave unit '{unit}' the unknown theme '{unknown[0]}'; "
                    f"valid themes are {', '.join(themes)}."
                )


def theme_agreement(
    theme: str, shared: Mapping[str, Mapping[str, frozenset[str]]], coders: Sequence[str]
) -> ThemeAgreement:
    decisions = [{c: theme in labels for c, labels in coded.items()} for coded in shared.values()]
    tables = tuple(pair_table(pair, decisions) for pair in combinations(coders, 2))
    return ThemeAgreement(
        theme=theme,
        alpha=nominal_alpha([list(unit.values()) for unit in decisions]),
        kappa=cohen_kappa(tables[0]) if len(coders) == 2 else None,
        agreement=share_agreeing(decisions),
        units=len(decisions),
        tables=tables,
    )


def pooled_table(rows: Sequence[ThemeAgreement]) -> PairTable:
    tables = [row.tables[0] for row in rows]
    return PairTable(
        tables[0].coders,
        sum(t.yes_yes for t in tables),
        sum(t.yes_no for t in tables),
        sum(t.no_yes for t in tables),
        sum(t.no_no for t in tables),
    )


def disagreements(
    shared: Mapping[str, Mapping[str, frozenset[str]]],
    themes: Sequence[str],
    texts: Mapping[str, str],
) -> tuple[Disagreement, ...]:
    return tuple(
        Disagreement(
            unit,
            tuple((c, tuple(t for t in themes if t in labels)) for c, labels in coded.items()),
            texts.get(unit, ""),
        )
        for unit, coded in shared.items()
        if len(set(coded.values())) > 1
    )


def agreement(
    codings: Codings,
    *,
    themes: Sequence[str] = THEMES,
    texts: Mapping[str, str] | None = None,
) -> Agreement:
    """Agreement of the coders on each theme and pooled; `texts` (unit → text) lets the
    disagreements carry the passage they are about."""
    check_labels(codings, themes)
    shared = shared_units(codings)
    coders = tuple(codings)
    per_theme = tuple(theme_agreement(theme, shared, coders) for theme in themes)
    pooled = [
        {c: theme in labels for c, labels in coded.items()}
        for coded in shared.values()
        for theme in themes
    ]
    return Agreement(
        coders=coders,
        coded=tuple((coder, len(units)) for coder, units in codings.items()),
        ignored=tuple(
            (coder, sum(unit not in shared for unit in units)) for coder, units in codings.items()
        ),
        units=len(shared),
        per_theme=per_theme,
        alpha=nominal_alpha([list(unit.values()) for unit in pooled]),
        kappa=cohen_kappa(pooled_table(per_theme)) if len(coders) == 2 else None,
        agreement=share_agreeing(pooled),
        macro_alpha=mean_defined(row.alpha for row in per_theme),
        macro_kappa=mean_defined(row.kappa for row in per_theme),
        macro_agreement=sum(row.agreement for row in per_theme) / len(per_theme),
        disagreements=disagreements(shared, themes, texts or {}),
    )


# Two coding passes in files ----------------------------------------------------------------


def load_coding(path: Path) -> list[tuple[str, str, frozenset[str]]]:
    """(unit id, text, themes) for each line of a labelled JSONL file ("doc_id", "text",
    "labels"). The unit id is the passage id of the text in its document, so the same words
    match across files whatever else the lines hold; repeats are numbered as passages are."""
    from pipeline.segment import passage_id

    if not path.is_file():
        raise ThemeError(f"no coded file at {path}; give a JSONL file of labelled passages.")
    rows, seen = [], Counter[str]()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc_id, text, labels = row["doc_id"], row["text"], row["labels"]
            if not (isinstance(doc_id, str) and isinstance(text, str)):
                raise TypeError('"doc_id" and "text" must be strings')
            if not isinstance(labels, list):
                raise TypeError('"labels" must be a list of themes')
            unknown = sorted(set(labels) - set(THEMES), key=str)
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ThemeError(f"{path}:{number}: not a labelled passage ({err}).") from err
        if unknown:
            raise ThemeError(
                f"{path}:{number}: unknown theme '{unknown[0]}'; "
                f"valid themes are {', '.join(THEMES)}."
            )
        base = passage_id(doc_id, text)
        seen[base] += 1
        rows.append((base if seen[base] == 1 else f"{base}-{seen[base]}", text, frozenset(labels)))
    return rows


def coder_names(a: Path, b: Path) -> tuple[str, str]:
    """The file stems, or more of the paths where the stems are the same."""
    candidates = ((a.stem, b.stem), (f"{a.parent.name}/{a.stem}", f"{b.parent.name}/{b.stem}"))
    for first, second in candidates:
        if first != second:
            return first, second
    if a.resolve() == b.resolve():
        raise AgreementError(f"both files are {a}; give the two coding passes to compare.")
    return str(a), str(b)


def compare_files(a: Path, b: Path) -> Agreement:
    """Agreement between two coding passes over the same passages, each a labelled JSONL file;
    the coders are named by the file stems. Texts only one file holds are counted in `ignored`."""
    a, b = Path(a), Path(b)
    codings: dict[str, dict[str, frozenset[str]]] = {}
    texts: dict[str, str] = {}
    for name, path in zip(coder_names(a, b), (a, b), strict=True):
        codings[name] = {}
        for unit, text, labels in load_coding(path):
            codings[name][unit] = labels
            texts.setdefault(unit, text)
    return agreement(codings, texts=texts)

"""Inter-coder agreement: α against the krippendorff package and the paper, κ against
scikit-learn, the undefined cases, two coded files, and `kvp agreement`."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from pipeline.agreement import (
    PairTable,
    agreement,
    cohen_kappa,
    compare_files,
    nominal_alpha,
)
from pipeline.cli import app
from pipeline.errors import AgreementError, ThemeError
from pipeline.model import THEMES, to_jsonable

runner = CliRunner()

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), section C: four observers,
# twelve units, nominal values, missing data ("." there, None here). α = 0.743.
PAPER_NOMINAL = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
# Section A: two observers, binary, no missing data. α = 0.095.
PAPER_BINARY = ([0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0])


def units_of(rows: list[list[int | None]]) -> list[list[int]]:
    return [[v for v in column if v is not None] for column in zip(*rows, strict=True)]


def test_nominal_alpha_matches_the_paper_with_missing_data() -> None:
    alpha = nominal_alpha(units_of(PAPER_NOMINAL))
    assert alpha == pytest.approx(0.743, abs=0.0005)
    reference = np.array(PAPER_NOMINAL, dtype=float)  # None becomes NaN: missing
    assert alpha == pytest.approx(
        krippendorff.alpha(reliability_data=reference, level_of_measurement="nominal")
    )


def test_binary_paper_example_as_one_theme() -> None:
    first, second = PAPER_BINARY
    codings = {
        coder: {f"p{i}": frozenset({"youth"} if v else set()) for i, v in enumerate(values)}
        for coder, values in (("anne", first), ("bjorn", second))
    }
    result = agreement(codings)
    youth = result.per_theme[THEMES.index("youth")]
    assert youth.alpha == pytest.approx(0.095, abs=0.0005)
    # κ by hand: observed 6/10, chance 0.2·0.4 + 0.8·0.6 = 0.56, (0.6 − 0.56)/(1 − 0.56).
    assert youth.kappa == pytest.approx(0.04 / 0.44)
    assert youth.agreement == pytest.approx(0.6) and youth.units == 10
    assert youth.tables == (PairTable(("anne", "bjorn"), 1, 1, 3, 5),)
    # The other themes were never given: undefined, and left out of the macro means.
    others = [row for row in result.per_theme if row.theme != "youth"]
    assert all(row.alpha is None and row.kappa is None for row in others)
    assert all(row.agreement == 1.0 for row in others)
    assert result.macro_alpha == youth.alpha and result.macro_kappa == youth.kappa
    assert [d.unit for d in result.disagreements] == ["p0", "p2", "p5", "p8"]


def random_codings(
    seed: int, coders: int, units: int = 40, missing: float = 0.25
) -> dict[str, dict[str, frozenset[str]]]:
    rng = random.Random(seed)
    shares = {theme: rng.uniform(0.2, 0.6) for theme in THEMES}
    truth = [{t for t in THEMES if rng.random() < shares[t]} for _ in range(units)]
    codings: dict[str, dict[str, frozenset[str]]] = {f"c{c}": {} for c in range(coders)}
    for u, themes in enumerate(truth):
        for coded in codings.values():
            if rng.random() < missing:
                continue
            # each coder flips each decision now and then: agreement well above chance, not 1
            coded[f"u{u}"] = frozenset(t for t in THEMES if (t in themes) != (rng.random() < 0.15))
    return codings


def reliability_data(
    codings: dict[str, dict[str, frozenset[str]]], themes: tuple[str, ...]
) -> np.ndarray:
    """Coders × (unit, theme) for the krippendorff package: 1/0, NaN where not coded."""
    units = sorted({u for coded in codings.values() for u in coded})
    return np.array(
        [
            [float(t in coded[u]) if u in coded else np.nan for u in units for t in themes]
            for coded in codings.values()
        ]
    )


@pytest.mark.parametrize("coders", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_alpha_matches_the_krippendorff_package(seed: int, coders: int) -> None:
    codings = random_codings(seed, coders)
    result = agreement(codings)
    for row in result.per_theme:
        expected = krippendorff.alpha(
            reliability_data=reliability_data(codings, (row.theme,)),
            level_of_measurement="nominal",
        )
        assert row.alpha == pytest.approx(expected), row.theme
    pooled = krippendorff.alpha(
        reliability_data=reliability_data(codings, THEMES), level_of_measurement="nominal"
    )
    assert result.alpha == pytest.approx(pooled)
    assert result.macro_alpha == pytest.approx(np.mean([r.alpha for r in result.per_theme]))
    assert len(result.per_theme[0].tables) == math.comb(coders, 2)
    if coders > 2:
        assert result.kappa is None and all(r.kappa is None for r in result.per_theme)


@pytest.mark.parametrize("seed", range(5))
def test_kappa_matches_scikit_learn_on_units_both_coded(seed: int) -> None:
    codings = random_codings(seed, 2, missing=0.2)
    first, second = codings.values()
    both = sorted(set(first) & set(second))
    result = agreement(codings)
    assert result.units == len(both)
    for row in result.per_theme:
        a = [row.theme in first[u] for u in both]
        b = [row.theme in second[u] for u in both]
        assert row.kappa == pytest.approx(cohen_kappa_score(a, b)), row.theme
        assert row.agreement == pytest.approx(np.mean(np.equal(a, b)))
    pooled_a = [t in first[u] for u in both for t in THEMES]
    pooled_b = [t in second[u] for u in both for t in THEMES]
    assert result.kappa == pytest.approx(cohen_kappa_score(pooled_a, pooled_b))
    assert result.agreement == pytest.approx(np.mean(np.equal(pooled_a, pooled_b)))
    ignored = dict(result.ignored)
    assert ignored == {"c0": len(set(first) - set(second)), "c1": len(set(second) - set(first))}


@pytest.mark.parametrize(
    ("labels", "case"),
    [(frozenset(), "nobody uses it"), (frozenset({"funding"}), "everyone always uses it")],
)
def test_a_theme_without_expected_disagreement_is_undefined(
    labels: frozenset[str], case: str
) -> None:
    codings = {
        "anne": {"p1": labels | {"youth"}, "p2": labels, "p3": labels},
        "bjorn": {"p1": labels | {"youth"}, "p2": labels | {"youth"}, "p3": labels},
    }
    result = agreement(codings)
    funding = result.per_theme[THEMES.index("funding")]
    assert funding.alpha is None and funding.kappa is None, case
    assert funding.agreement == 1.0
    youth = result.per_theme[THEMES.index("youth")]
    assert youth.alpha is not None and youth.kappa is not None
    data = json.loads(json.dumps(to_jsonable(result)))
    assert data["per_theme"][THEMES.index("funding")]["alpha"] is None


def test_cohen_kappa_is_undefined_when_chance_agreement_is_certain() -> None:
    assert cohen_kappa(PairTable(("a", "b"), 0, 0, 0, 7)) is None
    assert cohen_kappa(PairTable(("a", "b"), 7, 0, 0, 0)) is None
    assert cohen_kappa(PairTable(("a", "b"), 0, 0, 0, 0)) is None
    # one coder always says yes, the other always no: defined, and no better than chance
    assert cohen_kappa(PairTable(("a", "b"), 0, 4, 0, 0)) == 0.0


def test_perfect_agreement_with_variation_is_one() -> None:
    coded = {"p1": frozenset({"youth"}), "p2": frozenset(), "p3": frozenset({"barriers"})}
    result = agreement({"anne": coded, "bjorn": coded, "cecilie": coded})
    assert result.alpha == 1.0 and result.agreement == 1.0 and not result.disagreements


def test_disagreements_list_each_coder_and_skip_missing_coders() -> None:
    codings: dict[str, dict[str, frozenset[str]]] = {
        "anne": {"p10": frozenset({"youth", "barriers"}), "p2": frozenset(), "p1": frozenset()},
        "bjorn": {"p10": frozenset({"barriers"}), "p2": frozenset({"funding"})},
        "cecilie": {"p2": frozenset(), "p1": frozenset()},
    }
    result = agreement(codings, texts={"p2": "Kommunen betaler stønaden."})
    assert [(d.unit, d.labels, d.text) for d in result.disagreements] == [
        (
            "p2",
            (("anne", ()), ("bjorn", ("funding",)), ("cecilie", ())),
            "Kommunen betaler stønaden.",
        ),
        ("p10", (("anne", ("barriers", "youth")), ("bjorn", ("barriers",))), ""),
    ]
    assert result.coded == (("anne", 3), ("bjorn", 2), ("cecilie", 2))
    assert result.ignored == (("anne", 0), ("bjorn", 0), ("cecilie", 0))


@pytest.mark.parametrize(
    ("codings", "message"),
    [
        ({"anne": {"p1": frozenset()}}, r"\(anne coded 1 passage\); agreement needs two coders"),
        (
            {"anne": {"p1": frozenset(), "p2": frozenset()}, "bjorn": {"p3": frozenset()}},
            r"no passage was coded by two coders \(anne coded 2 passages, bjorn coded 1 passage\)",
        ),
        ({}, r"\(no coders\)"),
    ],
)
def test_too_few_coders_on_shared_passages_is_an_error(
    codings: dict[str, dict[str, frozenset[str]]], message: str
) -> None:
    with pytest.raises(AgreementError, match=message):
        agreement(codings)


def test_an_unknown_theme_is_an_error() -> None:
    codings: dict[str, dict[str, frozenset[str]]] = {
        "anne": {"p1": frozenset({"helse"})},
        "bjorn": {"p1": frozenset()},
    }
    with pytest.raises(ThemeError, match="unknown theme 'helse'; valid themes are barriers, "):
        agreement(codings)


# Two coded files -----------------------------------------------------------------------------

UNGE = "Unge under 25 år får to tredjedeler av stønaden."
VEILEDERE = "Veilederne ved NAV-kontoret har egne rutiner for oppfølging."
HELSE = "Mange deltakere har helseplager som gjør det vanskelig å delta i tiltak."
KOMMUNE = "Kommunen finansierer programmet over rammetilskuddet."


def write_jsonl(path: Path, rows: list[tuple[str, str, list[str]]]) -> Path:
    lines = [
        json.dumps({"doc_id": d, "text": t, "labels": ls, "split": "train"}) for d, t, ls in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def two_passes(tmp_path: Path) -> tuple[Path, Path]:
    anne = write_jsonl(
        tmp_path / "anne.jsonl",
        [
            ("nav", UNGE, ["youth", "funding"]),
            ("nav", VEILEDERE, ["organisation"]),
            ("nav", HELSE, []),
            ("fafo", KOMMUNE, ["funding"]),
            ("fafo", "Bare Anne kodet denne.", []),
        ],
    )
    bjorn = write_jsonl(
        tmp_path / "bjorn.jsonl",
        [
            ("fafo", KOMMUNE, ["funding", "organisation"]),
            ("nav", HELSE, []),
            ("nav", VEILEDERE, ["organisation"]),
            ("nav", UNGE, ["youth"]),
            ("nav", KOMMUNE, ["funding"]),  # the same words in another document: another unit
            ("fafo", "Bare Bjørn kodet denne.", ["youth"]),
        ],
    )
    return anne, bjorn


def test_compare_files_matches_by_document_and_text(two_passes: tuple[Path, Path]) -> None:
    result = compare_files(*two_passes)
    assert result.coders == ("anne", "bjorn")
    assert result.units == 4
    assert result.ignored == (("anne", 1), ("bjorn", 2))
    assert result.coded == (("anne", 5), ("bjorn", 6))
    assert [(d.text, d.labels) for d in result.disagreements] == [
        (KOMMUNE, (("anne", ("funding",)), ("bjorn", ("organisation", "funding")))),
        (UNGE, (("anne", ("youth", "funding")), ("bjorn", ("youth",)))),
    ]
    assert all(d.unit.startswith(("fafo:", "nav:")) for d in result.disagreements)
    barriers = result.per_theme[THEMES.index("barriers")]  # nobody gave it on a shared text
    assert barriers.tables == (PairTable(("anne", "bjorn"), 0, 0, 0, 4),)
    assert barriers.alpha is None and barriers.kappa is None
    youth = result.per_theme[THEMES.index("youth")]
    assert youth.alpha == 1.0 and youth.kappa == 1.0
    funding = result.per_theme[THEMES.index("funding")]
    assert funding.tables == (PairTable(("anne", "bjorn"), 1, 1, 0, 2),)


def test_compare_files_names_coders_by_folder_when_stems_are_equal(tmp_path: Path) -> None:
    rows = [("nav", UNGE, ["youth"]), ("nav", HELSE, [])]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_jsonl(tmp_path / "a" / "labelled.jsonl", rows)
    b = write_jsonl(tmp_path / "b" / "labelled.jsonl", rows)
    assert compare_files(a, b).coders == ("a/labelled", "b/labelled")
    with pytest.raises(AgreementError, match="both files are"):
        compare_files(a, a)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ikke json", r"bad\.jsonl:2: not a labelled passage"),
        (
            '{"doc_id": "nav", "text": "Tekst."}',
            r"bad\.jsonl:2: not a labelled passage \('labels'\)",
        ),
        ('{"doc_id": "nav", "text": "Tekst.", "labels": "youth"}', '"labels" must be a list'),
        (
            '{"doc_id": "nav", "text": "Tekst.", "labels": ["helse"]}',
            r":2: unknown theme 'helse'; valid themes are barriers",
        ),
    ],
)
def test_compare_files_rejects_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    good = json.dumps({"doc_id": "nav", "text": UNGE, "labels": []})
    bad = tmp_path / "bad.jsonl"
    bad.write_text(f"{good}\n{line}\n", encoding="utf-8")
    other = write_jsonl(tmp_path / "other.jsonl", [("nav", UNGE, [])])
    with pytest.raises(ThemeError, match=message):
        compare_files(bad, other)


def test_compare_files_without_shared_passages_says_so(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "anne.jsonl", [("nav", UNGE, [])])
    b = write_jsonl(tmp_path / "bjorn.jsonl", [("nav", HELSE, [])])
    with pytest.raises(AgreementError, match=r"anne coded 1 passage, bjorn coded 1 passage"):
        compare_files(a, b)
    with pytest.raises(ThemeError, match="no coded file at"):
        compare_files(a, tmp_path / "mangler.jsonl")


# kvp agreement -------------------------------------------------------------------------------


def test_cli_prints_table_confusion_and_disagreements(two_passes: tuple[Path, Path]) -> None:
    anne, bjorn = two_passes
    result = runner.invoke(app, ["agreement", "--files", str(anne), str(bjorn), "--show", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == "coders: anne, bjorn; 4 passages coded by both (ignored: 1 only by anne, 2 only by bjorn)"
    )
    assert lines[1].split() == ["theme", "α", "κ", "agree", "units"]
    assert lines[2].split() == ["barriers", "–", "–", "100.0%", "4"]
    assert lines[4].split() == ["youth", "1.000", "1.000", "100.0%", "4"]
    assert lines[6].split()[0] == "pooled" and lines[6].split()[-1] == "16"
    assert "funding: anne (rows) × bjorn (columns)" in result.stdout
    assert "disagreements: 2 of 4 passages" in result.stdout
    assert (
        f"  «{KOMMUNE}»" in lines and "anne: funding; bjorn: organisation, funding" in result.stdout
    )
    assert UNGE not in result.stdout
    assert "… and 1 more" in result.stdout


def test_cli_json_is_the_agreement_record(two_passes: tuple[Path, Path]) -> None:
    anne, bjorn = two_passes
    result = runner.invoke(app, ["agreement", "--files", str(anne), str(bjorn), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == json.loads(json.dumps(to_jsonable(compare_files(anne, bjorn))))
    assert [row["theme"] for row in data["per_theme"]] == list(THEMES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--files", "mangler-a.jsonl", "mangler-b.jsonl"], "no coded file at mangler-a.jsonl"),
    ],
)
def test_cli_errors_are_messages(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["agreement", *args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_without_files_compares_the_coders_of_the_labels_store(
    statute_index: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["agreement", "--index", str(statute_index), "--labels",
                                 str(tmp_path / "labels.sqlite")])  # fmt: skip
    assert result.exit_code == 1
    assert "no coder has reviewed a passage" in result.stderr and "--files A B" in result.stderr

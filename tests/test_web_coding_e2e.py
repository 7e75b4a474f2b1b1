"""A researcher's coding session in a real headless browser (Debian's Chromium, Playwright).

`kvp serve` runs over the statute index with its own labels store and its own copy of the
theme model (retraining writes the model; the shipped one is never touched). The coder
reviews 20 passages from the uncertainty queue, corrects three, codes a selected span, a
second coder reviews some of the same passages, the agreement page shows α and κ, the model
is retrained from the reviews, and the .qdpx download validates against the REFI-QDA schema
and imports back into a new store. Screenshots go to tests/artifacts/coding-*.png.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .test_web_e2e import ARTIFACTS, browser, page, served, shot  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

REVIEWS = 20
CORRECTIONS = 3
RETRAIN_SECONDS = 600  # the encoder embeds the labelled passages the cache lacks, on 2 cores


@pytest.fixture(scope="module")
def coding_server(
    statute_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """`kvp serve` with a fresh labels store and a models folder whose theme model is a copy."""
    from pipeline.paths import models_dir

    work = tmp_path_factory.mktemp("coding")
    models = work / "models"
    models.mkdir()
    for entry in models_dir().iterdir():
        if entry.name == "themes":
            shutil.copytree(entry, models / "themes")
            # Retraining here tests the flow, not the model: every fourth labelled passage
            # (about 300) keeps it to a minute where the encoder must embed them all.
            labelled = models / "themes" / "labelled.jsonl"
            rows = labelled.read_text(encoding="utf-8").splitlines()
            labelled.write_text("\n".join(rows[::4]) + "\n", encoding="utf-8")
        elif entry.is_dir():
            (models / entry.name).symlink_to(entry)
    labels = work / "labels.sqlite"
    env = {**os.environ, "KVP_LABELS": str(labels), "KVP_MODELS": str(models)}
    with served(statute_index, ARTIFACTS / "coding-server.log", env) as base:
        yield base, labels, models


def start_coding(tab: Page, base: str, name: str) -> None:
    tab.goto(base + "/koding")
    if tab.locator(".coder-form").count():
        tab.get_by_label("Navn eller initialer").fill(name)
        tab.get_by_role("button", name="Start koding").click()
    else:
        tab.get_by_label("Bytt koder").fill(name)
        tab.get_by_role("button", name="Bytt").click()
    tab.wait_for_selector("text=Du koder som")


def review_first(tab: Page, *, correct: bool) -> str:
    """Save the first card of the queue, flipping one theme when `correct`; its passage id."""
    card = tab.locator("li.coding-card").first
    passage_id = card.locator("input[name=passage_id]").first.get_attribute("value") or ""
    boxes = card.locator("input[name=tema]")
    if correct:
        box = boxes.first
        box.set_checked(not box.is_checked())
    card.get_by_role("button", name="Lagre vurdering").click()
    tab.wait_for_selector("#lagret")
    return passage_id


def test_a_researcher_reviews_corrects_compares_retrains_and_exports(
    coding_server: tuple[str, Path, Path],
    page: Page,  # noqa: F811  (the fixture of tests/test_web_e2e.py)
    statute_index: Path,
    tmp_path: Path,
) -> None:
    from lxml import etree  # type: ignore[import-untyped]
    from playwright.sync_api import expect

    from pipeline.labels import LabelStore
    from pipeline.qda import SCHEMAS
    from pipeline.refi import import_project
    from pipeline.search import Index

    base, labels, models = coding_server
    start_coding(page, base, "Anne")
    expect(page.locator("li.coding-card")).to_have_count(10)
    shot(page, "coding-queue")
    first_ids = [page.locator("li.coding-card input[name=passage_id]").nth(i).get_attribute(
        "value") for i in range(5)]  # fmt: skip

    # A span: select words of the first passage, as a person drags over them.
    text = page.locator(".coding-text").first
    page.evaluate(
        """(element) => {
            const node = element.firstChild;
            const range = document.createRange();
            range.setStart(node, 0); range.setEnd(node, 20);
            const selection = window.getSelection();
            selection.removeAllRanges(); selection.addRange(range);
            element.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
        }""",
        text.element_handle(),
    )
    span_form = page.locator("form.span-form").first
    expect(span_form.locator(".selection-status")).to_contain_text("Markert: «")
    span_form.get_by_label("Kod markert tekst med").select_option("youth")
    shot(page, "coding-span-selected")
    span_form.get_by_role("button", name="Kod markert tekst").click()
    expect(page.locator("mark.coded").first).to_be_visible()

    corrected = []
    for n in range(REVIEWS):
        passage_id = review_first(page, correct=n < CORRECTIONS)
        if n < CORRECTIONS:
            corrected.append(passage_id)
        if n == 0:
            shot(page, "coding-saved")
    expect(page.locator(".coding-status")).to_contain_text(
        f"Du har vurdert {REVIEWS} passasjer og rettet modellen i {CORRECTIONS}"
    )
    with LabelStore(labels) as store:
        reviews = store.reviews("Anne")
        assert len(reviews) == REVIEWS
        assert {r.passage_id for r in reviews if r.corrected} == set(corrected)
        assert store.spans("Anne")[0].quote == Index(statute_index).passage(
            first_ids[0] or "").text[:20]  # fmt: skip

    # A second coder reviews five of the same passages; one differs from Anne.
    start_coding(page, base, "Bjørn")
    for n in range(5):
        review_first(page, correct=n == 4)
    page.goto(base + "/koding/enighet")
    expect(page.locator("h1")).to_have_text("Enighet mellom kodere")
    expect(page.locator("table.theme-table")).to_contain_text("Alle temaer samlet")
    assert page.locator("table.confusion").count() == 4
    shot(page, "coding-agreement", full=True)

    # Retraining is offered after 20 reviewed passages; its numbers come back on the page.
    page.goto(base + "/koding")
    page.get_by_role("button", name="Tren temamodellen på nytt").click()
    page.wait_for_url(base + "/koding/tren")
    shot(page, "coding-retraining")
    page.wait_for_selector("text=Ferdig: modellen er trent", timeout=RETRAIN_SECONDS * 1000)
    expect(page.locator("table.theme-table")).to_contain_text("Gjennomsnitt (makro)")
    shot(page, "coding-retrained", full=True)
    card = (models / "themes" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Reviewed labels" in card and "## Before and after retraining" in card

    # The REFI-QDA project: download, validate against the schema, import into a new store.
    page.goto(base + "/koding")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="REFI-QDA-prosjekt (.qdpx)").click()
    path = tmp_path / "kvp-koding.qdpx"
    waiting.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        project = etree.fromstring(archive.read("project.qde"))
    etree.XMLSchema(etree.parse(str(SCHEMAS / "Project.xsd"))).assertValid(project)
    with LabelStore(tmp_path / "imported.sqlite") as fresh:
        report = import_project(path, Index(statute_index), fresh)
        assert report.skipped == [] and set(report.coders) <= {"Anne", "Bjørn"}
        again = {(r.coder, r.passage_id): r.labels for r in fresh.reviews()}
    with LabelStore(labels) as store:
        before = {(r.coder, r.passage_id): r.labels for r in store.reviews() if r.labels}
    assert again == before  # a review with no theme has no coding to carry
    shot(page, "coding-after-export", full=True)

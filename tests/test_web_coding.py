"""The Koding pages: a coder's queue, reviews, spans, agreement and the REFI-QDA download."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.labels import LabelStore
from pipeline.qda_read import read_qdpx
from pipeline.review import uncertainty
from pipeline.search import Index
from pipeline.web import create_app

PASSAGE_RE = re.compile(r'<form class="review-form"[^>]*>\s*<input type="hidden" '
                        r'name="passage_id" value="([^"]+)"')  # fmt: skip


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    return tmp_path / "labels.sqlite"


@pytest.fixture
def client(statute_index: Path, labels: Path) -> Iterator[TestClient]:
    with TestClient(create_app(statute_index, labels=labels)) as test_client:
        yield test_client


def as_coder(client: TestClient, name: str) -> None:
    response = client.post("/koding/koder", data={"navn": name}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/koding"


def queue_ids(client: TestClient, **params: str) -> list[str]:
    page = client.get("/koding", params=params)
    assert page.status_code == 200, page.text
    return PASSAGE_RE.findall(page.text)


def test_without_a_name_the_page_asks_who_codes(client: TestClient) -> None:
    page = client.get("/koding")
    assert page.status_code == 200 and "Hvem koder?" in page.text
    assert 'class="review-form"' not in page.text
    refused = client.post("/koding/vurdering", data={"passage_id": "x", "tema": ["youth"]})
    assert refused.status_code == 422 and "Skriv navnet ditt" in refused.text
    blank = client.post("/koding/koder", data={"navn": "   "})
    assert blank.status_code == 422 and "navn eller initialer" in blank.text


def test_the_queue_shows_the_least_certain_passages_first(
    client: TestClient, statute_index: Path
) -> None:
    as_coder(client, "AB")
    shown = queue_ids(client)
    assert len(shown) == 10
    index = Index(statute_index)
    by_id = {p.passage_id: p for p in index.passages}
    scores = [uncertainty(by_id[pid]) for pid in shown]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] >= max(uncertainty(p) for p in index.passages) - 1e-9
    one_document = queue_ids(client, dokument="kvp-forskrift", rekkefolge="document")
    assert one_document and all(pid.startswith("kvp-forskrift:") for pid in one_document)
    bad = client.get("/koding", params={"rekkefolge": "tilfeldig"})
    assert bad.status_code == 422 and "Rekkefølgen «tilfeldig» finnes ikke" in bad.text


def test_a_review_is_stored_leaves_the_queue_and_reaches_the_exports(
    client: TestClient, labels: Path
) -> None:
    as_coder(client, "AB")
    first = queue_ids(client)[0]
    youth = {"q": "kvalifiseringsprogrammet", "theme": "youth", "k": "50"}

    def searched() -> set[str]:
        return {h["passage_id"] for h in client.get("/api/search", params=youth).json()["hits"]}

    was_youth = first in searched()
    saved = client.post("/koding/vurdering", data={"passage_id": first, "tema": ["youth"],
                                                   "memo": "Gjelder unge under 25 år"})  # fmt: skip
    assert saved.status_code == 200 and "Lagret: Unge" in saved.text
    assert first not in PASSAGE_RE.findall(saved.text)
    assert not was_youth and first in searched()  # the search's theme filter takes the review
    with LabelStore(labels) as store:
        (review,) = store.reviews("AB")
        assert review.passage_id == first and review.labels == ("youth",)
        assert store.memo("AB", first) == "Gjelder unge under 25 år"
    exported = client.get("/api/export", params={"format": "csv"})
    rows = {r["passage_id"]: r for r in csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")))}
    assert rows[first]["labels"] == "youth" and rows[first]["label_source"] == "reviewed"
    assert rows[first]["coder"] == "AB"
    other = next(pid for pid in rows if pid != first)
    assert rows[other]["label_source"] == "model" and rows[other]["coder"] == ""


def test_a_selected_span_is_coded_with_its_words(client: TestClient, labels: Path) -> None:
    as_coder(client, "AB")
    first = queue_ids(client)[0]
    coded = client.post("/koding/utdrag", data={"passage_id": first, "kode": "funding",
                                                "start": "0", "slutt": "12"})  # fmt: skip
    assert coded.status_code == 200 and '<mark class="coded">' in coded.text
    with LabelStore(labels) as store:
        (span,) = store.spans("AB")
    assert (span.start, span.end, span.code) == (0, 12, "funding") and len(span.quote) == 12
    empty = client.post("/koding/utdrag", data={"passage_id": first, "kode": "funding",
                                                "start": "5", "slutt": "5"})  # fmt: skip
    assert empty.status_code == 422 and "Marker teksten" in empty.text
    unknown = client.post("/koding/utdrag", data={"passage_id": first, "kode": "alder",
                                                  "start": "0", "slutt": "5"})  # fmt: skip
    assert unknown.status_code == 422 and "Koden «alder» finnes ikke" in unknown.text
    added = client.post("/koding/kode", data={"navn": "alder", "beskrivelse": "Aldersgrenser"})
    assert added.status_code == 200 and "<strong>alder</strong>" in added.text
    again = client.post("/koding/utdrag", data={"passage_id": first, "kode": "alder",
                                                "start": "0", "slutt": "5"})  # fmt: skip
    assert again.status_code == 200


def test_agreement_needs_two_coders_then_shows_alpha_and_the_disagreements(
    client: TestClient,
) -> None:
    page = client.get("/koding/enighet")
    assert "minst to kodere" in page.text
    as_coder(client, "AB")
    shown = queue_ids(client)[:4]
    for pid in shown:
        client.post("/koding/vurdering", data={"passage_id": pid, "tema": ["organisation"]})
    as_coder(client, "CD")
    for n, pid in enumerate(shown):
        themes = ["organisation"] if n < 3 else ["funding"]
        client.post("/koding/vurdering", data={"passage_id": pid, "tema": themes})
    page = client.get("/koding/enighet")
    assert page.status_code == 200 and "Krippendorffs α" in page.text
    assert "Passasjer der koderne er uenige (1)" in page.text
    assert 'href="/dokument/' in page.text and "<strong>CD:</strong> Økonomi" in page.text


def test_the_qdpx_download_reads_back_and_imports_into_a_new_store(
    client: TestClient, statute_index: Path, tmp_path: Path
) -> None:
    from pipeline.refi import import_project

    as_coder(client, "AB")
    first = queue_ids(client)[0]
    client.post("/koding/vurdering", data={"passage_id": first, "tema": ["youth", "funding"]})
    client.post("/koding/utdrag", data={"passage_id": first, "kode": "youth", "start": "0",
                                        "slutt": "8"})  # fmt: skip
    download = client.get("/api/export", params={"format": "qdpx"})
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert 'filename="kvp-koding.qdpx"' in download.headers["content-disposition"]
    path = tmp_path / "kvp.qdpx"
    path.write_bytes(download.content)
    project = read_qdpx(path)
    assert {"AB", "modell"} <= set(project.all_coders())
    mine = [c for c in project.codings if c.coder == "AB"]
    assert {c.code for c in mine} == {"youth", "funding"} and len(mine) == 3
    codebook = client.get("/api/export", params={"format": "qdc"})
    assert codebook.status_code == 200 and b"urn:QDA-XML:codebook:1.0" in codebook.content
    with LabelStore(tmp_path / "fresh.sqlite") as fresh:
        report = import_project(path, Index(statute_index), fresh)
        assert (report.reviews, report.spans, report.skipped) == (1, 1, [])
        (review,) = fresh.reviews()
        assert review.passage_id == first and review.labels == ("youth", "funding")
        assert fresh.spans()[0].start == 0 and fresh.spans()[0].end == 8

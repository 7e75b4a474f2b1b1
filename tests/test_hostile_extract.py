"""Hostile input: size and count limits per format, and the time and memory budget per file.

Each reported case is rebuilt in tmp_path: a 330 KB DOCX whose body unpacks to three million
paragraphs (before: 90 s and 1.6 GB, still rising, with no message), and one whose single
text node is 420 MB (before: refused by lxml only after peaking at 870 MB).
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from pipeline.corpus import infer_source
from pipeline.errors import ExtractionError, OverBudgetError, SettingsError
from pipeline.extract import extract, extract_all, extract_file, iter_extract
from pipeline.extract.budget import ExtractionBudget, count_start_tags
from pipeline.model import Document, Source
from pipeline.settings import ExtractSettings

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}"><w:body>'
TAIL = "</w:body></w:document>"
TEXT = "Kvalifiseringsprogrammet skal bidra til at flere kommer i arbeid."
# Real budgets are minutes and gigabytes; these keep each test to seconds.
QUICK = ExtractionBudget(seconds=1)
SMALL = ExtractionBudget(memory_mib=256)


@cache
def base_parts() -> dict[str, bytes]:
    """The parts of a python-docx document, to put another body in."""
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(buffer) as package:
        return {name: package.read(name) for name in package.namelist()}


def write_docx(path: Path, body: Iterable[bytes], extra: dict[str, bytes] | None = None) -> Path:
    """A valid DOCX whose word/document.xml is ``body``, written in chunks (it may be huge)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in {**base_parts(), **(extra or {})}.items():
            if name != "word/document.xml":
                package.writestr(name, data)
        with package.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(HEAD.encode())
            for chunk in body:
                member.write(chunk)
            member.write(TAIL.encode())
    return path


def paragraphs(count: int, text: str = "x", *, numbered: bool = True) -> Iterator[bytes]:
    """``count`` one-run paragraphs; numbered ones compress like text, others like a bomb."""
    for start in range(0, count, 10_000):
        yield b"".join(
            f"<w:p><w:r><w:t>{text}{f' {n}' if numbered else ''}</w:t></w:r></w:p>".encode()
            for n in range(start, min(count, start + 10_000))
        )


def text_files(folder: Path, count: int) -> list[Path]:
    paths = [folder / f"notat{n}.txt" for n in range(count)]
    for n, path in enumerate(paths):
        path.write_text(f"Notat {n}. {TEXT}\n", encoding="utf-8")
    return paths


def outcomes(
    results: Iterable[tuple[Source, Document | ExtractionError]],
) -> list[tuple[str, Document | ExtractionError]]:
    return [(source.path.name, outcome) for source, outcome in results]


# --- DOCX: checked against the zip's declared sizes before anything is unpacked -----------


def test_docx_of_three_million_paragraphs_is_refused_within_a_small_budget(tmp_path: Path) -> None:
    bomb = write_docx(tmp_path / "bombe.docx", paragraphs(3_000_000, numbered=False))
    assert bomb.stat().st_size < 400_000
    good = text_files(tmp_path, 1)[0]
    batch = extract_all([infer_source(bomb), infer_source(good)], budget=SMALL)
    assert [d.source.path for d in batch.documents] == [good]
    [failure] = batch.failures
    assert failure.path == bomb
    assert failure.reason.startswith(
        "word/document.xml unpacks to 97 MiB, over the 64 MiB limit for one part "
        "(ExtractSettings.docx_max_part_mib); split the document"
    )


def test_docx_with_a_420_mb_text_node_is_refused_before_unpacking(tmp_path: Path) -> None:
    node = (b"a" * (1 << 20) for _ in range(420))
    path = write_docx(
        tmp_path / "tekst.docx", iter([b"<w:p><w:r><w:t>", *node, b"</w:t></w:r></w:p>"])
    )
    with pytest.raises(
        OverBudgetError,
        match=r"tekst\.docx: word/document\.xml unpacks to 420 MiB, over the 64 MiB",
    ):
        extract_file(path)


@pytest.mark.parametrize(
    ("settings", "count", "message"),
    [
        (ExtractSettings(), 100_000, r"word/document\.xml unpacks to 3\d\d times its packed size, over the limit of 100 \(ExtractSettings\.docx_max_ratio\): it looks like a zip bomb"),
        (ExtractSettings(docx_max_ratio=1000, docx_max_elements=5000), 2000, r"has more than 5,000 XML elements \(ExtractSettings\.docx_max_elements\); split the document"),
        (ExtractSettings(docx_max_paragraphs=1000), 2000, r"has more than 1,000 paragraphs and tables \(ExtractSettings\.docx_max_paragraphs\); split the document"),
    ],
)  # fmt: skip
def test_docx_limits(tmp_path: Path, settings: ExtractSettings, count: int, message: str) -> None:
    path = write_docx(tmp_path / "stor.docx", paragraphs(count, numbered=False))
    with pytest.raises(OverBudgetError, match=message):
        extract_file(path, settings)


def test_docx_whole_package_limit_counts_images(tmp_path: Path) -> None:
    image = {"word/media/image1.png": os.urandom(2 << 20)}  # as incompressible as a photo
    path = write_docx(tmp_path / "bilder.docx", paragraphs(10), extra=image)
    with pytest.raises(
        OverBudgetError,
        match=r"bilder\.docx: unpacks to 3 MiB, over the 1 MiB limit \(ExtractSettings\.docx_max_total_mib\)",
    ):
        extract_file(path, ExtractSettings(docx_max_total_mib=1))


def test_ordinary_docx_passes_the_limits(tmp_path: Path) -> None:
    document = docx.Document()
    for n in range(3000):  # ~100 pages
        document.add_paragraph(f"Avsnitt {n}: {TEXT}", style="Heading 2" if n % 50 == 0 else None)
    table = document.add_table(rows=200, cols=6)
    table.cell(0, 0).text = "Deltakere"
    document.save(tmp_path / "rapport.docx")
    result = extract_file(tmp_path / "rapport.docx")
    assert len(result.blocks) == 3001 and result.blocks[0].text == f"Avsnitt 0: {TEXT}"


def test_a_damaged_deflate_stream_is_an_unreadable_docx(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "skadet.docx", paragraphs(5000, TEXT))
    data = bytearray(path.read_bytes())
    start = data.index(b"word/document.xml") + 40  # inside the member's compressed data
    data[start : start + 200] = bytes(200)
    path.write_bytes(bytes(data))
    with pytest.raises(ExtractionError, match=r"skadet\.docx: not a readable DOCX file"):
        extract_file(path)


# --- HTML and PDF ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ExtractSettings(html_max_mib=1), r"side\.html: is 2 MiB, over the 1 MiB limit \(ExtractSettings\.html_max_mib\); split the page"),
        (ExtractSettings(html_max_elements=10_000), r"side\.html: has 40,00\d elements, over the limit of 10,000 \(ExtractSettings\.html_max_elements\)"),
    ],
)  # fmt: skip
def test_html_limits(tmp_path: Path, settings: ExtractSettings, message: str) -> None:
    paragraph = f"<p><b>{TEXT}</b></p>\n" * 20_000  # 40,000 elements, 2 MiB
    (tmp_path / "side.html").write_text(
        f"<html><body><main>{paragraph}</main></body></html>", encoding="utf-8"
    )
    with pytest.raises(OverBudgetError, match=message):
        extract_file(tmp_path / "side.html", settings)
    assert len(extract_file(tmp_path / "side.html").blocks) == 20_000  # the defaults let it in


def write_pdf(path: Path, pages: int, lines: int) -> Path:
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=10)
    for page in range(pages):
        pdf.add_page()
        pdf.set_y(60)  # below the band where repeated lines are taken for running headers
        for line in range(lines):
            pdf.cell(0, 5, f"{page}.{line} {TEXT}", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_pdf_page_limit(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "lang.pdf", pages=3, lines=2)
    with pytest.raises(
        OverBudgetError,
        match=r"lang\.pdf: has 3 pages, over the limit of 2 \(ExtractSettings\.pdf_max_pages\); split it",
    ):
        extract_file(path, ExtractSettings(pdf_max_pages=2))
    assert extract_file(path).report.page_count == 3


def test_pdf_characters_per_page_limit(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "tett.pdf", pages=2, lines=40)  # ~2,600 characters a page
    with pytest.raises(
        OverBudgetError,
        match=r"tett\.pdf: page 1 has 2,\d{3} characters, over the limit of 1,000 per page \(ExtractSettings\.pdf_max_page_chars\)",
    ):
        extract_file(path, ExtractSettings(pdf_max_page_chars=1000))


@pytest.mark.parametrize(
    ("markup", "count"),
    [
        ("<p>a</p>", 1),
        ("<!DOCTYPE html><?xml?><!-- x --><br/><a>b</a>", 2),
        (b"<w:p><w:r/></w:p>", 2),
    ],
)
def test_count_start_tags(markup: str | bytes, count: int) -> None:
    assert count_start_tags(markup) == count


# --- the budget: time and memory per file, in worker processes ------------------------------


def test_file_over_the_time_budget_is_reported_and_the_rest_extracted(tmp_path: Path) -> None:
    slow = write_docx(tmp_path / "treg.docx", paragraphs(50_000, TEXT))  # ~20 s to read here
    before, after = text_files(tmp_path, 2)
    results = outcomes(iter_extract([infer_source(p) for p in (before, slow, after)], budget=QUICK))
    assert [name for name, _ in results] == ["notat0.txt", "treg.docx", "notat1.txt"]
    assert isinstance(results[0][1], Document) and isinstance(results[2][1], Document)
    error = results[1][1]
    assert isinstance(error, OverBudgetError) and error.path == slow
    assert str(error) == (
        "treg.docx: took longer than 1 s to extract, the time allowed per file "
        "(ExtractionBudget.seconds); split it into smaller files, or save it as plain text, "
        "and add those."
    )


def write_big_docx(path: Path) -> Path:
    # 600,000 paragraphs (1.8 million elements, 23 MiB unpacked) pass every limit, but their
    # tree takes 360 MiB of address space to parse; lxml reports that as "unknown error".
    return write_docx(path, paragraphs(600_000))


def write_big_text(path: Path) -> Path:
    # 120 MB read and decoded: a MemoryError in Python's own allocation.
    path.write_text(f"{TEXT}\n\n" * 1_800_000, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("write", "name"), [(write_big_docx, "stor.docx"), (write_big_text, "stor.txt")]
)
def test_file_over_the_memory_budget_is_reported_and_the_rest_extracted(
    tmp_path: Path, write: Callable[[Path], Path], name: str
) -> None:
    big = write(tmp_path / name)
    good = text_files(tmp_path, 1)[0]
    results = outcomes(iter_extract([infer_source(big), infer_source(good)], budget=SMALL))
    assert isinstance(results[1][1], Document)
    with pytest.raises(
        OverBudgetError,
        match=rf"{name}: needed more than 256 MiB of memory to extract, the memory allowed per file \(ExtractionBudget\.memory_mib\)",
    ):
        raise results[0][1]


def test_a_build_reports_the_bomb_and_indexes_the_rest(tmp_path: Path) -> None:
    from pipeline.index import build_index

    from .helpers import HashingEncoder

    corpus = tmp_path / "korpus"
    corpus.mkdir()
    write_docx(corpus / "bombe.docx", paragraphs(3_000_000, numbered=False))
    text_files(corpus, 1)
    report = build_index(corpus, tmp_path / "indeks", encoder=HashingEncoder())
    assert report.documents == 1
    assert [(f.path.name, f.reason.split(",")[0]) for f in report.failures] == [
        ("bombe.docx", "word/document.xml unpacks to 97 MiB")
    ]


def test_a_worker_killed_from_outside_is_reported_and_replaced(tmp_path: Path) -> None:
    import multiprocessing

    slow = write_docx(tmp_path / "treg.docx", paragraphs(50_000, TEXT))
    good = text_files(tmp_path, 1)[0]

    def kill_workers() -> None:
        for child in multiprocessing.active_children():
            if child.name == "kvp-extract":
                child.kill()

    timer = threading.Timer(1.5, kill_workers)
    timer.start()
    budget = ExtractionBudget(workers=1)
    results = outcomes(iter_extract([infer_source(slow), infer_source(good)], budget=budget))
    timer.join()
    assert isinstance(results[1][1], Document)
    with pytest.raises(
        OverBudgetError,
        match=r"treg\.docx: the extraction process was killed \(signal 9\) while reading it, most likely for want of memory",
    ):
        raise results[0][1]


def test_results_keep_source_order_across_two_workers(tmp_path: Path) -> None:
    paths = text_files(tmp_path, 20)
    slow = write_docx(tmp_path / "treg.docx", paragraphs(3000, TEXT))  # ~1 s among 0.01 s files
    paths.insert(3, slow)
    results = outcomes(iter_extract(infer_source(p) for p in paths))
    assert [name for name, _ in results] == [p.name for p in paths]
    assert all(isinstance(outcome, Document) for _, outcome in results)


def test_budget_none_extracts_in_this_process_with_the_same_limits(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "stor.docx", paragraphs(2000))
    settings = ExtractSettings(docx_max_paragraphs=1000)
    [(_, in_process)] = outcomes(iter_extract([infer_source(path)], settings, budget=None))
    [(_, in_worker)] = outcomes(iter_extract([infer_source(path)], settings))
    assert isinstance(in_process, OverBudgetError) and isinstance(in_worker, OverBudgetError)
    assert str(in_process) == str(in_worker)
    with pytest.raises(OverBudgetError, match="docx_max_paragraphs"):
        extract(infer_source(path), settings)


def test_a_script_without_a_main_guard_can_extract(tmp_path: Path) -> None:
    """A script without an ``if __name__ == "__main__"`` guard extracts as well."""
    import subprocess
    import sys

    good = text_files(tmp_path, 1)[0]
    script = tmp_path / "skript.py"
    script.write_text(
        "from pathlib import Path\n"
        "from pipeline.corpus import infer_source\n"
        "from pipeline.extract import extract_all\n"
        f"print(len(extract_all([infer_source(Path({str(good)!r}))]).documents))\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent.parent)  # fmt: skip
    assert done.stdout == "1\n", done.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"seconds": 0}, r"ExtractionBudget\.seconds must be above 0, not 0"),
        ({"memory_mib": 64}, r"ExtractionBudget\.memory_mib must be at least 256 .*, not 64"),
        ({"workers": 0}, r"ExtractionBudget\.workers must be 1 or more, not 0"),
    ],
)
def test_budget_values_are_checked(values: dict[str, float], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        ExtractionBudget(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["docx_max_elements", "html_max_mib", "pdf_max_page_chars"])
def test_limits_are_checked(name: str) -> None:
    with pytest.raises(SettingsError, match=rf"{name} must be 1 or more, not 0"):
        ExtractSettings(**{name: 0})  # type: ignore[arg-type]


def test_workers_give_the_same_documents_as_this_process(tmp_path: Path) -> None:
    paths = [*text_files(tmp_path, 3), write_docx(tmp_path / "rapport.docx", paragraphs(50, TEXT))]
    sources = [infer_source(p) for p in paths]
    assert extract_all(sources) == extract_all(sources, budget=None)


def test_a_worker_dies_with_a_build_killed_outright(tmp_path: Path) -> None:
    """SIGKILL on the build leaves no extraction worker reading on without its time limit."""
    import signal
    import subprocess
    import sys
    import time

    slow = write_docx(tmp_path / "treg.docx", paragraphs(200_000, TEXT))
    script = (
        "import multiprocessing, sys, threading, time\n"
        "from pathlib import Path\n"
        "from pipeline.corpus import infer_source\n"
        "from pipeline.extract import iter_extract\n"
        "from pipeline.extract.budget import ExtractionBudget\n"
        "def report():\n"
        "    while True:\n"
        "        workers = [c.pid for c in multiprocessing.active_children() if c.name == 'kvp-extract']\n"
        "        if workers:\n"
        "            print(workers[0], flush=True); return\n"
        "        time.sleep(0.05)\n"
        "threading.Thread(target=report, daemon=True).start()\n"
        f"list(iter_extract([infer_source(Path({str(slow)!r}))],\n"
        "                  budget=ExtractionBudget(workers=1, seconds=600)))\n"
    )  # fmt: skip
    build = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert build.stdout is not None
    worker = int(build.stdout.readline())
    time.sleep(1.0)  # the worker is reading the file now
    os.kill(worker, 0)  # alive
    build.send_signal(signal.SIGKILL)
    build.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the extraction worker outlived the build that started it")

"""OCR for PDF pages without a text layer: Tesseract's words become positioned characters.

* The page is rendered with pypdfium2 (pdfplumber's own renderer) and handed to the
  `tesseract` program on stdin; its hOCR comes back on stdout. A subprocess rather than
  pytesseract: no temporary files, the time limit is the subprocess's own, and hOCR (which
  pytesseract only passes through) carries each line's baseline and ``x_size``, so a line's
  height does not depend on whether its words have ascenders or descenders.
* Each word becomes one `layout.Char` spanning its line's height, so `layout` and `blocks`
  read a scanned page like any other: furniture, columns, headings by size, paragraphs by
  gaps and indents, hyphenation joined against the document's lexicon.
* Sizes: a line's x_size shifts with what it holds (brackets, capitals), so lines within
  SAME_SIZE of the page's usual size take that size. In a document that also has a text
  layer the page is scaled so that its usual size is the document's body size: a scan's zoom
  says nothing about its typography, and unscaled every line of an enlarged scan would read
  as a heading.
* Tesseract's Norwegian model has no § (tessdata 4.1, as Debian ships it): it reads "§ 29" as
  "$ 29". A "$" before a number is taken for a § and the change is reported as a repair;
  "§§" read as "88" cannot be told from a number and is left.
* Bounded: `ExtractSettings.ocr_max_pages` pages per document, `ocr_page_seconds` per page,
  and at most MAX_PIXELS per page image (a larger page is rendered at a lower resolution).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pipeline.extract.pdf.layout import Char, Page, body_size
from pipeline.model import Repair
from pipeline.settings import ExtractSettings

INSTALL = "install tesseract-ocr tesseract-ocr-nor (Debian)"
MAX_PIXELS = 40_000_000  # an A2 page at 300 dpi (35 Mpx) still renders at full resolution
MAX_WORKERS = 4  # each tesseract takes one core (OMP_THREAD_LIMIT=1) and one page image
# A body line's x_size varied by up to 11 % (a line with brackets) on generated pages of
# DejaVu Serif at 300 dpi; headings are ≥ 15 % larger than the body, footnotes ≥ 10 % smaller.
SAME_SIZE = 0.12
MIN_IMAGE_DPI = 50  # coarser, an image cannot hold readable text: a 10 pt x-height < 4 px
MIN_LINE_CONFIDENCE = 30.0  # below: specks, stamps or pictures read as letters
LOW_PAGE_CONFIDENCE = 70.0  # below: the page's text is worth checking against the PDF
SECTION_SIGN_RE = re.compile(r"^(\(?)(\$\$?)(\d.*)?$")  # "$", "$$", "($29" as Tesseract reads §
XHTML = "{http://www.w3.org/1999/xhtml}"
LINE_CLASSES = frozenset({"ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"})


@dataclass(frozen=True, slots=True)
class Unread:
    """Why OCR did not read a page (or any page), and what to do about it."""

    reason: str
    fix: str

    def warning(self, page: int) -> str:
        return (
            f"page {page} has no text layer (scanned image?) and was not read: "
            f"{self.reason}; {self.fix} to include it"
        )


@dataclass(frozen=True, slots=True)
class Recognised:
    """What OCR made of a document's scanned pages: the pages it read, with characters, and
    (when it read none) why not."""

    pages: Mapping[int, Page] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    unread: Unread | None = None
    repairs: tuple[Repair, ...] = ()

    def failure(self, pages: int) -> str:
        """The message for a document whose every page is a scan that OCR did not read."""
        why = self.unread or Unread("OCR read none of them", "check the scans")
        return (
            f"none of its {pages} pages has a text layer (a scanned document?) and "
            f"{why.reason}; {why.fix}, or run OCR on it (e.g. ocrmypdf) and add that."
        )


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    confidence: float


@dataclass(frozen=True, slots=True)
class OcrLine:
    words: tuple[Word, ...]
    size: float  # Tesseract's x_size: ascender top to descender bottom, in pixels

    @property
    def confidence(self) -> float:
        return statistics.fmean(w.confidence for w in self.words)


@dataclass(frozen=True, slots=True)
class Image:
    """A rendered page: greyscale PGM bytes, its size in pixels and its resolution."""

    data: bytes
    width: int
    height: int
    dpi: int


@dataclass(frozen=True, slots=True)
class Scan:
    """One page as Tesseract read it: its lines, and the image's size in pixels."""

    lines: list[OcrLine]
    width: int
    height: int


# Finding Tesseract -------------------------------------------------------------------------


def find_tesseract() -> str | None:
    """The `tesseract` program on PATH, or None."""
    return shutil.which("tesseract")


@lru_cache(maxsize=8)
def tesseract_info(binary: str) -> tuple[str, frozenset[str]]:
    """Tesseract's version line and the languages it has data for; ("", {}) if it fails."""
    try:
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=True
        )
        found = subprocess.run(
            [binary, "--list-langs"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "", frozenset()
    # Tesseract 4 printed these on stderr, 5 prints them on stdout.
    first = (version.stdout or version.stderr).strip().splitlines()
    listed = (found.stdout or found.stderr).splitlines()[1:]
    return (first[0] if first else ""), frozenset(line.strip() for line in listed if line.strip())


def unavailable(settings: ExtractSettings) -> Unread | None:
    """Why OCR cannot run with these settings and what to do, or None when it can."""
    if not settings.ocr:
        return Unread("OCR is turned off", "turn it on (ExtractSettings.ocr)")
    binary = find_tesseract()
    if binary is None:
        return Unread("Tesseract is not installed", INSTALL)
    version, languages = tesseract_info(binary)
    if not version:
        return Unread(f"Tesseract ({binary}) does not run", f"re{INSTALL}")
    lacking = [code for code in settings.ocr_language.split("+") if code not in languages]
    if lacking:
        packages = " ".join(f"tesseract-ocr-{code.replace('_', '-')}" for code in lacking)
        return Unread(
            f"Tesseract has no language data for {'+'.join(lacking)}", f"install {packages}"
        )
    return None


def engine_id(settings: ExtractSettings) -> str | None:
    """The OCR engine these settings use ("tesseract 5.3.0 nor"), for a manifest; None if none."""
    binary = find_tesseract()
    if binary is None or unavailable(settings) is not None:
        return None
    return f"{tesseract_info(binary)[0]} {settings.ocr_language}"


# Reading pages -----------------------------------------------------------------------------


def recognise(
    path: Path, pages: Sequence[Page], scanned: Sequence[int], settings: ExtractSettings
) -> Recognised:
    """Read the scanned pages by OCR, up to the page cap, each within the time limit."""
    if not scanned:
        return Recognised()
    missing = unavailable(settings)
    if missing is not None:
        return Recognised({}, tuple(missing.warning(n) for n in scanned), missing)
    todo, capped = scanned[: settings.ocr_max_pages], scanned[settings.ocr_max_pages :]
    failures: list[Unread] = []
    if capped:
        limit = f"OCR reads at most {settings.ocr_max_pages} pages per document"
        failures.append(Unread(f"{limit} (ExtractSettings.ocr_max_pages)", "raise the limit"))
    warnings = [failures[0].warning(n) for n in capped]
    by_number = {p.number: p for p in pages}
    read: dict[int, Page] = {}
    repairs: list[Repair] = []
    for number, outcome in sorted(read_images(path, todo, str(find_tesseract()), settings).items()):
        if isinstance(outcome, Unread):
            failures.append(outcome)
            warnings.append(outcome.warning(number))
            continue
        lines, fixed = section_signs(outcome.lines, number)
        page = page_of(by_number[number], replace(outcome, lines=lines))
        if not page.chars:
            warnings.append(
                f"page {number} has no text layer (scanned image?) and OCR found no text on it"
            )
            continue
        confidence = statistics.fmean(line.confidence for line in outcome.lines)
        if confidence < LOW_PAGE_CONFIDENCE:
            warnings.append(
                f"page {number} was read by OCR with low confidence (mean {confidence:.0f} %); "
                "check its text against the PDF"
            )
        read[number] = page
        repairs += fixed
    read = match_body(read, [p for p in pages if p.number not in scanned])
    if read:
        return Recognised(read, tuple(warnings), None, tuple(repairs))
    nothing = Unread("OCR found no text on them", "check that the scans hold text")
    return Recognised({}, tuple(warnings), failures[0] if failures else nothing)


def read_images(
    path: Path, numbers: Sequence[int], binary: str, settings: ExtractSettings
) -> dict[int, Scan | Unread]:
    """Each page rendered and read by Tesseract, a few pages at a time.

    pdfium is not thread-safe, so pages are rendered here, in turn; only the tesseract
    processes run side by side, one per core.
    """
    import pypdfium2

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = max(1, min(MAX_WORKERS, cores or 1))
    outcomes: dict[int, Scan | Unread] = {}
    try:
        pdf = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as err:  # pdfplumber read it, pdfium cannot: keep the text
        unread = Unread(f"pdfium cannot render the file ({err})", "save it again as PDF")
        return dict.fromkeys(numbers, unread)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for start in range(0, len(numbers), workers):
                batch = numbers[start:][:workers]
                outcomes |= {n: coarse for n in batch if (coarse := too_coarse(pdf, n))}
                images = {n: render(pdf, n, settings.ocr_dpi) for n in batch if n not in outcomes}
                running = {n: pool.submit(run_tesseract, binary, image, settings)
                           for n, image in images.items()}  # fmt: skip
                for number, future in running.items():
                    found, image = future.result(), images[number]
                    outcomes[number] = (
                        found if isinstance(found, Unread)
                        else Scan(parse_hocr(found), image.width, image.height)
                    )  # fmt: skip
    finally:
        pdf.close()
    return outcomes


def too_coarse(pdf: Any, number: int) -> Unread | None:
    """Why a page's images cannot hold text Tesseract reads (a logo, a thumbnail), if so."""
    import pypdfium2.raw as pdfium

    page = pdf[number - 1]
    try:
        found = [image.get_metadata() for image in page.get_objects((pdfium.FPDF_PAGEOBJ_IMAGE,))]
    finally:
        page.close()
    dpi = max((min(m.horizontal_dpi, m.vertical_dpi) for m in found), default=0.0)
    if dpi >= MIN_IMAGE_DPI:
        return None
    return Unread(
        f"its images are too coarse for OCR ({dpi:.0f} dpi; at least {MIN_IMAGE_DPI} is needed)",
        "scan it at 300 dpi",
    )


def render(pdf: Any, number: int, dpi: int) -> Image:
    """The page as a greyscale image, at a lower resolution if it would exceed MAX_PIXELS."""
    page = pdf[number - 1]
    try:
        width, height = page.get_size()  # points
        dpi = min(dpi, int(72 * (MAX_PIXELS / max(1.0, width * height)) ** 0.5))
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        w, h, stride = bitmap.width, bitmap.height, bitmap.stride
        pixels = memoryview(bitmap.buffer).cast("B")
        rows = (
            bytes(pixels[: w * h])
            if stride == w
            else b"".join(pixels[y * stride : y * stride + w] for y in range(h))
        )
        return Image(f"P5 {w} {h} 255\n".encode("ascii") + rows, w, h, dpi)
    finally:
        page.close()


def run_tesseract(binary: str, image: Image, settings: ExtractSettings) -> bytes | Unread:
    """Tesseract's hOCR for one page image, or why it could not be read."""
    # One thread per process: with OpenMP's default a page took 5.2 s here, with one 2.9 s.
    language, dpi = settings.ocr_language, str(image.dpi)
    command = [binary, "stdin", "stdout", "-l", language, "--dpi", dpi, "hocr"]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    limit = settings.ocr_page_seconds
    try:
        done = subprocess.run(
            command, input=image.data, capture_output=True, env=env, timeout=limit
        )
    except subprocess.TimeoutExpired:
        return Unread(
            f"OCR took longer than the {limit:g} s allowed per page (ExtractSettings."
            "ocr_page_seconds)",
            "raise the limit",
        )
    except OSError as err:
        return Unread(f"Tesseract could not be started ({err})", f"re{INSTALL}")
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = said[-1] if said else f"exit status {done.returncode}"
        return Unread(f"Tesseract failed ({detail})", "check the Tesseract installation")
    return done.stdout


# hOCR to characters ------------------------------------------------------------------------


def properties(title: str) -> dict[str, list[float]]:
    """An hOCR title ("bbox 1 2 3 4; x_size 43") as numbers by name."""
    found: dict[str, list[float]] = {}
    for part in title.split(";"):
        name, *values = part.split() or [""]
        try:
            found[name] = [float(v) for v in values]
        except ValueError:
            continue  # 'image "stdin"'
    return found


def parse_hocr(data: bytes) -> list[OcrLine]:
    """Tesseract's lines with their words; each word spans its line's height at its place."""
    lines = []
    for span in ElementTree.fromstring(data).iter(f"{XHTML}span"):
        if span.get("class") not in LINE_CLASSES:
            continue
        line = properties(span.get("title", ""))
        x0, y0, _, y1 = line["bbox"]
        slope, offset = line.get("baseline", [0.0, 0.0])
        size = line.get("x_size", [y1 - y0])[0]
        below = line.get("x_descenders", [0.2 * size])[0]
        words = []
        for element in span:
            text = " ".join("".join(element.itertext()).split())
            if element.get("class") != "ocrx_word" or not text:
                continue
            word = properties(element.get("title", ""))
            a, _, b, _ = word["bbox"]
            baseline = y1 + offset + slope * (a - x0)
            confidence = word.get("x_wconf", [100.0])[0]
            words.append(Word(text, a, b, baseline - size + below, baseline + below, confidence))
        if words:
            lines.append(OcrLine(tuple(words), size))
    return [line for line in lines if line.confidence >= MIN_LINE_CONFIDENCE]


def section_signs(lines: list[OcrLine], page: int) -> tuple[list[OcrLine], list[Repair]]:
    """Lines with "$ 29" read back as "§ 29", and those repairs."""
    fixed, repairs = [], []
    for line in lines:
        words = list(line.words)
        for i, word in enumerate(words):
            match = SECTION_SIGN_RE.match(word.text)
            after = words[i + 1].text if i + 1 < len(words) else ""
            if not match or not (match.group(3) or after[:1].isdigit()):
                continue
            text = match.group(1) + "§" * len(match.group(2)) + (match.group(3) or "")
            seen = word.text if match.group(3) else f"{word.text} {after}"
            repairs.append(Repair("section_sign", seen, seen.replace(word.text, text, 1), page))
            words[i] = replace(word, text=text)
        fixed.append(replace(line, words=tuple(words)))
    return fixed, repairs


def page_of(page: Page, scan: Scan) -> Page:
    """The page with its OCR'd words as characters, in points like a text layer's."""
    sx, sy = page.width / scan.width, page.height / scan.height
    usual = statistics.median(line.size for line in scan.lines) if scan.lines else 0.0
    chars = []
    for line in scan.lines:
        size = usual if abs(line.size - usual) <= SAME_SIZE * usual else line.size
        points = round(size * sy, 2)
        chars += [
            Char(w.text, w.x0 * sx, w.x1 * sx, w.top * sy, w.bottom * sy, points, False)
            for w in line.words
        ]
    return replace(page, chars=chars, tables=[])


def match_body(read: dict[int, Page], text_pages: Sequence[Page]) -> dict[int, Page]:
    """OCR'd pages scaled so that their usual size is the body size of the text-layer pages."""
    text_chars = [c for page in text_pages for c in page.chars]
    if not text_chars:
        return read
    body = body_size(text_chars)
    scaled = {}
    for number, page in read.items():
        factor = body / statistics.median(c.size for c in page.chars)
        chars = [replace(c, size=round(c.size * factor, 2)) for c in page.chars]
        scaled[number] = replace(page, chars=chars)
    return scaled

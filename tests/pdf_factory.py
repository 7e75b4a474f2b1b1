"""Realistic test PDFs, generated with fpdf2: a report with page furniture, and bad inputs.

Every line is placed explicitly, so a hyphen really sits at a line end and two columns
really share baselines. The report uses fpdf2's core Helvetica (Latin-1, so æøå work and
no font file is needed); the ligature PDF needs DejaVu Sans and is skipped without it.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pikepdf
from fpdf import FPDF

HEADER = "Kvalifiseringsrapport 2024"
FOOTER = "Arbeids- og velferdsdirektoratet"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LEFT, WIDTH = 20.0, 170.0  # mm
BODY = 11.0  # pt
PT = 0.3528  # mm per point
SUPERSCRIPT_RE = re.compile(r"\^(\d+)")

LEFT_COLUMN = [
    [
        "Deltakerne i Oslo fikk oftere tilbud",
        "om arbeidstrening enn deltakerne i",
        "mindre kommuner. Nesten halvparten",
        "av dem var i praksis hos en ordinær",
        "arbeidsgiver i løpet av det første året.",
    ],
    [
        "Veilederne oppga at tett kontakt med",
        "arbeidsgiverne var avgjørende for å",
        "lykkes med overgangen til arbeid.",
    ],
]
RIGHT_COLUMN = [
    [
        "Blant deltakerne som avsluttet",
        "programmet i 2023, gikk 39 prosent",
        "til arbeid eller utdanning. Andelen",
        "er høyere for deltakere under 30 år",
        "enn for de eldre aldersgruppene.",
    ],
    [
        "Flere kommuner har innført faste",
        "møtepunkter mellom veileder og",
        "deltaker hver uke gjennom hele løpet.",
    ],
]
TABLE_ROWS = [
    ("År", "Deltakere", "Andel i arbeid"),
    ("2021", "5 200", "34 %"),
    ("2022", "5 800", "37 %"),
    ("2023", "6 100", "39 %"),
]


class Writer:
    """An fpdf2 document written line by line at explicit positions (mm, baselines)."""

    def __init__(self, furniture: bool = True) -> None:
        self.pdf = FPDF(unit="mm", format="A4")
        self.pdf.set_auto_page_break(False)
        self.furniture = furniture
        self.header = HEADER
        self.numbered_header = False  # the page number at the header's right end
        self.y = 0.0

    def page(self) -> None:
        self.pdf.add_page()
        if self.furniture:
            self.pdf.set_font("helvetica", size=9)
            self.pdf.text(LEFT, 13, self.header)
            if self.numbered_header:
                number = str(self.pdf.page_no())
                self.pdf.text(LEFT + WIDTH - self.pdf.get_string_width(number), 13, number)
            self.pdf.text(LEFT, 282, FOOTER)
            self.pdf.text(LEFT, 288, f"Side {self.pdf.page_no()}")
        self.y = 35.0

    def line(self, text: str, x: float = LEFT, size: float = BODY, style: str = "") -> None:
        """One line at the cursor; "^1" in the text is drawn as a raised small marker."""
        self.y += size * PT * 1.4
        for i, piece in enumerate(SUPERSCRIPT_RE.split(text)):
            raised = i % 2 == 1
            self.pdf.set_font("helvetica", style=style, size=size * 0.6 if raised else size)
            self.pdf.text(x, self.y - (size * PT * 0.4 if raised else 0), piece)
            x += self.pdf.get_string_width(piece)

    def paragraph(self, lines: list[str], x: float = LEFT, size: float = BODY) -> None:
        for text in lines:
            self.line(text, x, size)
        self.y += 3

    def heading(self, text: str, size: float) -> None:
        self.y += 3
        self.line(text, size=size, style="B")
        self.y += 2

    def footnotes(self, notes: list[str]) -> None:
        self.pdf.set_draw_color(0)
        self.pdf.line(LEFT, 255, LEFT + 50, 255)
        self.y = 256.0
        for note in notes:
            self.line(note, size=8)

    def table(self, rows: list[tuple[str, ...]]) -> None:
        self.pdf.set_font("helvetica", size=10)
        self.pdf.set_y(self.y + 2)
        with self.pdf.table(width=120, col_widths=(30, 45, 45), align="LEFT") as table:
            for row in rows:
                cells = table.row()
                for cell in row:
                    cells.cell(cell)
        self.y = self.pdf.get_y() + 2

    def figure(self) -> None:
        """A bar chart drawn with filled rectangles: graphics but no text."""
        self.pdf.set_fill_color(90, 110, 200)
        for i in range(4):
            height = 15 + 6 * i
            self.pdf.rect(LEFT + 10 + 18 * i, self.y + 40 - height, 12, height, style="F")
        self.y += 44

    def columns(self, left: list[list[str]], right: list[list[str]]) -> None:
        """Two columns whose lines share baselines, the hard case for reading order."""
        start = self.y
        for paragraphs, x in ((left, LEFT), (right, LEFT + 92)):
            self.y = start
            for lines in paragraphs:
                self.paragraph(lines, x=x)
        self.y += 2

    def save(self, path: Path, title: str = "") -> Path:
        if title:
            self.pdf.set_title(title)
        self.pdf.output(str(path))
        return path


def write_report_pages(w: Writer) -> None:
    """The five pages of the sample report, written onto `w`."""
    w.page()
    w.heading("Kvalifiseringsprogrammet i praksis", 20)
    w.heading("1 Innledning", 16)
    w.paragraph(
        [
            "Denne rapporten beskriver hvordan Nav-kontorene arbeider med deltakere i kvalifiserings-",
            "programmet. Målet er å styrke mulighetene for arbeid gjennom tett oppfølging over tid^1",
            "og samarbeid med jobbspesialister2 i kommunen. Mange av deltakerne har svak tilknytning",
            "til arbeidslivet og har mottatt økonomisk sosialhjelp over lengre tid.",
        ]
    )
    w.paragraph(
        [
            "Erfaringene fra de største kommunene viser at veilederne ved de lokale Nav-",
            "kontorene bruker mer tid på hver deltaker enn før. Samtidig har antallet AAP-",
            "mottakere som går over til programmet, økt noe. Det gjelder særlig unge under 30 år",
            "med helseutfordringer, som ofte trenger en lengre periode med tilrettelegging.",
        ]
    )
    w.footnotes(
        [
            "1 Kilde: Arbeids- og velferdsdirektoratet, statistikk over deltakere 2023.",
            "2 Jobbspesialister er veiledere som følger opp deltakere på arbeidsplassen.",
        ]
    )
    w.page()
    w.heading("2 Metode", 16)
    w.paragraph(
        [
            "Undersøkelsen bygger på registerdata og intervjuer med veiledere og ledere i",
            "tolv kommuner. Vi har også gått gjennom saksmapper for et utvalg deltakere.",
        ]
    )
    w.heading("2.1 Datagrunnlag", 13)
    w.paragraph(["Tabellen viser utviklingen i antall deltakere og andelen som gikk til arbeid."])
    w.line("Tabell 1: Deltakere i kvalifiseringsprogrammet per år")
    w.table(TABLE_ROWS)
    w.paragraph(["Tallene omfatter alle som var registrert som deltakere i løpet av året."])
    w.page()
    w.heading("3 Resultater", 16)
    w.paragraph(
        [
            "Resultatene presenteres her for to grupper av kommuner, store og små, side om side.",
            "Forskjellene mellom gruppene er tydelige på flere områder.",
        ]
    )
    w.columns(LEFT_COLUMN, RIGHT_COLUMN)
    w.paragraph(
        [
            "Samlet sett tyder resultatene på at tett individuell oppfølging gir bedre resultater.",
        ]
    )
    w.page()
    w.heading("4 Diskusjon", 16)
    w.paragraph(
        [
            "Figuren nedenfor viser hvordan antallet deltakere har utviklet seg de siste årene.",
        ]
    )
    w.figure()
    w.line("Figur 1: Utvikling i antall deltakere 2021-2023", size=9)
    w.y += 3
    w.heading("Oppsummering", BODY)
    w.paragraph(
        [
            "Tre forhold går igjen i alle kommunene vi har besøkt:",
        ]
    )
    w.paragraph(
        [
            "- tett og individuell oppfølging av hver deltaker",
            "- samarbeid med arbeidsgivere i nærmiljøet",
        ]
    )
    w.y = 250
    w.paragraph(
        [
            "Kommunene som lykkes best, kombinerer disse forholdene med tidlige arbeids-",
        ]
    )
    w.page()
    w.paragraph(
        [
            "rettede tiltak og en plan som deltakeren selv har vært med på å lage.",
        ]
    )
    w.heading("5 Konklusjon", 16)
    w.paragraph(
        [
            "Kvalifiseringsprogrammet fungerer best når veileder og deltaker møtes ofte,",
            "slik det også er beskrevet i rundskrivet.3 Her er det fortsatt store forskjeller",
            "mellom kommunene, særlig i hvor mye tid veilederne har til hver deltaker.",
        ]
    )
    w.footnotes(["3 Rundskriv R35-00 om kvalifiseringsprogrammet, avsnitt 4.2."])


def build_report(path: Path, repeat: int = 1) -> Path:
    """The sample report: five pages, written `repeat` times (the benchmark uses 12)."""
    w = Writer()
    for _ in range(repeat):
        write_report_pages(w)
    return w.save(path, title="Kvalifiseringsprogrammet i praksis")


# Chapters of one to three pages; the running head is the chapter's title, so a one-page
# chapter's head appears once in the whole report.
CHAPTERS = [
    ("1 Innledning", 1),
    ("2 Bakgrunn og metode", 2),
    ("3 Deltakerne", 1),
    ("4 Oppfølging i kontorene", 3),
    ("5 Avslutning", 1),
]
CHAPTER_BODY = [
    "Kommunene har ansvar for programmet, og veilederne følger opp deltakerne tett gjennom",
    "hele programperioden med samtaler, tiltak og kontakt med arbeidsgivere i nærmiljøet.",
]
REPEATED_BODY_LINE = "Kilde: Spørreundersøkelse blant veiledere i 2023."


def build_chapter_report(path: Path) -> Path:
    """A report whose running head is the current chapter's title with the page number."""
    w = Writer()
    w.numbered_header = True
    for title, pages in CHAPTERS:
        w.header = title
        for n in range(pages):
            w.page()
            if n == 0:
                w.heading(title, 16)
            w.paragraph(CHAPTER_BODY)
            w.paragraph([REPEATED_BODY_LINE])
    return w.save(path, title="Oppfølging i kvalifiseringsprogrammet")


def build_heading_at_page_top(path: Path) -> Path:
    """A bold heading used twice, once so high on a page that it lies in the header band."""
    w = Writer(furniture=False)
    w.page()
    w.heading("Oppsummering", BODY)
    w.paragraph(CHAPTER_BODY)
    w.page()
    w.y = 5
    w.heading("Oppsummering", BODY)
    w.paragraph(CHAPTER_BODY)
    return w.save(path)


def build_one_page(path: Path) -> Path:
    """One page whose first line sits in the header band: it must not count as furniture."""
    w = Writer(furniture=False)
    w.page()
    w.y = 8
    w.line("Notat om kvalifiseringsprogrammet", size=9)
    w.y = 40
    w.paragraph(["Notatet oppsummerer erfaringer fra arbeidet med programmet i bydelene."])
    return w.save(path)


def build_ligatures(path: Path) -> Path | None:
    """Text with ﬁ/ﬂ ligature characters, in DejaVu Sans; None when that font is missing."""
    if not DEJAVU.is_file():
        return None
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_font("DejaVu", fname=str(DEJAVU))
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    pdf.text(LEFT, 40, "Deltakerne \ufb01kk \ufb02ere tilbud om arbeidstrening i Bærum og Ålesund.")
    pdf.output(str(path))
    return path


def png(width: int = 8, height: int = 8) -> bytes:
    """A small grey-gradient PNG, built by hand so no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes((x * 30) % 256 for x in range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))


def scanned_page(w: Writer) -> None:
    w.pdf.add_page()
    w.pdf.image(png(), x=20, y=20, w=170)


def build_scanned(path: Path, pages: int = 2) -> Path:
    """A PDF of image-only pages, as a scanner without OCR produces."""
    w = Writer(furniture=False)
    for _ in range(pages):
        scanned_page(w)
    return w.save(path)


def build_partly_scanned(path: Path) -> Path:
    """Text on pages 1 and 3, a scanned image on page 2."""
    w = Writer()
    w.page()
    w.heading("1 Innledning", 16)
    w.paragraph(["Første side har tekst om kvalifiseringsprogrammet og deltakerne."])
    scanned_page(w)
    w.page()
    w.paragraph(["Tredje side har også tekst, etter den skannede siden."])
    return w.save(path)


def build_encrypted(path: Path, user: str = "hemmelig") -> Path:
    """The one-page PDF, encrypted; with user="" it opens without a password (owner-only)."""
    plain = build_one_page(path.with_name(path.stem + "-plain.pdf"))
    with pikepdf.open(plain) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user=user, owner="eier"))
    return path


def build_truncated(path: Path) -> Path:
    data = build_one_page(path.with_name(path.stem + "-whole.pdf")).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def build_not_a_pdf(path: Path) -> Path:
    path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
    return path


def build_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


# Scanned pages with known text, for OCR (tests/test_ocr.py) ------------------------------

SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
SERIF_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")
SCAN_DPI = 300
# What a scanned page says, as it is drawn: (kind, lines). A paragraph's lines are wrapped as
# printed, one with a hyphen at its end; the reference text joins them (`scan_reference`).
SCAN_PAGES = [
    [
        ("heading", ["3 Tiltak og oppfølging"]),
        (
            "paragraph",
            [
                "Kvalifiseringsprogrammet skal bidra til at flere med vesentlig",
                "nedsatt arbeids- og inntektsevne kommer i arbeid. Deltakerne",
                "får tett oppfølging av en veileder ved Nav-kontoret, og stønaden",
                "utgjør to ganger folketrygdens grunnbeløp (2 G) per år.",
            ],
        ),
        (
            "paragraph",
            [
                "Både kommunen og staten har ansvar for tiltakene. Særlig for",
                "unge deltakere er det viktig å komme raskt i gang med arbeids-",
                "trening, og mange får tilbud om praksis hos en ordinær arbeids-",
                "giver i løpet av de første månedene i programmet.",
            ],
        ),
        (
            "paragraph",
            [
                "Etter § 29 i sosialtjenesteloven skal programmet være på full",
                "tid. Veilederne på Grünerløkka og i Tromsø oppga at dette var",
                "krevende for deltakere med store helseplager eller omsorgsansvar.",
            ],
        ),
    ],
    [
        ("heading", ["4 Økonomi og resultater"]),
        (
            "paragraph",
            [
                "Blant deltakerne som avsluttet programmet i 2023, gikk 39 prosent",
                "til arbeid eller utdanning. Andelen er høyere for deltakere under",
                "30 år enn for de eldre aldersgruppene, og særlig høy i Bærum.",
            ],
        ),
        (
            "paragraph",
            [
                "Flere kommuner har innført faste møtepunkter mellom veileder og",
                "deltaker hver uke gjennom hele løpet. Det gir færre avbrudd og",
                "bedre oversikt over hva den enkelte trenger for å lykkes.",
            ],
        ),
    ],
]


def scan_reference(page: list[tuple[str, list[str]]]) -> str:
    """A scanned page's text as the extractor should give it: hyphenated words joined."""
    blocks = []
    for _, lines in page:
        text = lines[0]
        for line in lines[1:]:
            head = text.rsplit(" ", 1)[-1]
            joins = head.endswith("-") and line[:1].islower() and not line.startswith("og ")
            text = text[:-1] + line if joins else f"{text} {line}"
        blocks.append(text)
    return "\n\n".join(blocks)


def scan_image(page: list[tuple[str, list[str]]], number: int, dpi: int = SCAN_DPI) -> object:
    """An A4 page image as a scanner makes it: 11 pt serif body text, a bold heading, a
    worded page number at the foot, slightly rotated and blurred, in greyscale."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    def px(mm: float) -> int:
        return round(mm / 25.4 * dpi)

    image = Image.new("L", (px(210), px(297)), 255)
    draw = ImageDraw.Draw(image)
    body = ImageFont.truetype(str(SERIF), round(BODY * dpi / 72))
    bold = ImageFont.truetype(str(SERIF_BOLD), round(15 * dpi / 72))
    y = px(30)
    for kind, lines in page:
        font = bold if kind == "heading" else body
        for line in lines:
            draw.text((px(LEFT), y), line, font=font, fill=20)
            y += round(font.size * 1.4)
        y += round(body.size * 0.8)
    draw.text((px(LEFT), px(282)), f"Side {number}", font=body, fill=20)
    image = image.rotate(0.3, resample=Image.Resampling.BICUBIC, fillcolor=255)
    return image.filter(ImageFilter.GaussianBlur(0.6))


def build_image_scan(path: Path, pages: int = 2) -> Path | None:
    """A PDF whose pages are only images of text (`SCAN_PAGES`), as a scanner without OCR
    makes it; None without the DejaVu Serif font to draw them."""
    if not (SERIF.is_file() and SERIF_BOLD.is_file()):
        return None
    pdf = FPDF(unit="mm", format="A4")
    for number, page in enumerate(SCAN_PAGES[:pages], start=1):
        pdf.add_page()
        pdf.image(scan_image(page, number), x=0, y=0, w=210, h=297)
    pdf.output(str(path))
    return path


def build_mixed_scan(path: Path) -> Path | None:
    """Page 1 with a text layer, page 2 an image of `SCAN_PAGES[0]`; None without the font."""
    if not (SERIF.is_file() and SERIF_BOLD.is_file()):
        return None
    w = Writer(furniture=False)
    w.page()
    w.heading("2 Innledning", 15)
    w.paragraph(
        [
            "Denne rapporten beskriver hvordan kommunene arbeider med",
            "kvalifiseringsprogrammet, og hva deltakerne selv forteller.",
        ]
    )
    w.pdf.add_page()
    w.pdf.image(scan_image(SCAN_PAGES[0], 2), x=0, y=0, w=210, h=297)
    return w.save(path)


def build_blank_scan(path: Path) -> Path:
    """One page that is a 300 dpi scan of a blank, slightly grey sheet: nothing to read."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((2480, 3508)).point(lambda v: 235 + v // 20)
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_page()
    pdf.image(image, x=0, y=0, w=210, h=297)
    pdf.output(str(path))
    return path

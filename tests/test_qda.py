"""REFI-QDA export and import: valid by the official schemas, read back by pyrefiqda (an
independent reader on PyPI), a round trip with Norwegian text, and every bad file named."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pyrefiqda.models import (
    CodeRefType,
    CodingType,
    PlainTextSelectionType,
    Project,
    ProjectCodeBookType,
    ProjectCodesType,
    ProjectCodeType,
    SourcesType,
    TextSourceType,
    UsersType,
    UserType,
)
from pyrefiqda.reficodebook import RefiCodebook
from pyrefiqda.refiproject import RefiProject

from pipeline.errors import PipelineError, QdaError
from pipeline.qda import (
    SCHEMAS,
    QdaCode,
    QdaCoding,
    QdaLimits,
    QdaProject,
    QdaSource,
    write_qdc,
    write_qdpx,
)
from pipeline.qda_read import read_qdc, read_qdpx

RAPPORT = (
    "Kvalifiseringsprogrammet skal styrke mulighetene for overgang til arbeid.\n"
    "Deltakere med rusproblemer og psykiske helseplager møter store barrierer på veien til jobb.\n"
    "Kommunens økonomi avgjør hvor mange som får tilbudet."
)
RUNDSKRIV = "Unge under 25 år får to tredjedeler av stønaden. Æ, ø og å er ett tegn hver."
SENTENCE = (
    "Deltakere med rusproblemer og psykiske helseplager møter store barrierer på veien til jobb."
)
CODES = (
    QdaCode("Barrierer", "Hindringer for deltakelse: helse, rus, språk og bolig.", "#c0392b"),
    QdaCode("Organisering", "Hvordan NAV-kontoret organiserer og følger opp arbeidet."),
    QdaCode("Unge", "Unge deltakere under 30 år.", "#2e86c1"),
    QdaCode(
        "Finansiering", "Kommunens budsjett, stønadens størrelse og statlige tilskudd.", "#F90"
    ),
    QdaCode("Egen kode: økonomi"),
)


def span(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


CODINGS = (
    # a whole passage, and a span inside it by another coder with a memo
    QdaCoding("fafo-2018", *span(RAPPORT, SENTENCE), "Barrierer", "Åse Ødegård"),
    QdaCoding(
        "fafo-2018",
        *span(RAPPORT, "rusproblemer"),
        "Barrierer",
        "Kari Nordmann",
        "Rus nevnes før psykisk helse.\nSjekk mot § 35 og tabell 4 – «viktig».",
    ),
    QdaCoding(
        "fafo-2018", *span(RAPPORT, "Kommunens økonomi"), "Egen kode: økonomi", "Kari Nordmann"
    ),
    QdaCoding(
        "r35-00", *span(RUNDSKRIV, "Unge under 25 år"), "Unge", "Åse Ødegård", "Aldersgrense."
    ),
    QdaCoding("r35-00", *span(RUNDSKRIV, "stønaden"), "Finansiering", "Åse Ødegård"),
)
PROJECT = QdaProject(
    name="KVP – koding av rapporter",
    sources=(
        QdaSource("fafo-2018", "Fafo-rapport 2018: Kvalifiseringsprogrammet i NAV", RAPPORT),
        QdaSource("r35-00", "Rundskriv R35-00 om sosialtjenesteloven", RUNDSKRIV),
    ),
    codes=CODES,
    codings=CODINGS,
    coders=("Åse Ødegård", "Kari Nordmann"),
)


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


@pytest.fixture
def qdpx(tmp_path: Path) -> Path:
    return write_qdpx(PROJECT, tmp_path / "koding.qdpx")


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def edited(qdpx: Path, old: str, new: str) -> Path:
    """The export with one change in project.qde, under the name bad.qdpx."""
    files = members(qdpx)
    qde = files["project.qde"].decode()
    assert old in qde
    files["project.qde"] = qde.replace(old, new, 1).encode()
    return rezip(qdpx.with_name("bad.qdpx"), files)


# ---- the official schemas ------------------------------------------------------------------


def test_project_qde_is_valid_by_the_official_project_xsd(qdpx: Path) -> None:
    qde = etree.fromstring(members(qdpx)["project.qde"])
    schema("Project.xsd").assertValid(qde)
    assert qde.tag == "{urn:QDA-XML:project:1.0}Project"


def test_codebook_is_valid_by_the_official_codebook_xsd(tmp_path: Path) -> None:
    qdc = write_qdc(CODES, tmp_path / "kodebok.qdc")
    schema("Codebook.xsd").assertValid(etree.parse(str(qdc)))


def test_the_schemas_are_refi_qdas() -> None:
    namespaces = {
        name: etree.parse(str(SCHEMAS / name)).getroot().get("targetNamespace")
        for name in ("Project.xsd", "Codebook.xsd")
    }
    assert namespaces == {
        "Project.xsd": "urn:QDA-XML:project:1.0",
        "Codebook.xsd": "urn:QDA-XML:codebook:1.0",
    }


def test_the_archive_holds_project_qde_and_utf8_sources(qdpx: Path) -> None:
    files = members(qdpx)
    assert next(iter(files)) == "project.qde"  # first in the zip
    texts = {data.decode("utf-8") for name, data in files.items() if name.startswith("sources/")}
    assert texts == {RAPPORT, RUNDSKRIV}
    assert all(name.endswith(".txt") for name in files if name.startswith("sources/"))


# ---- an independent reader: pyrefiqda (pydantic models generated from the same XSD) -------


def test_pyrefiqda_reads_our_project(qdpx: Path, tmp_path: Path) -> None:
    project = RefiProject.load(qdpx, extract_dir=str(tmp_path / "unpacked"))
    assert project.name == PROJECT.name
    users = {user.guid: user.name for user in project.users.user}
    assert sorted(users.values()) == sorted(PROJECT.coders)
    codes = {code.guid: code for code in project.code_book.codes.code}
    assert [(c.name, c.description, c.color) for c in codes.values()] == [
        (c.name, c.description or None, c.color or None) for c in CODES
    ]
    texts = {source.name: source for source in project.sources.text_source}
    assert sorted(texts) == sorted(source.title for source in PROJECT.sources)
    read = set()
    for source in project.sources.text_source:
        local = RefiProject.resolve_source_path(source.plain_text_path, tmp_path / "unpacked")
        text = local.read_text(encoding="utf-8")
        doc_id = source.variable_value[0].text_value
        assert text == next(s.text for s in PROJECT.sources if s.doc_id == doc_id)
        for selection in source.plain_text_selection:
            (coding,) = selection.coding
            code = codes[coding.code_ref.target_guid].name
            read.add((doc_id, text[selection.start_position : selection.end_position], code,
                      users[coding.creating_user], selection.description or ""))  # fmt: skip
    expected = {
        (c.doc_id, next(s.text for s in PROJECT.sources if s.doc_id == c.doc_id)[c.start : c.end],
         c.code, c.coder, c.memo)
        for c in CODINGS
    }  # fmt: skip
    assert read == expected
    assert ("fafo-2018", "rusproblemer", "Barrierer", "Kari Nordmann", CODINGS[1].memo) in read


def test_pyrefiqda_reads_our_codebook(tmp_path: Path) -> None:
    codebook = RefiCodebook.load(write_qdc(CODES, tmp_path / "kodebok.qdc"))
    assert [(c.name, c.is_codable, c.description, c.color) for c in codebook.codes.code] == [
        (c.name, True, c.description or None, c.color or None) for c in CODES
    ]


def test_we_read_a_project_that_pyrefiqda_wrote(tmp_path: Path) -> None:
    """Another writer: random uuid4 GUIDs, no doc_id variable, its own zip layout."""
    (tmp_path / "work" / "sources").mkdir(parents=True)
    source_guid, user, code = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()).upper()
    (tmp_path / "work" / "sources" / f"{source_guid}.txt").write_text(RUNDSKRIV, encoding="utf-8")
    start, end = span(RUNDSKRIV, "stønaden")
    selection = PlainTextSelectionType(
        guid=str(uuid.uuid4()), start_position=start, end_position=end, creating_user=user,
        description="Stønad til unge.",
        coding=[CodingType(guid=str(uuid.uuid4()), code_ref=CodeRefType(target_guid=code))],
    )  # fmt: skip
    project = Project(
        name="Fra pyrefiqda",
        users=UsersType(user=[UserType(guid=user, name="Ola Åsen")]),
        code_book=ProjectCodeBookType(codes=ProjectCodesType(code=[
            ProjectCodeType(guid=code, name="Finansiering", is_codable=True, color="#FF0000")
        ])),
        sources=SourcesType(text_source=[TextSourceType(
            guid=source_guid, name="Rundskriv", plain_text_path=f"internal://{source_guid}.txt",
            plain_text_selection=[selection],
        )]),
    )  # fmt: skip
    RefiProject.save(project, tmp_path / "fra.qdpx", source_media_dir=tmp_path / "work" / "sources")
    read = read_qdpx(tmp_path / "fra.qdpx")
    assert read.sources == (QdaSource(source_guid, "Rundskriv", RUNDSKRIV),)
    assert read.codes == (QdaCode("Finansiering", "", "#FF0000"),)
    assert read.codings == (
        QdaCoding(source_guid, start, end, "Finansiering", "Ola Åsen", "Stønad til unge."),
    )
    assert read.coders == ("Ola Åsen",)


# ---- round trips ---------------------------------------------------------------------------


def test_round_trip_keeps_sources_codes_codings_and_coders(qdpx: Path) -> None:
    read = read_qdpx(qdpx)
    assert read.name == PROJECT.name
    assert read.sources == PROJECT.sources
    assert read.codes == PROJECT.codes
    assert set(read.codings) == set(PROJECT.codings)
    assert len(read.codings) == len(PROJECT.codings)
    assert read.coders == PROJECT.coders
    assert read.skipped == ()


def test_positions_count_characters_not_bytes(qdpx: Path) -> None:
    """REFI-QDA 1.5 §10.2: positions are Unicode code points from 0; "ø" is one, not two."""
    qde = etree.fromstring(members(qdpx)["project.qde"])
    ns = {"q": "urn:QDA-XML:project:1.0"}
    starts = {int(s.get("startPosition")) for s in qde.iterfind(".//q:PlainTextSelection", ns)}
    start = RUNDSKRIV.index("stønaden")
    assert start in starts
    # "år" and "får" come first: counted in UTF-8 bytes, the span would start 2 later.
    assert RUNDSKRIV.encode().index("stønaden".encode()) == start + 2
    text = next(data for name, data in members(qdpx).items() if name.startswith("sources/")
                and data.decode().startswith("Unge")).decode()  # fmt: skip
    assert text[start : start + len("stønaden")] == "stønaden"


def test_export_is_reproducible(tmp_path: Path) -> None:
    shuffled = QdaProject(
        PROJECT.name, PROJECT.sources, PROJECT.codes, CODINGS[::-1], PROJECT.coders
    )
    first = write_qdpx(PROJECT, tmp_path / "a.qdpx").read_bytes()
    assert write_qdpx(shuffled, tmp_path / "b.qdpx").read_bytes() == first
    assert (
        write_qdc(CODES, tmp_path / "a.qdc").read_bytes()
        == write_qdc(CODES, tmp_path / "b.qdc").read_bytes()
    )


def test_codebook_and_project_agree_on_code_guids(qdpx: Path, tmp_path: Path) -> None:
    def guids(root: etree._Element) -> dict[str, str]:
        return {e.get("name"): e.get("guid") for e in root.iter("{*}Code")}

    qdc = etree.parse(str(write_qdc(CODES, tmp_path / "k.qdc"))).getroot()
    assert guids(qdc) == guids(etree.fromstring(members(qdpx)["project.qde"]))


def test_coders_the_codings_name_are_added_as_users(tmp_path: Path) -> None:
    project = QdaProject(PROJECT.name, PROJECT.sources, CODES, CODINGS, coders=("Per",))
    assert read_qdpx(write_qdpx(project, tmp_path / "p.qdpx")).coders == (
        "Per", "Åse Ødegård", "Kari Nordmann",
    )  # fmt: skip


def test_codebook_round_trip(tmp_path: Path) -> None:
    assert read_qdc(write_qdc(CODES, tmp_path / "kodebok.qdc")) == list(CODES)


def test_reads_another_tools_codebook_nested_with_braced_guids(tmp_path: Path) -> None:
    """The shape of the standard's own example: braces, upper case, codes within codes."""
    path = tmp_path / "atlas.qdc"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="ATLAS.ti"><Codes>'
        '<Code guid="{5215CC69-B628-4E02-AFB9-9BEEAEE55808}" name="Tema" isCodable="false">'
        '  <Code guid="D7AA29DA-519B-4946-9B90-253B6DB8FD0A" name="Økonomi" isCodable="true"'
        '   color="#ffff00"><Description>Alt om penger</Description></Code>'
        "</Code></Codes></CodeBook>",
        encoding="utf-8",
    )
    schema("Codebook.xsd").assertValid(etree.parse(str(path)))
    assert read_qdc(path) == [QdaCode("Tema"), QdaCode("Økonomi", "Alt om penger", "#ffff00")]


def test_memo_from_notes_and_coding_of_the_whole_source(qdpx: Path) -> None:
    """Other tools put memos in <Notes> with a <NoteRef>, and code a whole source directly."""
    note = str(uuid.uuid4())
    files = members(qdpx)
    qde = etree.fromstring(files["project.qde"])
    q = "{urn:QDA-XML:project:1.0}"
    source = qde.find(f"{q}Sources/{q}TextSource")
    selection = source.find(f"{q}PlainTextSelection")
    etree.SubElement(selection, f"{q}NoteRef", targetGUID=note)
    whole = etree.Element(f"{q}Coding", guid=str(uuid.uuid4()))
    etree.SubElement(whole, f"{q}CodeRef", targetGUID=qde.find(f".//{q}Code").get("guid"))
    source.find(f"{q}VariableValue").addprevious(whole)
    notes = etree.Element(f"{q}Notes")
    qde.find(f"{q}Sources").addnext(notes)
    etree.SubElement(etree.SubElement(notes, f"{q}Note", guid=note, name="Notat"),
                     f"{q}PlainTextContent").text = "Et notat om æøå."  # fmt: skip
    schema("Project.xsd").assertValid(qde)
    files["project.qde"] = etree.tostring(qde)
    read = read_qdpx(rezip(qdpx.with_name("notes.qdpx"), files))
    assert QdaCoding("fafo-2018", 0, len(RAPPORT), "Barrierer", "") in read.codings
    first = min((c for c in read.codings if c.doc_id == "fafo-2018" and c.end < len(RAPPORT)),
                key=lambda c: (c.start, c.end))  # fmt: skip
    assert first.memo.endswith("Et notat om æøå.")


def test_sources_that_are_not_text_are_reported_not_dropped(qdpx: Path) -> None:
    pdf = f'<PDFSource guid="{uuid.uuid4()}" name="Rapport.pdf" path="internal://x.pdf"/></Sources>'
    read = read_qdpx(edited(qdpx, "</Sources>", pdf))
    assert read.skipped == ("PDFSource 'Rapport.pdf': not a text source",)
    assert len(read.sources) == 2


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet="abcæøåÆØÅ §\n–😀", min_size=1, max_size=40), data=st.data())
def test_any_span_slices_back_to_its_text(tmp_path: Path, text: str, data: st.DataObject) -> None:
    """Offsets slice back to the text, an emoji (outside the BMP) counting as one character."""
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    project = QdaProject("p", (QdaSource("d", "D", text),), (QdaCode("k"),),
                         (QdaCoding("d", start, end, "k", "å"),))  # fmt: skip
    read = read_qdpx(write_qdpx(project, tmp_path / "h.qdpx"))
    (coding,) = read.codings
    assert (coding.start, coding.end) == (start, end)
    assert read.sources[0].text[coding.start : coding.end] == text[start:end]


# ---- bad files -----------------------------------------------------------------------------


def test_qda_error_is_a_pipeline_error() -> None:
    assert issubclass(QdaError, PipelineError)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "tekst.qdpx"
    path.write_text("dette er ikke en zip", encoding="utf-8")
    with pytest.raises(QdaError, match=r"^tekst\.qdpx: is not a readable \.qdpx \(zip\) file"):
        read_qdpx(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QdaError, match=r"^borte\.qdpx: cannot be read"):
        read_qdpx(tmp_path / "borte.qdpx")
    with pytest.raises(QdaError, match=r"^borte\.qdc: cannot be read"):
        read_qdc(tmp_path / "borte.qdc")


def test_zip_without_project_qde(tmp_path: Path) -> None:
    path = rezip(tmp_path / "tom.qdpx", {"sources/a.txt": b"tekst"})
    with pytest.raises(QdaError, match=r"^tom\.qdpx: holds no project\.qde"):
        read_qdpx(path)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE Project [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    '<Project xmlns="urn:QDA-XML:project:1.0" name="&b;"/>'
)


@pytest.mark.parametrize(
    ("qde", "message"),
    [
        (b"<Project name='x'", r"project\.qde is not well-formed XML"),
        (
            "<Prosjekt name='æ'/>".encode(),
            r"project\.qde is a <Prosjekt>, not a REFI-QDA <Project>",
        ),
        (BILLION_LAUGHS.encode(), r"project\.qde declares a DOCTYPE"),
        (b"\xff\xfe<", r"project\.qde is not well-formed XML"),
    ],
)
def test_project_qde_that_is_not_refi_qda(tmp_path: Path, qde: bytes, message: str) -> None:
    path = rezip(tmp_path / "feil.qdpx", {"project.qde": qde})
    with pytest.raises(QdaError, match=rf"^feil\.qdpx: {message}"):
        read_qdpx(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('endPosition="', 'endPosition="9', r"selection \S+ in '.+' spans \d+–9\d+, outside its text of \d+ characters"),
        ('startPosition="', 'startPosition="-', r"selection \S+ .* spans -\d+–\d+, outside its text"),
        ('startPosition="', 'startPosition="x', r"has positions 'x\d+'–'\d+', not whole numbers"),
        ('<CodeRef targetGUID="', '<CodeRef targetGUID="0', r"a coding in '.+' refers to code '0[0-9a-f-]+', not in the codebook"),
        ('<User guid="', '<User guid="0', r"a coding in '.+' names user '[0-9a-f-]+', not among the users"),
        ('plainTextPath="internal://', 'plainTextPath="internal://../../', r"has plainTextPath 'internal://\.\./\.\./[0-9a-f-]+\.txt', outside the sources folder"),
        ('plainTextPath="internal://', 'plainTextPath="internal://x', r"names sources/x[0-9a-f-]+\.txt, which is not in the file"),
        ('plainTextPath="internal://', 'plainTextPath="relative://', r"has no internal plain text \(plainTextPath 'relative://"),
        ('name="Barrierer"', 'name="Unge"', r"two codes are named 'Unge'; rename one"),
    ],
    ids=["end-past-text", "negative-start", "not-a-number", "unknown-code", "unknown-user",
         "path-traversal", "missing-source", "external-source", "duplicate-code"],
)  # fmt: skip
def test_bad_project_qde(qdpx: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(QdaError, match=rf"^bad\.qdpx: .*{message}"):
        read_qdpx(edited(qdpx, old, new))


def test_source_that_is_not_utf8(qdpx: Path) -> None:
    files = members(qdpx)
    name = next(n for n in files if n.startswith("sources/"))
    files[name] = "Økonomi".encode("latin-1")
    with pytest.raises(QdaError, match=r"^latin\.qdpx: sources/\S+\.txt is not UTF-8"):
        read_qdpx(rezip(qdpx.with_name("latin.qdpx"), files))


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (QdaLimits(max_members=2), r"holds 3 files, over QdaLimits\.max_members \(2\)"),
        (QdaLimits(max_total_mib=0), r"unpacks to 0 MiB, over QdaLimits\.max_total_mib \(0 MiB\)"),
        (QdaLimits(max_xml_mib=0), r"project\.qde is over 0 MiB"),
    ],
)
def test_import_is_bounded(qdpx: Path, limits: QdaLimits, message: str) -> None:
    with pytest.raises(QdaError, match=rf"^koding\.qdpx: {message}"):
        read_qdpx(qdpx, limits)


def test_a_lying_zip_header_unpacks_no_further(tmp_path: Path) -> None:
    """A member whose declared size is small is read no further than that size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", b"<Project " + b" " * 5_000_000 + b"name='x'/>")
    data = bytearray(buffer.getvalue())
    # The central directory's uncompressed size (offset 24 in its record) says 100 bytes.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path = tmp_path / "lyver.qdpx"
    path.write_bytes(bytes(data))
    with pytest.raises(QdaError, match=r"^lyver\.qdpx: is not a readable .* \(Bad CRC-32"):
        read_qdpx(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<CodeBook", r"the codebook is not well-formed XML"),
        (b"<Project xmlns='urn:QDA-XML:project:1.0' name='x'/>", r"the codebook is a <Project>, not a REFI-QDA <CodeBook>"),
        (b"<CodeBook><Codes><Code isCodable='true'/></Codes></CodeBook>", r"a <Code> has no name or guid"),
    ],
)  # fmt: skip
def test_bad_codebook(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "kodebok.qdc"
    path.write_bytes(content)
    with pytest.raises(QdaError, match=rf"^kodebok\.qdc: {message}"):
        read_qdc(path)


def test_codebook_over_its_limit(tmp_path: Path) -> None:
    path = write_qdc(CODES, tmp_path / "stor.qdc")
    with pytest.raises(QdaError, match=r"^stor\.qdc: is over 0 MiB \(QdaLimits\.max_xml_mib\)"):
        read_qdc(path, QdaLimits(max_xml_mib=0))


# ---- what cannot be written ----------------------------------------------------------------


def with_codings(*codings: QdaCoding) -> QdaProject:
    return QdaProject(PROJECT.name, PROJECT.sources, CODES, codings, PROJECT.coders)


@pytest.mark.parametrize(
    ("project", "message"),
    [
        (with_codings(QdaCoding("fafo-2018", 5, 9999, "Unge", "Kari")), r"the coding of fafo-2018\[5:9999\] with 'Unge' is not a span of its text \(0 to \d+\)"),
        (with_codings(QdaCoding("fafo-2018", 7, 7, "Unge", "Kari")), r"is not a span of its text"),
        (with_codings(QdaCoding("ukjent", 0, 3, "Unge", "Kari")), r"the coding of ukjent\[0:3\] with 'Unge' names no source"),
        (with_codings(QdaCoding("fafo-2018", 0, 3, "Bolig", "Kari")), r"with 'Bolig' names no code"),
        (with_codings(CODINGS[0], CODINGS[0]), r"by 'Åse Ødegård' is given twice"),
        (with_codings(QdaCoding("fafo-2018", 0, 3, "Unge", "Kari", "ugyldig \x0c tegn")), r"the memo of .* holds U\+000C, which XML cannot hold"),
        (QdaProject("p", PROJECT.sources * 2), r"doc_id 'fafo-2018' is empty or given twice"),
        (QdaProject("p", codes=(QdaCode("Unge", color="blå"),)), r"code 'Unge' has colour 'blå'; use #rrggbb"),
        (QdaProject("p", codes=(QdaCode("Unge"), QdaCode("Unge"))), r"code name 'Unge' is empty or given twice"),
        (QdaProject("p", (QdaSource("d", "D", "brutt \ud800"),)), r"the text of 'd' holds a lone surrogate at 6"),
    ],
    ids=["past-end", "empty-span", "unknown-doc", "unknown-code", "duplicate", "control-char",
         "duplicate-doc", "bad-colour", "duplicate-code", "surrogate"],
)  # fmt: skip
def test_what_cannot_be_written(tmp_path: Path, project: QdaProject, message: str) -> None:
    with pytest.raises(QdaError, match=rf"^ut\.qdpx: .*{message}"):
        write_qdpx(project, tmp_path / "ut.qdpx")
    assert list(tmp_path.iterdir()) == []


def test_empty_codebook_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(QdaError, match=r"^tom\.qdc: a codebook needs at least one code"):
        write_qdc([], tmp_path / "tom.qdc")


def test_unwritable_folder(tmp_path: Path) -> None:
    with pytest.raises(
        QdaError, match=r"^ut\.qdpx: cannot be written \(No such file or directory\)"
    ):
        write_qdpx(PROJECT, tmp_path / "mangler" / "ut.qdpx")

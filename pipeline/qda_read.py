"""Reading REFI-QDA 1.5 projects (.qdpx) and codebooks (.qdc) into `pipeline.qda`'s model.

Everything read is bounded by `QdaLimits` (members, unpacked size, XML size) and checked: no
DOCTYPE or entities, no path outside the zip, no selection outside its source, no code or
user that the project does not define. A broken file is a `QdaError` naming it and saying why.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

from pipeline.errors import QdaError
from pipeline.qda import (
    AGAIN,
    DEFAULT_LIMITS,
    DOC_ID,
    INTERNAL,
    MIB,
    QDE_NAME,
    SOURCES,
    Element,
    QdaCode,
    QdaCoding,
    QdaLimits,
    QdaProject,
    QdaSource,
)


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

"""Reading a corpus folder: its MANIFEST.toml, its files, and their content hashes."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
import unicodedata
from dataclasses import fields
from pathlib import Path
from typing import Any

from pipeline.errors import CorpusError, ManifestError
from pipeline.formats import READERS
from pipeline.model import CorpusScan, Failure, Kind, Source

MANIFEST_NAME = "MANIFEST.toml"
SUPPORTED_SUFFIXES = frozenset(READERS)  # the suffixes with a reader
# Files a corpus folder may hold that are not documents.
IGNORED_NAMES = frozenset({MANIFEST_NAME, "README.md", "README.txt", "LICENSE", ".gitkeep"})
REQUIRED_KEYS = ("id", "file", "kind", "title")
# Manifest keys and the Source field each fills.
KEY_TO_FIELD = {
    "id": "doc_id",
    "file": "path",
    "kind": "kind",
    "title": "title",
    "short": "short",
    "publisher": "publisher",
    "year": "year",
    "official_id": "official_id",
    "version": "version",
    "origin": "origin",
    "license": "license",
    "note": "note",
}
DOC_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def valid_kinds() -> str:
    return ", ".join(k.value for k in Kind)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes: what a rebuild compares to see that a document changed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_corpus(folder: Path | str, *, allow_outside: bool = False) -> CorpusScan:
    """Every document in a corpus folder: manifest entries first, then files with no entry.

    Files are read only from inside the folder: a manifest path or a link that leads out of
    it is reported, not read, unless ``allow_outside`` (a corpus that deliberately links to a
    shared archive). A corpus handed over by someone else must not make the build read
    ``../../secret.txt`` or ``/home/…`` into an index that others search.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(
            f"corpus folder '{folder}' does not exist or is not a folder: "
            "pass --corpus with a folder that holds documents and a MANIFEST.toml."
        )
    manifest = folder / MANIFEST_NAME
    sources: list[Source] = []
    failures: list[Failure] = []
    notices: list[str] = []
    if manifest.is_file():
        entries = load_manifest(manifest)
        for number, entry in enumerate(entries, start=1):
            try:
                source = source_from_entry(entry, folder, number)
            except ManifestError as err:
                failures.append(Failure(manifest, str(err)))
                continue
            problem = entry_problem(source, str(entry["file"]), folder, allow_outside)
            if problem:
                failures.append(Failure(source.path, problem))
                continue
            sources.append(source)
    else:
        notices.append(f"{folder}: no {MANIFEST_NAME}; metadata of every file is inferred.")
    check_unique_ids(sources, manifest)
    listed = {s.path.resolve() for s in sources} | {f.path.resolve() for f in failures}
    taken_ids = {s.doc_id for s in sources}
    for path in corpus_files(folder, allow_outside):
        if path.resolve() in listed or path.name in IGNORED_NAMES or path.name.startswith("."):
            continue
        if not allow_outside and not inside(path, folder):
            failures.append(Failure(path, outside_reason(path, folder)))
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            failures.append(Failure(path, unsupported_reason(path)))
            continue
        source = infer_source(path, taken=taken_ids)
        taken_ids.add(source.doc_id)
        sources.append(source)
        notices.append(
            f"{path.relative_to(folder)}: no manifest entry, ingested as '{source.doc_id}' "
            f"with metadata inferred from the file; add an entry to {MANIFEST_NAME} to set them."
        )
    return CorpusScan(tuple(sources), tuple(failures), tuple(notices))


def corpus_files(folder: Path, allow_outside: bool) -> list[Path]:
    """Every file under the folder, sorted; links to folders are followed only when allowed.

    A link to a folder outside is listed itself (and then reported) rather than silently
    skipped; each real folder is walked once, so a link loop ends.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    for root, dirs, names in os.walk(folder, followlinks=allow_outside):
        real = Path(root).resolve()
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        for name in dirs:
            linked = Path(root) / name
            if linked.is_symlink() and not allow_outside and not inside(linked, folder):
                files.append(linked)
        files.extend(Path(root) / name for name in names if (Path(root) / name).is_file())
    return sorted(files)


def inside(path: Path, folder: Path) -> bool:
    """Whether a path, links followed, lies in the folder (itself resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


def outside_reason(path: Path, folder: Path) -> str:
    what = "is a link to" if path.is_symlink() else "is reached through a link, at"
    if path.is_dir():
        what = "is a link to the folder"
    return (
        f"{what} '{path.resolve()}', outside the corpus folder '{folder}'; copy the file "
        "into the folder, or pass --allow-outside-corpus to read it where it is."
    )


def entry_problem(source: Source, named: str, folder: Path, allow_outside: bool) -> str | None:
    """Why a manifest entry's file cannot be read, or None when it can."""
    where = f"the manifest entry '{source.doc_id}' names file '{named}'"
    if not allow_outside and not inside(source.path, folder):
        return (
            f"{where}, which is outside the corpus folder '{folder}'; move the file into "
            "the folder and name it relative to it, or pass --allow-outside-corpus."
        )
    if source.path.is_dir():
        return f"{where}, which is a folder; name a file inside it (e.g. '{named}/rapport.pdf')."
    if not source.path.is_file():
        return f"{where}, which does not exist: add the file or remove the entry."
    return None


def load_manifest(manifest: Path) -> list[dict[str, Any]]:
    """The [[document]] tables of a manifest; a syntax error names the line to fix."""
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{manifest}: not valid TOML ({err}); fix that line.") from err
    except UnicodeDecodeError as err:
        raise ManifestError(f"{manifest}: not UTF-8 text; save it as UTF-8.") from err
    entries = data.get("document", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ManifestError(
            f"{manifest}: documents must be [[document]] tables, found {type(entries).__name__}."
        )
    return entries


def source_from_entry(entry: dict[str, Any], folder: Path, number: int) -> Source:
    """Turn one [[document]] table into a Source, checking every key."""
    where = f"{MANIFEST_NAME} entry {number} ({entry.get('id', 'no id')})"
    missing = [key for key in REQUIRED_KEYS if not entry.get(key)]
    if missing:
        raise ManifestError(
            f"{where}: missing {', '.join(missing)}; every entry needs id, file, kind, title."
        )
    unknown = sorted(set(entry) - set(KEY_TO_FIELD))
    if unknown:
        raise ManifestError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"valid keys are {', '.join(KEY_TO_FIELD)}."
        )
    if not DOC_ID_RE.match(str(entry["id"])):
        raise ManifestError(
            f"{where}: id '{entry['id']}' must be lower-case letters, digits, '.', '_' or '-'."
        )
    try:
        kind = Kind(entry["kind"])
    except ValueError as err:
        raise ManifestError(
            f"{where}: kind '{entry['kind']}' is not one of {valid_kinds()}."
        ) from err
    year = entry.get("year")
    if year is not None and not (isinstance(year, int) and 1800 < year < 2200):
        raise ManifestError(f"{where}: year '{year}' must be a four-digit number such as 2021.")
    values = {KEY_TO_FIELD[key]: value for key, value in entry.items()}
    values.update(kind=kind, path=folder / str(entry["file"]), doc_id=str(entry["id"]))
    text_fields = {f.name for f in fields(Source)} - {"kind", "path", "year", "inferred"}
    for name in text_fields & values.keys():
        values[name] = str(values[name])
    return Source(**values)


def check_unique_ids(sources: list[Source], manifest: Path) -> None:
    seen: dict[str, Path] = {}
    for source in sources:
        if source.doc_id in seen:
            raise ManifestError(
                f"{manifest}: id '{source.doc_id}' is used for both {seen[source.doc_id].name} "
                f"and {source.path.name}; give each document its own id."
            )
        seen[source.doc_id] = source.path


def source_for_file(path: Path) -> Source:
    """The manifest entry of a file inside a corpus folder, else metadata inferred from it."""
    resolved = path.resolve()
    for folder in resolved.parents:
        manifest = folder / MANIFEST_NAME
        if not manifest.is_file():
            continue
        for number, entry in enumerate(load_manifest(manifest), start=1):
            if entry.get("file") and (folder / str(entry["file"])).resolve() == resolved:
                return source_from_entry(entry, folder, number)
        break
    return infer_source(path)


def infer_source(path: Path, *, taken: set[str] | frozenset[str] = frozenset()) -> Source:
    """Metadata for a file with no manifest entry: id and title from its name, year if any."""
    stem = path.stem
    doc_id = id_from_name(stem)
    base, n = doc_id, 2
    while doc_id in taken:
        doc_id, n = f"{base}-{n}", n + 1
    year_match = re.search(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)", stem)
    title = re.sub(r"[_-]+", " ", stem).strip().capitalize() or path.name
    return Source(
        doc_id=doc_id,
        path=path,
        kind=Kind.OTHER,
        title=title,
        year=int(year_match.group(1)) if year_match else None,
        inferred=True,
    )


# Norwegian letters written out the way Norwegian web addresses and file names do it.
TRANSLITERATION = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ß": "ss", "þ": "th", "đ": "d"})


def id_from_name(stem: str) -> str:
    """A document id from a file name: Norwegian letters and accents transliterated.

    "Årsrapport Bærum 2021" → "arsrapport-baerum-2021", "Évaluering" → "evaluering".
    """
    plain = unicodedata.normalize("NFKD", stem.lower().translate(TRANSLITERATION))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9._-]+", "-", plain).strip("-._") or "document"


def unsupported_reason(path: Path) -> str:
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return (
        f"no extractor for '{path.suffix or '(no extension)'}' files; "
        f"convert it to one of {supported}, or move it out of the corpus folder."
    )

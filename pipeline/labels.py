"""Researchers' coding: reviewed theme labels, coded spans and memos, per coder.

The model tags every passage (`pipeline.themes`); a researcher reviews those tags, accepts,
rejects or adds a theme, codes a span of a passage with a theme or a code of their own, and
writes a memo. Decisions live in one SQLite file outside every index (`paths.labels_file`),
so no rebuild touches them. Each is keyed by the passage id *and* a hash of the passage's
text at the time: when a rebuild changes a passage's text, its decisions are flagged for
re-review on the passage that took its place (`ReviewStatus.CHANGED`), or kept as orphans
(`MISSING`) — never silently applied to other words, never dropped.

A passage's label is the reviewed one where a current review exists (the latest, across
coders), the model's otherwise; `resolve` says which, and exports and filters use it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import LabelError
from pipeline.model import THEMES, Passage

if TYPE_CHECKING:
    pass

SCHEMA_VERSION = 1
MAX_CODER_CHARS = 60
MAX_CODE_CHARS = 60
MAX_MEMO_CHARS = 5_000
MODEL_CODER = "modell"  # how exports name the model when it is the one that coded

SCHEMA = """
CREATE TABLE IF NOT EXISTS labels_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reviews (
    coder TEXT NOT NULL,
    passage_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,          -- of the passage text the coder read
    text TEXT NOT NULL,               -- that text, so a changed passage can be shown
    labels TEXT NOT NULL,             -- JSON list: the themes the coder holds, codebook order
    model_labels TEXT NOT NULL,       -- JSON list: what the model said at the time
    reviewed_at TEXT NOT NULL,
    PRIMARY KEY (coder, passage_id)
);
CREATE TABLE IF NOT EXISTS spans (
    span_id INTEGER PRIMARY KEY,
    coder TEXT NOT NULL,
    passage_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    start INTEGER NOT NULL,           -- offsets in the passage text
    end INTEGER NOT NULL,
    code TEXT NOT NULL,
    quote TEXT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    coded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memos (
    coder TEXT NOT NULL,
    passage_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    memo TEXT NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (coder, passage_id)
);
CREATE TABLE IF NOT EXISTS codes (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    coder TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (   -- every decision, in order: the audit trail
    event_id INTEGER PRIMARY KEY,
    coder TEXT NOT NULL,
    passage_id TEXT NOT NULL,
    action TEXT NOT NULL,             -- accept, reject, add, none, span, memo
    theme TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_passage ON spans(passage_id);
CREATE INDEX IF NOT EXISTS reviews_passage ON reviews(passage_id);
"""


@dataclass(frozen=True, slots=True)
class Review:
    """One coder's theme labels for one passage, as they read it."""

    coder: str
    passage_id: str
    doc_id: str
    text_hash: str
    text: str
    labels: tuple[str, ...]
    model_labels: tuple[str, ...]
    reviewed_at: str

    @property
    def corrected(self) -> bool:
        """Whether the coder changed what the model said."""
        return self.labels != self.model_labels


@dataclass(frozen=True, slots=True)
class Span:
    """A part of a passage coded with a theme or a researcher's own code."""

    span_id: int
    coder: str
    passage_id: str
    doc_id: str
    text_hash: str
    start: int
    end: int
    code: str
    quote: str
    memo: str
    coded_at: str


@dataclass(frozen=True, slots=True)
class Code:
    """A code a researcher added beside the four themes."""

    name: str
    description: str
    coder: str


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_coder(name: str) -> str:
    """A coder's name as given, trimmed; no passwords, but not empty or unprintable."""
    name = " ".join(name.split())
    if not name:
        raise LabelError("give a coder name (for example your initials) with --coder.")
    if len(name) > MAX_CODER_CHARS or not name.isprintable():
        raise LabelError(
            f"a coder name is at most {MAX_CODER_CHARS} printable characters, not {name!r}."
        )
    return name


def check_code_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_CODE_CHARS or not name.isprintable():
        raise LabelError(
            f"a code name is 1 to {MAX_CODE_CHARS} printable characters, not {name!r}."
        )
    return name


def check_memo(memo: str) -> str:
    if len(memo) > MAX_MEMO_CHARS:
        raise LabelError(f"a memo is at most {MAX_MEMO_CHARS} characters, not {len(memo)}.")
    return memo.strip()


def ordered(themes: Iterable[str]) -> tuple[str, ...]:
    """Themes in codebook order, each checked."""
    chosen = set(themes)
    unknown = sorted(chosen - set(THEMES))
    if unknown:
        raise LabelError(f"unknown theme '{unknown[0]}'; valid themes are {', '.join(THEMES)}.")
    return tuple(theme for theme in THEMES if theme in chosen)


class LabelStore:
    """The coding decisions of every coder, in one SQLite file (created on first use).

    Safe to share between threads: one connection, used under a lock. Every write commits
    at once, so a decision is kept when the process stops the moment after.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        from pipeline.paths import labels_file

        self.path = Path(path) if path is not None else labels_file()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            version = self._db.execute("SELECT version FROM labels_schema").fetchone()
            if version is None:
                self._db.execute("INSERT INTO labels_schema VALUES (?)", (SCHEMA_VERSION,))
                self._db.commit()
            elif version[0] != SCHEMA_VERSION:
                raise LabelError(
                    f"the labels store {self.path} has schema version {version[0]}; this kvp "
                    f"reads version {SCHEMA_VERSION}. Use the kvp version that wrote it."
                )
        except (sqlite3.Error, OSError) as err:
            raise LabelError(
                f"the labels store {self.path} cannot be opened ({err}); check the path and "
                "its permissions, or set KVP_LABELS to another file."
            ) from err

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Writing -----------------------------------------------------------------------------

    def review(self, coder: str, passage: Passage, labels: Iterable[str]) -> Review:
        """Store the coder's full set of themes for a passage (replacing an earlier one)."""
        coder, chosen, model = check_coder(coder), ordered(labels), passage.labels
        record = Review(coder, passage.passage_id, passage.doc_id, text_hash(passage.text),
                        passage.text, chosen, model, now())  # fmt: skip
        events = [(verdict_of(theme, chosen, model), theme) for theme in THEMES]
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (coder, record.passage_id, record.doc_id, record.text_hash, record.text,
                 json.dumps(list(chosen)), json.dumps(list(model)), record.reviewed_at),
            )  # fmt: skip
            self._db.executemany(
                "INSERT INTO events (coder, passage_id, action, theme, at) VALUES (?, ?, ?, ?, ?)",
                [(coder, record.passage_id, action, theme, record.reviewed_at)
                 for action, theme in events if action],
            )  # fmt: skip
        return record

    def decide(
        self,
        coder: str,
        passage: Passage,
        *,
        accept: Collection[str] = (),
        reject: Collection[str] = (),
        add: Collection[str] = (),
    ) -> Review:
        """Accept, reject or add themes, starting from the coder's current review of the
        passage, or from the model's labels when there is none."""
        coder = check_coder(coder)
        ordered([*accept, *reject, *add])
        both = (set(accept) | set(add)) & set(reject)
        if both:
            raise LabelError(f"'{sorted(both)[0]}' cannot be both kept and rejected.")
        earlier = self.review_of(coder, passage.passage_id)
        current = earlier is not None and earlier.text_hash == text_hash(passage.text)
        start = set(earlier.labels if current and earlier else passage.labels)
        return self.review(coder, passage, (start | set(accept) | set(add)) - set(reject))

    def code_span(
        self, coder: str, passage: Passage, start: int, end: int, code: str, memo: str = ""
    ) -> Span:
        """Code characters start..end of the passage text with a theme or an added code."""
        coder, code, memo = check_coder(coder), check_code_name(code), check_memo(memo)
        if code not in THEMES and code not in {c.name for c in self.codes()}:
            raise LabelError(
                f"unknown code '{code}'; use a theme ({', '.join(THEMES)}) or add the code "
                "first (kvp code add-code)."
            )
        if not 0 <= start < end <= len(passage.text):
            raise LabelError(
                f"a span is start < end within the passage's {len(passage.text)} characters, "
                f"not {start}..{end}."
            )
        quote, at = passage.text[start:end], now()
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO spans (coder, passage_id, doc_id, text_hash, start, end, code, "
                "quote, memo, coded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (coder, passage.passage_id, passage.doc_id, text_hash(passage.text), start,
                 end, code, quote, memo, at),
            )  # fmt: skip
            self._db.execute(
                "INSERT INTO events (coder, passage_id, action, theme, at) VALUES (?, ?, ?, ?, ?)",
                (coder, passage.passage_id, "span", code, at),
            )
        span_id = cursor.lastrowid or 0
        return Span(span_id, coder, passage.passage_id, passage.doc_id, text_hash(passage.text),
                    start, end, code, quote, memo, at)  # fmt: skip

    def remove_span(self, coder: str, span_id: int) -> None:
        coder = check_coder(coder)
        with self._lock, self._db:
            deleted = self._db.execute(
                "DELETE FROM spans WHERE span_id = ? AND coder = ?", (span_id, coder)
            ).rowcount
        if not deleted:
            raise LabelError(f"{coder} has no coded span {span_id}.")

    def write_memo(self, coder: str, passage: Passage, memo: str) -> None:
        """The coder's memo on a passage; an empty memo removes it."""
        coder, memo, at = check_coder(coder), check_memo(memo), now()
        with self._lock, self._db:
            if memo:
                self._db.execute(
                    "INSERT OR REPLACE INTO memos VALUES (?, ?, ?, ?, ?)",
                    (coder, passage.passage_id, text_hash(passage.text), memo, at),
                )
            else:
                self._db.execute(
                    "DELETE FROM memos WHERE coder = ? AND passage_id = ?",
                    (coder, passage.passage_id),
                )
            self._db.execute(
                "INSERT INTO events (coder, passage_id, action, theme, at) VALUES (?, ?, ?, ?, ?)",
                (coder, passage.passage_id, "memo", "", at),
            )

    def add_code(self, name: str, coder: str, description: str = "") -> Code:
        name, coder = check_code_name(name), check_coder(coder)
        if name in THEMES:
            raise LabelError(f"'{name}' is one of the four themes already.")
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO codes VALUES (?, ?, ?, ?)",
                (name, check_memo(description), coder, now()),
            )
        return next(c for c in self.codes() if c.name == name)

    # Reading -----------------------------------------------------------------------------

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args))

    def reviews(self, coder: str | None = None) -> list[Review]:
        where, args = ("WHERE coder = ?", (coder,)) if coder else ("", ())
        rows = self._rows(f"SELECT * FROM reviews {where} ORDER BY reviewed_at, passage_id", args)
        return [review_from_row(row) for row in rows]

    def review_of(self, coder: str, passage_id: str) -> Review | None:
        rows = self._rows(
            "SELECT * FROM reviews WHERE coder = ? AND passage_id = ?", (coder, passage_id)
        )
        return review_from_row(rows[0]) if rows else None

    def spans(self, coder: str | None = None, passage_id: str | None = None) -> list[Span]:
        clauses = [c for c, v in (("coder = ?", coder), ("passage_id = ?", passage_id)) if v]
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        args = [v for v in (coder, passage_id) if v]
        rows = self._rows(f"SELECT * FROM spans {where} ORDER BY passage_id, start", args)
        return [Span(*row) for row in rows]  # type: ignore[arg-type]

    def memo(self, coder: str, passage_id: str) -> str:
        rows = self._rows(
            "SELECT memo FROM memos WHERE coder = ? AND passage_id = ?", (coder, passage_id)
        )
        return str(rows[0][0]) if rows else ""

    def memos(self) -> dict[tuple[str, str], str]:
        """(coder, passage id) → memo."""
        return {(str(c), str(p)): str(m) for c, p, m in self._rows(
            "SELECT coder, passage_id, memo FROM memos")}  # fmt: skip

    def codes(self) -> list[Code]:
        rows = self._rows("SELECT name, description, coder FROM codes ORDER BY name")
        return [Code(str(n), str(d), str(c)) for n, d, c in rows]

    def coders(self) -> list[str]:
        rows = self._rows("SELECT coder FROM reviews UNION SELECT coder FROM spans ORDER BY 1")
        return [str(row[0]) for row in rows]

    def reviewed_since(self, when: str | None) -> int:
        """How many passage reviews (any coder) were saved after `when` (an ISO time)."""
        rows = self._rows(
            "SELECT count(DISTINCT coder || char(0) || passage_id) FROM events "
            "WHERE action IN ('accept', 'reject', 'add', 'none') AND at > ?",
            (when or "",),
        )
        return int(str(rows[0][0]))


def verdict_of(theme: str, chosen: Collection[str], model: Collection[str]) -> str:
    """How a coder's set answers the model on one theme: accept, reject, add or none."""
    if theme in chosen:
        return "accept" if theme in model else "add"
    return "reject" if theme in model else "none"


def review_from_row(row: Sequence[object]) -> Review:
    coder, passage_id, doc_id, digest, text, labels, model, at = row
    chosen, given = tuple(json.loads(str(labels))), tuple(json.loads(str(model)))
    return Review(str(coder), str(passage_id), str(doc_id), str(digest), str(text), chosen,
                  given, str(at))  # fmt: skip

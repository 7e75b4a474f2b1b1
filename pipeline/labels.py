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
import re
import sqlite3
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipeline.errors import LabelError
from pipeline.model import THEMES, Passage

if TYPE_CHECKING:
    from pipeline.themes import LabelledExample

SCHEMA_VERSION = 1
MAX_CODER_CHARS = 60
MAX_CODE_CHARS = 60
MAX_MEMO_CHARS = 5_000
SUCCESSOR_SIMILARITY = 0.5  # word-set overlap at which a new passage takes an old one's place
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


class ReviewStatus(StrEnum):
    CURRENT = "current"  # the passage still has the text the coder read
    CHANGED = "changed"  # its text changed in a rebuild: to be reviewed again
    MISSING = "missing"  # no passage of the document is like it any more


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


@dataclass(frozen=True, slots=True)
class Resolved:
    """The labels a passage counts under, and where they come from."""

    labels: tuple[str, ...]
    source: Literal["reviewed", "model"]
    coder: str = ""  # the coder whose review it is
    status: str = "model"  # "reviewed", "model", or "changed" (reviewed before the text changed)


@dataclass(frozen=True, slots=True)
class Placed:
    """A stored review set against the passages of the current index."""

    review: Review
    status: ReviewStatus
    passage_id: str  # where it applies now: its own passage, or the one that took its place


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


def uncertainty(passage: Passage) -> float:
    """1 when some theme's probability is 0.5 (the model cannot tell), 0 when every theme is
    certain either way: one minus twice the smallest distance to the threshold."""
    if not passage.themes:
        return 1.0
    return 1.0 - 2.0 * min(abs(probability - 0.5) for _, probability in passage.themes)


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


# Against the current index -------------------------------------------------------------


def word_set(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", text.lower()))


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' words: what survives a re-extraction's repairs."""
    first, second = word_set(a), word_set(b)
    return len(first & second) / len(first | second) if first | second else 0.0


def place(
    reviews: Iterable[Review],
    passages: Mapping[str, Passage],
    by_doc: Mapping[str, Sequence[Passage]],
) -> list[Placed]:
    """Where each stored review stands now: on its passage, on the passage that took its
    place after the text changed (to be reviewed again), or nowhere (kept, shown as missing)."""
    placed = []
    for review in reviews:
        passage = passages.get(review.passage_id)
        if passage is not None and text_hash(passage.text) == review.text_hash:
            placed.append(Placed(review, ReviewStatus.CURRENT, passage.passage_id))
            continue
        candidates = by_doc.get(review.doc_id, ())
        best = max(candidates, key=lambda p: similarity(p.text, review.text), default=None)
        if best is not None and similarity(best.text, review.text) >= SUCCESSOR_SIMILARITY:
            placed.append(Placed(review, ReviewStatus.CHANGED, best.passage_id))
        else:
            placed.append(Placed(review, ReviewStatus.MISSING, ""))
    return placed


def place_all(reviews: Iterable[Review], passages: Sequence[Passage]) -> list[Placed]:
    """`place` against a list of passages (an index's, in text order)."""
    by_id = {p.passage_id: p for p in passages}
    by_doc: dict[str, list[Passage]] = {}
    for passage in passages:
        by_doc.setdefault(passage.doc_id, []).append(passage)
    return place(reviews, by_id, by_doc)


def review_codings(
    placed: Iterable[Placed], coders: Collection[str] = ()
) -> dict[str, dict[str, frozenset[str]]]:
    """Coder → passage id → themes, from the current reviews (of the chosen coders): what
    `pipeline.agreement` compares."""
    codings: dict[str, dict[str, frozenset[str]]] = {}
    for item in placed:
        if item.status is ReviewStatus.CURRENT and (not coders or item.review.coder in coders):
            codings.setdefault(item.review.coder, {})[item.passage_id] = frozenset(
                item.review.labels
            )
    return codings


def resolve(passages: Iterable[Passage], placed: Iterable[Placed]) -> dict[str, Resolved]:
    """Every passage's labels: the latest current review's where one exists (across coders),
    else the model's; a passage whose reviewed text changed keeps the model's until it is
    reviewed again, marked "changed"."""
    latest: dict[str, Review] = {}
    changed: set[str] = set()
    for item in placed:
        if item.status is ReviewStatus.CURRENT:
            earlier = latest.get(item.passage_id)
            if earlier is None or item.review.reviewed_at >= earlier.reviewed_at:
                latest[item.passage_id] = item.review
        elif item.status is ReviewStatus.CHANGED:
            changed.add(item.passage_id)
    resolved = {}
    for passage in passages:
        review = latest.get(passage.passage_id)
        if review is not None:
            resolved[passage.passage_id] = Resolved(review.labels, "reviewed", review.coder,
                                                    "reviewed")  # fmt: skip
        else:
            status = "changed" if passage.passage_id in changed else "model"
            resolved[passage.passage_id] = Resolved(passage.labels, "model", "", status)
    return resolved


@dataclass(frozen=True, slots=True)
class CoderStatus:
    coder: str
    reviewed: int  # current reviews
    corrected: int  # of them, those that changed the model's labels
    spans: int
    changed: int  # reviews whose passage text changed: to review again
    missing: int  # reviews whose passage is gone (kept, not applied)


def coding_status(placed: Iterable[Placed], spans: Iterable[Span]) -> list[CoderStatus]:
    """What each coder has done, and what a rebuild left for them to look at again."""
    rows: dict[str, list[int]] = {}
    for item in placed:
        row = rows.setdefault(item.review.coder, [0, 0, 0, 0, 0])
        if item.status is ReviewStatus.CURRENT:
            row[0] += 1
            row[1] += item.review.corrected
        else:
            row[3 if item.status is ReviewStatus.CHANGED else 4] += 1
    for span in spans:
        rows.setdefault(span.coder, [0, 0, 0, 0, 0])[2] += 1
    return [CoderStatus(coder, *counts) for coder, counts in sorted(rows.items())]


QueueOrder = Literal["uncertainty", "document", "theme"]
QUEUE_ORDERS: tuple[QueueOrder, ...] = ("uncertainty", "document", "theme")


def check_order(order: str) -> QueueOrder:
    for known in QUEUE_ORDERS:
        if order == known:
            return known
    raise LabelError(f"unknown queue order '{order}'; choose {', '.join(QUEUE_ORDERS)}.")


def queue(
    passages: Sequence[Passage],
    placed: Iterable[Placed],
    coder: str,
    *,
    order: QueueOrder = "uncertainty",
    theme: str | None = None,
    doc_id: str | None = None,
) -> list[Passage]:
    """The passages a coder has still to review, those whose text changed since they
    reviewed them first; then by uncertainty (least sure first), by document (text order),
    or by one theme's probability nearest the threshold."""
    coder = check_coder(coder)
    if theme is not None:
        ordered([theme])
    done: set[str] = set()
    again: set[str] = set()
    for item in placed:
        if item.review.coder != coder or not item.passage_id:
            continue
        (done if item.status is ReviewStatus.CURRENT else again).add(item.passage_id)
    todo = [(i, p) for i, p in enumerate(passages)
            if p.passage_id not in done and (doc_id is None or p.doc_id == doc_id)]  # fmt: skip
    if order == "uncertainty":
        todo.sort(key=lambda item: (-uncertainty(item[1]), item[0]))
    elif order == "theme":
        if theme is None:
            raise LabelError(
                "the theme queue needs a theme; give one of " + ", ".join(THEMES) + "."
            )
        chosen = theme
        todo.sort(key=lambda item: (abs(dict(item[1].themes).get(chosen, 0.0) - 0.5), item[0]))
    todo.sort(key=lambda item: item[1].passage_id not in again)  # stable: re-reviews first
    return [p for _, p in todo]


# Retraining ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MergedLabels:
    """Labelled examples with the reviewed labels folded in, and what the reviews did."""

    examples: list[LabelledExample]
    replaced: int  # train examples whose labels a review changed
    confirmed: int  # train examples a review left as they were
    added: int  # reviewed passages that were not labelled before: new train examples
    held_out: int  # reviewed passages of the test split: kept out of training


def merge_reviews(examples: Sequence[LabelledExample], reviews: Iterable[Review]) -> MergedLabels:
    """Fold reviews into the labelled data for training: a review's labels replace a train
    example's with the same document and text, a reviewed passage that was not labelled
    becomes a train example, and a review of a test passage is left out, so the held-out
    split stays what it was (its labels too) and the before/after numbers compare.

    Several coders on one text: the latest review counts, as in `resolve`.
    """
    from pipeline.themes import LabelledExample

    def key(doc_id: str, text: str) -> tuple[str, str]:
        return doc_id, " ".join(text.split())

    latest: dict[tuple[str, str], Review] = {}
    for review in sorted(reviews, key=lambda r: r.reviewed_at):
        latest[key(review.doc_id, review.text)] = review
    split = {key(e.doc_id, e.text): e.split for e in examples}
    merged, replaced, confirmed = [], 0, 0
    for example in examples:
        found = latest.get(key(example.doc_id, example.text))
        if found is None or example.split != "train":
            merged.append(example)
        elif found.labels == example.labels:
            confirmed += 1
            merged.append(example)
        else:
            replaced += 1
            merged.append(LabelledExample(example.doc_id, example.text, found.labels, "train"))
    new = [r for k, r in latest.items() if k not in split]
    merged.extend(LabelledExample(r.doc_id, r.text, r.labels, "train") for r in new)
    held_out = sum(split.get(k) == "test" for k in latest)
    return MergedLabels(merged, replaced, confirmed, len(new), held_out)

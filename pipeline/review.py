"""Reviews against the index in use: where each stands after a rebuild, which labels count.

`pipeline.labels` keeps what coders decided, as they read it; this module sets those
decisions against the passages of the current build. `place` finds each review's passage —
the same text (current), the most similar passage of the document after the text changed
(to review again), or none (kept, not applied) — `resolve` gives every passage the labels it
counts under, `queue` what a coder has still to do, and `merge_reviews` what retraining
gets (never a held-out passage's review).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pipeline.errors import LabelError
from pipeline.labels import Review, Span, check_coder, ordered, text_hash
from pipeline.model import THEMES, Passage

if TYPE_CHECKING:
    from pipeline.themes import LabelledExample

SUCCESSOR_SIMILARITY = 0.5  # word-set overlap at which a new passage takes an old one's place


class ReviewStatus(StrEnum):
    CURRENT = "current"  # the passage still has the text the coder read
    CHANGED = "changed"  # its text changed in a rebuild: to be reviewed again
    MISSING = "missing"  # no passage of the document is like it any more


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


def uncertainty(passage: Passage) -> float:
    """1 when some theme's probability is 0.5 (the model cannot tell), 0 when every theme is
    certain either way: one minus twice the smallest distance to the threshold."""
    if not passage.themes:
        return 1.0
    return 1.0 - 2.0 * min(abs(probability - 0.5) for _, probability in passage.themes)


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


def reviewed_themes(
    reviews: Iterable[Review], passages: Sequence[Passage]
) -> dict[str, tuple[str, ...]]:
    """Passage id → the themes of its latest current review, for the reviewed passages only:
    what a theme filter counts them under (`pipeline.search.Index.reviewed_themes`)."""
    resolved = resolve(passages, place_all(reviews, passages))
    return {pid: r.labels for pid, r in resolved.items() if r.source == "reviewed"}


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

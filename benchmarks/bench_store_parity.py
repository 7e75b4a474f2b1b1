"""Parity: the folder index and a PostgreSQL store built from the same corpus, question by question.

    .venv/bin/python benchmarks/bench_store_parity.py                  # throwaway server
    .venv/bin/python benchmarks/bench_store_parity.py --store URL      # an existing store
    .venv/bin/python benchmarks/bench_store_parity.py --engine ray     # build the store on Ray

Builds the corpus into a store (on a throwaway bundled server unless ``--store`` names one;
the embedding cache makes the vectors the folder index's), then asks every question of the
evaluation set (all splits) and of the training data's test and held-out splits of both: the
overlap of the top-10 passage ids, whether the order is the same, and whether ``ask`` gives
the same answer (abstains alike, cites the same passages, quotes the same sentences).
Disagreements are listed with their question.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.model import Answer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def answer_key(answer: Answer) -> tuple[object, ...]:
    """What a caseworker sees of an answer: its text, whether it abstained, and its quotes."""
    return (answer.abstained, answer.text,
            tuple((c.passage_id, c.quote) for c in answer.citations))  # fmt: skip


def compare(local_dir: Path, url: str) -> int:
    from pipeline.answer import ask
    from pipeline.evaluate import question_sets
    from pipeline.search import Index

    local = Index(local_dir)
    shared = Index(url, encoder=local.encoder)
    sets, skipped = question_sets(local, "all")
    for name, reason in skipped.items():
        print(f"{name}: skipped ({reason})")
    questions = list(dict.fromkeys(q.question for qs in sets.values() for q in qs))
    overlaps, same_order, same_answer, disagreements = [], 0, 0, []
    timings: dict[str, list[float]] = {"folder": [], "store": []}
    for question in questions:
        started = time.perf_counter()
        here = [h.passage.passage_id for h in local.search(question, k=10)]
        timings["folder"].append(time.perf_counter() - started)
        started = time.perf_counter()
        there = [h.passage.passage_id for h in shared.search(question, k=10)]
        timings["store"].append(time.perf_counter() - started)
        overlaps.append(len(set(here) & set(there)) / max(len(here), 1))
        same_order += here == there
        a, b = answer_key(ask(local, question)), answer_key(ask(shared, question))
        same_answer += a == b
        if here != there or a != b:
            disagreements.append(question)
    n = len(questions)
    print("| questions | top-10 overlap | same top-10 order | same answer |")
    print("|---|---|---|---|")
    print(f"| {n} | {sum(overlaps) / n:.3f} (min {min(overlaps):.1f}) | {same_order}/{n} | "
          f"{same_answer}/{n} |")  # fmt: skip
    for where, values in timings.items():
        values.sort()
        print(f"search p50 {where}: {values[len(values) // 2] * 1000:.1f} ms")
    for question in disagreements[:20]:
        print(f"differs: {question}")
    return 0 if not disagreements else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--index", type=Path, default=REPO / "indexes" / "default")
    parser.add_argument("--store", help="an existing store (default: a throwaway server)")
    parser.add_argument("--engine", default="local", choices=["local", "ray"])
    args = parser.parse_args()

    from pipeline.engine import load_engine
    from pipeline.index import build_index
    from pipeline.store import server
    from pipeline.themes import ThemeClassifier

    def build_and_compare(url: str) -> int:
        engine = load_engine(args.engine)
        try:
            started = time.perf_counter()
            report = build_index(args.corpus, url, classifier=ThemeClassifier.load(),
                                 engine=engine)  # fmt: skip
            print(f"store build ({args.engine}): {report.passages} passages, "
                  f"{time.perf_counter() - started:.1f} s, stages {report.seconds}")  # fmt: skip
        finally:
            engine.close()
        return compare(args.index, url)

    if args.store:
        return build_and_compare(args.store)
    with tempfile.TemporaryDirectory(prefix="kvp-pg-", dir="/tmp") as folder, server.throwaway(
        Path(folder) / "data"
    ) as url:
        return build_and_compare(url)


if __name__ == "__main__":
    raise SystemExit(main())

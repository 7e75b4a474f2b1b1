"""Speed of the search pipeline on the sample corpus, by stage. Run by hand, not in CI:

    .venv/bin/python benchmarks/bench_search.py [--skip-cold-build]

Measures: a build from scratch (empty embedding cache), a rebuild with nothing changed,
warm search latency over the evaluation questions (with the time split between encoder,
BM25 and faiss), and `kvp ask` from a cold process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KVP = str(Path(sys.executable).with_name("kvp"))


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return time.perf_counter() - start, done.stdout


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-cold-build", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kvp-bench-"))
    env = {**os.environ, "KVP_EMBEDDING_CACHE": str(work / "cache.sqlite")}
    index = str(work / "index")
    if args.skip_cold_build:
        env.pop("KVP_EMBEDDING_CACHE")
    seconds, out = timed([KVP, "build", "--index", index], env)
    kind = "(warm cache)" if args.skip_cold_build else "from scratch"
    print(f"build {kind}: {seconds:.1f} s\n  {out.strip()}")
    seconds, out = timed([KVP, "build", "--index", index], env)
    print(f"rebuild, nothing changed: {seconds:.1f} s\n  {out.strip()}")
    warm_queries(index, env)
    cold = [
        timed([KVP, "ask", "Hvor lenge kan programmet vare?", "--index", index], env)[0]
        for _ in range(3)
    ]
    runs = ", ".join(f"{c:.2f}" for c in cold)
    print(f"kvp ask from a cold process: median {statistics.median(cold):.2f} s (runs {runs})")


def warm_queries(index_dir: str, env: dict[str, str]) -> None:
    os.environ.update(env)
    from pipeline.answer import ask
    from pipeline.evaluate import load_questions
    from pipeline.search import load_index

    index = load_index(index_dir)
    questions = [q.question for q in load_questions()]
    ask(index, questions[0])  # load the encoder and the models
    # The index remembers query vectors (search and answers share them): time the encoder
    # itself, and the retrievers after the question's vector is known.
    raw = getattr(index.encoder, "encoder", index.encoder)
    parts: dict[str, list[float]] = {
        name: [] for name in ("search", "encoder", "bm25", "dense", "charngram", "ask")
    }
    for question in questions:
        start = time.perf_counter()
        index.search(question, k=10)
        parts["search"].append(time.perf_counter() - start)
        start = time.perf_counter()
        raw.encode_queries([question])
        parts["encoder"].append(time.perf_counter() - start)
        for name in ("bm25", "dense", "charngram"):
            start = time.perf_counter()
            index.retriever(name).rank(question, None, 100)
            parts[name].append(time.perf_counter() - start)
    index = load_index(index_dir)  # a fresh index: no query vector remembered yet
    ask(index, "Hvem kan delta i kvalifiseringsprogrammet?")
    for question in questions:
        start = time.perf_counter()
        ask(index, question)
        parts["ask"].append(time.perf_counter() - start)
    ms = 1000
    print(
        f"warm search over {len(questions)} questions: p50 "
        f"{statistics.median(parts['search']) * ms:.1f} ms, "
        f"p95 {percentile(parts['search'], 0.95) * ms:.1f} ms"
    )
    print(
        "  of which: "
        + ", ".join(
            f"{name} p50 {statistics.median(parts[name]) * ms:.1f} ms"
            for name in ("encoder", "bm25", "dense", "charngram")
        )
        + " (the rest: fusion, reranking, passages)"
    )
    print(
        f"warm ask over the same questions (sentences not seen before are encoded): p50 "
        f"{statistics.median(parts['ask']) * ms:.1f} ms, "
        f"p95 {percentile(parts['ask'], 0.95) * ms:.1f} ms"
    )


if __name__ == "__main__":
    main()

"""Benchmark: a PostgreSQL store at 10^5 passages — loading, disk, search, one changed document.

    .venv/bin/python benchmarks/bench_store_scale.py [--passages 100000] [--questions 200]
    .venv/bin/python benchmarks/bench_store_scale.py --passages 10000 --keep /tmp/kvp-scale

The synthetic corpus of `benchmarks/bench_scale.py` (Norwegian passages recombined from the
sample corpus, vectors derived from their real vectors) is written as text files with a
manifest, so the store's documents are real corpus entries; the store is then loaded with the
store's own writer (`StoreWriter`: counts, statistics, weights, one transaction per document
version, one to publish), on a throwaway bundled server. Measured:

- loading: passages/s per stage (counting terms and n-grams, writing with the HNSW index
  maintained on insert, publishing);
- disk per 10^5 passages: every table and index of the store;
- search: `Index.search` end to end (all three retrievers in SQL, fusion, the reranker) and
  each retriever alone, p50/p95 over evaluation questions, with the real encoder;
- one changed document: `build_index` on the corpus folder with one file edited — the real
  incremental build (scan and hash every file, process and embed one document, statistics,
  publish) — with the embedding time apart.

Prints Markdown tables and writes JSON to ``--out`` (default ``build/bench_store_scale.json``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_scale import SyntheticDocument, load_sample, synthetic_corpus  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def write_corpus(folder: Path, documents: list[SyntheticDocument]) -> None:
    """The synthetic documents as text files with a manifest entry each."""
    (folder / "syn").mkdir(parents=True)
    entries = []
    for d in documents:
        (folder / "syn" / f"{d.doc_id}.txt").write_text(d.text + "\n", encoding="utf-8")
        title = d.title.replace('"', "'")
        entries.append(
            f'[[document]]\nid = "{d.doc_id}"\nfile = "syn/{d.doc_id}.txt"\nkind = "{d.kind}"\n'
            f'title = "{title}"\nyear = {d.year}\npublisher = "{d.publisher}"\n'
        )
    (folder / "MANIFEST.toml").write_text("\n".join(entries), encoding="utf-8")


def load_store(url: str, folder: Path, documents: list[SyntheticDocument]) -> dict[str, Any]:
    """Write every document's version as a build of the folder would, then publish."""
    import numpy as np

    from pipeline.corpus import content_hash, load_corpus
    from pipeline.embed import load_encoder
    from pipeline.index import build_manifest, manifest_settings, version_inputs
    from pipeline.model import Document, ExtractionReport
    from pipeline.retrievers import CharNgramRetriever
    from pipeline.serialize import passage_from_dict
    from pipeline.settings import Settings
    from pipeline.store.postgres import StoreWriter, statistics, version_of, weights

    encoder = load_encoder()
    recorded = manifest_settings(Settings())
    decides = version_inputs(recorded, encoder, None)
    sources = {s.doc_id: s for s in load_corpus(folder).sources}
    hashes = {doc_id: content_hash(s.path) for doc_id, s in sources.items()}
    passages = [passage_from_dict(p.record()) for d in documents for p in d.passages]
    vectors = np.vstack([d.vectors for d in documents])
    seconds: dict[str, float] = {}
    with StoreWriter(url, encoder.dim) as store:
        started = time.perf_counter()
        counts = store.count(passages)
        stats = statistics(None, counts, ([], [], 0), CharNgramRetriever.FEATURES)
        bm25, ngrams = weights(counts, stats)
        seconds["count and weigh"] = time.perf_counter() - started
        started, start = time.perf_counter(), 0
        versions = []
        for d in documents:
            end = start + len(d.passages)
            source = sources[d.doc_id]
            document = Document(source, d.text, (), hashes[d.doc_id], ExtractionReport())
            version = version_of(source, hashes[d.doc_id], decides)
            store.write_version(
                version,
                document,
                passages[start:end],
                vectors[start:end],
                counts.lengths[start:end],
                (bm25[start:end], ngrams[start:end]),
            )
            versions.append(version)
            start = end
        seconds["write (HNSW on insert)"] = time.perf_counter() - started
        started = time.perf_counter()
        manifest = build_manifest(
            recorded, folder, encoder, None, dict(sorted(hashes.items())), stats.passages
        )
        store.publish(manifest, versions, stats, None)
        seconds["publish"] = time.perf_counter() - started
    return {"passages": len(passages), "seconds": seconds}


def disk(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r') ORDER BY 2 DESC"
        ).fetchall()
        hnsw = connection.execute("SELECT pg_relation_size('passages_embedding')").fetchone()
    sizes = {str(name): int(size) for name, size in found}
    sizes["(of which the HNSW index)"] = int(hnsw[0]) if hnsw else 0
    return sizes


def search_latency(url: str, questions: list[str]) -> dict[str, dict[str, float]]:
    from pipeline.search import Index

    index = Index(url)
    index.search(questions[0])  # load the encoder and the reranker
    timings: dict[str, list[float]] = {"search (fused, reranked)": []}
    for name in index.settings.retrievers:
        timings[name] = []
    for question in questions:
        started = time.perf_counter()
        index.search(question)
        timings["search (fused, reranked)"].append(time.perf_counter() - started)
        for name in index.settings.retrievers:
            started = time.perf_counter()
            index.retriever(name).rank(question, None, index.settings.candidates)
            timings[name].append(time.perf_counter() - started)
    latency = {
        name: {"p50 ms": percentile(v, 0.5) * 1000, "p95 ms": percentile(v, 0.95) * 1000}
        for name, v in timings.items()
    }
    latency["charngram, exact scan"] = ngram_recall(index, questions)
    index.store.close()
    return latency


def ngram_recall(index: Any, questions: list[str]) -> dict[str, float]:
    """The exact n-gram scan's latency, and how many of its top 10 and 100 the rare-n-gram
    candidates find."""
    from pipeline.store import postgres

    retriever = index.retriever("charngram")
    n = index.settings.candidates
    timings, at_10, at_100 = [], [], []
    for question in questions:
        fast = list(retriever.rank(question, None, n))
        limit, postgres.EXACT_NGRAM_PASSAGES = postgres.EXACT_NGRAM_PASSAGES, 10**12
        try:
            started = time.perf_counter()
            exact = list(retriever.rank(question, None, n))
            timings.append(time.perf_counter() - started)
        finally:
            postgres.EXACT_NGRAM_PASSAGES = limit
        if exact:
            at_10.append(len(set(fast[:10]) & set(exact[:10])) / len(exact[:10]))
            at_100.append(len(set(fast) & set(exact)) / len(exact))
    return {
        "p50 ms": percentile(timings, 0.5) * 1000,
        "p95 ms": percentile(timings, 0.95) * 1000,
        "recall@10 of the candidates": sum(at_10) / max(len(at_10), 1),
        "recall@100 of the candidates": sum(at_100) / max(len(at_100), 1),
    }


def change_one(url: str, folder: Path, documents: list[SyntheticDocument]) -> dict[str, Any]:
    from pipeline.index import build_index

    changed = folder / "syn" / f"{documents[len(documents) // 2].doc_id}.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nEt nytt avsnitt om oppfølging av deltakerne.\n",
        encoding="utf-8",
    )
    started = time.perf_counter()
    report = build_index(folder, url)
    total = time.perf_counter() - started
    return {
        "processed": list(report.processed),
        "reused": len(report.reused),
        "seconds": total,
        "stages": report.seconds,
        "without embedding": total - report.seconds.get("embed", 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="keep the corpus and the server's data here")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_store_scale.json")
    args = parser.parse_args()

    from pipeline.store import server

    work = args.keep or Path(tempfile.mkdtemp(prefix="kvp-scale-", dir="/tmp"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sample = load_sample()
    started = time.perf_counter()
    documents = list(synthetic_corpus(args.passages, sample=sample))
    write_corpus(work / "corpus", documents)
    print(
        f"generated {args.passages} passages in {len(documents)} documents, "
        f"{time.perf_counter() - started:.0f} s"
    )
    questions = [json.loads(line)["question"] for line in
                 (REPO / "benchmarks" / "retrieval" / "questions.jsonl").read_text().splitlines()
                 if line][: args.questions]  # fmt: skip
    results: dict[str, Any] = {}
    with server.throwaway(work / "pgdata") as url:
        results["load"] = load_store(url, work / "corpus", documents)
        results["disk"] = disk(url)
        results["search"] = search_latency(url, questions)
        results["change one document"] = change_one(url, work / "corpus", documents)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    n = results["load"]["passages"]
    print(f"\n### Loading {n} passages\n\n| stage | s | passages/s |\n|---|---|---|")
    for stage, seconds in results["load"]["seconds"].items():
        print(f"| {stage} | {seconds:.1f} | {n / seconds:,.0f} |")
    print("\n### Disk\n\n| table | MB | MB per 10^5 passages |\n|---|---|---|")
    for table, size in results["disk"].items():
        print(f"| {table} | {size / 1e6:.1f} | {size / 1e6 * 1e5 / n:.1f} |")
    print(f"\n### Search at {n} passages ({len(questions)} questions, 1 client)\n")
    print("| what | p50 ms | p95 ms |\n|---|---|---|")
    for name, values in results["search"].items():
        print(f"| {name} | {values['p50 ms']:.1f} | {values['p95 ms']:.1f} |")
    recall = results["search"]["charngram, exact scan"]
    print(
        f"\nn-gram candidates by rare n-grams find {recall['recall@10 of the candidates']:.3f} "
        f"of the exact scan's top 10 and {recall['recall@100 of the candidates']:.3f} of its "
        "top 100."
    )
    change = results["change one document"]
    print(f"\n### One changed document in {n}\n")
    print(
        f"processed {change['processed']}, kept {change['reused']} documents; "
        f"{change['seconds']:.1f} s in all, {change['without embedding']:.1f} s without "
        f"embedding; stages {change['stages']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

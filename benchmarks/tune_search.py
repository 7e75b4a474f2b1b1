"""Tune retrievers and fusion on the dev half of the evaluation set.

The test half is never read here. Run by hand after `kvp build`:
    .venv/bin/python benchmarks/tune_search.py [--index DIR] [--questions eval|training]

``--questions training`` searches on the dev split of the retrieval training data (227
questions on passages never trained on) instead of the evaluation set's 59: fusion weights
are learnt there, by a search over a grid and then coordinate steps around its best.
Prints Recall@1/5 and MRR@10 per search setting, each passed to the library as a
`SearchSettings`. The chosen values are the defaults in pipeline/settings.py. Abstention is
no longer tuned here: it is a trained model (`kvp train-answers`, `pipeline.answer_models`)
whose threshold is chosen on the training data's dev split.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from pipeline.evaluate import (
    EvalQuestion,
    evaluate_retrieval,
    index_rankers,
    load_questions,
    training_questions,
)
from pipeline.search import Index
from pipeline.settings import SearchSettings

SEARCH_GRID: list[SearchSettings] = [
    SearchSettings(
        retrievers=retrievers, weights=weights, fusion=fusion, rrf_k=rrf_k, reranker="none"
    )
    for fusion, rrf_ks in (("rrf", (20, 60)), ("convex", (60,)))
    for rrf_k in rrf_ks
    for retrievers, weights in (
        (("dense", "bm25"), (1.0, 1.0)),
        (("dense", "bm25"), (1.0, 0.5)),
        (("dense", "bm25"), (1.0, 1.5)),
        (("dense", "charngram"), (1.0, 1.0)),
        (("dense", "bm25", "charngram"), (1.0, 1.0, 0.5)),
        (("dense", "bm25", "charngram"), (1.0, 1.0, 1.0)),
        (("dense", "bm25", "charngram"), (1.0, 0.5, 0.5)),
    )
]


def measure(index: Index, questions: list[EvalQuestion], settings: SearchSettings) -> float:
    """MRR@10 of the settings (fused order, no reranker), printed with Recall@1/5."""
    texts = {doc_id: d.text for doc_id, d in index.documents.items()}
    searcher = Index(index.location, encoder=index.encoder, settings=settings)
    hybrid = {"hybrid": index_rankers(searcher)["kvp hybrid (passages)"]}
    (scores,) = evaluate_retrieval(questions, texts, hybrid)
    recall = dict(scores.recall)
    mix = " + ".join(f"{n} {w:g}" for n, w in settings.weighted)
    setting = f"{settings.fusion:<6} k {settings.rrf_k:<3} {mix:<36}"
    print(f"{setting} R@1 {recall[1]:.3f} R@5 {recall[5]:.3f} MRR {scores.mrr:.3f}", flush=True)
    return scores.mrr


def tune_search(index: Index, questions: list[EvalQuestion]) -> SearchSettings:
    """The grid, then coordinate steps on the weights of the best setting."""
    results = [(measure(index, questions, s), s) for s in SEARCH_GRID]
    best_mrr, best = max(results, key=lambda r: r[0])
    improved = True
    while improved:
        improved = False
        for i in range(len(best.weights)):
            for step in (-0.25, 0.25):
                weights = list(best.weights)
                weights[i] = round(weights[i] + step, 2)
                if weights[i] < 0:
                    continue
                candidate = replace(best, weights=tuple(weights))
                mrr = measure(index, questions, candidate)
                if mrr > best_mrr + 1e-9:
                    best_mrr, best, improved = mrr, candidate, True
    print(f"best: {best} (MRR@10 {best_mrr:.3f})")
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=None)
    parser.add_argument("--questions", choices=("eval", "training"), default="eval")
    args = parser.parse_args()
    index = Index(args.index, settings=replace(Index(args.index).settings, reranker="none"))
    if args.questions == "training":
        questions = training_questions(index, "dev")
    else:
        questions = load_questions(split="dev")
    print(f"dev questions: {len(questions)}")
    tune_search(index, questions)


if __name__ == "__main__":
    main()

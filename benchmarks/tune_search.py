"""Tune fusion weights and abstention thresholds on the dev half of the evaluation set.

The test half is never read here. Run by hand after `kvp build`:
    .venv/bin/python benchmarks/tune_search.py [--index DIR]
Prints Recall@5 / MRR@10 per fusion setting and the abstention trade-off per threshold
pair; the chosen values are the constants in pipeline/search.py and pipeline/answer.py.
"""

from __future__ import annotations

import argparse

from pipeline import answer as answering
from pipeline import search as searching
from pipeline.evaluate import EvalQuestion, evaluate_retrieval, index_rankers, load_questions
from pipeline.index import DEFAULT_INDEX
from pipeline.search import load_index

FUSION_GRID = [(lexical, rrf) for lexical in (0.5, 0.75, 1.0, 1.5, 2.0) for rrf in (20, 60)]
SIMILARITY_GRID = [0.80, 0.82, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.90]
SPECIFIC_GRID = [0, 3, 5, 10, 20]  # 0: the rare-word rule off


def tune_fusion(index: searching.Index, questions: list) -> None:
    texts = {doc_id: d.text for doc_id, d in index.documents.items()}
    for lexical, rrf in FUSION_GRID:
        searching.LEXICAL_WEIGHT, searching.RRF_K = lexical, rrf
        hybrid = {"hybrid": index_rankers(index)["kvp hybrid (passages)"]}
        (scores,) = evaluate_retrieval(questions, texts, hybrid)
        recall = dict(scores.recall)
        setting = f"lexical weight {lexical:<5} rrf k {rrf:<3}"
        print(f"{setting} R@1 {recall[1]:.3f} R@5 {recall[5]:.3f} MRR {scores.mrr:.3f}")


def evidence(index: searching.Index, question: str, specific_df: int) -> tuple[float, bool, bool]:
    """The best sentence similarity, whether a rare question word is missing, § matched."""
    hits = index.search(question, k=answering.SOURCE_COUNT)
    top = hits[: answering.ANSWER_PASSAGES]
    scored = answering.score_sentences(index, question, answering.candidate_sentences(top))
    best = max((c.similarity for c in scored), default=0.0)
    answering.SPECIFIC_DF = specific_df
    present = answering.tokens_of([h.passage for h in top])
    missing = bool(answering.missing_specific_words(index, question, present))
    return best, missing, bool(hits and hits[0].via_reference)


def tune_abstention(index: searching.Index, questions: list[EvalQuestion]) -> None:
    rows = []
    for specific_df in SPECIFIC_GRID:
        seen = [(q, *evidence(index, q.question, specific_df)) for q in questions]
        for min_sim in SIMILARITY_GRID:
            abstained = [(q.answerable, not ref and (sim < min_sim or missing))
                         for q, sim, missing, ref in seen]  # fmt: skip
            unanswerable = [a for answerable, a in abstained if not answerable]
            answerable = [a for is_answerable, a in abstained if is_answerable]
            rate, false = sum(unanswerable) / len(unanswerable), sum(answerable) / len(answerable)
            rows.append((rate, false, min_sim, specific_df))
    for rate, false, min_sim, specific_df in sorted(rows, key=lambda r: (r[1], -r[0])):
        print(
            f"similarity ≥ {min_sim:.2f}, rare-word df ≤ {specific_df:<2}: abstains on "
            f"{rate:.2f} of unanswerable, {false:.2f} of answerable"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=str(DEFAULT_INDEX))
    args = parser.parse_args()
    index = load_index(args.index)
    questions = load_questions(split="dev")
    print(f"dev questions: {len(questions)}")
    tune_fusion(index, questions)
    searching.LEXICAL_WEIGHT, searching.RRF_K = 1.0, 60
    tune_abstention(index, questions)


if __name__ == "__main__":
    main()

"""Every report sentence of the built index that states a rule the current statute states
otherwise. Run by hand, not in CI:

    .venv/bin/python benchmarks/scan_superseded.py [--index indexes/default] [--verbose]

A sentence is checked against the statute passages of the §§ it cites; one that cites none
against those its passage cited before it (a cite governs the text after it); one with no
cite before it against every statute passage, where context agreement decides. `--verbose`
also lists every sentence that states a rule and has a figure, flagged or not, so misses
can be read too. Prints each flagged sentence, with its passage, document, year, the reason
and the current statute sentence, then the count and the time per check.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pipeline.answer import statute_texts
from pipeline.model import STATUTE_KINDS, LegalRef, Passage
from pipeline.quantities import quantities
from pipeline.search import load_index
from pipeline.supersede import states_rule, supersession


def governing_refs(passage: Passage, start: int, end: int) -> list[LegalRef]:
    """The §§ a sentence cites, else those cited earlier in its passage."""
    refs = [r for r in passage.legal_refs if r.section]
    own = [r for r in refs if start <= r.char_start < end]
    return own or [r for r in refs if r.char_end <= start]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    index = load_index(args.index) if args.index else load_index()
    everything = statute_texts(index)  # as answers check report citations
    statutes = {text.passage.passage_id: text for text in everything}
    flagged, checks, elapsed = 0, 0, 0.0
    for passage in index.store.passages():
        source = index.source_of(passage)
        if source.kind in STATUTE_KINDS:
            continue
        for start, end in passage.sentences:
            sentence = passage.text[start:end]
            refs = governing_refs(passage, start, end)
            pool = everything
            if refs:
                ids = dict.fromkeys(p.passage_id for r in refs for p in index.provision(r))
                pool = [statutes[i] for i in ids if i in statutes]
            cited = [r.key for r in refs]
            clock = time.perf_counter()
            found = supersession(sentence, pool, cited=cited)
            elapsed += time.perf_counter() - clock
            checks += 1
            flat = " ".join(sentence.split())
            if found is None:
                if args.verbose and states_rule(sentence) and quantities(sentence):
                    print(f"   not flagged [{passage.passage_id}] {flat}")
                continue
            flagged += 1
            print(f"[{passage.passage_id}] {source.doc_id} ({source.year})")
            print(f"  report:  {flat}")
            print(f"  reason:  {found.reason}")
            print(
                f"  current: {' '.join(found.current.split())}  ({found.by}, since {found.since})"
            )
    per_check = 1000 * elapsed / max(checks, 1)
    print(f"\n{flagged} flagged of {checks} report sentences; {per_check:.2f} ms per check")


if __name__ == "__main__":
    main()

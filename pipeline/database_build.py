"""A build into a PostgreSQL store (`kvp build --store postgresql://…`).

The same stages as the folder build (`pipeline.index`) on the same engine — extract, segment,
annotate, embed through the embedding cache, themes — with the store's own bookkeeping
(`pipeline.store.postgres`): a document is processed only when its version (id, bytes,
manifest entry, the settings that decide passages, encoder and theme model) is not in the
store yet; the new build's statistics are the previous build's, less the versions that left,
plus those that came; the build becomes current in one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.corpus import content_hash, load_corpus
from pipeline.index import (
    BuildReport,
    Progress,
    Stopwatch,
    build_manifest,
    embed,
    manifest_settings,
    process_new,
    theme_passages,
    version_inputs,
)
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.embed import Encoder
    from pipeline.engine import BuildEngine
    from pipeline.themes import ThemeClassifier


def build_database(
    corpus: Path,
    url: str,
    *,
    encoder: Encoder | None = None,
    classifier: ThemeClassifier | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
    allow_outside: bool = False,
    wait: float = 0.0,
    engine: BuildEngine,
) -> BuildReport:
    from pipeline.embed import load_encoder
    from pipeline.retrievers import CharNgramRetriever
    from pipeline.store.postgres import StoreWriter, shown, statistics, version_of, weights

    settings = settings or Settings()
    recorded = manifest_settings(settings)
    clock = Stopwatch()
    scan = load_corpus(corpus, allow_outside=allow_outside)
    encoder = encoder or load_encoder()
    decides = version_inputs(recorded, encoder, classifier)
    hashes = {s.doc_id: content_hash(s.path) for s in scan.sources}
    versions = {s.doc_id: version_of(s, hashes[s.doc_id], decides) for s in scan.sources}
    with StoreWriter(url, encoder.dim, wait=wait) as store:
        notices = [*scan.notices, *([store.notice] if store.notice else [])]
        current = store.current()
        before = store.members(current[0]) if current else set()
        present = store.present(versions.values())
        todo = [s for s in scan.sources if versions[s.doc_id] not in present]
        clock.lap("scan")
        fresh, failures = process_new(todo, settings, progress, engine)
        clock.lap("extract")
        members = [versions[s.doc_id] for s in scan.sources
                   if versions[s.doc_id] in present or s.doc_id in fresh]  # fmt: skip
        if (current and set(members) == before and not fresh
                and current[1].get("settings") == recorded):  # fmt: skip
            return BuildReport(
                index_dir=shown(url), documents=len(members), passages=current[2].passages,
                processed=(), reused=tuple(s.doc_id for s in scan.sources),
                removed=(), failures=(*scan.failures, *failures), notices=tuple(notices),
                up_to_date=True, seconds=clock.seconds,
            )  # fmt: skip
        passages = [p for _, own in fresh.values() for p in own]
        vectors = embed(encoder, passages, progress, engine)
        clock.lap("embed")
        if classifier is not None:
            same = vectors if classifier.meta.get("encoder") == encoder.name else None
            passages = theme_passages(passages, same, classifier, None)
        clock.lap("themes")
        counts = store.count(passages)
        gone = store.stored_counts(before - set(members))
        stats = statistics(current[2] if current else None, counts, gone,
                           CharNgramRetriever.FEATURES)  # fmt: skip
        bm25, ngrams = weights(counts, stats)
        start = 0
        for doc_id, (document, own) in fresh.items():
            end = start + len(own)
            store.write_version(versions[doc_id], document, passages[start:end],
                                vectors[start:end], counts.lengths[start:end],
                                (bm25[start:end], ngrams[start:end]))  # fmt: skip
            start = end
            if progress:
                progress("write", end, len(passages))
        kept = [s.doc_id for s in scan.sources if versions[s.doc_id] in present]
        indexed = {d: hashes[d] for d in sorted([*kept, *fresh])}
        manifest = build_manifest(recorded, corpus, encoder, classifier, indexed, stats.passages)
        store.publish(manifest, members, stats, current[0] if current else None)
        clock.lap("write")
        removed = sorted({d for d in (current[1]["documents"] if current else {})}
                         - set(kept) - set(fresh))  # fmt: skip
        return BuildReport(
            index_dir=shown(url), documents=len(members), passages=stats.passages,
            processed=tuple(fresh), reused=tuple(kept), removed=tuple(removed),
            failures=(*scan.failures, *failures), notices=tuple(notices), seconds=clock.seconds,
        )  # fmt: skip

"""Benchmark: the sample corpus built by the local engine and by the Ray engine, stage by stage.

    .venv/bin/python benchmarks/bench_engines.py [--rounds 2] [--corpus corpus]

Each build runs in a fresh Python process on this machine's cores, into a fresh temporary
index with a fresh, empty embedding cache (``KVP_EMBEDDING_CACHE``), so that every passage is
embedded and each engine pays its own start: imports, model loads, and for Ray its local
cluster (started by the engine, shut down by `RayEngine.close`, both counted). The engines
get the same cores, two here: the local build extracts in two budgeted workers and runs the
encoder on one thread per core; Ray runs one task or one encoder actor per core, on one
thread each. Rounds
alternate the engines, so that a change in the machine's load falls on both, and the table
shows each engine's fastest round: on a machine shared with other work the least disturbed
one. Every round is printed to stderr as it ends.

The stages are the build report's (`BuildReport.seconds`); "total" is the build's wall time
from `build_index` to the engine's close. Passages/s counts the passages embedded per second
of the embed stage, per worker (local: one encoder on all cores; Ray: one actor per core).
Ray's overhead is its total against the local build's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

STAGES = ("scan", "extract", "segment", "embed", "themes", "write")
RUN = """
import json, os, sys, time
from pipeline.engine import load_engine
from pipeline.index import build_index
if __name__ == "__main__":
    corpus, index, name = sys.argv[1:4]
    engine = load_engine(name)
    start = time.perf_counter()
    try:
        report = build_index(corpus, index, engine=engine)
    finally:
        engine.close()
    total = time.perf_counter() - start
    workers = 1 if name == "local" else os.cpu_count()
    print(json.dumps({"seconds": report.seconds, "total": total,
                      "passages": report.passages, "workers": workers}))
"""


@dataclass(frozen=True)
class Run:
    """One build: its report's seconds per stage, its wall time, what it embedded."""

    seconds: dict[str, float]
    total: float
    passages: int
    workers: int

    @property
    def rate(self) -> float:
        return self.passages / self.seconds["embed"]


def build(engine: str, corpus: Path) -> Run:
    """One build in a child process, into a fresh index with a fresh embedding cache."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as tmp:
        script = Path(tmp) / "run.py"
        script.write_text(RUN, encoding="utf-8")
        env = {**os.environ, "KVP_EMBEDDING_CACHE": str(Path(tmp) / "cache" / "embeddings.sqlite")}
        done = subprocess.run(
            [sys.executable, str(script), str(corpus), str(Path(tmp) / "index"), engine],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


def table(local: Run, ray: Run) -> str:
    rows = ["| stage | local (s) | ray (s) | ray − local (s) |", "|---|---:|---:|---:|"]
    for stage in STAGES:
        a, b = local.seconds.get(stage, 0.0), ray.seconds.get(stage, 0.0)
        rows.append(f"| {stage} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
    a, b = local.total, ray.total
    rows += [
        f"| **total** | **{a:.1f}** | **{b:.1f}** | **{b - a:+.1f}** |",
        "",
        "| engine | passages | workers | passages/s | passages/s per worker |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, run in (("local", local), ("ray", ray)):
        rows.append(
            f"| {name} | {run.passages} | {run.workers} | {run.rate:.2f} "
            f"| {run.rate / run.workers:.2f} |"
        )
    rows += ["", f"Ray's overhead against the local build: {100 * (b - a) / a:+.1f} %"]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="builds per engine, alternating")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus", help="the corpus folder")
    args = parser.parse_args()
    runs: dict[str, list[Run]] = {"local": [], "ray": []}
    for n in range(args.rounds):
        for engine in ("local", "ray") if n % 2 == 0 else ("ray", "local"):
            run = build(engine, args.corpus.resolve())
            runs[engine].append(run)
            print(f"round {n + 1}, {engine}: {run.total:.1f} s {run.seconds}", file=sys.stderr)
    fastest = [min(rounds, key=lambda run: run.total) for rounds in runs.values()]
    print(f"{args.corpus.name}/, {os.cpu_count()} cores, fastest of {args.rounds} round(s)\n")
    print(table(*fastest))


if __name__ == "__main__":
    main()

"""Benchmark: PDF extraction speed and peak memory on a generated report.

    .venv/bin/python benchmarks/bench_extract_pdf.py [--pages 60] [--runs 3]

The PDF is the test suite's sample report (tests/pdf_factory.py) repeated to the page count,
generated in a child process so that fpdf2's memory does not count towards the peak RSS.
Prints pages per second (median of the runs) and the extracting process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.extract.pdf import read  # noqa: E402

PAGES_PER_REPORT = 5  # the sample report's length; the benchmark PDF repeats it


def generate(path: Path, pages: int) -> None:
    from tests.pdf_factory import build_report

    build_report(path, repeat=max(1, pages // PAGES_PER_REPORT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60, help="a multiple of 5")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.pages)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pdf"
        command = [sys.executable, __file__, "--generate", str(path), "--pages", str(args.pages)]
        subprocess.run(command, check=True)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            raw = read(path)
            timings.append(time.perf_counter() - start)
        pages = raw.report.page_count or 0
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    median = statistics.median(timings)
    print(f"file:        {pages} pages, {len(raw.blocks)} blocks, {path.name}")
    print(f"runs:        {', '.join(f'{t:.2f}s' for t in timings)}")
    print(f"speed:       {pages / median:.1f} pages/s (median of {args.runs})")
    print(f"peak RSS:    {rss_after / 1024:.0f} MiB", end=" ")
    print(f"(before extracting: {rss_before / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()

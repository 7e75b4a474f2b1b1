"""Benchmark: text-file extraction time and peak memory at growing sizes (it must be linear).

    .venv/bin/python benchmarks/bench_extract_text.py [--sizes 1 10 50] [--timeout 600]

Each file is long reports (400 pages each, one after another) recombined from the pages of
corpus/reports/*.txt: form-feed page breaks, a running head (the report title on even pages,
the chapter title on odd pages) and a page number at the foot of every page, as pdftotext
writes them. Each size is extracted in its own child process, which reports its seconds and
its peak RSS (and the growth of it while extracting). Prints seconds per MB for each size;
roughly constant seconds per MB is linear time.

To measure another checkout, put it first on the path: ``PYTHONPATH=/other/checkout``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.append(str(REPO))  # appended: a PYTHONPATH checkout is measured instead

MB = 1_000_000
PAGE_LINES = (38, 52)  # body lines per generated page
TITLE = "Kvalifiseringsprogrammet i kommunene"
REPORT_PAGES = 400  # a long file is reports one after another, each numbered from 1


def corpus_pages() -> list[list[str]]:
    """The sample reports cut into page-sized runs of lines, each ending at a blank line."""
    chunks: list[list[str]] = []
    rng = random.Random(7)
    for path in sorted((REPO / "corpus" / "reports").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").split("\n")
        start = 0
        while start < len(lines):
            end = min(len(lines), start + rng.randint(*PAGE_LINES))
            while end < len(lines) and lines[end - 1].strip():
                end += 1
            chunks.append([ln.lstrip(" ") if ln.startswith(" ") else ln for ln in lines[start:end]])
            start = end
    return chunks


def generate(path: Path, size: int, seed: int = 1) -> int:
    """Write a report of about `size` bytes; returns its page count."""
    rng = random.Random(seed)
    chunks = corpus_pages()
    pieces: list[str] = []
    written = page = 0
    chapter = "1 Innledning"
    while written < size:
        page += 1
        body = rng.choice(chunks)
        headings = [ln for ln in body if ln[:1].isdigit() and 8 < len(ln) < 60 and ln[1:2] == " "]
        if headings:
            chapter = headings[0].strip()
        head = TITLE if page % 2 == 0 else chapter
        printed = (page - 1) % REPORT_PAGES + 1
        text = "\f" + head + "\n\n" + "\n".join(body).strip("\n") + f"\n\n{printed:>40}\n"
        pieces.append(text)
        written += len(text.encode("utf-8"))
    path.write_text("".join(pieces), encoding="utf-8")
    return page


def measure(path: Path) -> dict[str, float]:
    """Extract one file (in this process) and report seconds, peak RSS growth and blocks."""
    from pipeline.extract import extract_file

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    document = extract_file(path)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_mib": after / 1024,
        "growth_mib": (after - before) / 1024,
        "blocks": len(document.blocks),
        "removed": len(document.report.removed),
    }


def run_size(folder: Path, size_mb: float, timeout: float) -> dict[str, float] | None:
    path = folder / f"rapport-{size_mb:g}mb.txt"
    pages = generate(path, int(size_mb * MB))
    command = [sys.executable, __file__, "--measure", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, float] = json.loads(done.stdout)
    result["pages"] = pages
    result["mb"] = path.stat().st_size / MB
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10, 50], help="in MB")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per size")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    import pipeline

    print(f"pipeline:    {Path(pipeline.__file__).parent}")
    per_mb = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            result = run_size(Path(tmp), size, args.timeout)
            if result is None:
                print(f"{size:>5g} MB:  still running after {args.timeout:.0f} s (stopped)")
                continue
            per_mb.append(result["seconds"] / result["mb"])
            print(
                f"{result['mb']:>5.1f} MB:  {result['seconds']:7.1f} s  "
                f"({per_mb[-1]:.2f} s/MB), peak RSS {result['peak_mib']:.0f} MiB "
                f"(+{result['growth_mib']:.0f} while extracting), {result['pages']:.0f} pages, "
                f"{result['blocks']:.0f} blocks, {result['removed']:.0f} furniture lines"
            )
    if len(per_mb) >= 2:
        print(f"s/MB, largest size against smallest: {per_mb[-1] / per_mb[0]:.2f}x (1x is linear)")


if __name__ == "__main__":
    main()

"""Benchmark: hostile files against the extraction limits and budget, time and peak memory.

    .venv/bin/python benchmarks/bench_budget.py [--code /work/before] [--limit 90]
    .venv/bin/python benchmarks/bench_budget.py --pdf-pages 300   # the budget's reference PDF

Each case is a folder holding one hostile file and a good one (the KVP regulation from the
corpus), extracted with ``extract_all`` in a child process as a build would; ``--code`` runs
another checkout's pipeline instead (the code before the limits). The peak is the largest
summed RSS of the child and its workers, sampled every 50 ms; a run past ``--limit`` seconds
is killed and reported as "> limit". The cases are the ones reported: a 330 KB DOCX whose body
unpacks to three million paragraphs, and a DOCX with one 420 MB text node.

``--pdf-pages`` instead times one dense PDF (the corpus's Fafo report set in 10 pt Helvetica,
~5,600 characters a page) read in this process: what `ExtractionBudget` must allow.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOOD = REPO / "corpus" / "law" / "forskrift-kvalifiseringsprogram.md"
REPORT = REPO / "corpus" / "reports" / "fafo-2021-35-aap-kvp-unge.txt"
RUN = """
import sys
from pathlib import Path
from pipeline.corpus import load_corpus
from pipeline.extract import extract_all
if __name__ == "__main__":
    batch = extract_all(load_corpus(Path(sys.argv[1])).sources)
    for d in batch.documents:
        print(f"extracted {d.source.path.name}")
    for f in batch.failures:
        print(f"failed {f.path.name}: {f.reason}")
"""


def chunks(case: str) -> Iterator[bytes]:
    if case == "paragraphs":
        for _ in range(300):
            yield b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" * 10_000
    else:
        yield b"<w:p><w:r><w:t>"
        for _ in range(420):
            yield b"a" * (1 << 20)
        yield b"</w:t></w:r></w:p>"


def write_case(folder: Path, case: str) -> Path:
    from tests.test_hostile_extract import write_docx

    folder.mkdir()
    shutil.copy(GOOD, folder / GOOD.name)
    return write_docx(folder / f"{case}.docx", chunks(case))


def tree_rss_kib(pid: int) -> int:
    """The summed VmRSS of a process and all its descendants."""
    pids, total = [pid], 0
    for p in pids:
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                pids.extend(int(c) for c in (task / "children").read_text().split())
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += next((int(ln.split()[1]) for ln in status.splitlines() if ln[:6] == "VmRSS:"), 0)
    return total


def measure(folder: Path, code: Path, limit: float) -> tuple[str, int, str]:
    script = folder.parent / "run.py"
    script.write_text(RUN, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(code)}
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        cwd=code, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss_kib(child.pid))
        if time.perf_counter() - start > limit:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return f"> {limit:g} s", peak, "(killed: no result)"
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    output = child.stdout.read() if child.stdout else ""
    return f"{seconds:.1f} s", peak, output.strip()


def bench_pdf(pages: int) -> None:
    from fpdf import FPDF

    from pipeline.extract.pdf import read

    text = REPORT.read_text(encoding="utf-8")
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, 20)
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    while pdf.page_no() < pages:
        for paragraph in text.split("\n\n"):
            line = " ".join(paragraph.split()).encode("latin-1", "replace").decode("latin-1")
            if line and pdf.page_no() < pages:
                pdf.multi_cell(0, 4.5, line)
                pdf.ln(2)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.pdf"
        pdf.output(str(path))
        start = time.perf_counter()
        raw = read(path)
        seconds = time.perf_counter() - start
    status = Path("/proc/self/status").read_text()
    peak = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmPeak:"))
    print(f"{raw.report.page_count} pages, {len(raw.blocks)} blocks: {seconds:.0f} s, ", end="")
    print(f"peak address space {peak / 1024:.0f} MiB (fpdf2's included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout to run")
    parser.add_argument("--limit", type=float, default=90.0, help="seconds before a kill")
    parser.add_argument("--pdf-pages", type=int, help="time one dense PDF of this many pages")
    args = parser.parse_args()
    if args.pdf_pages:
        bench_pdf(args.pdf_pages)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for case in ("paragraphs", "textnode"):
            path = write_case(Path(tmp) / case, case)
            took, peak, output = measure(path.parent, args.code.resolve(), args.limit)
            size = path.stat().st_size / 1000
            print(f"{path.name} ({size:.0f} KB): {took}, peak {peak / 1024:.0f} MiB")
            for line in output.splitlines():
                print(f"    {line}")


if __name__ == "__main__":
    main()

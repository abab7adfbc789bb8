"""`specgen verify` picks sizes a valid spec accepts: a null length long enough for every
convolution and pooling, and integers below the bound each input's Embedding sets."""

from __future__ import annotations

import pytest

import specgen
from specgen import verify

keras = pytest.importorskip("keras")

POOLS = {
    "name": "long_window",
    "seed": 1,
    "inputs": [{"name": "x", "shape": [None, 3]}],
    "layers": [
        {"type": "Conv1D", "filters": 2, "kernel_size": 7},
        {"type": "MaxPooling1D", "pool_size": 4},
        {"type": "GlobalMaxPooling1D"},
        {"type": "Dense", "units": 1},
    ],
}
TOKENS = {
    "name": "tokens",
    "seed": 1,
    "inputs": [{"name": "ids", "shape": [None], "dtype": "int32"}],
    "layers": [
        {"type": "Embedding", "input_dim": 50, "output_dim": 2},
        {"type": "GlobalAveragePooling1D"},
    ],
}


def test_variable_length_accepted_by_every_layer():
    model = specgen.compile(POOLS)
    assert verify.variable_length(model) == 16  # 5 and 8 are too short for 7 then 4
    lines = []
    assert verify.verify(model, echo=lines.append), "\n".join(lines)


def test_integers_span_the_embedding_vocabulary():
    model = specgen.compile(TOKENS)
    ids = verify.sample_inputs(model, 64, seed=0)
    assert ids.min() >= 0 and 10 <= ids.max() < 50

"""Reusable blocks: one registered layer class in every style; mistakes named precisely."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, import_file

import specgen

CHAIN = {
    "name": "chain_blocks",
    "seed": 2,
    "blocks": {
        "mlp": {
            "params": {"width": 8, "rate": 0.1},
            "inputs": ["x"],
            "layers": [
                {
                    "name": "dense",
                    "type": "Dense",
                    "units": {"param": "width"},
                    "activation": "relu",
                },
                {"name": "norm", "type": "BatchNormalization"},
                {"name": "drop", "type": "Dropout", "rate": {"param": "rate"}},
            ],
        }
    },
    "inputs": [{"name": "features", "shape": [5]}],
    "layers": [
        {"name": "first", "type": "mlp"},
        {"name": "second", "type": "mlp", "width": 4},
        {"name": "head", "type": "Dense", "units": 1},
    ],
}


def test_chain_block_renders_in_all_three_styles_and_they_agree(tmp_path):
    pytest.importorskip("keras")
    files = specgen.render(CHAIN, "all")
    assert sorted(files) == [
        "chain_blocks_functional.py",
        "chain_blocks_sequential.py",
        "chain_blocks_subclass.py",
    ]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert 'Mlp(rate=0.1, width=4, name="second")' in files["chain_blocks_sequential.py"]
    models = {
        s: import_file(tmp_path / f"chain_blocks_{s}.py").build_model()
        for s in ("sequential", "functional", "subclass")
    }
    x = np.random.default_rng(0).random((6, 5), dtype=np.float32)
    reference = models.pop("sequential")
    for m in models.values():
        for a, b in zip(reference.weights, m.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(np.asarray(reference(x)), np.asarray(m(x)))


def _messages(spec):
    return [f"{e.pointer}: {e.message}" for e in specgen.validate(spec)]


def _with(**changes):
    import copy

    spec = copy.deepcopy(CHAIN)
    for path, value in changes.items():
        node = spec
        *parents, last = path.split("__")
        for key in parents:
            node = node[int(key) if key.isdigit() else key]
        node[int(last) if last.isdigit() else last] = value
    return spec


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"layers__1__widht": 4},
            "/layers/1/widht: block 'mlp' has no parameter 'widht'; did you mean 'width'?",
        ),
        (
            {"layers__1__type": "mpl"},
            "/layers/1/type: unknown layer type or block 'mpl'; did you mean 'mlp'?",
        ),
        (
            {"layers__1__width": 2.5},
            "/blocks/mlp/layers/0/units: expected integer, received 2.5 (in block 'mlp', used as 'second')",
        ),
        (
            {"blocks__mlp__layers__0__units": {"param": "wdth"}},
            "/blocks/mlp/layers/0/units/param: unknown block parameter 'wdth'; did you mean 'width'?",
        ),
        (
            {"blocks__mlp__params__self": 1},
            "/blocks/mlp/params/self: name 'self' is reserved (a name the generated code uses)",
        ),
        (
            {"blocks__Mlp": {"inputs": ["x"], "layers": [{"type": "Flatten"}]}},
            "/blocks/Mlp: expected a snake_case identifier, received 'Mlp'",
        ),
    ],
)
def test_block_errors_name_the_place(changes, expected):
    assert expected in _messages(_with(**changes))


def test_unused_block_is_an_error():
    spec = _with(blocks__spare={"inputs": ["x"], "layers": [{"type": "Flatten"}]})
    assert "/blocks/spare: block 'spare' is never used" in _messages(spec)


def test_graph_block_is_one_layer_in_sequential():
    """A block with one input is a layer of its registered class, so Sequential takes it even
    when its inside is a graph; the name matches the Functional and subclass styles."""
    model = specgen.compile(ROOT / "specs" / "resnet_blocks.json")
    text = specgen.render(model, "sequential")["resnet_blocks_sequential.py"]
    assert 'ResBlock(dropout=0.2, width=16, name="res2")' in text


def test_multi_input_block_is_refused_for_sequential():
    model = specgen.compile(ROOT / "specs" / "multi_io.json")
    with pytest.raises(specgen.SpecInvalid) as info:
        specgen.render(model, "sequential")
    assert "a Sequential model has one input" in str(info.value)

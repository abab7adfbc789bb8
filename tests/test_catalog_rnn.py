"""RNN with its cell as data (catalog/rnn.py): one cell or a list Keras stacks. Each case is
rendered in every style and equals `keras.layers.RNN` built from Keras's own cells: the same
layers, weights, parameter count and outputs bit for bit, in training (seeded dropout) and
not; a saved RNN imports back to the same spec entry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import import_file

import specgen
from specgen.catalog import rnn
from specgen.importer import guard as import_guard

keras = pytest.importorskip("keras")

STYLES = ("sequential", "functional", "subclass")
LSTM = {"type": "LSTMCell", "units": 4, "dropout": 0.3, "seed": 1, "unit_forget_bias": False}
GRU = {"type": "GRUCell", "units": 2, "reset_after": False, "recurrent_dropout": 0.2, "seed": 2}
SIMPLE = {"type": "SimpleRNNCell", "units": 3, "activation": "relu", "use_bias": False}
CASES = [
    ({"cell": SIMPLE}, (5, 3)),
    ({"cell": [LSTM, GRU], "return_sequences": True}, (4, 3)),
    ({"cell": [GRU, SIMPLE, LSTM], "go_backwards": True, "unroll": True}, (3, 2)),
]


def _cells(cell):
    if isinstance(cell, list):
        return [_cells(c) for c in cell]
    args = {k: v for k, v in cell.items() if k != "type"}
    return getattr(keras.layers, cell["type"])(**args)


def _spec(args: dict, shape: tuple) -> dict:
    return {
        "name": "rnn_probe",
        "seed": 0,
        "inputs": [{"name": "x", "shape": list(shape)}],
        "layers": [{"name": "probe", "type": "RNN", **args}],
    }


@pytest.mark.parametrize("case", CASES, ids=["one", "stacked", "three_backwards"])
def test_every_style_is_keras_own_rnn(case, tmp_path):
    args, shape = case
    spec = _spec(args, shape)
    (node,) = specgen.compile(spec).layers
    built = {}
    for name, text in specgen.render(spec, "all").items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for style in STYLES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            module = import_file(tmp_path / f"rnn_probe_{style}.py")
            built[style] = module.build_model(seed=0)
    x = keras.Input(shape, name="x")
    options = {k: v for k, v in args.items() if k != "cell"}
    direct = keras.Model(x, keras.layers.RNN(_cells(args["cell"]), **options, name="probe")(x))
    reference = built["functional"].get_weights()
    direct.set_weights(reference)
    assert direct.count_params() == node.params
    assert tuple(direct.outputs[0].shape[1:]) == node.out.dims
    data = np.random.default_rng(3).standard_normal((2, *shape)).astype("float32")
    seen = {}
    for training in (True, False):
        keras.utils.set_random_seed(9)
        expected = seen[training] = np.asarray(direct(data, training=training))
        for style, m in built.items():
            assert m.count_params() == node.params, style
            m.set_weights(reference)
            keras.utils.set_random_seed(9)
            np.testing.assert_array_equal(
                np.asarray(m(data, training=training)), expected, err_msg=f"{style} {training}"
            )
    if "dropout" in str(args):  # the seeded dropout did act in training
        assert not np.array_equal(seen[True], seen[False])


SPREAD = [
    ({"cell": {"type": "LSTMCell", "units": 5}}, (None, 7)),
    ({"cell": {"type": "GRUCell", "units": 3}, "return_sequences": True}, (4, 2)),
    ({"cell": [SIMPLE, {"type": "GRUCell", "units": 6, "use_bias": False}]}, (3, 4)),
]


@pytest.mark.parametrize("case", SPREAD, ids=["lstm", "gru_sequences", "stack_no_bias"])
def test_inferred_shape_and_params_match_keras(case):
    args, shape = case
    (node,) = specgen.compile(_spec(args, shape)).layers
    x = keras.Input(shape)
    options = {k: v for k, v in args.items() if k != "cell"}
    direct = keras.Model(x, keras.layers.RNN(_cells(args["cell"]), **options)(x))
    assert tuple(direct.outputs[0].shape[1:]) == node.out.dims
    assert direct.count_params() == node.params


def test_a_cell_is_no_layer_of_the_graph():
    spec = _spec({"cell": SIMPLE}, (3, 2))
    spec["layers"].append({"type": "LSTMCell", "units": 2})
    ((pointer, message),) = [(e.pointer, e.message) for e in specgen.validate(spec)]
    assert pointer == "/layers/1/type" and "unknown layer type 'LSTMCell'" in message
    spec = _spec({"cell": {"type": "Dense", "units": 2}}, (3, 2))
    assert [e.pointer for e in specgen.validate(spec)] == ["/layers/0/cell/type"]


def test_a_saved_rnn_imports_to_the_same_entry(tmp_path):
    x = keras.Input((4, 3), name="x")
    cell = [_cells(LSTM), _cells(GRU)]
    y = keras.layers.RNN(cell, return_sequences=True, name="probe")(x)
    keras.Model(x, y, name="rnn_probe").save(tmp_path / "rnn.keras")
    spec = import_guard.read_and_convert(tmp_path / "rnn.keras")
    (layer,) = spec["layers"]
    strip = {"recurrent_initializer"}  # saved as Orthogonal(gain=1.0): the same default
    cells = [{k: v for k, v in c.items() if k not in strip} for c in layer["cell"]]
    assert cells == [LSTM, GRU] and layer["return_sequences"] is True
    assert len(specgen.compile(spec).layers) == 1


def test_the_cells_take_the_arguments_keras_takes():
    import inspect

    for name, kind in rnn.CELLS.items():
        taken = set(inspect.signature(getattr(keras.layers, name).__init__).parameters)
        assert {a.name for a in kind.args} == taken - {"self", "kwargs"}, name

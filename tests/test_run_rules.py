"""Validation knows the run (issue 17, item 5): cross-field rules refused before training,
at the spec's place; each Keras constructor rule is shown to be Keras's own by constructing
the Keras class with the same values (Keras refuses exactly the cases validation refuses)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import specgen
from specgen.spec.errors import SpecInvalid

keras = pytest.importorskip("keras")

CLASSIFIER = {
    "name": "rules",
    "seed": 0,
    "inputs": [{"name": "image", "shape": [8, 8, 3]}],
    "layers": [
        {"name": "scale", "type": "Rescaling", "scale": 1 / 255},
        {"name": "flat", "type": "Flatten"},
        {"name": "classes", "type": "Dense", "units": 3, "activation": "softmax"},
    ],
    "training": {
        "dataset": {"image_folder": "pictures"},
        "optimizer": {"type": "SGD", "learning_rate": 0.1},
        "loss": "sparse_categorical_crossentropy",
        "epochs": 1,
    },
}


def _errors(change, spec=CLASSIFIER):
    data = copy.deepcopy(spec)
    change(data)
    try:
        specgen.compile(data)
    except SpecInvalid as invalid:
        return [(e.pointer, e.message) for e in invalid.errors]
    return []


def _set(path, value):
    def change(data):
        target = data["training"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


# (spec change, where validation must point, the Keras call that must agree)
KERAS_RULES = {
    "SGD momentum 2.0": (
        _set(("optimizer", "momentum"), 2.0),
        "/training/optimizer/momentum",
        lambda: keras.optimizers.SGD(momentum=2.0),
    ),
    "SGD momentum 1 (an int)": (
        _set(("optimizer", "momentum"), 1),
        "/training/optimizer/momentum",
        lambda: keras.optimizers.SGD(momentum=1),
    ),
    "clipnorm with global_clipnorm": (
        lambda d: d["training"]["optimizer"].update(clipnorm=1.0, global_clipnorm=1.0),
        "/training/optimizer/global_clipnorm",
        lambda: keras.optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0),
    ),
    "clipvalue with clipnorm": (
        lambda d: d["training"]["optimizer"].update(clipnorm=1.0, clipvalue=1.0),
        "/training/optimizer/clipvalue",
        lambda: keras.optimizers.SGD(clipnorm=1.0, clipvalue=1.0),
    ),
    "PiecewiseConstantDecay lengths": (
        _set(
            ("optimizer", "learning_rate"),
            {"type": "PiecewiseConstantDecay", "boundaries": [10, 20], "values": [0.1, 0.01]},
        ),
        "/training/optimizer/learning_rate/values",
        lambda: keras.optimizers.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01]),
    ),
}
# The boundary values Keras accepts: validation must accept them too.
KERAS_ACCEPTS = {
    "SGD momentum 0.0": (
        _set(("optimizer", "momentum"), 0.0),
        lambda: keras.optimizers.SGD(momentum=0.0),
    ),
    "SGD momentum 1.0": (
        _set(("optimizer", "momentum"), 1.0),
        lambda: keras.optimizers.SGD(momentum=1.0),
    ),
    "clipnorm alone": (
        _set(("optimizer", "clipnorm"), 1.0),
        lambda: keras.optimizers.SGD(clipnorm=1.0),
    ),
    "PiecewiseConstantDecay one more value": (
        _set(
            ("optimizer", "learning_rate"),
            {"type": "PiecewiseConstantDecay", "boundaries": [10], "values": [0.1, 0.01]},
        ),
        lambda: keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01]),
    ),
}


@pytest.mark.parametrize("case", KERAS_RULES)
def test_validation_refuses_what_keras_refuses(case):
    change, pointer, construct = KERAS_RULES[case]
    with pytest.raises(ValueError):
        construct()
    assert [p for p, _ in _errors(change)] == [pointer]


@pytest.mark.parametrize("case", KERAS_ACCEPTS)
def test_validation_accepts_what_keras_accepts(case):
    change, construct = KERAS_ACCEPTS[case]
    construct()
    assert _errors(change) == []


AUTOENCODER = {
    "name": "rules_ae",
    "inputs": [{"name": "x", "shape": [4]}],
    "layers": [{"name": "out", "type": "Dense", "units": 4}],
    "training": {
        "dataset": "synthetic",
        "targets": "inputs",
        "class_weight": {"0": 1.0},
        "optimizer": {"type": "Adam"},
        "loss": "mse",
    },
}


def test_cross_field_rules_of_the_run():
    assert (
        "/training/class_weight",
        "class_weight weighs class labels, but targets: inputs"
        " trains the model to reproduce its input; drop one of them",
    ) in _errors(lambda d: None, AUTOENCODER)
    found = _errors(_set(("dataset", "label_mode"), "categorical"))
    assert [p for p, _ in found] == ["/training/dataset/label_mode"] and '"int"' in found[0][1]
    found = _errors(_set(("dataset", "image_size"), [16, 16]))
    assert [p for p, _ in found] == ["/training/dataset/image_size"]
    found = _errors(_set(("dataset", "color_mode"), "grayscale"))
    assert [p for p, _ in found] == ["/training/dataset/color_mode"]
    found = _errors(_set(("dataset",), {"text_folder": "texts"}))
    assert [p for p, _ in found] == ["/training/dataset"] and "token ids" in found[0][1]
    assert _errors(_set(("dataset", "image_size"), [8, 8])) == []


REGRESSION = {
    "name": "rules_reg",
    "inputs": [{"name": "x", "shape": [4]}],
    "layers": [{"name": "out", "type": "Dense", "units": 1}],
    "training": {
        "dataset": "synthetic",
        "class_weight": {"0": 1.0},
        "optimizer": {"type": "Adam"},
        "loss": "mse",
    },
}


def test_class_weight_needs_class_labels():
    """Keras rounds real targets to class ids to weigh them (data_adapter_utils.py:131):
    class_weight beside a regression loss is refused at /training/class_weight."""
    found = _errors(lambda d: None, REGRESSION)
    assert [p for p, _ in found] == ["/training/class_weight"]
    assert "MeanSquaredError" in found[0][1] and "real-valued" in found[0][1]
    binary = _set(("loss",), "binary_crossentropy")
    sigmoid = copy.deepcopy(REGRESSION)
    sigmoid["layers"][0]["activation"] = "sigmoid"
    assert _errors(binary, sigmoid) == []


TWO_OUTPUTS = {
    "name": "rules_two",
    "inputs": [{"name": "x", "shape": [2]}],
    "layers": [
        {"name": "a", "type": "Dense", "units": 1, "inputs": ["x"]},
        {"name": "b", "type": "Dense", "units": 1, "inputs": ["x"]},
    ],
    "outputs": ["a", "b"],
    "training": {
        "dataset": "synthetic",
        "optimizer": {"type": "SGD"},
        "loss": "mse",
        "metrics": ["mae"],
        "validation_split": 0.25,
        "callbacks": [{"type": "EarlyStopping", "monitor": "val_a_loss"}],
    },
}


def _keras_fit_monitoring(monitor, mode):
    inputs = keras.Input((2,))
    outputs = [keras.layers.Dense(1, name=n)(inputs) for n in "ab"]
    model = keras.Model(inputs, outputs)
    model.compile("sgd", loss=["mse", "mse"], metrics=[["mae"], ["mae"]])
    data = np.zeros((8, 2), "float32")
    stop = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode)
    model.fit(data, [data[:, :1]] * 2, validation_split=0.25, verbose=0, callbacks=[stop])


@pytest.mark.parametrize("monitor", ["val_a_loss", "a_mae"])
def test_monitor_of_several_outputs_needs_a_mode(monitor):
    """monitor_callback.py:67-96: in mode auto Keras reads the direction from a metric named
    as the monitor; `a_loss` and `a_mae` of a two-output model name none, and the first
    epoch's end raises. Validation refuses at the monitor and takes an explicit mode."""
    with pytest.raises(ValueError, match="automatically determine"):
        _keras_fit_monitoring(monitor, "auto")
    _keras_fit_monitoring(monitor, "min")
    found = _errors(_set(("callbacks", 0, "monitor"), monitor), TWO_OUTPUTS)
    assert [p for p, _ in found] == ["/training/callbacks/0/monitor"]
    assert '"mode": "min"' in found[0][1]
    assert _errors(_set(("callbacks", 0, "mode"), "min"), TWO_OUTPUTS) == []
    total_loss = copy.deepcopy(TWO_OUTPUTS)
    total_loss["training"]["callbacks"][0]["monitor"] = "val_loss"
    assert _errors(lambda d: None, total_loss) == []


def test_errors_are_located_in_the_file(tmp_path):
    path = tmp_path / "rules.json"
    data = copy.deepcopy(CLASSIFIER)
    data["training"]["optimizer"]["momentum"] = 2.0
    import json

    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(SpecInvalid) as info:
        specgen.compile(path)
    error = info.value.errors[0]
    assert error.file == str(path) and error.line > 1 and error.column > 1

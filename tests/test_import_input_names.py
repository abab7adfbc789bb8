"""A saved model's Input named no identifier (`input-1`, `image.0`) gets an identifier in the
spec and keeps its Keras name (`keras_name`, its `name=`): every style's inputs carry the
original names, and each is called with the same dict (keyed by the Keras names, as Keras's
Functional model is) or list as the original, with the same outputs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import import_file

import specgen
from specgen.importer import guard as import_guard

keras = pytest.importorskip("keras")
L = keras.layers


def _rebuilt(original, tmp_path):
    original.save(tmp_path / "m.keras")
    spec = import_guard.read_and_convert(tmp_path / "m.keras")
    built = {}
    for file, text in specgen.render(specgen.compile(spec), "all").items():
        (tmp_path / file).write_text(text, encoding="utf-8")
        built[file.rsplit("_", 1)[1].removesuffix(".py")] = import_file(
            tmp_path / file
        ).build_model()
    return spec, built


def test_renamed_inputs_keep_their_keras_names(tmp_path):
    a, b = keras.Input((3,), name="input-1"), keras.Input((2,), name="image.0")
    y = L.Dense(2, name="head")(L.Concatenate(name="cat")([a, L.Dense(3, name="d")(b)]))
    original = keras.Model([a, b], y, name="m")
    spec, built = _rebuilt(original, tmp_path)
    assert [(e["name"], e.get("keras_name")) for e in spec["inputs"]] == [
        ("input_1", "input-1"),
        ("image_0", "image.0"),
    ]
    assert sorted(built) == ["functional", "subclass"]  # two inputs: no Sequential
    assert [t.name for t in built["functional"].inputs] == ["input-1", "image.0"]
    rng = np.random.default_rng(0)
    x = {"input-1": rng.random((2, 3), dtype="float32"), "image.0": rng.random((2, 2), "float32")}
    expected = np.asarray(original(x))
    np.testing.assert_array_equal(np.asarray(original([x["input-1"], x["image.0"]])), expected)
    for style, model in built.items():
        model.set_weights(original.get_weights())
        np.testing.assert_array_equal(np.asarray(model(x)), expected, style)
        listed = np.asarray(model([x["input-1"], x["image.0"]]))
        np.testing.assert_array_equal(listed, expected, style)


def test_a_renamed_sequential_input_keeps_its_keras_name(tmp_path):
    x = keras.Input((4,), name="in-put")
    original = keras.Model(x, L.Dense(2, name="d")(L.Dense(3, name="c")(x)), name="m")
    spec, built = _rebuilt(original, tmp_path)
    assert spec["inputs"] == [{"name": "in_put", "shape": [4], "keras_name": "in-put"}]
    data = np.random.default_rng(1).random((2, 4), dtype="float32")
    for style in ("functional", "sequential"):
        assert [t.name for t in built[style].inputs] == ["in-put"], style
    for style, model in built.items():
        model.set_weights(original.get_weights())
        np.testing.assert_array_equal(np.asarray(model(data)), np.asarray(original(data)), style)


def test_an_inputs_keras_name_is_claimed_as_keras_knows_it():
    spec = {
        "name": "m",
        "inputs": [{"name": "a", "shape": [3], "keras_name": "d-1"}],
        "layers": [{"name": "b", "type": "Dense", "units": 2, "keras_name": "d-1"}],
    }
    ((pointer, message),) = [(e.pointer, e.message) for e in specgen.validate(spec)]
    assert pointer == "/layers/0" and "as does input 'a'" in message
    spec["layers"][0]["keras_name"] = "a"  # the input's spec name is no Keras name
    assert specgen.validate(spec) == []

"""Pipeline with its layers as data (catalog/pipeline.py): rendered in every style as
`keras.layers.Pipeline([...])` and equal to Keras's own Pipeline (shape, parameter count,
outputs); a layer with weights inside is refused at its pointer; a saved Pipeline imports back
to the same spec entry; a saved model reloads with it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import import_file

import specgen
from specgen.importer import guard as import_guard

keras = pytest.importorskip("keras")

STYLES = ("sequential", "functional", "subclass")
INNER = [
    {"type": "Rescaling", "scale": 0.5, "offset": 1.0},
    {"type": "CenterCrop", "height": 3, "width": 2},
    {"type": "Activation", "activation": "tanh"},
    {"type": "Flatten"},
]
SHAPE = (5, 4, 2)


def _layers(inner):
    return [
        getattr(keras.layers, e["type"])(**{k: v for k, v in e.items() if k != "type"})
        for e in inner
    ]


def _spec(inner) -> dict:
    return {
        "name": "pipe_probe",
        "seed": 0,
        "inputs": [{"name": "x", "shape": list(SHAPE)}],
        "layers": [
            {"name": "prep", "type": "Pipeline", "layers": inner},
            {"name": "head", "type": "Dense", "units": 3},
        ],
    }


def test_every_style_is_keras_own_pipeline(tmp_path):
    spec = _spec(INNER)
    prep, head = specgen.compile(spec).layers
    built = {}
    for name, text in specgen.render(spec, "all").items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        if name.endswith(tuple(f"_{s}.py" for s in STYLES)):
            assert "keras.layers.Pipeline(\n" in text or "keras.layers.Pipeline([" in text
    for style in STYLES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            built[style] = import_file(tmp_path / f"pipe_probe_{style}.py").build_model(seed=0)
    x = keras.Input(SHAPE, name="x")
    piped = keras.layers.Pipeline(_layers(INNER), name="prep")(x)
    direct = keras.Model(x, keras.layers.Dense(3, name="head")(piped))
    assert tuple(piped.shape[1:]) == prep.out.dims == (12,)
    reference = built["functional"].get_weights()
    direct.set_weights(reference)
    assert direct.count_params() == prep.params + head.params
    data = np.random.default_rng(3).standard_normal((2, *SHAPE)).astype("float32")
    expected = np.asarray(direct(data, training=False))
    for style, m in built.items():
        assert m.count_params() == direct.count_params(), style
        m.set_weights(reference)
        np.testing.assert_array_equal(np.asarray(m(data, training=False)), expected, style)
        m.save(tmp_path / f"{style}.keras")  # Keras's Pipeline.from_config rebuilds the layers
        again = keras.saving.load_model(tmp_path / f"{style}.keras")
        np.testing.assert_array_equal(np.asarray(again(data, training=False)), expected, style)


def test_a_layer_a_pipeline_cannot_hold_is_refused_at_its_pointer():
    spec = _spec([{"type": "Rescaling", "scale": 2.0}, {"type": "Dense", "units": 2}])
    ((pointer, message),) = [(e.pointer, e.message) for e in specgen.validate(spec)]
    assert pointer.startswith("/layers/0") and "layers[1] (Dense) has" in message, message
    spec = _spec([{"type": "Bidirectional", "layer": {"type": "LSTM", "units": 2}}])
    assert [e.pointer for e in specgen.validate(spec)] == ["/layers/0/layers/0/type"]


def test_a_saved_pipeline_imports_to_the_same_entry(tmp_path):
    x = keras.Input(SHAPE, name="x")
    y = keras.layers.Pipeline(_layers(INNER), name="prep")(x)
    keras.Model(x, keras.layers.Dense(3, name="head")(y), name="pipe_probe").save(
        tmp_path / "p.keras"
    )
    spec = import_guard.read_and_convert(tmp_path / "p.keras")
    prep = spec["layers"][0]
    assert prep["type"] == "Pipeline" and prep["layers"] == INNER
    assert len(specgen.compile(spec).layers) == 2


def test_a_saved_pipeline_it_cannot_hold_is_refused(tmp_path):
    x = keras.Input((3,), name="x")
    y = keras.layers.Pipeline([keras.layers.Dense(2)], name="prep")(x)
    keras.Model(x, y).save(tmp_path / "w.keras")
    spec = import_guard.read_and_convert(tmp_path / "w.keras")
    ((pointer, message),) = [(e.pointer, e.message) for e in specgen.validate(spec)]
    assert pointer.startswith("/layers/0") and "layers[0] (Dense) has 8 weights" in message
    inner = keras.layers.Pipeline([keras.layers.Flatten()])
    y = keras.layers.Pipeline([inner], name="prep")(x)
    keras.Model(x, y).save(tmp_path / "n.keras")
    with pytest.raises(Exception, match=r"Pipeline layers\[0\] is 'Pipeline'"):
        import_guard.read_and_convert(tmp_path / "n.keras")

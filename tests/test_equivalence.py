"""The proof: every spec, every style it allows, is the same model.

Same layer names, weight shapes and parameter counts (equal to what specgen inferred without
TensorFlow), bit-identical initial weights under the spec's seed, identical outputs, identical
losses and weights after training steps, and a .keras round trip that changes nothing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import specgen
from conftest import SPECS, import_file, spec_id

keras = pytest.importorskip("keras")


def _build(rendered, model, style):
    path = rendered / f"{model.name}_{style}.py"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # importing and building must not warn
        module = import_file(path)
        return module.build_model()


@pytest.fixture(scope="module", params=SPECS, ids=spec_id)
def built(request, rendered):
    model = specgen.compile(request.param)
    styles = [s for s in ("sequential", "functional", "subclass") if (rendered / f"{model.name}_{s}.py").exists()]
    assert "functional" in styles and "subclass" in styles
    return model, {style: _build(rendered, model, style) for style in styles}


def _data(model, keras_model, rows=16, seed=0):
    rng = np.random.default_rng(seed)
    xs = {e.name: rng.random((rows, *e.dims), dtype=np.float32) for e in model.inputs}
    x = xs[model.inputs[0].name] if len(xs) == 1 else xs
    out = keras_model.outputs[0].shape if keras_model.outputs else None
    loss = model.training["loss"]
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, out[-1], size=(rows,))
    else:
        y = rng.random((rows, *out[1:]), dtype=np.float32)
    return x, y


def test_structure_matches_inference(built):
    model, models = built
    expected_layers = [n.name for n in model.layers]
    trainable, frozen = model.params
    for style, m in models.items():
        assert [layer.name for layer in m.layers if layer.name in expected_layers] == expected_layers, style
        for node in model.layers:
            layer = m.get_layer(node.name)
            assert layer.count_params() == node.params, (style, node.name)
            assert tuple(layer.compute_output_shape((None, *_input_dims(model, node)))[1:]) == node.out.dims
        assert m.count_params() == trainable + frozen, style
    shapes = {style: [tuple(w.shape) for w in m.weights] for style, m in models.items()}
    assert len(set(map(tuple, shapes.values()))) == 1, shapes


def _input_dims(model, node):
    (ref,) = node.inputs
    dims = {e.name: e.dims for e in model.inputs} | {n.name: n.out.dims for n in model.layers}
    return dims[ref]


def test_initial_weights_bit_identical(built):
    _, models = built
    reference, *others = models.values()
    for other in others:
        for a, b in zip(reference.weights, other.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_outputs_identical(built):
    model, models = built
    x, _ = _data(model, models["functional"])
    outputs = [np.asarray(m(x, training=False)) for m in models.values()]
    for out in outputs[1:]:
        np.testing.assert_array_equal(outputs[0], out)


def test_training_steps_identical(built, rendered):
    model, _ = built
    # Fresh models: training mutates weights, and the other tests share `built`.
    fresh = {style: _build(rendered, model, style) for style in built[1]}
    x, y = _data(model, fresh["functional"], seed=1)
    histories = {}
    for style, m in fresh.items():
        keras.utils.set_random_seed(3)
        opt = model.training["optimizer"]
        m.compile(
            optimizer=keras.optimizers.get({"class_name": opt["type"], "config": {k: v for k, v in opt.items() if k != "type"}}),
            loss=model.training["loss"],
        )
        histories[style] = [float(m.train_on_batch(x, y)) for _ in range(3)]
    reference, *others = fresh.values()
    first = next(iter(histories.values()))
    assert all(h == first for h in histories.values()), histories
    assert first[0] != first[-1], "training steps must change the loss"
    for other in others:
        for a, b in zip(reference.weights, other.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_keras_round_trip(built, tmp_path):
    model, models = built
    x, _ = _data(model, models["functional"], seed=2)
    for style, m in models.items():
        path = tmp_path / f"{style}.keras"
        m.save(path)
        loaded = keras.models.load_model(path)
        assert type(loaded).__name__ == type(m).__name__
        np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(m(x)))


def test_subclass_summary_shows_shapes(built):
    _, models = built
    lines = []
    models["subclass"].summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    assert "?" not in text and "multiple" not in text, text
    assert "(None," in text

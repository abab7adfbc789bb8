"""The proof: every spec, every style it allows, is the same model.

Same layer names, weight shapes and parameter counts (equal to what specgen inferred without
TensorFlow), bit-identical initial weights under the spec's seed, identical outputs, identical
losses and weights after training steps, and a .keras round trip that changes nothing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import SPECS, import_file, spec_id

import specgen

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
    styles = [
        s
        for s in ("sequential", "functional", "subclass")
        if (rendered / f"{model.name}_{s}.py").exists()
    ]
    assert "functional" in styles and "subclass" in styles
    return model, {style: _build(rendered, model, style) for style in styles}


def _trainer(rendered, model):
    """The generated training module: its synthetic data and compile settings are the spec's."""
    return import_file(rendered / f"train_{model.name}_functional.py")


def _data(rendered, model, rows=16, seed=0):
    (x, y), _ = _trainer(rendered, model).synthetic_data(rows, seed)
    return x, y


def _keras_layers(node, style):
    """Names Keras gives a spec node: a block is one layer when subclassed, else its layers."""
    if node.is_block and style != "subclass":
        return [f"{node.name}_{inner.name}" for inner in node.inner]
    return [node.name]


def test_structure_matches_inference(built):
    model, models = built
    trainable, frozen = model.params
    for style, m in models.items():
        expected = [name for node in model.layers for name in _keras_layers(node, style)]
        assert [layer.name for layer in m.layers if layer.name in expected] == expected, style
        for node in model.layers:
            params = sum(m.get_layer(name).count_params() for name in _keras_layers(node, style))
            assert params == node.params, (style, node.name)
        assert m.count_params() == trainable + frozen, style
    functional = models["functional"]
    for node in model.layers:
        last = f"{node.name}_{node.block.output}" if node.is_block else node.name
        assert tuple(functional.get_layer(last).output.shape[1:]) == node.out.dims, node.name
    shapes = {style: [tuple(w.shape) for w in m.weights] for style, m in models.items()}
    assert len(set(map(tuple, shapes.values()))) == 1, shapes


def test_initial_weights_bit_identical(built):
    _, models = built
    reference, *others = models.values()
    for other in others:
        for a, b in zip(reference.weights, other.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def _flat(outputs):
    return [np.asarray(o) for o in keras.tree.flatten(outputs)]


def test_outputs_identical(built, rendered):
    model, models = built
    x, _ = _data(rendered, model)
    outputs = [_flat(m(x, training=False)) for m in models.values()]
    for out in outputs[1:]:
        for a, b in zip(outputs[0], out, strict=True):
            np.testing.assert_array_equal(a, b)


def test_training_steps_identical(built, rendered):
    model, _ = built
    # Fresh models: training mutates weights, and the other tests share `built`.
    fresh = {style: _build(rendered, model, style) for style in built[1]}
    x, y = _data(rendered, model, seed=1)
    histories = {}
    for style, m in fresh.items():
        keras.utils.set_random_seed(3)
        _trainer(rendered, model).compile_model(m)
        histories[style] = [float(keras.tree.flatten(m.train_on_batch(x, y))[0]) for _ in range(3)]
    reference, *others = fresh.values()
    first = next(iter(histories.values()))
    assert all(h == first for h in histories.values()), histories
    assert first[0] != first[-1], "training steps must change the loss"
    for other in others:
        for a, b in zip(reference.weights, other.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_keras_round_trip(built, rendered, tmp_path):
    model, models = built
    x, _ = _data(rendered, model, seed=2)
    for style, m in models.items():
        path = tmp_path / f"{style}.keras"
        m.save(path)
        loaded = keras.models.load_model(path)
        assert type(loaded).__name__ == type(m).__name__
        for a, b in zip(_flat(loaded(x)), _flat(m(x)), strict=True):
            np.testing.assert_array_equal(a, b)


def test_subclass_summary_shows_shapes(built):
    _, models = built
    lines = []
    models["subclass"].summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    assert "?" not in text and "multiple" not in text, text
    assert "(None," in text

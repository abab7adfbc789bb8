"""Every catalog layer, across a spread of arguments: the output shape and parameter count that
specgen infers without TensorFlow equal what Keras builds from the generated code."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from conftest import import_file

import specgen
from specgen import catalog
from specgen.catalog import allow_import as custom
from specgen.catalog import families
from specgen.catalog import ops as catalog_ops

keras = pytest.importorskip("keras")

INIT = {"type": "GlorotUniform", "seed": 1}
CASES = [
    ("Dense", {"units": 5}, [(7,)]),
    ("Dense", {"units": 3, "use_bias": False}, [(4, 6)]),
    (
        "Dense",
        {
            "units": 2,
            "kernel_initializer": INIT,
            "kernel_regularizer": {"type": "L2", "l2": 0.01},
            "kernel_constraint": "max_norm",
        },
        [(3,)],
    ),
    ("Activation", {"activation": "relu"}, [(4,)]),
    ("Dropout", {"rate": 0.5, "seed": 3}, [(4,)]),
    ("Flatten", {}, [(3, 4, 5)]),
    ("BatchNormalization", {}, [(5, 6, 3)]),
    ("BatchNormalization", {"center": False, "momentum": 0.9}, [(4,)]),
    ("BatchNormalization", {"axis": 1}, [(3, 4)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3}, [(10, 2)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, [(9, 3)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, [(12, 2)]),
    ("Conv2D", {"filters": 8, "kernel_size": 3}, [(10, 10, 3)]),
    (
        "Conv2D",
        {"filters": 6, "kernel_size": [3, 5], "strides": [2, 1], "padding": "same"},
        [(9, 11, 2)],
    ),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2, "use_bias": False}, [(8, 8, 4)]),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "kernel_initializer": "he_normal"},
        [(9, 9, 1)],
    ),
    ("Conv3D", {"filters": 2, "kernel_size": 3}, [(6, 6, 6, 1)]),
    ("MaxPooling1D", {"pool_size": 2}, [(9, 3)]),
    ("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, [(7, 2)]),
    ("MaxPooling2D", {}, [(7, 7, 2)]),
    ("MaxPooling2D", {"pool_size": [2, 3], "strides": 1}, [(6, 6, 1)]),
    ("MaxPooling3D", {"pool_size": 2}, [(4, 6, 8, 1)]),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2}, [(9, 3)]),
    ("AveragePooling2D", {"pool_size": 2, "padding": "same"}, [(7, 5, 2)]),
    ("AveragePooling3D", {"pool_size": [1, 2, 2]}, [(4, 6, 8, 1)]),
    ("Reshape", {"target_shape": [4, 3]}, [(12,)]),
    ("Reshape", {"target_shape": [-1, 2]}, [(3, 4)]),
    ("Permute", {"dims": [2, 1]}, [(3, 5)]),
    ("RepeatVector", {"n": 3}, [(4,)]),
    ("Embedding", {"input_dim": 20, "output_dim": 4}, [((7,), "int32")]),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3}, [(5, 5, 2)]),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
        [(4, 4, 1)],
    ),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3}, [(4, 4, 1)]),
    ("DepthwiseConv2D", {"kernel_size": 3}, [(6, 6, 3)]),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "depth_multiplier": 2, "padding": "same", "use_bias": False},
        [(5, 5, 2)],
    ),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, [(6, 6, 3)]),
    (
        "SeparableConv2D",
        {"filters": 5, "kernel_size": 3, "depth_multiplier": 2, "strides": 2},
        [(9, 9, 2)],
    ),
    ("GlobalMaxPooling1D", {}, [(5, 3)]),
    ("GlobalMaxPooling2D", {"keepdims": True}, [(4, 5, 3)]),
    ("GlobalAveragePooling1D", {"keepdims": True}, [(5, 3)]),
    ("GlobalAveragePooling2D", {}, [(4, 5, 3)]),
    ("LayerNormalization", {}, [(4, 6)]),
    ("LayerNormalization", {"center": False, "epsilon": 0.01}, [(3,)]),
    ("GroupNormalization", {"groups": 2}, [(4, 4, 6)]),
    ("SpatialDropout2D", {"rate": 0.2}, [(4, 4, 3)]),
    ("GaussianNoise", {"stddev": 0.1}, [(5,)]),
    ("SimpleRNN", {"units": 4}, [(6, 3)]),
    ("SimpleRNN", {"units": 3, "return_sequences": True}, [(5, 2)]),
    ("LSTM", {"units": 4}, [(6, 3)]),
    ("LSTM", {"units": 2, "return_sequences": True, "use_bias": False}, [(5, 2)]),
    ("GRU", {"units": 4}, [(6, 3)]),
    ("GRU", {"units": 3, "reset_after": False}, [(5, 2)]),
    ("Bidirectional", {"layer": {"type": "LSTM", "units": 3}}, [(5, 2)]),
    (
        "Bidirectional",
        {"layer": {"type": "GRU", "units": 2, "return_sequences": True}, "merge_mode": "sum"},
        [(4, 3)],
    ),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4}, [(5, 8), (6, 8)]),
    (
        "MultiHeadAttention",
        {"num_heads": 3, "key_dim": 2, "value_dim": 5, "output_shape": 7},
        [(4, 6), (3, 5)],
    ),
    ("Rescaling", {"scale": 0.5, "offset": 1.0}, [(4, 4, 3)]),
    ("Resizing", {"height": 5, "width": 7}, [(10, 10, 3)]),
    ("CenterCrop", {"height": 4, "width": 6}, [(8, 8, 3)]),
    ("ZeroPadding2D", {"padding": 1}, [(4, 4, 1)]),
    ("ZeroPadding2D", {"padding": [[1, 2], [3, 4]]}, [(4, 4, 1)]),
    ("ZeroPadding2D", {"padding": [1, 2]}, [(4, 4, 1)]),
    ("Cropping2D", {"cropping": 1}, [(6, 6, 1)]),
    ("Cropping2D", {"cropping": [[1, 0], [2, 1]]}, [(6, 7, 1)]),
    ("UpSampling2D", {"size": 2}, [(3, 4, 1)]),
    ("UpSampling2D", {"size": [2, 3], "interpolation": "bilinear"}, [(3, 4, 1)]),
    ("Add", {}, [(4, 3), (4, 3), (4, 3)]),
    ("Subtract", {}, [(5,), (5,)]),
    ("Multiply", {}, [(4, 3), (4, 3)]),
    ("Average", {}, [(2, 3), (2, 3)]),
    ("Maximum", {}, [(6,), (6,)]),
    ("Minimum", {}, [(6,), (6,)]),
    ("Concatenate", {}, [(3, 4), (3, 5)]),
    ("Concatenate", {"axis": 1}, [(2, 4), (3, 4)]),
    ("Dot", {"axes": 1}, [(5,), (5,)]),
    ("Dot", {"axes": [2, 2]}, [(3, 4), (6, 4)]),
    ("Dropout", {"rate": 0.2, "noise_shape": [None, 1, 3]}, [(4, 3)]),
    ("Dense", {"units": 3, "trainable": False, "dtype": "float16"}, [(4,)]),
    ("LayerNormalization", {"axis": [1, 2]}, [(3, 4)]),
    ("Multiply", {}, [(4, 4, 3), (1, 1, 3)]),
    (
        "Bidirectional",
        {
            "layer": {"type": "LSTM", "units": 3, "return_sequences": True},
            "backward_layer": {
                "type": "GRU",
                "units": 3,
                "return_sequences": True,
                "go_backwards": True,
            },
        },
        [(5, 2)],
    ),
    (
        "MultiHeadAttention",
        {"num_heads": 2, "key_dim": 3, "attention_axes": [1]},
        [(4, 6), (5, 7), (5, 2)],
    ),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "use_gate": True}, [(4, 6), (5, 6)]),
    # activations
    ("ReLU", {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}, [(4,)]),
    ("LeakyReLU", {"negative_slope": 0.2}, [(3, 4)]),
    ("PReLU", {}, [(3, 4)]),
    ("PReLU", {"shared_axes": [1, 2]}, [(3, 4, 5)]),
    ("ELU", {"alpha": 0.5}, [(4,)]),
    ("Softmax", {"axis": 1}, [(3, 4)]),
    # preprocessing and augmentation
    ("Normalization", {}, [(4, 4, 3)]),
    ("Normalization", {"axis": [1, 3]}, [(2, 4, 3)]),
    ("Normalization", {"axis": None}, [(5,)]),
    ("Normalization", {"mean": [1.0, 2.0], "variance": [2.0, 3.0], "invert": True}, [(3, 2)]),
    ("RandomFlip", {"mode": "horizontal", "seed": 1}, [(6, 6, 3)]),
    ("RandomRotation", {"factor": 0.2, "fill_mode": "constant", "seed": 2}, [(6, 6, 3)]),
    ("RandomZoom", {"height_factor": [-0.2, 0.1], "seed": 3}, [(6, 6, 3)]),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.2}, [(6, 6, 1)]),
    ("RandomContrast", {"factor": 0.3, "value_range": [0, 1]}, [(6, 6, 3)]),
    ("TimeDistributed", {"layer": {"type": "Dense", "units": 4}}, [(5, 3)]),
    (
        "TimeDistributed",
        {"layer": {"type": "Conv2D", "filters": 2, "kernel_size": 3}},
        [(3, 6, 6, 1)],
    ),
    # Keras's own helper layers of keras.applications
    ("LayerScale", {"init_values": 0.5, "projection_dim": 4}, [(3, 4)]),
    ("StochasticDepth", {"drop_path_rate": 0.2}, [(3, 4)]),
    ("CustomScaleLayer", {"scale": 0.17}, [(3, 4), (3, 4)]),
    # operation nodes
    *[(f"ops.{name}", {"x2": 2.0}, [(3, 4)]) for name in catalog_ops.BINARY],
    ("ops.subtract", {"x1": 1.0}, [(3,)]),
    ("ops.multiply", {}, [(3, 1), (1, 4)]),
    *[(f"ops.{name}", {}, [(3, 4)]) for name in catalog_ops.UNARY],
    ("ops.concatenate", {"axis": 1}, [(3, 4), (2, 4)]),
    ("ops.stack", {"axis": -1}, [(3, 4), (3, 4)]),
    *[(f"ops.{name}", {"axis": [1, -1]}, [(3, 4, 5)]) for name in catalog_ops.REDUCTIONS],
    ("ops.mean", {"axis": 2, "keepdims": True}, [(3, 4)]),
    ("ops.transpose", {"axes": [0, 3, 1, 2]}, [(3, 4, 5)]),
    ("ops.reshape", {"newshape": [-1, 2, 6]}, [(3, 4)]),
    ("ops.expand_dims", {"axis": -1}, [(3, 4)]),
    ("ops.squeeze", {"axis": 2}, [(3, 1, 4)]),
    ("ops.matmul", {}, [(3, 4), (4, 5)]),
    ("ops.einsum", {"subscripts": "bij,bkj->bik"}, [(3, 4), (5, 4)]),
    ("ops.clip", {"x_min": -0.5, "x_max": 0.5}, [(3, 4)]),
    ("ops.get_item", {"key": [{}, {"start": 1, "stop": None, "step": 2}, None, -1]}, [(5, 4)]),
    ("ops.get_item", {"key": ["...", 0]}, [(5, 4)]),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, [(7, 3)]),
    (
        "Application",
        {"model": "MobileNetV2", "alpha": 0.5, "input_shape": [40, 48, 3], "pooling": "max"},
        [(40, 48, 3)],
    ),
    # a user's own layer (here one of Keras's, through the same opt-in)
    (
        "CustomLayer",
        {"class": "keras.layers.Dense", "config": {"units": 3}, "output_shape": [3], "params": 15},
        [(4,)],
    ),
]


def _spec(index: int, layer_type: str, args: dict, inputs: list) -> dict:
    entries = []
    for i, item in enumerate(inputs):
        dims, dtype = item if isinstance(item[-1], str) else (item, "float32")
        entries.append({"name": f"in{i}", "shape": list(dims), "dtype": dtype})
    layer = {"name": "probe", "type": layer_type, **args}
    if len(inputs) > 1:
        layer["inputs"] = [e["name"] for e in entries]
    return {"name": f"case_{index}", "seed": 0, "inputs": entries, "layers": [layer]}


def test_catalog_has_40_layers_and_every_one_is_covered():
    assert len(catalog.LAYERS) >= 40
    # The family modules' entries are proven in every style by test_catalog_families.py.
    elsewhere = {kind.name for kind in families.LAYERS}
    elsewhere.add("Pipeline")  # its layers as data: tests/test_catalog_pipeline.py
    # Refused by validation with the reason (tests/test_model_life.py proves the refusal).
    refused = {"RandomCrop"}
    covered = {case[0] for case in CASES} | elsewhere | refused
    assert {kind.name for kind in catalog.LAYERS} == covered


@pytest.mark.parametrize(
    "index", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_inferred_shape_and_params_match_keras(index, tmp_path):
    layer_type, args, inputs = CASES[index]
    spec = _spec(index, layer_type, args, inputs)
    with custom.allowing("keras.layers"):
        model = specgen.compile(spec)
    for name, text in specgen.render(model, "functional").items():
        (tmp_path / name).write_text(text)
    built = import_file(tmp_path / f"case_{index}_functional.py").build_model()
    (node,) = model.layers
    assert tuple(built.outputs[0].shape[1:]) == node.out.dims
    if node.is_op:  # an operation has no layer and no weights
        return
    layer = built.get_layer("probe")
    assert layer.count_params() == node.params
    trainable = sum(int(w.numpy().size) for w in layer.trainable_weights)
    assert trainable == node.out.trainable


# Every layer class, every style, against Keras's own layer: the last (richest) case of each.
LAST = {case[0]: i for i, case in enumerate(CASES) if not case[0].startswith("ops.")}
LAST.pop("CustomLayer")  # a user's class, not one of keras.layers
LAST.pop("Application")  # a keras.applications model: tests/test_applications.py
OBJECTS = {
    "initializer": keras.initializers,
    "regularizer": keras.regularizers,
    "constraint": keras.constraints,
}


def _keras_layer(layer_type: str, args: dict, name: str | None = None):
    """Keras's own layer for a catalog entry, built from the spec's arguments directly."""
    kinds = {arg.name: arg.kind for arg in catalog.BY_SPELLING[layer_type].args}
    given = {}
    for key, value in args.items():
        if kinds[key] == "layer":
            value = _keras_layer(value["type"], {k: v for k, v in value.items() if k != "type"})
        elif kinds[key] in OBJECTS and isinstance(value, dict):
            config = {k: v for k, v in value.items() if k != "type"}
            value = getattr(OBJECTS[kinds[key]], value["type"])(**config)
        given[key] = value
    module = importlib.import_module(catalog.BY_SPELLING[layer_type].module)
    return getattr(module, layer_type)(**given, **({"name": name} if name else {}))


def _reference(kind, args: dict, inputs: list):
    tensors = []
    for i, item in enumerate(inputs):
        dims, dtype = item if isinstance(item[-1], str) else (item, "float32")
        tensors.append(keras.Input(shape=dims, dtype=dtype, name=f"in{i}"))
    layer = _keras_layer(kind.name, args, name="probe")
    if kind.call == "list":
        out = layer(tensors)
    elif kind.call == "positional":
        out = layer(*tensors)
    else:
        (x,) = tensors
        out = layer(x)
    return keras.Model(tensors if len(tensors) > 1 else tensors[0], out)


@pytest.mark.parametrize("layer_type", sorted(LAST))
def test_every_style_equals_keras_own_layer(layer_type, tmp_path):
    """Built in every style the spec allows: the whole layer list is the one layer, the weights
    interchange with Keras's own layer, and the outputs (one tensor, bit for bit) are its."""
    from specgen.verify import sample_inputs

    index = LAST[layer_type]
    _, args, inputs = CASES[index]
    spec = _spec(index, layer_type, args, inputs)
    model = specgen.compile(spec)
    for name, text in specgen.render(model, "all").items():
        (tmp_path / name).write_text(text)
    styles = [
        s
        for s in ("sequential", "functional", "subclass")
        if (tmp_path / f"case_{index}_{s}.py").exists()
    ]
    assert styles[-2:] == ["functional", "subclass"]
    reference = _reference(model.layers[0].kind, args, inputs)
    x = sample_inputs(model, 2, seed=index)
    for style in styles:
        built = import_file(tmp_path / f"case_{index}_{style}.py").build_model(seed=1)
        layers = [layer.name for layer in built.layers]
        assert layers == (["probe"] if style != "functional" else [*model.input_names, "probe"])
        assert [w.shape for w in built.get_weights()] == [
            w.shape for w in reference.get_weights()
        ], style
        reference.set_weights(built.get_weights())
        want, got = reference(x, training=False), built(x, training=False)
        assert keras.tree.is_nested(got) == keras.tree.is_nested(want) == False, style  # noqa: E712
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=style)

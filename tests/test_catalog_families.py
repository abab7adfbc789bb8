"""Every entry of the catalog's family modules (catalog/families.py), in every style its spec
allows: the whole layer list, one weight list, bit-equal outputs across the styles and against
a model built directly from `keras.layers.<Class>(**args)` with the same weights, the exact
output structure, and the parameter count specgen inferred without TensorFlow."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import import_file

import specgen
from specgen.catalog import families, rnn, zoo_layers
from specgen.catalog import text as text_layers
from specgen.catalog.excluded import EXCLUDED

keras = pytest.importorskip("keras")

STYLES = ("sequential", "functional", "subclass")


@dataclass(frozen=True)
class Ints:
    """An int32 input whose values are drawn from [0, high): within the layer's vocabulary."""

    shape: tuple
    high: int


@dataclass(frozen=True)
class Pixels:
    """A float32 image input with values in [0, 255): Keras's default value_range."""

    shape: tuple


IMAGE = [Pixels((6, 6, 3))]
# (type, arguments, inputs: a float32 shape, Ints or Pixels)
CASES = [
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, [(5, 2)]),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "padding": "same"}, [(3, 3, 2, 2)]),
    (
        "SeparableConv1D",
        {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
        [(7, 3)],
    ),
    ("DepthwiseConv1D", {"kernel_size": 3, "strides": 2, "use_bias": False}, [(9, 2)]),
    ("ZeroPadding1D", {"padding": [1, 2]}, [(4, 2)]),
    ("ZeroPadding3D", {"padding": [[1, 0], [0, 2], [1, 1]]}, [(2, 3, 2, 1)]),
    ("Cropping1D", {"cropping": [1, 2]}, [(6, 2)]),
    ("Cropping3D", {"cropping": [1, 0, 1]}, [(4, 3, 4, 1)]),
    ("UpSampling1D", {"size": 3}, [(4, 2)]),
    ("UpSampling3D", {"size": [1, 2, 3]}, [(2, 2, 2, 1)]),
    ("GlobalMaxPooling3D", {"keepdims": True}, [(2, 3, 4, 2)]),
    ("GlobalAveragePooling3D", {}, [(2, 3, 4, 2)]),
    ("AdaptiveAveragePooling1D", {"output_size": 3}, [(7, 2)]),
    ("AdaptiveAveragePooling2D", {"output_size": [2, 3]}, [(5, 7, 2)]),
    ("AdaptiveAveragePooling3D", {"output_size": 2}, [(4, 5, 3, 1)]),
    ("AdaptiveMaxPooling1D", {"output_size": 2}, [(5, 3)]),
    ("AdaptiveMaxPooling2D", {"output_size": 3}, [(7, 6, 1)]),
    ("AdaptiveMaxPooling3D", {"output_size": 2}, [(4, 4, 5, 1)]),
    ("Identity", {}, [(3, 2)]),
    ("Masking", {"mask_value": 0.5}, [(4, 3)]),
    (
        "ReversibleEmbedding",
        {"input_dim": 9, "output_dim": 3, "tie_weights": False},
        [Ints((4,), 9)],
    ),
    (
        "EinsumDense",
        {"equation": "abc,cde->abde", "output_shape": [None, 2, 3], "bias_axes": "de"},
        [(5, 4)],
    ),
    ("ActivityRegularization", {"l1": 0.01, "l2": 0.1}, [(5,)]),
    ("GaussianDropout", {"rate": 0.3, "seed": 1}, [(5,)]),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": [None, 1, 3], "seed": 1}, [(4, 3)]),
    ("SpatialDropout1D", {"rate": 0.2, "seed": 2}, [(4, 3)]),
    ("SpatialDropout3D", {"rate": 0.2}, [(2, 2, 2, 3)]),
    ("UnitNormalization", {"axis": [1, 2]}, [(3, 4)]),
    ("RMSNormalization", {"axis": -1, "epsilon": 1e-4}, [(3, 4)]),
    ("CategoryEncoding", {"num_tokens": 6, "output_mode": "count"}, [Ints((4,), 6)]),
    ("Hashing", {"num_bins": 5, "salt": 7}, [Ints((3,), 1000)]),
    (
        "IntegerLookup",
        {"vocabulary": [3, 7, 11, 2], "mask_token": 0, "output_mode": "multi_hot"},
        [Ints((5,), 13)],
    ),
    ("HashedCrossing", {"num_bins": 7, "output_mode": "one_hot"}, [Ints((1,), 50), Ints((1,), 9)]),
    ("Discretization", {"bin_boundaries": [0.25, 0.5, 0.75]}, [(4,)]),
    ("Attention", {"use_scale": True, "score_mode": "concat"}, [(3, 4), (5, 4)]),
    ("AdditiveAttention", {"dropout": 0.1}, [(3, 4), (5, 6), (5, 4)]),
    (
        "GroupQueryAttention",
        {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, "use_gate": True},
        [(3, 6), (5, 6), (5, 4)],
    ),
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3, "recurrent_dropout": 0.1}, [(3, 6, 2)]),
    (
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": [2, 3], "padding": "same", "return_sequences": True},
        [(2, 4, 5, 1)],
    ),
    ("ConvLSTM3D", {"filters": 1, "kernel_size": 2, "strides": 2}, [(2, 4, 4, 4, 1)]),
    (
        "SpectralNormalization",
        {"layer": {"type": "Conv1D", "filters": 3, "kernel_size": 2}, "power_iterations": 2},
        [(5, 2)],
    ),
    (
        "MelSpectrogram",
        {"fft_length": 32, "sequence_stride": 16, "sampling_rate": 8000, "num_mel_bins": 8},
        [(64,)],
    ),
    (
        "STFTSpectrogram",
        {"mode": "stft", "frame_length": 12, "frame_step": 4, "expand_dims": True},
        [(40, 2)],
    ),
    ("RandomBrightness", {"factor": 0.3, "seed": 1}, IMAGE),
    ("RandomHue", {"factor": [0.1, 0.4], "seed": 2}, IMAGE),
    ("RandomSaturation", {"factor": 0.5, "seed": 3}, IMAGE),
    ("RandomGrayscale", {"factor": 0.9, "seed": 4}, IMAGE),
    ("RandomInvert", {"factor": 0.8, "seed": 5}, IMAGE),
    ("RandomSharpness", {"factor": 0.5, "seed": 6}, IMAGE),
    ("RandomShear", {"x_factor": 0.3, "y_factor": 0.2, "fill_mode": "constant", "seed": 7}, IMAGE),
    ("RandomErasing", {"factor": 1.0, "scale": [0.1, 0.3], "seed": 8}, IMAGE),
    ("RandomGaussianBlur", {"kernel_size": 3, "sigma": [0.5, 1.5], "seed": 9}, IMAGE),
    ("RandomPerspective", {"factor": 0.9, "scale": 0.5, "seed": 10}, IMAGE),
    ("RandomColorJitter", {"brightness_factor": 0.2, "hue_factor": 0.1, "seed": 11}, IMAGE),
    ("RandomColorDegeneration", {"factor": 0.5, "seed": 12}, IMAGE),
    ("RandomPosterization", {"factor": [1, 4], "seed": 13}, IMAGE),
    ("Solarization", {"addition_factor": 0.2, "threshold_factor": 0.5, "seed": 14}, IMAGE),
    ("AugMix", {"num_chains": 2, "chain_depth": 2, "seed": 15}, IMAGE),
    ("RandAugment", {"num_ops": 2, "factor": 0.4, "seed": 16}, IMAGE),
    ("MixUp", {"alpha": 0.5, "seed": 17}, IMAGE),
    ("CutMix", {"factor": 1.0, "seed": 18}, IMAGE),
    ("RandomElasticTransform", {"factor": 1.0, "scale": 0.5, "seed": 19}, IMAGE),
    ("AutoContrast", {"value_range": [0, 255]}, IMAGE),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"tile_grid_size": [2, 2]}, IMAGE),
]


def test_every_family_entry_has_a_case():
    """The layers that take strings have theirs in test_catalog_strings.py, RNN in
    test_catalog_rnn.py, keras.applications' helper layers in test_catalog.py."""
    elsewhere = (*text_layers.LAYERS, *rnn.LAYERS, *zoo_layers.LAYERS)
    numeric = [kind.name for kind in families.LAYERS if kind not in elsewhere]
    assert sorted(numeric) == sorted(c[0] for c in CASES)


# Keras's call() takes `training` but does the same either way.
SAME_IN_TRAINING = {"EinsumDense", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization"}


def test_every_public_keras_layer_is_catalogued_or_excluded():
    from specgen import catalog

    named = {s for kind in catalog.LAYERS for s in kind.spellings}
    public = {n for n in dir(keras.layers) if n[0].isupper()}
    assert sorted(public - named) == sorted(EXCLUDED)


@pytest.mark.parametrize("kind", families.LAYERS, ids=lambda kind: kind.name)
def test_training_flag_read_off_keras(kind):
    """`training` (the subclass passes it on) exactly where Keras's call() takes it and the
    layer acts differently in training (the seeded cases above show it does)."""
    import importlib
    import inspect

    cls = getattr(importlib.import_module(kind.module), kind.name)
    takes = "training" in inspect.signature(cls.call).parameters
    assert kind.training == (takes and kind.name not in SAME_IN_TRAINING)


def _spec(layer_type: str, args: dict, inputs: list) -> dict:
    entries = [
        {"name": f"in{i}", "shape": list(item.shape), "dtype": "int32"}
        if isinstance(item, Ints)
        else {"name": f"in{i}", "shape": list(_dims(item)), "dtype": "float32"}
        for i, item in enumerate(inputs)
    ]
    layer = {"name": "probe", "type": layer_type, **args}
    if len(inputs) > 1:
        layer["inputs"] = [e["name"] for e in entries]
    name = f"family_{layer_type.lower()}"[:40]
    return {"name": name, "seed": 0, "inputs": entries, "layers": [layer]}


def _dims(item) -> tuple:
    return item.shape if isinstance(item, Ints | Pixels) else item


def _arrays(inputs: list, rows: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    arrays = []
    for item in inputs:
        if isinstance(item, Ints):
            arrays.append(rng.integers(0, item.high, size=(rows, *item.shape)).astype("int32"))
        elif isinstance(item, Pixels):
            arrays.append(rng.uniform(0, 255, size=(rows, *item.shape)).astype("float32"))
        else:
            arrays.append(rng.standard_normal((rows, *item)).astype("float32"))
    return arrays


def _direct(layer_type: str, args: dict, inputs: list, call: str):
    """The same layer built straight from Keras, outside specgen."""
    tensors = [
        keras.Input(shape=item.shape, dtype="int32", name=f"in{i}")
        if isinstance(item, Ints)
        else keras.Input(shape=_dims(item), name=f"in{i}")
        for i, item in enumerate(inputs)
    ]
    if isinstance(args.get("layer"), dict):  # a wrapper: its layer built from Keras too
        inner = dict(args["layer"])
        args = {**args, "layer": getattr(keras.layers, inner.pop("type"))(**inner)}
    layer = getattr(keras.layers, layer_type)(**args, name="probe")
    if call == "list":
        out = layer(tensors)
    elif call == "positional":
        out = layer(*tensors)
    else:
        (x,) = tensors
        out = layer(x)
    return keras.Model(tensors if len(tensors) > 1 else tensors[0], out)


def _expected_layers(style: str, layer_type: str, inputs: list) -> list[tuple[str, str]]:
    inputs_layers = [(f"in{i}", "InputLayer") for i in range(len(inputs))]
    own = [("probe", getattr(keras.layers, layer_type).__name__)]
    return inputs_layers + own if style == "functional" else own


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_style_is_keras_own_layer(case, tmp_path):
    layer_type, args, inputs = case
    spec = _spec(layer_type, args, inputs)
    model = specgen.compile(spec)
    (node,) = model.layers
    for name, text in specgen.render(model, "all").items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    built = {}
    for style in STYLES:
        path = tmp_path / f"{model.name}_{style}.py"
        if path.exists():
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # importing and building must not warn
                module = import_file(path, f"_family_{model.name}_{style}")
                built[style] = module.build_model(seed=0)
    # A single-input layer is a Sequential model too; a multi-input one is not.
    assert list(built) == (list(STYLES) if len(inputs) == 1 else ["functional", "subclass"])
    direct = _direct(layer_type, args, inputs, node.kind.call)
    reference = built["functional"].get_weights()
    for style, m in built.items():
        got = [(layer.name, type(layer).__name__) for layer in m.layers]
        assert got == _expected_layers(style, layer_type, inputs), style
        assert m.count_params() == node.params, style
        m.set_weights(reference)
    direct.set_weights(reference)
    assert direct.count_params() == node.params
    assert tuple(direct.outputs[0].shape[1:]) == node.out.dims
    trainable = sum(int(np.prod(w.shape)) for w in direct.trainable_weights)
    assert trainable == node.out.trainable
    arrays = _arrays(inputs)
    x = {f"in{i}": a for i, a in enumerate(arrays)} if len(arrays) > 1 else arrays[0]
    # A seeded layer that acts in training draws the same numbers in every fresh model:
    # each style passes `training` on and augments (or drops) exactly as Keras's own layer.
    modes = (True, False) if node.kind.training and "seed" in args else (False,)
    for training in modes:
        # Some layers (AugMix) also draw from the global stream: the same start for each call.
        keras.utils.set_random_seed(99)
        expected = direct(arrays if len(arrays) > 1 else arrays[0], training=training)
        assert keras.ops.is_tensor(expected)
        for style, m in built.items():
            for w, r in zip(m.get_weights(), reference, strict=True):
                np.testing.assert_array_equal(w, r)
            keras.utils.set_random_seed(99)
            out = m(x, training=training)
            assert keras.ops.is_tensor(out), (style, type(out))  # one tensor, not a list
            assert out.dtype == expected.dtype, style
            np.testing.assert_array_equal(
                np.asarray(out), np.asarray(expected), err_msg=f"{style} training={training}"
            )
        if training:  # the seeded augmentation did act (else this mode proves nothing)
            assert not np.array_equal(np.asarray(expected), arrays[0])


# More arguments per entry: the inferred shape and parameter count against Keras's own layer,
# built directly (no render: the styles are proven above).
SPREAD = [
    (
        "Conv1DTranspose",
        {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same"},
        [(5, 2)],
    ),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, [(5, 1)]),
    ("Conv3DTranspose", {"filters": 3, "kernel_size": [1, 2, 3], "strides": 2}, [(2, 3, 2, 2)]),
    (
        "SeparableConv1D",
        {"filters": 3, "kernel_size": 2, "strides": 2, "use_bias": False},
        [(7, 2)],
    ),
    ("DepthwiseConv1D", {"kernel_size": 2, "depth_multiplier": 3, "dilation_rate": 2}, [(8, 2)]),
    ("ZeroPadding1D", {"padding": 3}, [(4, 2)]),
    ("ZeroPadding3D", {"padding": [1, 2, 0]}, [(2, 3, 2, 1)]),
    ("ZeroPadding3D", {}, [(2, 3, 2, 1)]),
    ("Cropping1D", {}, [(4, 2)]),
    ("Cropping3D", {"cropping": [[0, 1], [1, 1], [2, 0]]}, [(3, 4, 5, 1)]),
    ("UpSampling1D", {}, [(4, 2)]),
    ("UpSampling3D", {"size": 2}, [(2, 2, 2, 1)]),
    ("GlobalMaxPooling3D", {}, [(2, 3, 4, 2)]),
    ("GlobalAveragePooling3D", {"keepdims": True}, [(2, 3, 4, 2)]),
    ("AdaptiveMaxPooling1D", {"output_size": 4}, [(3, 2)]),
    ("AdaptiveAveragePooling2D", {"output_size": 2}, [(4, 4, 3)]),
    ("RMSNormalization", {"axis": [1, 2]}, [(3, 4)]),
    ("UnitNormalization", {}, [(3, 4)]),
    ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, [(3,)]),
    ("EinsumDense", {"equation": "abc,cd->abd", "output_shape": [5, 2]}, [(5, 3)]),
    ("ReversibleEmbedding", {"input_dim": 7, "output_dim": 2}, [Ints((3,), 7)]),
    ("CategoryEncoding", {"num_tokens": 4, "output_mode": "one_hot"}, [Ints((1,), 4)]),
    ("CategoryEncoding", {"num_tokens": 4, "output_mode": "one_hot"}, [Ints((3,), 4)]),
    ("CategoryEncoding", {"num_tokens": 5}, [Ints((2,), 5)]),
    ("Hashing", {"num_bins": 4, "output_mode": "multi_hot"}, [Ints((3,), 100)]),
    ("Hashing", {"num_bins": 4, "output_mode": "one_hot"}, [Ints((1,), 100)]),
    ("Discretization", {"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, [(3,)]),
    ("IntegerLookup", {"vocabulary": [5, 1, 9]}, [Ints((4,), 12)]),
    (
        "IntegerLookup",
        {"vocabulary": [5, 1], "num_oov_indices": 2, "output_mode": "count"},
        [Ints((4,), 8)],
    ),
    ("HashedCrossing", {"num_bins": 5}, [Ints((1,), 9), Ints((1,), 9)]),
    ("Attention", {}, [(3, 4), (5, 4)]),
    ("AdditiveAttention", {"use_scale": False}, [(3, 4), (5, 4)]),
    (
        "GroupQueryAttention",
        {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1, "use_bias": False},
        [(3, 4), (5, 4)],
    ),
    ("ConvLSTM1D", {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}, [(2, 5, 2)]),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 2, "use_bias": False}, [(3, 4, 4, 2)]),
    (
        "SpectralNormalization",
        {"layer": {"type": "Embedding", "input_dim": 6, "output_dim": 3}},
        [Ints((4,), 6)],
    ),
    ("SpectralNormalization", {"layer": {"type": "Dense", "units": 4}}, [(3,)]),
    ("STFTSpectrogram", {"mode": "real", "frame_length": 8, "padding": "same"}, [(20, 1)]),
    ("STFTSpectrogram", {"mode": "imag", "frame_length": 6, "fft_length": 16}, [(20, 3)]),
    ("STFTSpectrogram", {}, [(300, 1)]),
    ("MelSpectrogram", {"fft_length": 16, "sequence_stride": 8, "num_mel_bins": 4}, [(40,)]),
]


@pytest.mark.parametrize("case", SPREAD, ids=[c[0] for c in SPREAD])
def test_inferred_shape_and_params_match_keras_across_arguments(case):
    layer_type, args, inputs = case
    (node,) = specgen.compile(_spec(layer_type, args, inputs)).layers
    direct = _direct(layer_type, args, inputs, node.kind.call)
    assert tuple(direct.outputs[0].shape[1:]) == node.out.dims
    assert direct.count_params() == node.params
    trainable = sum(int(np.prod(w.shape)) for w in direct.trainable_weights)
    assert trainable == node.out.trainable


# Specs Keras cannot build: specgen refuses each with a message naming the problem. How Keras
# fails: "raises" (building or calling), "warns" (generated code must not warn), "crashes"
# (the process dies: SIGFPE in TensorFlow's pooling, so it is not called here), "misstates"
# (it builds, but its static output shape disagrees with what the call returns).
REFUSED = [
    ("AdaptiveMaxPooling1D", {"output_size": 1}, [(3, 2)], "pooling window of 4", "crashes"),
    (
        "GroupQueryAttention",
        {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 2},
        [(3, 4), (5, 4)],
        "must divide num_query_heads",
        "raises",
    ),
    (
        "GroupQueryAttention",
        {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2},
        [(3, 4), (5, 6)],
        "must be equal",
        "raises",
    ),
    ("Attention", {}, [(3, 4), (5, 6)], "equal features", "raises"),
    (
        "STFTSpectrogram",
        {"frame_length": 4, "frame_step": 5},
        [(20, 1)],
        "may not exceed",
        "raises",
    ),
    ("STFTSpectrogram", {"frame_length": 4, "fft_length": 6}, [(20, 1)], "power of two", "warns"),
    (
        "IntegerLookup",
        {"vocabulary": [1, 0], "mask_token": 0},
        [Ints((2,), 3)],
        "mask token",
        "raises",
    ),
    (
        "EinsumDense",
        {"equation": "ab,bc->ac", "output_shape": [2, 3]},
        [(3,)],
        "one size",
        "misstates",
    ),
    (
        "EinsumDense",
        {"equation": "abc,cd->abd", "output_shape": [4, 2]},
        [(5, 3)],
        "has 5",
        "raises",
    ),
    (
        "SpectralNormalization",
        {"layer": {"type": "LSTM", "units": 2}},
        [(4, 3)],
        "SpectralNormalization wraps one of",
        "raises",
    ),
    ("Cropping1D", {"cropping": [2, 2]}, [(4, 1)], "leaves nothing", "raises"),
]


def _kind(name: str):
    return next(kind for kind in families.LAYERS if kind.name == name)


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_specs_keras_cannot_build_are_refused_by_name(case):
    layer_type, args, inputs, words, keras_fails = case
    with pytest.raises(specgen.SpecInvalid) as info:
        specgen.compile(_spec(layer_type, args, inputs))
    assert words in str(info.value) and "/layers/0" in str(info.value)
    call = _kind(layer_type).call
    if keras_fails == "raises":  # Keras refuses it too: the refusal is not ours alone
        with pytest.raises(Exception):  # noqa: B017,PT011 - Keras raises several types
            model = _direct(layer_type, args, inputs, call)
            arrays = _arrays(inputs)
            model(arrays if len(arrays) > 1 else arrays[0])
    elif keras_fails == "warns":
        with pytest.warns(UserWarning):
            _direct(layer_type, args, inputs, call)
    elif keras_fails == "misstates":
        model = _direct(layer_type, args, inputs, call)
        arrays = _arrays(inputs)
        got = model(arrays if len(arrays) > 1 else arrays[0]).shape[1:]
        assert tuple(got) != tuple(model.outputs[0].shape[1:])

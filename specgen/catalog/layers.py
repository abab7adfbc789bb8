"""The layer catalog: the one place that says which Keras layers a spec may use.

Each entry names a `keras.layers` class, its JSON-valued constructor arguments (as JSON Schema
fragments), which of them Keras's own docs pass positionally, and its shape rule. The JSON
Schema in `schemas/`, validation, shape inference and the templates all draw on this table, so
adding a layer is one entry here, one rule in `shapes.py`, and its test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from . import activations as catalog_activations
from . import applications as catalog_applications
from . import custom as catalog_custom
from . import families as catalog_families
from . import merging as catalog_merging
from . import ops as catalog_ops
from . import pipeline as catalog_pipeline
from . import pooling, rnn, shapes
from . import preprocessing as catalog_preprocessing
from .base import *  # noqa: F403 - the catalog's public names live on
from .base import (
    ACTIVATION,
    ACTIVATIONS,
    BOOL,
    CONSTRAINT,
    FLOAT,
    INITIALIZER,
    PADDING,
    POS_INT,
    RATE,
    REGULARIZER,
    SEED,
    Arg,
    LayerKind,
    _named,
    _weights,
    int_tuple,
)

AXES = {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}
NOISE_SHAPE = {
    "title": "the dropout mask's shape, batch axis first (null: the input's size)",
    "type": "array",
    "items": {"anyOf": [POS_INT, {"type": "null"}]},
    "minItems": 2,
}
_BIASED = (Arg("activation", ACTIVATION), Arg("use_bias", BOOL), *_weights("kernel", "bias"))
_ACTIVITY = (Arg("activity_regularizer", REGULARIZER, kind="regularizer"),)


CAUSAL_PADDING = _named("padding", ["valid", "same", "causal"])


def _conv(rank: int) -> LayerKind:
    return LayerKind(
        f"Conv{rank}D",
        (
            Arg("filters", POS_INT, required=True, positional=True),
            Arg("kernel_size", int_tuple(rank), required=True, positional=True),
            Arg("strides", int_tuple(rank)),
            # Conv1D also pads causally (WaveNet): the output at t sees inputs up to t.
            Arg("padding", CAUSAL_PADDING if rank == 1 else PADDING),
            Arg("dilation_rate", int_tuple(rank)),
            Arg("groups", POS_INT),
            *_BIASED,
            *_ACTIVITY,
        ),
        shapes.conv(rank),
        aliases=(f"Convolution{rank}D",),
    )


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "Dense",
        (Arg("units", POS_INT, required=True, positional=True), *_BIASED, *_ACTIVITY),
        shapes.dense,
    ),
    LayerKind(
        "Activation",
        (Arg("activation", _named("activation", ACTIVATIONS), required=True, positional=True),),
        shapes.identity,
    ),
    LayerKind(
        "Dropout",
        (
            Arg("rate", RATE, required=True, positional=True),
            Arg("noise_shape", NOISE_SHAPE),
            Arg("seed", SEED),
        ),
        shapes.dropout,
        training=True,
    ),
    LayerKind("Flatten", (), shapes.flatten),
    LayerKind(
        "BatchNormalization",
        (
            Arg("axis", {"type": "integer"}),
            Arg("momentum", {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}),
            Arg("epsilon", {"type": "number", "exclusiveMinimum": 0}),
            Arg("center", BOOL),
            Arg("scale", BOOL),
            *_weights("beta", "gamma"),
            Arg("moving_mean_initializer", INITIALIZER, kind="initializer"),
            Arg("moving_variance_initializer", INITIALIZER, kind="initializer"),
        ),
        shapes.batch_normalization,
        training=True,
    ),
    _conv(1),
    _conv(2),
    _conv(3),
    pooling.pool("Max", 1),
    pooling.pool("Max", 2),
    pooling.pool("Max", 3),
    pooling.pool("Average", 1),
    pooling.pool("Average", 2),
    pooling.pool("Average", 3),
)


def _depthwise_args(*weights: Arg) -> tuple[Arg, ...]:
    return (
        Arg("kernel_size", int_tuple(2), required=True, positional=True),
        Arg("strides", int_tuple(2)),
        Arg("padding", PADDING),
        Arg("depth_multiplier", POS_INT),
        Arg("dilation_rate", int_tuple(2)),
        Arg("activation", ACTIVATION),
        Arg("use_bias", BOOL),
        *weights,
    )


PAIR_OF_PAIRS = {
    "title": "an integer, [int, int] or [[top, bottom], [left, right]]",
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
        {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "minItems": 2,
                "maxItems": 2,
            },
        },
    ],
}
_NORM = (
    Arg("epsilon", {"type": "number", "exclusiveMinimum": 0}),
    Arg("center", BOOL),
    Arg("scale", BOOL),
    *_weights("beta", "gamma"),
)
RECURRENT_TYPES = ("LSTM", "GRU", "SimpleRNN")

LAYERS += (
    LayerKind(
        "Reshape",
        (
            Arg(
                "target_shape",
                {"type": "array", "items": {"type": "integer", "minimum": -1}, "minItems": 1},
                required=True,
                positional=True,
            ),
        ),
        shapes.reshape,
    ),
    LayerKind(
        "Permute",
        (
            Arg(
                "dims",
                {"type": "array", "items": POS_INT, "minItems": 1, "uniqueItems": True},
                required=True,
                positional=True,
            ),
        ),
        shapes.permute,
    ),
    LayerKind(
        "RepeatVector", (Arg("n", POS_INT, required=True, positional=True),), shapes.repeat_vector
    ),
    LayerKind(
        "Embedding",
        (
            Arg("input_dim", POS_INT, required=True, positional=True),
            Arg("output_dim", POS_INT, required=True, positional=True),
            Arg("embeddings_initializer", INITIALIZER, kind="initializer"),
            Arg("embeddings_regularizer", REGULARIZER, kind="regularizer"),
            Arg("embeddings_constraint", CONSTRAINT, kind="constraint"),
            Arg("mask_zero", BOOL),
        ),
        shapes.embedding,
    ),
    LayerKind(
        "Conv2DTranspose",
        (
            Arg("filters", POS_INT, required=True, positional=True),
            Arg("kernel_size", int_tuple(2), required=True, positional=True),
            Arg("strides", int_tuple(2)),
            Arg("padding", PADDING),
            Arg("dilation_rate", int_tuple(2)),
            *_BIASED,
            *_ACTIVITY,
        ),
        shapes.conv_transpose(2),
        aliases=("Convolution2DTranspose",),
    ),
    LayerKind(
        "DepthwiseConv2D",
        _depthwise_args(*_weights("depthwise", "bias")),
        shapes.depthwise_conv(separable=False),
    ),
    LayerKind(
        "SeparableConv2D",
        (
            Arg("filters", POS_INT, required=True, positional=True),
            *_depthwise_args(*_weights("depthwise", "pointwise", "bias")),
        ),
        shapes.depthwise_conv(separable=True),
        aliases=("SeparableConvolution2D",),
    ),
    pooling.global_pool("Max", 1),
    pooling.global_pool("Max", 2),
    pooling.global_pool("Average", 1),
    pooling.global_pool("Average", 2),
    LayerKind("LayerNormalization", (Arg("axis", AXES), *_NORM), shapes.layer_normalization),
    LayerKind(
        "GroupNormalization",
        (Arg("groups", POS_INT), Arg("axis", {"const": -1}), *_NORM),
        shapes.group_normalization,
    ),
    LayerKind(
        "SpatialDropout2D",
        (Arg("rate", RATE, required=True, positional=True), Arg("seed", SEED)),
        shapes.spatial_dropout(2),
        training=True,
    ),
    LayerKind(
        "GaussianNoise",
        (
            Arg("stddev", {"type": "number", "minimum": 0}, required=True, positional=True),
            Arg("seed", SEED),
        ),
        shapes.identity,
        training=True,
    ),
    rnn.recurrent_layer("SimpleRNN"),
    rnn.recurrent_layer("LSTM"),
    rnn.recurrent_layer("GRU"),
    LayerKind(
        "Bidirectional",
        (
            Arg(
                "layer",
                {"$ref": "#/$defs/recurrent_layer"},
                required=True,
                positional=True,
                kind="layer",
            ),
            Arg("merge_mode", _named("merge mode", ["concat", "sum", "mul", "ave"])),
            Arg("backward_layer", {"$ref": "#/$defs/recurrent_layer"}, kind="layer"),
        ),
        shapes.bidirectional,
        training=True,
    ),
    LayerKind(
        "MultiHeadAttention",
        (
            Arg("num_heads", POS_INT, required=True),
            Arg("key_dim", POS_INT, required=True),
            Arg("value_dim", POS_INT),
            Arg("dropout", {"type": "number", "minimum": 0, "exclusiveMaximum": 1}),
            Arg("use_bias", BOOL),
            Arg("output_shape", POS_INT),
            Arg(
                "attention_axes",
                {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
            ),
            *_weights("kernel", "bias"),
            Arg("use_gate", BOOL),
            Arg("seed", SEED),
        ),
        shapes.multi_head_attention,
        call="positional",
        min_inputs=2,
        max_inputs=3,
        training=True,
    ),
    LayerKind(
        "Rescaling",
        (Arg("scale", FLOAT, required=True, positional=True), Arg("offset", FLOAT)),
        shapes.identity,
    ),
    LayerKind(
        "Resizing",
        (
            Arg("height", POS_INT, required=True, positional=True),
            Arg("width", POS_INT, required=True, positional=True),
            Arg(
                "interpolation",
                _named(
                    "interpolation",
                    ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"],
                ),
            ),
            Arg("crop_to_aspect_ratio", BOOL),
        ),
        shapes.resize,
    ),
    LayerKind(
        "CenterCrop",
        (
            Arg("height", POS_INT, required=True, positional=True),
            Arg("width", POS_INT, required=True, positional=True),
        ),
        shapes.resize,
    ),
    LayerKind(
        "ZeroPadding2D",
        (Arg("padding", PAIR_OF_PAIRS, positional=True),),
        shapes.pad_or_crop("padding", +1),
    ),
    LayerKind(
        "Cropping2D",
        (Arg("cropping", PAIR_OF_PAIRS, positional=True),),
        shapes.pad_or_crop("cropping", -1),
    ),
    LayerKind(
        "UpSampling2D",
        (
            Arg("size", int_tuple(2), positional=True),
            Arg(
                "interpolation",
                _named("interpolation", ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"]),
            ),
        ),
        shapes.upsampling,
    ),
)
LAYERS += catalog_merging.LAYERS  # Add ... Dot, in their place in the table


def _time_distributed(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    """The wrapped layer's rule on each time step (the axis after the batch)."""
    x = shapes.single(dims)
    if len(x) < 2:
        raise shapes.ShapeError(f"expected (batch, time, ...), received {shapes.show(x)}")
    inner = args["layer"]
    out = BY_SPELLING[inner["type"]].shape(dict(inner), [x[1:]])
    return shapes.Shape((x[0], *out.dims), out.trainable, out.non_trainable)


LAYERS += (
    LayerKind(
        "TimeDistributed",
        (
            Arg(
                "layer",
                {"$ref": "#/$defs/wrapped_layer"},
                required=True,
                positional=True,
                kind="layer",
            ),
        ),
        _time_distributed,
        training=True,
    ),
)
LAYERS += catalog_activations.LAYERS + catalog_preprocessing.LAYERS + catalog_custom.LAYERS
LAYERS += catalog_families.LAYERS  # the families split out as the catalog grew

# Every layer (not an operation) takes Keras's base-layer `trainable` and `dtype`: a frozen
# pretrained Embedding stays frozen, a float32 output layer stays float32 under mixed precision.
DTYPES = ["float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16"]
COMMON = (Arg("trainable", BOOL), Arg("dtype", _named("dtype policy", DTYPES)))
COMMON += (Arg("keras_name", {"$ref": "#/$defs/keras_name"}),)  # the Keras name of a renamed import
LAYERS = tuple(replace(kind, args=kind.args + COMMON) for kind in LAYERS)
LAYERS += catalog_ops.LAYERS + catalog_applications.LAYERS
LAYERS += catalog_pipeline.LAYERS  # Keras's Pipeline takes only `layers` and `name`

BY_SPELLING: Mapping[str, LayerKind] = MappingProxyType(
    {spelling: kind for kind in LAYERS for spelling in kind.spellings}
)

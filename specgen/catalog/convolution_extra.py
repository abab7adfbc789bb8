"""The 1D and 3D members of the convolution family (keras/src/layers/convolutional) that the
core module does not write out: transposed, separable and depthwise convolutions. Each entry
sits beside its shape rule.
"""

from __future__ import annotations

import math

from . import shapes
from .base import (
    ACTIVATION,
    BOOL,
    PADDING,
    POS_INT,
    REGULARIZER,
    Arg,
    LayerKind,
    int_tuple,
    weights,
)
from .convolution_args import convolution_head

_ACTIVITY = (Arg("activity_regularizer", REGULARIZER, kind="regularizer"),)


def _transpose(rank: int) -> LayerKind:
    return LayerKind(
        f"Conv{rank}DTranspose",
        (
            *convolution_head(rank),
            Arg("use_bias", BOOL),
            *weights("kernel", "bias"),
            *_ACTIVITY,
        ),
        shapes.conv_transpose(rank),
        aliases=(f"Convolution{rank}DTranspose",),
    )


def _depthwise(separable: bool, rank: int):
    """Depthwise (and separable: then pointwise) convolution over `rank` spatial axes."""

    def rule(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
        x = shapes.single(dims)
        shapes.check_rank(x, rank + 1, f"batch, {rank} spatial axes, channels")
        out = shapes.conv(rank)({**args, "filters": 1, "groups": 1, "use_bias": False}, dims)
        channels = shapes.known(x[-1], "the channel axis", x)
        multiplier = args.get("depth_multiplier", 1)
        depthwise = math.prod(shapes.as_tuple(args["kernel_size"], rank)) * channels * multiplier
        if separable:
            filters = args["filters"]
            pointwise = channels * multiplier * filters
            return shapes.Shape(
                (*out.dims[:-1], filters), shapes.with_bias(args, depthwise + pointwise, filters)
            )
        width = channels * multiplier
        return shapes.Shape((*out.dims[:-1], width), shapes.with_bias(args, depthwise, width))

    return rule


def _depthwise_args(rank: int, *weight_args: Arg) -> tuple[Arg, ...]:
    return (
        Arg("kernel_size", int_tuple(rank), required=True, positional=True),
        Arg("strides", int_tuple(rank)),
        Arg("padding", PADDING),
        Arg("depth_multiplier", POS_INT),
        Arg("dilation_rate", int_tuple(rank)),
        Arg("activation", ACTIVATION),
        Arg("use_bias", BOOL),
        *weight_args,
        *_ACTIVITY,
    )


LAYERS: tuple[LayerKind, ...] = (
    _transpose(1),
    _transpose(3),
    LayerKind(
        "SeparableConv1D",
        (
            Arg("filters", POS_INT, required=True, positional=True),
            *_depthwise_args(1, *weights("depthwise", "pointwise", "bias")),
        ),
        _depthwise(True, 1),
        aliases=("SeparableConvolution1D",),
    ),
    LayerKind(
        "DepthwiseConv1D",
        _depthwise_args(1, *weights("depthwise", "bias")),
        _depthwise(False, 1),
    ),
)

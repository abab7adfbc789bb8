"""Shape rules of the layers that slide, pool, pad or resize over spatial axes."""

from __future__ import annotations

import math

from .common import (
    Dims,
    Shape,
    ShapeError,
    as_tuple,
    check_rank,
    known,
    single,
    window,
    with_bias,
)


def _window_args(args: dict, dims: Dims, rank: int) -> tuple[tuple, tuple, tuple, str]:
    """Checked rank, then kernel, strides, dilation and padding of a convolution."""
    check_rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
    kernel = as_tuple(args["kernel_size"], rank)
    strides = as_tuple(args.get("strides", 1), rank)
    dilation = as_tuple(args.get("dilation_rate", 1), rank)
    return kernel, strides, dilation, args.get("padding", "valid")


def conv(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        kernel, strides, dilation, padding = _window_args(args, dims, rank)
        spatial = tuple(
            window(dims[i], kernel[i], strides[i], dilation[i], padding, i + 1) for i in range(rank)
        )
        channels = known(dims[-1], "the channel axis", dims)
        groups = args.get("groups", 1)
        filters = args["filters"]
        if channels % groups or filters % groups:
            raise ShapeError(
                f"groups={groups} must divide both the input channels ({channels}) and"
                f" filters ({filters})"
            )
        weights = math.prod(kernel) * (channels // groups) * filters
        return Shape((*spatial, filters), with_bias(args, weights, filters))

    return rule


def pool(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        check_rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
        size = as_tuple(args.get("pool_size", 2), rank)
        strides = args.get("strides")
        strides = size if strides is None else as_tuple(strides, rank)
        padding = args.get("padding", "valid")
        spatial = tuple(
            window(dims[i], size[i], strides[i], 1, padding, i + 1) for i in range(rank)
        )
        return Shape((*spatial, dims[-1]))

    return rule


def conv_transpose(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        kernel, strides, dilation, padding = _window_args(args, dims, rank)
        spatial = []
        for size, k, s, d in zip(dims[:rank], kernel, strides, dilation, strict=True):
            span = k + (k - 1) * (d - 1)
            grow = max(span - s, 0) if padding == "valid" else 0
            spatial.append(None if size is None else size * s + grow)
        channels = known(dims[-1], "the channel axis", dims)
        filters = args["filters"]
        return Shape(
            (*spatial, filters), with_bias(args, math.prod(kernel) * channels * filters, filters)
        )

    return rule


def depthwise_conv(separable: bool):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        out = conv(2)({**args, "filters": 1, "groups": 1, "use_bias": False}, shapes)
        channels = known(shapes[0][-1], "the channel axis", shapes[0])
        multiplier = args.get("depth_multiplier", 1)
        kernel = math.prod(as_tuple(args["kernel_size"], 2))
        depthwise = kernel * channels * multiplier
        if separable:
            filters = args["filters"]
            weights = with_bias(args, depthwise + channels * multiplier * filters, filters)
            return Shape((*out.dims[:-1], filters), weights)
        return Shape(
            (*out.dims[:-1], channels * multiplier),
            with_bias(args, depthwise, channels * multiplier),
        )

    return rule


def global_pool(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        check_rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
        return Shape((*(1,) * rank, dims[-1]) if args.get("keepdims") else (dims[-1],))

    return rule


def spatial_dropout(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        check_rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
        return Shape(dims)

    return rule


def resize(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    check_rank(dims, 3, "batch, height, width, channels")
    return Shape((args["height"], args["width"], dims[-1]))


def _pairs(value) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(value, int):
        return (value, value), (value, value)
    if isinstance(value[0], int):
        return (value[0], value[0]), (value[1], value[1])
    return tuple(value[0]), tuple(value[1])


def pad_or_crop(key: str, sign: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        check_rank(dims, 3, "batch, height, width, channels")
        spatial = []
        for axis, (before, after) in enumerate(_pairs(args.get(key, 1 if sign > 0 else 0))):
            size = dims[axis]
            new = None if size is None else size + sign * (before + after)
            if new is not None and new <= 0:
                raise ShapeError(
                    f"cropping {before + after} leaves nothing of size {size} on axis {axis + 1}"
                )
            spatial.append(new)
        return Shape((*spatial, dims[-1]))

    return rule


def upsampling(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    check_rank(dims, 3, "batch, height, width, channels")
    size = as_tuple(args.get("size", 2), 2)
    return Shape(
        tuple(None if d is None else d * s for d, s in zip(dims[:2], size, strict=True))
        + (dims[-1],)
    )

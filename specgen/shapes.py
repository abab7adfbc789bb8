"""Shape rules: output shape and parameter counts of each layer kind, without TensorFlow.

Shapes exclude the batch axis; `None` is an unknown size. Each rule takes the layer's arguments
(with catalog defaults filled in) and its input shapes, and returns a `Shape` or raises
`ShapeError` with a message that says what was expected and what was received.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Dims = tuple[int | None, ...]


class ShapeError(ValueError):
    pass


@dataclass(frozen=True)
class Shape:
    dims: Dims
    trainable: int = 0
    non_trainable: int = 0


def show(dims: Dims) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in (None, *dims)) + ")"


def _tuple(value, rank: int) -> tuple:
    return tuple(value) if isinstance(value, list | tuple) else (value,) * rank


def _known(dim: int | None, what: str, dims: Dims) -> int:
    if dim is None:
        raise ShapeError(f"{what} must be known; received input shape {show(dims)}")
    return dim


def _rank(dims: Dims, rank: int, what: str) -> None:
    if len(dims) != rank:
        raise ShapeError(
            f"expected a rank-{rank + 1} input ({what}), received shape {show(dims)}"
        )


def _window(size, kernel: int, stride: int, dilation: int, padding: str, axis: int) -> int | None:
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    span = dilation * (kernel - 1) + 1
    if span > size:
        dilated = f" (dilated to {span})" if span != kernel else ""
        raise ShapeError(
            f"window {kernel}{dilated} is larger than the input size {size} on axis"
            f" {axis}; use padding='same' or a smaller window"
        )
    return (size - span) // stride + 1


def _weights(args: dict, kernel: int, bias: int) -> int:
    return kernel + (bias if args.get("use_bias", True) else 0)


def single(shapes: list[Dims]) -> Dims:
    if len(shapes) != 1:
        raise ShapeError(f"expected one input, received {len(shapes)}")
    return shapes[0]


def identity(args: dict, shapes: list[Dims]) -> Shape:
    return Shape(single(shapes))


def dense(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    if not dims:
        raise ShapeError(f"expected an input of rank >= 2, received shape {show(dims)}")
    last = _known(dims[-1], "the last axis", dims)
    units = args["units"]
    return Shape((*dims[:-1], units), _weights(args, last * units, units))


def flatten(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    size = None if None in dims else math.prod(dims)
    return Shape((size,))


def conv(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        _rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
        kernel = _tuple(args["kernel_size"], rank)
        strides = _tuple(args.get("strides", 1), rank)
        dilation = _tuple(args.get("dilation_rate", 1), rank)
        padding = args.get("padding", "valid")
        spatial = tuple(
            _window(dims[i], kernel[i], strides[i], dilation[i], padding, i + 1)
            for i in range(rank)
        )
        channels = _known(dims[-1], "the channel axis", dims)
        groups = args.get("groups", 1)
        filters = args["filters"]
        if channels % groups or filters % groups:
            raise ShapeError(
                f"groups={groups} must divide both the input channels ({channels}) and"
                f" filters ({filters})"
            )
        weights = math.prod(kernel) * (channels // groups) * filters
        return Shape((*spatial, filters), _weights(args, weights, filters))

    return rule


def pool(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        _rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
        size = _tuple(args.get("pool_size", 2), rank)
        strides = args.get("strides")
        strides = size if strides is None else _tuple(strides, rank)
        padding = args.get("padding", "valid")
        spatial = tuple(
            _window(dims[i], size[i], strides[i], 1, padding, i + 1) for i in range(rank)
        )
        return Shape((*spatial, dims[-1]))

    return rule


def batch_normalization(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    axis = args.get("axis", -1)
    if not -len(dims) <= axis < len(dims) + 1 or axis == 0:
        raise ShapeError(f"axis {axis} is out of range for input shape {show(dims)}")
    size = _known(dims[axis if axis < 0 else axis - 1], f"axis {axis}", dims)
    per_channel = args.get("center", True) + args.get("scale", True)
    return Shape(dims, trainable=per_channel * size, non_trainable=2 * size)

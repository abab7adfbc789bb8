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


known = _known  # for the family modules beside their entries


def _rank(dims: Dims, rank: int, what: str) -> None:
    if len(dims) != rank:
        raise ShapeError(f"expected a rank-{rank + 1} input ({what}), received shape {show(dims)}")


def _window(size, kernel: int, stride: int, dilation: int, padding: str, axis: int) -> int | None:
    if size is None:
        return None
    if padding in ("same", "causal"):  # causal pads dilation * (kernel - 1) on the left
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


def _window_args(args: dict, dims: Dims, rank: int) -> tuple[tuple, tuple, tuple, str]:
    """Checked rank, then kernel, strides, dilation and padding of a convolution."""
    _rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
    kernel = _tuple(args["kernel_size"], rank)
    strides = _tuple(args.get("strides", 1), rank)
    dilation = _tuple(args.get("dilation_rate", 1), rank)
    return kernel, strides, dilation, args.get("padding", "valid")


def conv(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        kernel, strides, dilation, padding = _window_args(args, dims, rank)
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


def reshape(args: dict, shapes: list[Dims]) -> Shape:
    dims, target = single(shapes), tuple(args["target_shape"])
    if target.count(-1) > 1:
        raise ShapeError(f"target_shape may hold one -1, received {list(target)}")
    size = None if None in dims else math.prod(dims)
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if size is not None and size % known:
            raise ShapeError(f"cannot reshape {show(dims)} ({size} values) into {list(target)}")
        fill = None if size is None else size // known
        target = tuple(fill if d == -1 else d for d in target)
    elif size is not None and size != known:
        raise ShapeError(f"cannot reshape {show(dims)} ({size} values) into {list(target)}")
    return Shape(target)


def permute(args: dict, shapes: list[Dims]) -> Shape:
    dims, order = single(shapes), tuple(args["dims"])
    if sorted(order) != list(range(1, len(dims) + 1)):
        raise ShapeError(f"dims must be a permutation of 1..{len(dims)}, received {list(order)}")
    return Shape(tuple(dims[i - 1] for i in order))


def repeat_vector(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    _rank(dims, 1, "batch, features")
    return Shape((args["n"], dims[0]))


def embedding(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    return Shape((*dims, args["output_dim"]), args["input_dim"] * args["output_dim"])


def conv_transpose(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        kernel, strides, dilation, padding = _window_args(args, dims, rank)
        spatial = []
        for size, k, s, d in zip(dims[:rank], kernel, strides, dilation, strict=True):
            span = k + (k - 1) * (d - 1)
            grow = max(span - s, 0) if padding == "valid" else 0
            spatial.append(None if size is None else size * s + grow)
        channels = _known(dims[-1], "the channel axis", dims)
        filters = args["filters"]
        return Shape(
            (*spatial, filters), _weights(args, math.prod(kernel) * channels * filters, filters)
        )

    return rule


def depthwise_conv(separable: bool):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        out = conv(2)({**args, "filters": 1, "groups": 1, "use_bias": False}, shapes)
        channels = _known(shapes[0][-1], "the channel axis", shapes[0])
        multiplier = args.get("depth_multiplier", 1)
        kernel = math.prod(_tuple(args["kernel_size"], 2))
        depthwise = kernel * channels * multiplier
        if separable:
            filters = args["filters"]
            weights = _weights(args, depthwise + channels * multiplier * filters, filters)
            return Shape((*out.dims[:-1], filters), weights)
        return Shape(
            (*out.dims[:-1], channels * multiplier),
            _weights(args, depthwise, channels * multiplier),
        )

    return rule


def global_pool(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        _rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
        return Shape((*(1,) * rank, dims[-1]) if args.get("keepdims") else (dims[-1],))

    return rule


def layer_normalization(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    axis = args.get("axis", -1)
    size = 1
    for a in _tuple(axis, 1):
        index = a - 1 if a > 0 else len(dims) + a
        if a == 0 or not 0 <= index < len(dims):
            raise ShapeError(f"axis {a} is out of range for input shape {show(dims)}")
        size *= _known(dims[index], f"axis {a}", dims)
    return Shape(dims, (args.get("center", True) + args.get("scale", True)) * size)


def group_normalization(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    channels, groups = _known(dims[-1], "the channel axis", dims), args.get("groups", 32)
    if channels % groups:
        raise ShapeError(f"groups={groups} must divide the channels ({channels})")
    return Shape(dims, (args.get("center", True) + args.get("scale", True)) * channels)


def spatial_dropout(rank: int):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        _rank(dims, rank + 1, f"batch, {rank} spatial axes, channels")
        return Shape(dims)

    return rule


_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def recurrent(kind: str):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        _rank(dims, 2, "batch, timesteps, features")
        features = _known(dims[-1], "the feature axis", dims)
        units, gates = args["units"], _GATES[kind]
        weights = gates * units * (features + units)
        bias = gates * units * (2 if kind == "GRU" and args.get("reset_after", True) else 1)
        out = (dims[0], units) if args.get("return_sequences") else (units,)
        return Shape(out, _weights(args, weights, bias))

    return rule


def bidirectional(args: dict, shapes: list[Dims]) -> Shape:
    inner = args["layer"]
    forward = recurrent(inner["type"])(inner, shapes)
    backward_args = args.get("backward_layer") or inner
    backward = recurrent(backward_args["type"])(backward_args, shapes)
    if "backward_layer" in args:
        if forward.dims[:-1] != backward.dims[:-1]:
            raise ShapeError("layer and backward_layer must agree on return_sequences")
        if not backward_args.get("go_backwards"):
            raise ShapeError("backward_layer must set go_backwards: true")
    mode = args.get("merge_mode", "concat")
    if mode != "concat" and forward.dims != backward.dims:
        raise ShapeError(f"merge_mode {mode!r} needs layers of equal units")
    units = forward.dims[-1] + backward.dims[-1] if mode == "concat" else forward.dims[-1]
    return Shape((*forward.dims[:-1], units), forward.trainable + backward.trainable)


def dropout(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    noise = args.get("noise_shape")
    if noise is not None:
        if len(noise) != len(dims) + 1:
            raise ShapeError(
                f"noise_shape {list(noise)} must have one size per axis of {show(dims)}"
            )
        for size, axis_size in zip(noise[1:], dims, strict=True):
            if size not in (None, 1, axis_size):
                raise ShapeError(f"noise_shape {list(noise)} does not broadcast to {show(dims)}")
    return Shape(dims)


def multi_head_attention(args: dict, shapes: list[Dims]) -> Shape:
    if len(shapes) not in (2, 3):
        raise ShapeError(f"expected inputs (query, value[, key]), received {len(shapes)}")
    query, value, key = (*shapes, shapes[1])[:3]
    if not query or not value or not key:
        raise ShapeError(
            f"query, value and key need a feature axis, received {', '.join(map(show, shapes))}"
        )
    q_dim, v_dim, k_dim = (
        _known(query[-1], "the query's last axis", query),
        _known(value[-1], "the value's last axis", value),
        _known(key[-1], "the key's last axis", key),
    )
    heads, key_dim = args["num_heads"], args["key_dim"]
    value_dim = args.get("value_dim") or key_dim
    out_dim = args.get("output_shape") or q_dim
    bias = args.get("use_bias", True)
    params = (q_dim + bias) * heads * key_dim + (k_dim + bias) * heads * key_dim
    params += (v_dim + bias) * heads * value_dim + heads * value_dim * out_dim + bias * out_dim
    if args.get("use_gate"):
        params += (q_dim + bias) * heads * value_dim
    return Shape((*query[:-1], out_dim), params)


def resize(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    _rank(dims, 3, "batch, height, width, channels")
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
        _rank(dims, 3, "batch, height, width, channels")
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
    _rank(dims, 3, "batch, height, width, channels")
    size = _tuple(args.get("size", 2), 2)
    return Shape(
        tuple(None if d is None else d * s for d, s in zip(dims[:2], size, strict=True))
        + (dims[-1],)
    )


def broadcast(a: Dims, b: Dims) -> Dims:
    """Broadcasting of two shapes (Keras merge layers and ops broadcast); None is unknown."""
    out = []
    for x, y in zip((1,) * (len(b) - len(a)) + a, (1,) * (len(a) - len(b)) + b, strict=True):
        if x == 1 or x is None:
            out.append(x if y == 1 else y)
        elif y in (1, None, x):
            out.append(x)
        else:
            raise ShapeError(f"shapes {show(a)} and {show(b)} do not broadcast")
    return tuple(out)


def elementwise(args: dict, shapes: list[Dims]) -> Shape:
    dims = shapes[0]
    try:
        for other in shapes[1:]:
            dims = broadcast(dims, other)
    except ShapeError:
        listed = ", ".join(show(s) for s in shapes)
        raise ShapeError(
            f"inputs must have equal or broadcastable shapes, received {listed}"
        ) from None
    return Shape(dims)


def _equal(shapes: list[Dims]) -> Dims:
    first = shapes[0]
    for other in shapes[1:]:
        if len(other) != len(first) or any(
            a is not None and b is not None and a != b for a, b in zip(first, other, strict=True)
        ):
            listed = ", ".join(show(s) for s in shapes)
            raise ShapeError(f"inputs must have equal shapes, received {listed}")
    return tuple(
        next((d for d in dims if d is not None), None) for dims in zip(*shapes, strict=True)
    )


def concatenate(args: dict, shapes: list[Dims]) -> Shape:
    rank = len(shapes[0])
    axis = args.get("axis", -1)
    index = axis - 1 if axis > 0 else rank + axis
    if not 0 <= index < rank or any(len(s) != rank for s in shapes):
        raise ShapeError(f"axis {axis} does not fit inputs {', '.join(show(s) for s in shapes)}")
    rest = [tuple(d for i, d in enumerate(s) if i != index) for s in shapes]
    sizes = [s[index] for s in shapes]
    total = None if None in sizes else sum(sizes)
    dims = list(_equal(rest))
    dims.insert(index, total)
    return Shape(tuple(dims))


def dot(args: dict, shapes: list[Dims]) -> Shape:
    if len(shapes) != 2:
        raise ShapeError(f"expected two inputs, received {len(shapes)}")
    a, b = shapes
    axes = _tuple(args["axes"], 2)
    index = [ax - 1 if ax > 0 else len(s) + ax for ax, s in zip(axes, shapes, strict=True)]
    if not (0 <= index[0] < len(a) and 0 <= index[1] < len(b)):
        raise ShapeError(f"axes {list(axes)} do not fit inputs {show(a)} and {show(b)}")
    if a[index[0]] is not None and b[index[1]] is not None and a[index[0]] != b[index[1]]:
        raise ShapeError(f"axes {list(axes)} have sizes {a[index[0]]} and {b[index[1]]}")
    dims = tuple(d for i, d in enumerate(a) if i != index[0]) + tuple(
        d for i, d in enumerate(b) if i != index[1]
    )
    return Shape(dims or (1,))


# For the family modules, which keep each entry beside its rule.
window = _window
as_tuple = _tuple
with_bias = _weights
check_rank = _rank

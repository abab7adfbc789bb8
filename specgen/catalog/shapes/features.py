"""Shape rules of the layers over the feature axis and whole tensors: dense, embedding,
reshaping, normalization, dropout, recurrent and attention layers."""

from __future__ import annotations

import math

from .common import Dims, Shape, ShapeError, as_tuple, check_rank, known, show, single, with_bias


def dense(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    if not dims:
        raise ShapeError(f"expected an input of rank >= 2, received shape {show(dims)}")
    last = known(dims[-1], "the last axis", dims)
    units = args["units"]
    return Shape((*dims[:-1], units), with_bias(args, last * units, units))


def flatten(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    size = None if None in dims else math.prod(dims)
    return Shape((size,))


def batch_normalization(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    axis = args.get("axis", -1)
    if not -len(dims) <= axis < len(dims) + 1 or axis == 0:
        raise ShapeError(f"axis {axis} is out of range for input shape {show(dims)}")
    size = known(dims[axis if axis < 0 else axis - 1], f"axis {axis}", dims)
    per_channel = args.get("center", True) + args.get("scale", True)
    return Shape(dims, trainable=per_channel * size, non_trainable=2 * size)


def reshape(args: dict, shapes: list[Dims]) -> Shape:
    dims, target = single(shapes), tuple(args["target_shape"])
    if target.count(-1) > 1:
        raise ShapeError(f"target_shape may hold one -1, received {list(target)}")
    size = None if None in dims else math.prod(dims)
    fixed = math.prod(d for d in target if d != -1)
    if -1 in target:
        if size is not None and size % fixed:
            raise ShapeError(f"cannot reshape {show(dims)} ({size} values) into {list(target)}")
        fill = None if size is None else size // fixed
        target = tuple(fill if d == -1 else d for d in target)
    elif size is not None and size != fixed:
        raise ShapeError(f"cannot reshape {show(dims)} ({size} values) into {list(target)}")
    return Shape(target)


def permute(args: dict, shapes: list[Dims]) -> Shape:
    dims, order = single(shapes), tuple(args["dims"])
    if sorted(order) != list(range(1, len(dims) + 1)):
        raise ShapeError(f"dims must be a permutation of 1..{len(dims)}, received {list(order)}")
    return Shape(tuple(dims[i - 1] for i in order))


def repeat_vector(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    check_rank(dims, 1, "batch, features")
    return Shape((args["n"], dims[0]))


def embedding(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    return Shape((*dims, args["output_dim"]), args["input_dim"] * args["output_dim"])


def layer_normalization(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    axis = args.get("axis", -1)
    size = 1
    for a in as_tuple(axis, 1):
        index = a - 1 if a > 0 else len(dims) + a
        if a == 0 or not 0 <= index < len(dims):
            raise ShapeError(f"axis {a} is out of range for input shape {show(dims)}")
        size *= known(dims[index], f"axis {a}", dims)
    return Shape(dims, (args.get("center", True) + args.get("scale", True)) * size)


def group_normalization(args: dict, shapes: list[Dims]) -> Shape:
    dims = single(shapes)
    channels, groups = known(dims[-1], "the channel axis", dims), args.get("groups", 32)
    if channels % groups:
        raise ShapeError(f"groups={groups} must divide the channels ({channels})")
    return Shape(dims, (args.get("center", True) + args.get("scale", True)) * channels)


_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def recurrent(kind: str):
    def rule(args: dict, shapes: list[Dims]) -> Shape:
        dims = single(shapes)
        check_rank(dims, 2, "batch, timesteps, features")
        features = known(dims[-1], "the feature axis", dims)
        units, gates = args["units"], _GATES[kind]
        weights = gates * units * (features + units)
        bias = gates * units * (2 if kind == "GRU" and args.get("reset_after", True) else 1)
        out = (dims[0], units) if args.get("return_sequences") else (units,)
        return Shape(out, with_bias(args, weights, bias))

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
        known(query[-1], "the query's last axis", query),
        known(value[-1], "the value's last axis", value),
        known(key[-1], "the key's last axis", key),
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

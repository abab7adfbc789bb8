"""Convolutional LSTMs (keras/src/layers/rnn/conv_lstm*.py): an LSTM whose gates are
convolutions, over (batch, time, *spatial, channels). Each entry sits beside its shape rule.

`return_state` and `initial_state` are not offered yet: the states' shapes depend on the
input's spatial size, which catalog/outputs.py's state table (keyed by `units`) cannot say.
"""

from __future__ import annotations

import math

from . import shapes
from .base import (
    ACTIVATION,
    BOOL,
    RATE,
    REGULARIZER,
    SEED,
    Arg,
    LayerKind,
    weights,
)
from .convolution_args import convolution_head


def _rule(rank: int):
    def rule(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
        x = shapes.single(dims)
        shapes.check_rank(x, rank + 2, f"batch, time, {rank} spatial axes, channels")
        step = shapes.conv(rank)({**args, "groups": 1}, [x[1:]])
        channels = shapes.known(x[-1], "the channel axis", x)
        filters = args["filters"]
        kernel = math.prod(shapes.as_tuple(args["kernel_size"], rank))
        gates = 4 * filters * kernel * (channels + filters)
        out = step.dims if not args.get("return_sequences") else (x[0], *step.dims)
        return shapes.Shape(out, shapes.with_bias(args, gates, 4 * filters))

    return rule


def _conv_lstm(rank: int) -> LayerKind:
    return LayerKind(
        f"ConvLSTM{rank}D",
        (
            *convolution_head(rank),
            Arg("recurrent_activation", ACTIVATION),
            Arg("use_bias", BOOL),
            *weights("kernel", "recurrent", "bias"),
            Arg("unit_forget_bias", BOOL),
            Arg("activity_regularizer", REGULARIZER, kind="regularizer"),
            Arg("dropout", RATE),
            Arg("recurrent_dropout", RATE),
            Arg("seed", SEED),
            Arg("return_sequences", BOOL),
            Arg("go_backwards", BOOL),
        ),
        _rule(rank),
        training=True,
    )


LAYERS: tuple[LayerKind, ...] = (_conv_lstm(1), _conv_lstm(2), _conv_lstm(3))

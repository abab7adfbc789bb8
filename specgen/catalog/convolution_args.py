"""How every convolution's constructor begins (keras/src/layers/convolutional/base_conv.py):
the arguments the family modules' convolution entries share, in Keras's order."""

from __future__ import annotations

from .base import ACTIVATION, PADDING, POS_INT, Arg, int_tuple


def convolution_head(rank: int) -> tuple[Arg, ...]:
    """filters and kernel_size (positional), strides, padding, dilation_rate, activation."""
    return (
        Arg("filters", POS_INT, required=True, positional=True),
        Arg("kernel_size", int_tuple(rank), required=True, positional=True),
        Arg("strides", int_tuple(rank)),
        Arg("padding", PADDING),
        Arg("dilation_rate", int_tuple(rank)),
        Arg("activation", ACTIVATION),
    )

"""The family modules added as the catalog grew to all of `keras.layers`, in one tuple that
`layers.py` joins to its table (one module per Keras family, each entry beside its rule)."""

from __future__ import annotations

from . import (
    attention,
    audio,
    augmentation,
    convolution_extra,
    convolutional_recurrent,
    core_extra,
    einsum,
    encoding,
    normalization,
    pooling,
    regularization,
    reshaping,
    rnn,
    text,
    wrappers,
    zoo_layers,
)
from .base import LayerKind

LAYERS: tuple[LayerKind, ...] = (
    *convolution_extra.LAYERS,
    *reshaping.LAYERS,
    *pooling.LAYERS,
    *core_extra.LAYERS,
    *einsum.LAYERS,
    *regularization.LAYERS,
    *normalization.LAYERS,
    *encoding.LAYERS,
    *text.LAYERS,
    *rnn.LAYERS,
    *attention.LAYERS,
    *convolutional_recurrent.LAYERS,
    *augmentation.LAYERS,
    *wrappers.LAYERS,
    *audio.LAYERS,
    *zoo_layers.LAYERS,
)

"""Regularization layers beyond Dropout, SpatialDropout2D and GaussianNoise
(keras/src/layers/regularization): each active only in training (`training=True`: the
subclass style passes `training` on), except ActivityRegularization, which adds a loss and
passes its input through. Each entry sits beside its shape rule.
"""

from __future__ import annotations

from . import shapes
from .base import RATE, SEED, Arg, LayerKind

NON_NEGATIVE = {"type": "number", "minimum": 0}


def _spatial(rank: int) -> LayerKind:
    return LayerKind(
        f"SpatialDropout{rank}D",
        (Arg("rate", RATE, required=True, positional=True), Arg("seed", SEED)),
        shapes.spatial_dropout(rank),
        training=True,
    )


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "ActivityRegularization",
        (Arg("l1", NON_NEGATIVE), Arg("l2", NON_NEGATIVE)),
        shapes.identity,
    ),
    LayerKind(
        "GaussianDropout",
        (Arg("rate", RATE, required=True, positional=True), Arg("seed", SEED)),
        shapes.identity,
        training=True,
    ),
    LayerKind(
        "AlphaDropout",
        (
            Arg("rate", RATE, required=True, positional=True),
            Arg(
                "noise_shape",
                {
                    "type": "array",
                    "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
                    "minItems": 2,
                },
            ),
            Arg("seed", SEED),
        ),
        shapes.dropout,
        training=True,
    ),
    _spatial(1),
    _spatial(3),
)

"""Activation layers (keras/src/layers/activations): each entry beside its shape rule.

Split from `catalog.py` when the catalog doubled for the keras.applications zoo: one module per
Keras family keeps "one entry, one shape rule, one test" readable.
"""

from __future__ import annotations

import math

from . import shapes
from .base import FLOAT, Arg, LayerKind, weights

AXES = {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}
NON_NEGATIVE = {"type": "number", "minimum": 0}


def _prelu(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    shared = {a if a > 0 else len(x) + 1 + a for a in args.get("shared_axes") or ()}
    alpha = []
    for axis, size in enumerate(x, start=1):
        if axis in shared:
            continue
        alpha.append(shapes.known(size, f"axis {axis}", x))
    return shapes.Shape(x, math.prod(alpha))


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "ReLU",
        (
            Arg("max_value", {"anyOf": [NON_NEGATIVE, {"type": "null"}]}),
            Arg("negative_slope", NON_NEGATIVE),
            Arg("threshold", NON_NEGATIVE),
        ),
        shapes.identity,
    ),
    LayerKind("LeakyReLU", (Arg("negative_slope", NON_NEGATIVE),), shapes.identity),
    LayerKind(
        "PReLU",
        (*weights("alpha"), Arg("shared_axes", {"type": "array", "items": {"type": "integer"}})),
        _prelu,
    ),
    LayerKind("ELU", (Arg("alpha", FLOAT),), shapes.identity),
    LayerKind("Softmax", (Arg("axis", AXES),), shapes.identity),
)

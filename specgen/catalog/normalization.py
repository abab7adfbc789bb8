"""Normalization layers beyond the core module's (keras/src/layers/normalization):
UnitNormalization (no weights) and RMSNormalization (one `scale` per normalized position).
Each entry sits beside its shape rule.
"""

from __future__ import annotations

import math

from . import shapes
from .base import Arg, LayerKind

AXES = {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}


def _sizes(args: dict, x: shapes.Dims) -> list[int]:
    """The sizes of the normalized axes (Keras counts the batch axis as 0)."""
    axis = args.get("axis", -1)
    sizes = []
    for a in shapes.as_tuple(axis, 1):
        index = a - 1 if a > 0 else len(x) + a
        if a == 0 or not 0 <= index < len(x):
            raise shapes.ShapeError(f"axis {a} is out of range for input shape {shapes.show(x)}")
        sizes.append(shapes.known(x[index], f"axis {a}", x))
    return sizes


def _unit(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    _sizes(args, x)
    return shapes.Shape(x)


def _rms(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    return shapes.Shape(x, math.prod(_sizes(args, x)))


LAYERS: tuple[LayerKind, ...] = (
    LayerKind("UnitNormalization", (Arg("axis", AXES),), _unit),
    LayerKind(
        "RMSNormalization",
        (Arg("axis", AXES), Arg("epsilon", {"type": "number", "exclusiveMinimum": 0})),
        _rms,
    ),
)

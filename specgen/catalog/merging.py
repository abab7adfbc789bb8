"""The merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate and Dot,
each called on a list of tensors (Subtract and Dot on exactly two)."""

from __future__ import annotations

from . import shapes
from .base import BOOL, Arg, LayerKind


def _merge(
    name: str, *, exactly_two: bool = False, args: tuple[Arg, ...] = (), rule=shapes.elementwise
) -> LayerKind:
    return LayerKind(
        name, args, rule, call="list", min_inputs=2, max_inputs=2 if exactly_two else None
    )


LAYERS = (
    _merge("Add"),
    _merge("Subtract", exactly_two=True),
    _merge("Multiply"),
    _merge("Average"),
    _merge("Maximum"),
    _merge("Minimum"),
    _merge("Concatenate", args=(Arg("axis", {"type": "integer"}),), rule=shapes.concatenate),
    _merge(
        "Dot",
        exactly_two=True,
        args=(
            Arg(
                "axes",
                {
                    "anyOf": [
                        {"type": "integer"},
                        {
                            "type": "array",
                            "items": {"type": "integer"},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    ]
                },
                required=True,
                positional=True,
            ),
            Arg("normalize", BOOL),
        ),
        rule=shapes.dot,
    ),
)

"""Operation nodes: Keras ops applied to tensors in a Functional graph, from a closed allowlist.

Keras 3 records `x + 3.0` or `keras.ops.multiply(x, y)` on symbolic tensors as operation nodes
(module `keras.src.ops.numpy` / `keras.src.ops.nn` in a saved config). A spec writes one as
`{"type": "ops.add", "inputs": ["x"], "x2": 3.0}`: the tensor operands come from `inputs`, a
literal operand is `x1` (first) or `x2` (second), named as in the `keras.ops` signature.
"""

from __future__ import annotations

from . import shapes
from .base import FLOAT, Arg, LayerKind

BINARY = "add subtract multiply divide true_divide power maximum minimum".split()
UNARY = (
    "negative absolute abs sqrt square exp log tanh sigmoid relu relu6 hard_sigmoid silu"
).split()


def _binary(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    constants = [k for k in ("x1", "x2") if k in args]
    if len(dims) + len(constants) != 2:
        raise shapes.ShapeError(
            f"takes two operands: {len(dims)} input(s) and constants {constants or 'none'}"
        )
    return shapes.Shape(dims[0] if len(dims) == 1 else shapes.broadcast(*dims))


LAYERS: tuple[LayerKind, ...] = (
    *(
        LayerKind(
            f"ops.{name}",
            (Arg("x1", FLOAT), Arg("x2", FLOAT)),
            _binary,
            max_inputs=2,
            op=True,
        )
        for name in BINARY
    ),
    *(LayerKind(f"ops.{name}", (), shapes.identity, op=True) for name in UNARY),
)

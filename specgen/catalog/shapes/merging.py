"""Shape rules of the layers that merge several inputs: broadcasting, concatenation, dot."""

from __future__ import annotations

from .common import Dims, Shape, ShapeError, as_tuple, show


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
    axes = as_tuple(args["axes"], 2)
    index = [ax - 1 if ax > 0 else len(s) + ax for ax, s in zip(axes, shapes, strict=True)]
    if not (0 <= index[0] < len(a) and 0 <= index[1] < len(b)):
        raise ShapeError(f"axes {list(axes)} do not fit inputs {show(a)} and {show(b)}")
    if a[index[0]] is not None and b[index[1]] is not None and a[index[0]] != b[index[1]]:
        raise ShapeError(f"axes {list(axes)} have sizes {a[index[0]]} and {b[index[1]]}")
    dims = tuple(d for i, d in enumerate(a) if i != index[0]) + tuple(
        d for i, d in enumerate(b) if i != index[1]
    )
    return Shape(dims or (1,))

"""What every shape rule is made of: `Dims`, `Shape`, `ShapeError`, and the checks and
sums the rules share (`known`, `check_rank`, `window`, `with_bias`, ...).

Shapes exclude the batch axis; `None` is an unknown size.
"""

from __future__ import annotations

from dataclasses import dataclass

Dims = tuple[int | None, ...]


class ShapeError(ValueError):
    pass


@dataclass(frozen=True)
class Shape:
    dims: Dims
    trainable: int = 0
    non_trainable: int = 0


def show(dims: Dims) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in (None, *dims)) + ")"


def as_tuple(value, rank: int) -> tuple:
    return tuple(value) if isinstance(value, list | tuple) else (value,) * rank


def known(dim: int | None, what: str, dims: Dims) -> int:
    if dim is None:
        raise ShapeError(f"{what} must be known; received input shape {show(dims)}")
    return dim


def check_rank(dims: Dims, rank: int, what: str) -> None:
    if len(dims) != rank:
        raise ShapeError(f"expected a rank-{rank + 1} input ({what}), received shape {show(dims)}")


def window(size, kernel: int, stride: int, dilation: int, padding: str, axis: int) -> int | None:
    if size is None:
        return None
    if padding in ("same", "causal"):  # causal pads dilation * (kernel - 1) on the left
        return -(-size // stride)
    span = dilation * (kernel - 1) + 1
    if span > size:
        dilated = f" (dilated to {span})" if span != kernel else ""
        raise ShapeError(
            f"window {kernel}{dilated} is larger than the input size {size} on axis"
            f" {axis}; use padding='same' or a smaller window"
        )
    return (size - span) // stride + 1


def with_bias(args: dict, kernel: int, bias: int) -> int:
    return kernel + (bias if args.get("use_bias", True) else 0)


def single(shapes: list[Dims]) -> Dims:
    if len(shapes) != 1:
        raise ShapeError(f"expected one input, received {len(shapes)}")
    return shapes[0]


def identity(args: dict, shapes: list[Dims]) -> Shape:
    return Shape(single(shapes))

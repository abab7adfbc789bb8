"""The 1D and 3D padding, cropping and upsampling layers (keras/src/layers/reshaping); the 2D
ones live in the core module. Each entry sits beside its shape rule.
"""

from __future__ import annotations

from . import shapes
from .base import Arg, LayerKind, int_tuple

NON_NEGATIVE = {"type": "integer", "minimum": 0}


def _amounts(rank: int) -> dict:
    """An integer, a pair (1D) or one per axis, or one [before, after] pair per axis."""
    pair = {"type": "array", "items": NON_NEGATIVE, "minItems": 2, "maxItems": 2}
    if rank == 1:
        return {"title": "an integer or [before, after]", "anyOf": [NON_NEGATIVE, pair]}
    return {
        "title": f"an integer, a list of {rank}, or {rank} [before, after] pairs",
        "anyOf": [
            NON_NEGATIVE,
            {"type": "array", "items": NON_NEGATIVE, "minItems": rank, "maxItems": rank},
            {"type": "array", "items": pair, "minItems": rank, "maxItems": rank},
        ],
    }


def _pairs(value, rank: int) -> list[tuple[int, int]]:
    if isinstance(value, int):
        return [(value, value)] * rank
    if rank == 1:
        return [tuple(value)]
    return [tuple(v) if isinstance(v, list | tuple) else (v, v) for v in value]


def _pad_or_crop(rank: int, key: str, sign: int, default: int):
    def rule(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
        x = shapes.single(dims)
        shapes.check_rank(x, rank + 1, f"batch, {rank} spatial axes, channels")
        spatial = []
        for axis, (before, after) in enumerate(_pairs(args.get(key, default), rank)):
            size = x[axis]
            new = None if size is None else size + sign * (before + after)
            if new is not None and new <= 0:
                raise shapes.ShapeError(
                    f"cropping {before + after} leaves nothing of size {size} on axis {axis + 1}"
                )
            spatial.append(new)
        return shapes.Shape((*spatial, x[-1]))

    return rule


def _upsampling(rank: int):
    def rule(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
        x = shapes.single(dims)
        shapes.check_rank(x, rank + 1, f"batch, {rank} spatial axes, channels")
        size = shapes.as_tuple(args.get("size", 2), rank)
        grown = tuple(None if d is None else d * s for d, s in zip(x[:rank], size, strict=True))
        return shapes.Shape((*grown, x[-1]))

    return rule


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "ZeroPadding1D",
        (Arg("padding", _amounts(1), positional=True),),
        _pad_or_crop(1, "padding", +1, 1),
    ),
    LayerKind(
        "ZeroPadding3D",
        (Arg("padding", _amounts(3), positional=True),),
        _pad_or_crop(3, "padding", +1, 1),
    ),
    LayerKind(
        "Cropping1D",
        (Arg("cropping", _amounts(1), positional=True),),
        _pad_or_crop(1, "cropping", -1, 1),
    ),
    LayerKind(
        "Cropping3D",
        (Arg("cropping", _amounts(3), positional=True),),
        _pad_or_crop(3, "cropping", -1, 1),
    ),
    # UpSampling1D takes one integer only (Keras repeats along the one axis).
    LayerKind(
        "UpSampling1D", (Arg("size", int_tuple(1)["anyOf"][0], positional=True),), _upsampling(1)
    ),
    LayerKind("UpSampling3D", (Arg("size", int_tuple(3), positional=True),), _upsampling(3)),
)

"""Pooling layers beyond the core module's (keras/src/layers/pooling): 3D global pooling and
adaptive pooling, which picks its own windows to reach a fixed `output_size`. Each entry sits
beside its shape rule.
"""

from __future__ import annotations

from . import shapes
from .base import BOOL, PADDING, POS_INT, Arg, LayerKind, int_tuple


def pool(kind: str, rank: int) -> LayerKind:
    return LayerKind(
        f"{kind}Pooling{rank}D",
        (
            Arg("pool_size", int_tuple(rank), positional=True),
            Arg("strides", {"anyOf": [int_tuple(rank), {"type": "null"}]}),
            Arg("padding", PADDING),
        ),
        shapes.pool(rank),
        aliases=(f"{kind.replace('Average', 'Avg')}Pool{rank}D",),
    )


def global_pool(kind: str, rank: int) -> LayerKind:
    return LayerKind(
        f"Global{kind}Pooling{rank}D",
        (Arg("keepdims", BOOL),),
        shapes.global_pool(rank),
        aliases=(f"Global{kind.replace('Average', 'Avg')}Pool{rank}D",),
    )


def _adaptive_rule(rank: int):
    def rule(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
        x = shapes.single(dims)
        shapes.check_rank(x, rank + 1, f"batch, {rank} spatial axes, channels")
        size = shapes.as_tuple(args["output_size"], rank)
        for axis, (have, want) in enumerate(zip(x[:rank], size, strict=True), start=1):
            have = shapes.known(have, f"axis {axis}", x)
            # TensorFlow pools with windows ceil(have / want) and one more: both must fit.
            if -(-have // want) + 1 > have:
                raise shapes.ShapeError(
                    f"output_size {want} on axis {axis} of size {have} needs a pooling window"
                    f" of {-(-have // want) + 1}, larger than the axis; use a larger input"
                )
        return shapes.Shape((*size, x[-1]))

    return rule


def _adaptive(kind: str, rank: int) -> LayerKind:
    # Rank 3 takes one size for every axis: Keras 3.x's TensorFlow backend cannot trace 3D
    # adaptive pooling with unequal sizes (a graph-mode build or fit fails; eager works).
    size = POS_INT if rank == 3 else int_tuple(rank)
    return LayerKind(
        f"Adaptive{kind}Pooling{rank}D",
        (Arg("output_size", size, required=True, positional=True),),
        _adaptive_rule(rank),
    )


LAYERS: tuple[LayerKind, ...] = (
    global_pool("Max", 3),
    global_pool("Average", 3),
    *(_adaptive(kind, rank) for kind in ("Average", "Max") for rank in (1, 2, 3)),
)

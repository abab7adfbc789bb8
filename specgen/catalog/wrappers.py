"""SpectralNormalization (keras/src/layers/normalization/spectral_normalization.py): a wrapper
that divides a layer's kernel by its largest singular value, estimated by power iteration in
training. It wraps a layer with a `kernel` or `embeddings` weight; the closed set below is the
catalog's layers whose kernel's last axis is their output width. Its shape rule sits beside it.
"""

from __future__ import annotations

from . import shapes
from .base import POS_INT, Arg, LayerKind

# The wrapped layer's rule, and the argument that sizes its kernel's last axis.
WRAPPABLE = {
    "Dense": (shapes.dense, "units"),
    "Conv1D": (shapes.conv(1), "filters"),
    "Conv2D": (shapes.conv(2), "filters"),
    "Conv3D": (shapes.conv(3), "filters"),
    "Embedding": (shapes.embedding, "output_dim"),
}


def _spectral(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    inner = args["layer"]
    if inner["type"] not in WRAPPABLE:
        raise shapes.ShapeError(
            f"SpectralNormalization wraps one of {', '.join(WRAPPABLE)}; received {inner['type']!r}"
        )
    rule, width = WRAPPABLE[inner["type"]]
    out = rule(dict(inner), dims)
    # vector_u: the power iteration's (1, width) estimate, not trained.
    return shapes.Shape(out.dims, out.trainable, out.non_trainable + inner[width])


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "SpectralNormalization",
        (
            Arg(
                "layer",
                {"$ref": "#/$defs/wrapped_layer"},
                required=True,
                positional=True,
                kind="layer",
            ),
            Arg("power_iterations", POS_INT),
        ),
        _spectral,
        training=True,
    ),
)

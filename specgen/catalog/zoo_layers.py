"""Keras's own helper layers that keras.applications models are built from, outside
`keras.layers`: ConvNeXt's LayerScale and StochasticDepth, InceptionResNetV2's
CustomScaleLayer (every other keras.applications model is built from keras.layers alone;
tests/test_zoo.py walks every constructor to keep this list whole).

Catalog entries like any other (no opt-in, no custom code), constructed from the Keras module
that defines them (`LayerKind.module`). The importer takes a saved layer as one of these only
when its saved module is that module: a user's own class named LayerScale stays a CustomLayer
the user must allow. Each entry sits beside its shape rule.
"""

from __future__ import annotations

from . import shapes
from .base import FLOAT, POS_INT, Arg, LayerKind

CONVNEXT = "keras.src.applications.convnext"
INCEPTION_RESNET = "keras.src.applications.inception_resnet_v2"


def layer_scale(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    """`x * gamma`, gamma one weight per channel (`projection_dim` of them)."""
    x = shapes.single(dims)
    size = args["projection_dim"]
    try:
        out = shapes.broadcast(x, (size,))
    except shapes.ShapeError:
        raise shapes.ShapeError(
            f"projection_dim={size} does not broadcast with input shape {shapes.show(x)}"
        ) from None
    return shapes.Shape(out, size)


def custom_scale(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    """`inputs[0] + inputs[1] * scale`: broadcast, no weights."""
    return shapes.Shape(shapes.broadcast(dims[0], dims[1]))


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "LayerScale",
        (
            Arg("init_values", FLOAT, required=True, positional=True),
            Arg("projection_dim", POS_INT, required=True, positional=True),
        ),
        layer_scale,
        module=CONVNEXT,
    ),
    LayerKind(
        "StochasticDepth",
        (
            Arg(
                "drop_path_rate",
                {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                required=True,
                positional=True,
            ),
        ),
        shapes.identity,
        training=True,
        module=CONVNEXT,
    ),
    LayerKind(
        "CustomScaleLayer",
        (Arg("scale", FLOAT, required=True, positional=True),),
        custom_scale,
        call="list",
        min_inputs=2,
        max_inputs=2,
        module=INCEPTION_RESNET,
    ),
)

"""Preprocessing layers: Normalization with stored statistics and the image augmentation
layers (active only in training; each draws from its own `seed`, so every style augments
identically under one seed). Each entry sits beside its shape rule.
"""

from __future__ import annotations

import math

from . import shapes, state
from .base import BOOL, FLOAT, POS_INT, SEED, Arg, LayerKind, _named

NUMBERS = {
    "title": "a number or a (nested) list of numbers",
    "anyOf": [
        FLOAT,
        {"type": "array", "items": {"anyOf": [FLOAT, {"type": "array", "items": FLOAT}]}},
    ],
}
FACTOR = {
    "title": "a factor f (meaning [-f, f]) or [lower, upper]",
    "anyOf": [FLOAT, {"type": "array", "items": FLOAT, "minItems": 2, "maxItems": 2}],
}
FILL = (
    Arg("fill_mode", _named("fill mode", ["reflect", "wrap", "constant", "nearest", "crop"])),
    Arg("interpolation", _named("interpolation", ["nearest", "bilinear"])),
    Arg("seed", SEED),
    Arg("fill_value", FLOAT),
)


def _normalization(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    axis = args.get("axis", -1)
    axes = [] if axis is None else [axis] if isinstance(axis, int) else list(axis)
    kept = []
    for a in axes:
        index = a - 1 if a > 0 else len(x) + a
        if a == 0 or not 0 <= index < len(x):
            raise shapes.ShapeError(f"axis {a} is out of range for input shape {shapes.show(x)}")
        kept.append(shapes.known(x[index], f"axis {a}", x))
    if ("mean" in args) != ("variance" in args):
        raise shapes.ShapeError("give both mean and variance, or neither (adapt() fills them)")
    if "mean" in args:
        return shapes.Shape(x)
    # Unadapted: mean, variance and a count are non-trainable weights that adapt() fills.
    return shapes.Shape(x, non_trainable=2 * math.prod(kept) + 1)


def _image(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    if len(x) != 3:
        raise shapes.ShapeError(
            f"expected a rank-4 input (batch, height, width, channels), received {shapes.show(x)}"
        )
    return shapes.Shape(x)


def _crop(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    """Refused: Keras 3's RandomCrop returns its input uncropped when not training
    (random_crop.py, transform_images), so a model built with it has one output shape in
    training and another in predict() (tests/test_model_life.py keeps the strict xfail)."""
    _image(args, dims)
    raise shapes.ShapeError(
        "RandomCrop is refused: Keras returns its input uncropped at inference (training"
        " False), not the height x width its output shape promises, so predict() cannot"
        " run the model trained with it; use RandomZoom (same size, random scale) or"
        f" CenterCrop to {args['height']} x {args['width']} for a fixed crop"
    )


def _augment(name: str, *args: Arg, rule=_image) -> LayerKind:
    return LayerKind(name, args, rule, training=True, trains_by_default=True)


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "Normalization",
        (
            Arg(
                "axis",
                {
                    "anyOf": [
                        {"type": "integer"},
                        {"type": "array", "items": {"type": "integer"}},
                        {"type": "null"},
                    ]
                },
            ),
            # Inline, or a file of one number per line (state.py).
            Arg("mean", state.inline_or_file(NUMBERS)),
            Arg("variance", state.inline_or_file(NUMBERS)),
            Arg("invert", BOOL),
        ),
        _normalization,
    ),
    _augment(
        "RandomFlip",
        Arg("mode", _named("flip mode", ["horizontal", "vertical", "horizontal_and_vertical"])),
        Arg("seed", SEED),
    ),
    _augment("RandomRotation", Arg("factor", FACTOR, required=True, positional=True), *FILL),
    _augment(
        "RandomZoom",
        Arg("height_factor", FACTOR, required=True, positional=True),
        Arg("width_factor", {"anyOf": [FACTOR, {"type": "null"}]}),
        *FILL,
    ),
    _augment(
        "RandomTranslation",
        Arg("height_factor", FACTOR, required=True, positional=True),
        Arg("width_factor", FACTOR, required=True, positional=True),
        *FILL,
    ),
    _augment(
        "RandomContrast",
        Arg("factor", FACTOR, required=True, positional=True),
        Arg("value_range", {"type": "array", "items": FLOAT, "minItems": 2, "maxItems": 2}),
        Arg("seed", SEED),
    ),
    _augment(
        "RandomCrop",
        Arg("height", POS_INT, required=True, positional=True),
        Arg("width", POS_INT, required=True, positional=True),
        Arg("seed", SEED),
        rule=_crop,
    ),
)

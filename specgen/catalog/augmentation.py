"""Image augmentation layers beyond the preprocessing module's
(keras/src/layers/preprocessing/image_preprocessing): each changes images only in training
(`_augment`: the subclass style passes `training` on), draws from its own `seed`, and keeps the
input's shape. AutoContrast and ContrastLimitedAdaptiveHistogramEqualization are deterministic
and act in inference too, so they take no `training`.

Not catalogued on purpose: MaxNumBoundingBoxes, which works on bounding-box dicts, not on the
image tensors a spec's inputs are; and Equalization, which Keras 3 (3.13) cannot hold in any
Functional or Sequential model: traced, it returns its input tensor itself, and building the
model fails with "... is part of a cycle".
"""

from __future__ import annotations

from . import shapes
from .base import BOOL, FLOAT, POS_INT, SEED, Arg, LayerKind, _named
from .preprocessing import _augment

UNIT = {"type": "number", "minimum": 0, "maximum": 1}
PAIR = {"type": "array", "items": FLOAT, "minItems": 2, "maxItems": 2}
# A factor f (Keras reads it as [-f, f] or [0, f]) or [lower, upper].
FACTOR = {"title": "a factor or [lower, upper]", "anyOf": [FLOAT, PAIR]}
UNIT_FACTOR = {
    "title": "a factor in [0, 1] or [lower, upper] within [0, 1]",
    "anyOf": [UNIT, {"type": "array", "items": UNIT, "minItems": 2, "maxItems": 2}],
}
VALUE_RANGE = Arg("value_range", PAIR)
INTERPOLATION = Arg("interpolation", _named("interpolation", ["nearest", "bilinear"]))
FILL_MODE = Arg("fill_mode", _named("fill mode", ["reflect", "wrap", "constant", "nearest"]))


def _colour(name: str, *, required: bool = True, schema=FACTOR, **rule) -> LayerKind:
    """A colour augmentation: factor, value_range, seed; `rule=` a shape rule of its own."""
    return _augment(
        name,
        Arg("factor", schema, required=required, positional=required),
        VALUE_RANGE,
        Arg("seed", SEED),
        **rule,
    )


def _image(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    shapes.check_rank(x, 3, "batch, height, width, channels")
    return shapes.Shape(x)


def _rgb(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    out = _image(args, dims)
    if out.dims[-1] != 3:
        raise shapes.ShapeError(f"expected 3 colour channels, received {shapes.show(out.dims)}")
    return out


LAYERS: tuple[LayerKind, ...] = (
    _colour("RandomBrightness"),
    _colour("RandomHue", schema=UNIT_FACTOR, rule=_rgb),
    _colour("RandomSaturation", schema=UNIT_FACTOR, rule=_rgb),
    _augment("RandomGrayscale", Arg("factor", UNIT), Arg("seed", SEED)),
    _colour("RandomInvert", required=False, schema=UNIT_FACTOR),
    _colour("RandomSharpness", schema=UNIT_FACTOR),
    _augment(
        "RandomShear",
        Arg("x_factor", FACTOR),
        Arg("y_factor", FACTOR),
        INTERPOLATION,
        FILL_MODE,
        Arg("fill_value", FLOAT),
        Arg("seed", SEED),
    ),
    _augment(
        "RandomErasing",
        Arg("factor", UNIT_FACTOR),
        Arg("scale", UNIT_FACTOR),
        Arg("fill_value", {"anyOf": [FLOAT, {"type": "null"}]}),
        VALUE_RANGE,
        Arg("seed", SEED),
    ),
    _augment(
        "RandomGaussianBlur",
        Arg("factor", UNIT_FACTOR),
        Arg("kernel_size", POS_INT),
        Arg("sigma", {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, PAIR]}),
        VALUE_RANGE,
        Arg("seed", SEED),
    ),
    _augment(
        "RandomPerspective",
        Arg("factor", UNIT_FACTOR),
        Arg("scale", {"type": "number", "minimum": 0, "maximum": 1}),
        INTERPOLATION,
        Arg("fill_value", FLOAT),
        Arg("seed", SEED),
    ),
    _augment(
        "RandomColorJitter",
        VALUE_RANGE,
        *(
            Arg(f"{what}_factor", {"anyOf": [FACTOR, {"type": "null"}]})
            for what in ("brightness", "contrast", "saturation", "hue")
        ),
        Arg("seed", SEED),
        rule=_rgb,
    ),
    _colour("RandomColorDegeneration", schema=UNIT_FACTOR),
    _augment(
        "RandomPosterization",
        Arg(
            "factor",
            {
                "title": "bits to keep, 1 to 8, or [lower, upper]",
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 8},
                    {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1, "maximum": 8},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                ],
            },
            required=True,
            positional=True,
        ),
        VALUE_RANGE,
        Arg("seed", SEED),
    ),
    _augment(
        "Solarization",
        Arg("addition_factor", UNIT_FACTOR),
        Arg("threshold_factor", UNIT_FACTOR),
        VALUE_RANGE,
        Arg("seed", SEED),
    ),
    _augment(
        "AugMix",
        VALUE_RANGE,
        Arg("num_chains", POS_INT),
        Arg(
            "chain_depth",
            {"anyOf": [POS_INT, {"type": "array", "items": POS_INT, "minItems": 2, "maxItems": 2}]},
        ),
        Arg("factor", UNIT_FACTOR),
        Arg("alpha", {"type": "number", "exclusiveMinimum": 0}),
        Arg("all_ops", BOOL),
        INTERPOLATION,
        Arg("seed", SEED),
        rule=_rgb,
    ),
    _augment(
        "RandAugment",
        VALUE_RANGE,
        Arg("num_ops", POS_INT),
        Arg("factor", UNIT_FACTOR),
        INTERPOLATION,
        Arg("seed", SEED),
        rule=_rgb,
    ),
    _augment("MixUp", Arg("alpha", {"type": "number", "exclusiveMinimum": 0}), Arg("seed", SEED)),
    _augment("CutMix", Arg("factor", UNIT_FACTOR), Arg("seed", SEED)),
    _augment(
        "RandomElasticTransform",
        Arg("factor", UNIT_FACTOR),
        Arg("scale", {"type": "number", "minimum": 0}),
        INTERPOLATION,
        FILL_MODE,
        Arg("fill_value", FLOAT),
        VALUE_RANGE,
        Arg("seed", SEED),
    ),
    # Deterministic: the same in training and inference.
    LayerKind("AutoContrast", (VALUE_RANGE,), _image),
    LayerKind(
        "ContrastLimitedAdaptiveHistogramEqualization",
        (
            VALUE_RANGE,
            Arg("clip_limit", {"type": "number", "exclusiveMinimum": 0}),
            Arg(
                "tile_grid_size", {"type": "array", "items": POS_INT, "minItems": 2, "maxItems": 2}
            ),
        ),
        _image,
    ),
)

"""Pretrained backbones: a keras.applications model used as one layer (transfer learning).

`{"type": "Application", "model": "MobileNetV2", "input_shape": [96, 96, 3], "alpha": 0.35,
"include_top": false, "pooling": "avg", "weights": "mobilenet.weights.h5", "trainable": false}`
is `keras.applications.MobileNetV2(...)` called on its input, frozen. `weights` is null (fresh
weights) or a local weights file, read when the model is built; specgen never downloads, so
`"imagenet"` is refused with the way around it. `unfreeze` names inner layers to train while
the rest stay frozen (fine-tuning). Keras's own applications need no opt-in.

Output shapes and parameter counts come from the tables below (measured with Keras 3 and
checked by tests/test_applications.py): the feature map is 1/32 of the input, rounded up for
networks that pad ("same") and down for those that do not.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from . import shapes
from .base import ACTIVATION, BOOL, POS_INT, Arg, LayerKind

# model: (rounding of the 1/32 feature map, {alpha: (channels, trainable, non-trainable)})
# for include_top=False; alpha None for models without a width multiplier.
TABLE: dict[str, tuple[str, dict]] = {
    "MobileNetV2": (
        "ceil",
        {
            0.35: (1280, 396128, 14080),
            0.5: (1280, 687680, 18544),
            0.75: (1280, 1355424, 26640),
            1.0: (1280, 2223872, 34112),
            1.3: (1664, 3721792, 44256),
            1.4: (1792, 4315776, 47936),
        },
    ),
    "MobileNet": ("floor", {0.25: (256, 213072, 5472), 1.0: (1024, 3206976, 21888)}),
    "ResNet50": ("ceil", {None: (2048, 23534592, 53120)}),
    "EfficientNetB0": ("ceil", {None: (1280, 4007548, 42023)}),
    "DenseNet121": ("floor", {None: (1024, 6953856, 83648)}),
    "VGG16": ("floor", {None: (512, 14714688, 0)}),
    "VGG19": ("floor", {None: (512, 20024384, 0)}),
}
WIDTH = {"MobileNetV2", "MobileNet"}  # take `alpha`
DOWNLOADED = "imagenet"


def _head(model: str, channels: int, spatial: tuple, classes: int) -> dict[str, int]:
    """Parameters of each layer of the classifier include_top=True adds."""
    if model.startswith("VGG"):  # flatten, fc1 4096, fc2 4096, predictions
        flat = spatial[0] * spatial[1] * channels
        return {"fc1": (flat + 1) * 4096, "fc2": 4097 * 4096, "predictions": 4097 * classes}
    # global average pooling, then one Dense (MobileNet: a 1x1 convolution)
    return {"conv_preds" if model == "MobileNet" else "predictions": (channels + 1) * classes}


@functools.cache
def _layer_table() -> dict:
    """{model: {alpha or "-": {layer: [trainable, non-trainable]}}} for the layers with
    weights of each include_top=False variant of TABLE, measured with Keras 3
    (`keras.applications.<model>(weights=None, include_top=False, input_shape=(32, 32, 3),
    alpha=...)`, each layer's trainable and non-trainable weight sizes); checked against
    TABLE and Keras by tests/test_applications.py."""
    return json.loads((Path(__file__).parent / "application_layers.json").read_text())


def _unfrozen(model: str, alpha: float | None, names: list, head: dict[str, int]) -> int:
    """The parameters that train when only the layers named in `unfreeze` do: each named
    layer's own trainable weights (a BatchNormalization's moving statistics never train)."""
    layers = _layer_table()[model]["-" if alpha is None else repr(alpha)]
    return sum(layers[n][0] if n in layers else head.get(n, 0) for n in set(names))


def shape(args: dict, given: list[shapes.Dims]) -> shapes.Shape:
    dims = shapes.single(given)
    model = args["model"]
    wanted = tuple(args["input_shape"])
    if tuple(dims) != wanted:
        raise shapes.ShapeError(
            f"input_shape {list(wanted)} differs from the input's shape {shapes.show(dims)}"
        )
    if args.get("weights") == DOWNLOADED:
        raise shapes.ShapeError(
            "weights 'imagenet' would be downloaded, and specgen never downloads: save them"
            " once to a local .weights.h5 file (model.save_weights) and give its path, or null"
        )
    if wanted[-1] != 3:
        raise shapes.ShapeError(f"{model} takes 3 channels, received {wanted[-1]}")
    if min(wanted[:2]) < 32:
        raise shapes.ShapeError(f"{model} needs an input of at least 32x32, received {wanted}")
    rounding, variants = TABLE[model]
    alpha = float(args.get("alpha", 1.0)) if model in WIDTH else None
    if alpha not in variants:
        raise shapes.ShapeError(
            f"{model} alpha {alpha} is not one specgen knows: {sorted(variants)}"
        )
    channels, trainable, frozen = variants[alpha]
    spatial = tuple(-(-s // 32) if rounding == "ceil" else s // 32 for s in wanted[:2])
    head: dict[str, int] = {}
    if args.get("include_top"):
        classes = args.get("classes", 1000)
        out: shapes.Dims = (classes,)
        head = _head(model, channels, spatial, classes)
        trainable += sum(head.values())
    elif args.get("pooling") in ("avg", "max"):
        out = (channels,)
    else:
        out = (*spatial, channels)
    if args.get("unfreeze"):  # only the named layers train, whatever `trainable` says
        train = _unfrozen(model, alpha, list(args["unfreeze"]), head)
        return shapes.Shape(out, train, trainable + frozen - train)
    # trainable: false is applied by the graph as for every layer (all weights frozen).
    return shapes.Shape(out, trainable, frozen)


WEIGHTS = {
    "title": "null (fresh weights) or a local weights file; 'imagenet' is refused (no downloads)",
    "anyOf": [{"type": "null"}, {"type": "string", "minLength": 1, "maxLength": 4096}],
}
LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "Application",
        (
            Arg("model", {"title": "keras.applications model", "enum": sorted(TABLE)}, True),
            Arg(
                "input_shape",
                {"type": "array", "items": POS_INT, "minItems": 3, "maxItems": 3},
                required=True,
            ),
            Arg("alpha", {"type": "number", "exclusiveMinimum": 0}),
            Arg("include_top", BOOL),
            Arg("weights", WEIGHTS),
            Arg("pooling", {"title": "pooling", "enum": ["avg", "max", None]}),
            Arg("classes", POS_INT),
            Arg("classifier_activation", ACTIVATION),
            Arg("trainable", BOOL),
            Arg(
                "unfreeze",
                {
                    "title": "names of inner layers to train (the others stay frozen)",
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 256},
                },
            ),
            Arg("keras_name", {"$ref": "#/$defs/keras_name"}),
        ),
        shape,
        training=True,
    ),
)
# Arguments that are not the application constructor's own.
SETTINGS = ("model", "trainable", "unfreeze", "keras_name")


def constructor_args(given: dict) -> dict:
    """The constructor's keyword arguments (weights=None unless a file is named)."""
    args = {k: v for k, v in given.items() if k not in SETTINGS}
    args.setdefault("include_top", False)
    args.setdefault("weights", None)
    return args

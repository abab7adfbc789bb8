"""What a data source asks of the model: checked before any training, at the spec's place.

An image folder gives pixel values as stored, 0..255 (the loader hides no division): a model
must say how it scales them. A `Rescaling` or `Normalization` layer on the way from the
input to the first layer with weights says it; `"scaling": "in_model"` (the model scales in
a way these rules cannot see: a custom layer, a block, a backbone's own preprocessing) or
`"scaling": "none"` (train on 0..255 on purpose) in the dataset block says it outright.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..spec.errors import pointer_join
from .ir import Model

Error = Callable[[str, str], None]  # (pointer under /training, message)

# Layers whose output is pixels on a scale the model chose (their own weights, if any, are
# the scale: Normalization's mean and variance).
SCALING_LAYERS = ("Rescaling", "Normalization")
# 1/255 as JSON writes it: the Rescaling that maps 0..255 onto 0..1.
ONE_OVER_255 = 1 / 255
RESCALING = f'{{"type": "Rescaling", "scale": {ONE_OVER_255!r}}}'


def check(model: Model, error: Error, layer_error: Error) -> None:
    """`error` takes a pointer under /training, `layer_error` an absolute one."""
    learnt_statistics(model, layer_error)
    data = model.training.get("dataset") if model.training else None
    if isinstance(data, Mapping) and "image_folder" in data and "scaling" not in data:
        _image_scaling(model, error)
    if isinstance(data, Mapping) and "tfrecord" in data:
        for name, feature in data["features"].items():
            _record_feature(feature, error, pointer_join("/dataset/features", name))


def learnt_statistics(model: Model, error: Error | None = None) -> dict[str, list[str]]:
    """{input key: the Keras names of the Normalization layers that read it}: the layers
    given no mean and variance, whose statistics a training run learns from the inputs of
    its training split (adapt()) before the first epoch. Such a layer must read one model
    input itself; anywhere else, its statistics would be of values no data set holds."""
    inputs = {node.name: node.key for node in model.inputs}
    learnt: dict[str, list[str]] = {}
    for node in model.layers:
        layer = getattr(node, "target", node)
        if layer.is_block or layer.type_name != "Normalization" or "mean" in dict(layer.args):
            continue
        if node is layer and len(node.inputs) == 1 and node.inputs[0] in inputs:
            name = node.keras_name or node.name
            learnt.setdefault(inputs[node.inputs[0]], []).append(name)
        elif error is not None:
            error(node.pointer, _READS_AN_INPUT)
    for block in model.blocks if error is not None else ():
        for layer in block.layers:  # they read the block's inputs, never the data
            if layer.type_name == "Normalization" and "mean" not in dict(layer.args):
                error(layer.pointer, _READS_AN_INPUT)
    return learnt


_READS_AN_INPUT = (
    "a Normalization layer given no mean and variance learns them from the training"
    ' data: it must read one model input, once; elsewhere give "mean" and "variance"'
)


def _record_feature(feature: Mapping, error: Error, at: str) -> None:
    """A string feature says how it is decoded, into a shape that decoding can fill."""
    decode, shape = feature.get("decode"), feature["shape"]
    if feature["dtype"] != "string":
        if decode is not None:
            error(
                f"{at}/decode", f"only a string feature is decoded; this one is {feature['dtype']}"
            )
        return
    if decode is None:
        error(
            at,
            'a string feature needs "decode": "image" (an encoded PNG, JPEG, GIF or'
            ' BMP) or "uint8" or "float32" (an array\'s raw bytes)',
        )
    elif decode == "image" and (len(shape) != 3 or shape[2] not in (1, 3, 4)):
        error(
            f"{at}/shape",
            f"an image decodes to [height, width, channels] with 1, 3 or 4 channels; got {shape}",
        )


def _image_scaling(model: Model, error: Error) -> None:
    """The first layer with weights that reads the input's pixels unscaled (through layers
    without weights: augmentation, pooling, reshaping), if any, is an error."""
    unscaled = {node.name for node in model.inputs}
    for node in model.layers:
        if not unscaled.intersection(node.inputs):
            continue
        layer = getattr(node, "target", node)  # a layer called again: the layer's facts
        if not layer.is_block and layer.type_name in SCALING_LAYERS:
            continue
        if layer.params:
            error(
                "/dataset",
                f"image_folder gives pixel values 0..255 as stored, and layer"
                f" {node.name!r} ({layer.type_name}) learns from them unscaled; add"
                f" {RESCALING} (1/255) as a layer before it, or say in the dataset"
                ' block "scaling": "in_model" (the model scales them itself) or'
                ' "scaling": "none" (train on 0..255 on purpose)',
            )
            return
        unscaled.add(node.name)

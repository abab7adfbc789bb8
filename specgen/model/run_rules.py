"""Cross-field rules of a training block, checked before any training at the spec's place.

Two kinds. What the run needs of the data and the model together (class weights need class
labels, an image folder's label mode, size and colour mode must fit the loss and the input,
a text folder yields token sequences). And the rules Keras's own constructors enforce across
arguments, which a JSON Schema cannot say per argument: each one mirrors a named check in
Keras's source, and tests/test_run_rules.py constructs the Keras class with the same values
to show that Keras refuses exactly what this refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..catalog import training as cat
from .ir import Model

Error = Callable[[str, str], None]  # (pointer under /training, message)

# image_dataset_from_directory's label modes, and the labels a loss takes (catalog.LOSSES).
LABEL_MODES = {"int": cat.CLASS_IDS, "categorical": cat.ONE_HOT, "binary": cat.BINARY}
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
# keras/src/optimizers/base_optimizer.py: "Only one of `clipnorm`, `clipvalue` and
# `global_clipnorm` can be set."
CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def check(model: Model, heads, error: Error) -> None:
    spec = model.training
    _data(model, spec, heads, error)
    optimizer = spec["optimizer"]
    if isinstance(optimizer, Mapping):
        _optimizer(optimizer, error)


def _data(model: Model, spec, heads, error: Error) -> None:
    if "class_weight" in spec and spec.get("targets") == "inputs":
        error(
            "/class_weight",
            "class_weight weighs class labels, but targets: inputs trains the model to"
            " reproduce its input; drop one of them",
        )
    data = spec.get("dataset")
    if not isinstance(data, Mapping) or len(model.inputs) != 1:
        return
    node = model.inputs[0]
    dims = tuple(getattr(node, "dims", ()))
    if "image_folder" in data:
        mode = data.get("label_mode", "int")
        where = "/dataset/label_mode" if "label_mode" in data else "/dataset"
        for head in heads if len(heads) == 1 else ():
            wanted = LABEL_MODES[mode]
            if head.labels in LABEL_MODES.values() and head.labels != wanted:
                fits = next(k for k, v in LABEL_MODES.items() if v == head.labels)
                error(
                    where,
                    f"label_mode {mode!r} gives {wanted.replace('_', ' ')} labels, but"
                    f" {head.loss_class} takes {head.labels.replace('_', ' ')}; use"
                    f' "label_mode": "{fits}"',
                )
        if len(dims) != 3:
            error(
                "/dataset",
                f"image_folder gives images (height, width, channels); input"
                f" {node.name!r} is {list(dims)}",
            )
            return
        size = data.get("image_size")
        if size is not None and tuple(size) != dims[:2]:
            error(
                "/dataset/image_size",
                f"image_size {list(size)} does not fit input {node.name!r}"
                f" {list(dims)}; use {list(dims[:2])}",
            )
        color = data.get("color_mode")
        if color is not None and CHANNELS[color] != dims[2]:
            error(
                "/dataset/color_mode",
                f"color_mode {color!r} gives {CHANNELS[color]} channels; input"
                f" {node.name!r} has {dims[2]}",
            )
    if "text_folder" in data and (len(dims) != 1 or not node.dtype.startswith("int")):
        error(
            "/dataset",
            "text_folder gives token ids, one sequence per text; input"
            f" {node.name!r} is {node.dtype} {list(dims)} (use an int32 input of shape"
            " [length] or [null])",
        )


def _optimizer(optimizer: Mapping, error: Error) -> None:
    given = [name for name in CLIPPING if optimizer.get(name) is not None]
    if len(given) > 1:
        error(
            f"/optimizer/{given[1]}",
            f"Keras takes one of clipnorm, clipvalue and global_clipnorm; got {', '.join(given)}",
        )
    # keras/src/optimizers/sgd.py: "`momentum` must be a float between [0, 1]."
    momentum = optimizer.get("momentum")
    if optimizer.get("type") == "SGD" and momentum is not None:
        if not isinstance(momentum, float) or not 0 <= momentum <= 1:
            error(
                "/optimizer/momentum",
                f"SGD's momentum must be a number written with a decimal point between"
                f" 0.0 and 1.0 (Keras refuses an integer); got {momentum!r}",
            )
    schedule = optimizer.get("learning_rate")
    # keras/src/optimizers/schedules/learning_rate_schedule.py, PiecewiseConstantDecay:
    # "The length of boundaries should be 1 less than the length of values".
    if isinstance(schedule, Mapping) and schedule.get("type") == "PiecewiseConstantDecay":
        boundaries, values = schedule.get("boundaries", ()), schedule.get("values", ())
        if len(boundaries) != len(values) - 1:
            error(
                "/optimizer/learning_rate/values",
                f"PiecewiseConstantDecay needs one value more than boundaries; got"
                f" {len(boundaries)} boundaries and {len(values)} values",
            )

"""Cross-field rules of a training block, checked before any training at the spec's place.

Two kinds. What the run needs of the data and the model together (class weights need class
labels, an image folder's label mode, size and colour mode must fit the loss and the input,
a text folder yields token sequences). And the rules Keras's own classes enforce across
arguments, or against the model's outputs, which a JSON Schema cannot say per argument: the
table of keras_rules.py, each row citing the Keras line it mirrors;
tests/test_training_constraints.py probes every catalog class to show that validation refuses
exactly what Keras refuses (and lists where it is stricter, and why).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..catalog import training as cat
from . import keras_rules
from .ir import Model

Error = Callable[[str, str], None]  # (pointer under /training, message)

# image_dataset_from_directory's label modes, and the labels a loss takes (catalog.LOSSES).
LABEL_MODES = {"int": cat.CLASS_IDS, "categorical": cat.ONE_HOT, "binary": cat.BINARY}
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def check(model: Model, heads, error: Error) -> None:
    spec = model.training
    _data(model, spec, heads, error)
    _keras(model, spec, heads, error)
    _monitors(model, spec, error)


def _data(model: Model, spec, heads, error: Error) -> None:
    if "class_weight" in spec and spec.get("targets") == "inputs":
        error(
            "/class_weight",
            "class_weight weighs class labels, but targets: inputs trains the model to"
            " reproduce its input; drop one of them",
        )
    # keras/src/trainers/data_adapters/data_adapter_utils.py:128-131 class_weight_to_sample_
    # weights rounds each target (argmax of a vector) to a class id: real targets would be
    # weighed by their rounded values, silently.
    if "class_weight" in spec and spec.get("targets") != "inputs":
        for head in heads:
            if head.labels == cat.REAL:
                error(
                    "/class_weight",
                    f"class_weight weighs class labels, but {head.loss_class} on output"
                    f" {head.name!r} takes real-valued targets (Keras would round them to"
                    " class ids); drop class_weight or use a classification loss",
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


def _keras(model: Model, spec, heads, error: Error) -> None:
    """The rules of keras_rules.RULES, each at the argument it names."""
    for table, cls, args, where in _objects(spec["optimizer"]):
        for name, message in keras_rules.broken(table, cls, args):
            error(f"{where}/{name}", message)
    metrics, told = spec.get("metrics"), set()
    for head in heads:
        out = keras_rules.Output(len(head.dims) + 1, head.units)
        found = keras_rules.broken("loss", head.loss_class, head.loss_args, out)
        for name, message in found:
            if (head.pointer, name) not in told:  # one loss for every output: told once
                told.add((head.pointer, name))
                error(f"{head.pointer}/{name}", message)
        keyed = isinstance(metrics, Mapping)
        for index, metric in enumerate(head.metrics):
            if not isinstance(metric, Mapping):
                continue
            where = f"/metrics/{head.name}/{index}" if keyed else f"/metrics/{index}"
            args = {k: v for k, v in metric.items() if k != "type"}
            for name, message in keras_rules.broken("metric", metric["type"], args, out):
                if (where, name) not in told:  # a metric of every output: told once
                    told.add((where, name))
                    error(f"{where}/{name}", message)


def _monitors(model: Model, spec, error: Error) -> None:
    """keras/src/callbacks/monitor_callback.py:67-96 `_set_monitor_op`: in mode auto Keras
    reads the direction from `loss` or from a compiled metric named as the monitor, minus
    `val_`; a model with several outputs logs `out_loss`, `out_mae`..., which no metric is
    named, so the first epoch's end raises "Keras isn't able to automatically determine"."""
    if len(model.outputs) < 2:
        return
    for index, callback in enumerate(spec.get("callbacks", ())):
        monitor = callback.get("monitor")
        if monitor is None or callback.get("mode", "auto") != "auto":
            continue
        if monitor.removeprefix("val_") != "loss":
            error(
                f"/callbacks/{index}/monitor",
                f"Keras cannot tell whether {monitor!r} of a model with several outputs"
                ' should fall or rise; add "mode": "min" or "mode": "max"',
            )


def _objects(optimizer):
    """(table, class, arguments, pointer) of the optimizer and its schedule."""
    if not isinstance(optimizer, Mapping):
        return
    args = {k: v for k, v in optimizer.items() if k != "type"}
    yield "optimizer", optimizer["type"], args, "/optimizer"
    schedule = optimizer.get("learning_rate")
    if isinstance(schedule, Mapping):
        args = {k: v for k, v in schedule.items() if k != "type"}
        yield "schedule", schedule["type"], args, "/optimizer/learning_rate"

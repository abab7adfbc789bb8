"""What the training script needs to know, derived from a spec's `training` block.

Every Keras class named here comes from the closed tables of `training_catalog`; spec values
reach code only through `literal()`. `check` refuses, at the spec's place, what Keras could not
run or would train silently wrong (logits against a probability loss, sparse labels for one
unit, a schedule beside ReduceLROnPlateau, a data set that does not fit the input).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..catalog import training as cat
from ..spec.errors import SpecError
from . import data_rules, run_rules
from .ir import Model, literal
from .plan import KerasObject, Plan, is_per_output, plan

# Kept for callers that list the allowlists (tests/test_safety.py).
LOSS_CLASSES, METRIC_CLASSES, ACCURACY = cat.LOSS_NAMES, cat.METRIC_NAMES, cat.ACCURACY
# Built-in data sets: (input shapes they fit, number of classes).
BUILTIN = {
    "mnist": (((28, 28, 1), (28, 28)), 10),
    "fashion_mnist": (((28, 28, 1), (28, 28)), 10),
    "cifar10": (((32, 32, 3),), 10),
    "cifar100": (((32, 32, 3),), 100),
    "digits": (((8, 8, 1),), 10),
}
CROSSENTROPY = {
    "SparseCategoricalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
}
PROBABILITIES = {"softmax", "sigmoid", "log_softmax"}


@dataclass(frozen=True)
class Head:
    """One output as the script trains it."""

    name: str
    dims: tuple
    activation: str | None
    loss_class: str
    loss_args: Mapping
    metrics: tuple
    pointer: str  # the spec's place of this output's loss

    @property
    def units(self) -> int | None:
        return self.dims[-1] if self.dims else None

    @property
    def labels(self) -> str:
        return cat.LOSSES[self.loss_class][0]

    @property
    def loss(self) -> str:
        return KerasObject(self.loss_class, self.loss_args).code("losses")

    @property
    def metric_calls(self) -> tuple[str, ...]:
        calls = []
        for metric in self.metrics:
            if metric == "accuracy":
                calls.append(f"keras.metrics.{cat.ACCURACY[self.labels]}(name='accuracy')")
            elif isinstance(metric, str):
                calls.append(f"keras.metrics.{cat.METRIC_NAMES[metric]}(name={literal(metric)})")
            else:
                calls.append(KerasObject.parse(metric).code("metrics"))
        return tuple(calls)


def _activation(model: Model, name: str) -> str | None:
    node = next(n for n in model.layers if n.name == name)
    if node.is_block:
        return None
    args = dict(node.args)
    if node.kind.name == "Softmax":
        return "softmax"
    return args.get("activation")


def heads(model: Model, parsed: Plan | None = None) -> tuple[Head, ...]:
    parsed = parsed or plan(model)
    dims = {n.name: tuple(n.out.dims) for n in model.layers}
    result = []
    for name in model.outputs:
        loss = parsed.losses.value[name]
        if loss is None:
            continue
        metrics = parsed.metrics.value[name] or ()
        result.append(
            Head(
                name,
                dims[name],
                _activation(model, name),
                loss.cls,
                loss.args,
                metrics,
                parsed.losses.pointer(name),
            )
        )
    return tuple(result)


def _metric_name(metric) -> str:
    """The name Keras logs a metric under: its `name`, else its class in snake_case."""
    if isinstance(metric, str):
        return metric
    parsed = KerasObject.parse(metric)
    cls, args = parsed.cls, parsed.args
    if "name" in args:
        return args["name"]
    return "auc" if cls == "AUC" else re.sub(r"(?<!^)(?=[A-Z])", "_", cls).lower()


def logged_names(model: Model) -> list[str]:
    """What `fit` logs per epoch (and a callback may monitor): losses and metrics, and
    their `val_` twins."""
    many = len(model.outputs) > 1
    names = ["loss"]
    for head in heads(model):
        prefix = f"{head.name}_" if many else ""
        names += [f"{prefix}loss"] if many else []
        names += [prefix + _metric_name(m) for m in head.metrics]
    return [*names, *(f"val_{n}" for n in names)]


def check(model: Model) -> list[SpecError]:
    """What the schema cannot see: outputs named, logits, labels, data shape, combinations."""
    if model.training is None:
        return []
    spec, errors = model.training, []

    def error(pointer, message):
        errors.append(model.error(f"/training{pointer}", message))

    for field in ("loss", "metrics", "loss_weights"):
        value = spec.get(field)
        if is_per_output(value):
            for name in value:
                if name not in model.outputs:
                    error(
                        f"/{field}/{name}",
                        f"{name!r} is not an output ({', '.join(model.outputs)})",
                    )
            if field == "loss" and (missing := [n for n in model.outputs if n not in value]):
                error("/loss", f"no loss for output {', '.join(missing)}")
    if errors:
        return errors
    many = len(model.outputs) > 1
    parsed = plan(model)
    outputs = heads(model, parsed)
    for head in outputs:
        where = head.pointer
        logits = head.loss_args.get("from_logits", False)
        if head.loss_class in CROSSENTROPY:
            if logits and head.activation in PROBABILITIES:
                error(
                    where,
                    f"output {head.name!r} ends in {head.activation}, which gives"
                    " probabilities; drop from_logits: true or the activation",
                )
            if not logits and head.activation in (None, "linear"):
                error(
                    where,
                    f"output {head.name!r} has no activation, so it gives logits;"
                    ' use {"type": "' + head.loss_class + '", "from_logits": true}'
                    " or a softmax/sigmoid activation",
                )
        if head.labels in (cat.CLASS_IDS, cat.ONE_HOT) and head.units == 1:
            error(
                where,
                f"{head.loss_class} needs one unit per class; output {head.name!r}"
                " has 1 unit (use binary_crossentropy for two classes)",
            )
    schedule = isinstance(parsed.optimizer.args.get("learning_rate"), Mapping)
    for index, callback in enumerate(spec.get("callbacks", ())):
        if callback["type"] == "ReduceLROnPlateau" and schedule:
            error(
                f"/callbacks/{index}",
                "ReduceLROnPlateau changes the learning rate, which"
                " the optimizer's schedule owns; use a constant learning_rate",
            )
        monitor = callback.get("monitor")
        if monitor is not None and monitor not in (logged := logged_names(model)):
            error(
                f"/callbacks/{index}/monitor",
                f"{monitor!r} is not in the training logs; they hold {', '.join(logged)}",
            )
    if "class_weight" in spec:
        if many:
            error("/class_weight", "Keras takes class_weight for a single output only")
        else:
            head = outputs[0]
            for key in spec["class_weight"]:
                if not (key.isascii() and key.isdigit() and len(key) < 7):
                    error(f"/class_weight/{key}", f"class_weight keys are class ids; got {key!r}")
                    continue
                limit = head.units if head.labels != cat.BINARY else 2
                if limit is not None and int(key) >= limit:
                    error(
                        f"/class_weight/{key}",
                        f"class {key} does not exist: output {head.name!r} has {limit} classes",
                    )
    if spec.get("targets") == "inputs":
        if len(model.inputs) != 1:
            error("/targets", "targets: inputs needs a model with one input")
        else:
            wanted = model.inputs[0].dims if hasattr(model.inputs[0], "dims") else None
            for node in model.layers:
                if node.name in model.outputs and wanted is not None and node.out.dims != wanted:
                    error(
                        "/targets",
                        f"targets: inputs, but output {node.name!r} has shape"
                        f" {node.out.dims}, not the input's {wanted}",
                    )
    run_rules.check(model, outputs, error)
    data_rules.check(model, error, lambda at, message: errors.append(model.error(at, message)))
    dataset = spec.get("dataset")
    if isinstance(dataset, str) and dataset in BUILTIN and spec.get("targets") != "inputs":
        shapes, classes = BUILTIN[dataset]
        dims = tuple(getattr(model.inputs[0], "dims", ()))
        if len(model.inputs) != 1 or dims not in shapes:
            fits = " or ".join(str(list(s)) for s in shapes)
            error(
                "/dataset",
                f"{dataset} images are {fits}; input {model.inputs[0].name!r} is {list(dims)}",
            )
        for head in outputs:
            if head.labels in (cat.CLASS_IDS, cat.ONE_HOT) and head.units != classes:
                error(
                    "/dataset",
                    f"{dataset} has {classes} classes; output {head.name!r} has {head.units} units",
                )
    return errors


@dataclass(frozen=True)
class Training:
    model: Model
    outputs: tuple[Head, ...]
    plan: Plan

    @property
    def spec(self):
        return self.model.training

    @property
    def epochs(self) -> int:
        return self.spec.get("epochs", 1)

    @property
    def batch_size(self) -> int:
        return self.spec.get("batch_size", 32)

    @property
    def optimizer(self) -> str:
        return self.plan.optimizer.code("optimizers")

    @property
    def multi_output(self) -> bool:
        return len(self.outputs) > 1

    @property
    def dataset(self):
        return self.spec.get("dataset", "synthetic")

    @property
    def data_literal(self) -> str:
        return literal(self.dataset)

    @property
    def loss_weights(self) -> str | None:
        value = self.spec.get("loss_weights")
        return None if value is None else literal(value)

    @property
    def class_weight(self) -> str:
        value = self.spec.get("class_weight")
        return "None" if value is None else literal({int(k): v for k, v in value.items()})

    @property
    def settings(self) -> dict[str, str]:
        """Keyword arguments of the script's runtime.Settings(...), as code."""
        model = self.model
        # Keyed as the model is called: by each Input's Keras name (its spec name unless
        # an import renamed it).
        inputs = {e.key: (tuple(getattr(e, "dims", ())), e.dtype) for e in model.inputs}
        settings = {
            "name": literal(model.name),
            "seed": literal(model.seed),
            "epochs": literal(self.epochs),
            "batch_size": literal(self.batch_size),
            "dataset": self.data_literal,
            "inputs": literal(inputs),
            "outputs": literal({h.name: (h.dims, h.labels) for h in self.outputs}),
            "vocabulary": literal(_vocabulary(model)),
            "validation_split": literal(self.spec.get("validation_split")),
            "targets": literal(self.spec.get("targets")),
            "spec_sha256": literal(model.spec_sha256),
        }
        if learnt := data_rules.learnt_statistics(model):
            settings["learnt_statistics"] = literal(learnt)
        return settings

    @property
    def callbacks(self) -> tuple[str, ...]:
        calls = []
        for callback in self.plan.callbacks:
            cls, args = callback.cls, dict(callback.args)
            files = dict(cat.CALLBACKS[cls][1])
            if cls == "ModelCheckpoint" and args.get("save_weights_only"):
                files["filepath"] = cat.WEIGHTS_ONLY_FILE
            first = ", ".join(f"run_dir / {literal(f)}" for f in files.values())
            if cls == "CSVLogger":
                args = {**args, "append": True}  # a resumed run goes on with the same log
            calls.append(KerasObject(cls, args).code("callbacks", first))
        return tuple(calls)


def _vocabulary(model: Model) -> int | None:
    """The first Embedding's input_dim: synthetic integer inputs and text stay below it."""
    for node in model.layers:
        if not node.is_block and node.kind.name == "Embedding":
            return dict(node.args).get("input_dim")
    return None


def build(model: Model) -> Training | None:
    if model.training is None:
        return None
    parsed = plan(model)
    return Training(model, heads(model, parsed), parsed)

"""What the training template needs to know, derived from a spec's `training` block.

Every Keras class named here comes from a closed table keyed by the schema's allowlists;
spec values reach code only through `literal()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SpecError
from .ir import Model, literal

LOSS_CLASSES = {
    "binary_crossentropy": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "categorical_hinge": "CategoricalHinge",
    "cosine_similarity": "CosineSimilarity",
    "hinge": "Hinge",
    "huber": "Huber",
    "kl_divergence": "KLDivergence",
    "log_cosh": "LogCosh",
    "mean_absolute_error": "MeanAbsoluteError",
    "mae": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mape": "MeanAbsolutePercentageError",
    "mean_squared_error": "MeanSquaredError",
    "mse": "MeanSquaredError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "msle": "MeanSquaredLogarithmicError",
    "poisson": "Poisson",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "squared_hinge": "SquaredHinge",
}
METRIC_CLASSES = {
    "binary_accuracy": "BinaryAccuracy",
    "categorical_accuracy": "CategoricalAccuracy",
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "top_k_categorical_accuracy": "TopKCategoricalAccuracy",
    "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy",
    "auc": "AUC",
    "precision": "Precision",
    "recall": "Recall",
    "mean_squared_error": "MeanSquaredError",
    "mse": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mae": "MeanAbsoluteError",
    "root_mean_squared_error": "RootMeanSquaredError",
}
# What labels look like for a loss: how synthetic data is made and "accuracy" is resolved.
LABELS = {
    "sparse_categorical_crossentropy": "class_ids",
    "categorical_crossentropy": "one_hot",
    "categorical_focal_crossentropy": "one_hot",
    "categorical_hinge": "one_hot",
    "kl_divergence": "one_hot",
    "binary_crossentropy": "binary",
    "binary_focal_crossentropy": "binary",
    "hinge": "binary",
    "squared_hinge": "binary",
}
ACCURACY = {
    "class_ids": "SparseCategoricalAccuracy",
    "one_hot": "CategoricalAccuracy",
    "binary": "BinaryAccuracy",
    "real": "Accuracy",
}
COMMON_OPTIMIZER_ARGS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue")
OPTIMIZER_ARGS = {
    "SGD": ("momentum", "nesterov"),
    "Adam": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "AdamW": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "Adamax": ("beta_1", "beta_2", "epsilon"),
    "Nadam": ("beta_1", "beta_2", "epsilon"),
    "Lion": ("beta_1", "beta_2"),
    "RMSprop": ("rho", "momentum", "epsilon"),
    "Adagrad": ("epsilon",),
    "Adadelta": ("rho", "epsilon"),
    "Adafactor": ("epsilon",),
    "Ftrl": (),
}
CHANNEL_AXIS_DATASETS = ("mnist", "fashion_mnist")


def check(model: Model) -> list[SpecError]:
    """Optimizer arguments the optimizer does not take; per-output settings that name no output."""
    if model.training is None:
        return []
    errors = []
    spec = model.training["optimizer"]
    allowed = COMMON_OPTIMIZER_ARGS + OPTIMIZER_ARGS[spec["type"]]
    for key in spec:
        if key != "type" and key not in allowed:
            message = (
                f"optimizer {spec['type']} takes no argument {key!r}; it takes {', '.join(allowed)}"
            )
            errors.append(model.error(f"/training/optimizer/{key}", message))
    for field in ("loss", "metrics"):
        value = model.training.get(field)
        if not isinstance(value, Mapping):
            continue
        for name in value:
            if name not in model.outputs:
                message = (
                    f"{field} for {name!r}, which is not an output ({', '.join(model.outputs)})"
                )
                errors.append(model.error(f"/training/{field}/{name}", message))
        if field == "loss" and (missing := [n for n in model.outputs if n not in value]):
            errors.append(model.error("/training/loss", f"no loss for output {', '.join(missing)}"))
    return errors


@dataclass(frozen=True)
class Output:
    name: str
    units: int | None
    loss: str
    labels: str
    metrics: tuple[str, ...]  # constructor calls


@dataclass(frozen=True)
class Training:
    model: Model
    outputs: tuple[Output, ...]

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
        args = ", ".join(
            f"{k}={literal(v)}" for k, v in sorted(self.spec["optimizer"].items()) if k != "type"
        )
        return f"keras.optimizers.{self.spec['optimizer']['type']}({args})"

    @property
    def multi_output(self) -> bool:
        return len(self.outputs) > 1

    @property
    def dataset(self):
        return self.spec.get("dataset", "synthetic")

    @property
    def dataset_kind(self) -> str:
        data = self.dataset
        if isinstance(data, str):
            return "npz" if data.endswith(".npz") else "builtin"
        return "synthetic_linear" if "synthetic_linear" in data else "inline"

    @property
    def channel_axis(self) -> bool:
        return self.dataset in CHANNEL_AXIS_DATASETS

    @property
    def data_literal(self) -> str:
        return literal(self.dataset)


def _metric(name: str, labels: str) -> str:
    cls = ACCURACY[labels] if name == "accuracy" else METRIC_CLASSES[name]
    return f"keras.metrics.{cls}(name={literal(name)})"


def build(model: Model) -> Training | None:
    if model.training is None:
        return None
    spec = model.training
    units = {n.name: (n.out.dims[-1] if n.out.dims else None) for n in model.layers}
    outputs = []
    for name in model.outputs:
        loss = spec["loss"] if isinstance(spec["loss"], str) else spec["loss"][name]
        metrics = spec.get("metrics", ())
        if isinstance(metrics, Mapping):
            metrics = metrics.get(name, ())
        labels = LABELS.get(loss, "real")
        outputs.append(
            Output(
                name,
                units[name],
                f"keras.losses.{LOSS_CLASSES[loss]}()",
                labels,
                tuple(_metric(m, labels) for m in metrics),
            )
        )
    return Training(model, tuple(outputs))

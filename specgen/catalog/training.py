"""The training catalog: optimizers, learning-rate schedules, losses, metrics and callbacks as
data. Each entry names a Keras class and the JSON Schema of every argument a spec may pass it,
so the schema, validation and rendering all read one table (and no other class can be named).
"""

from __future__ import annotations

from . import datasets
from .schema_types import (
    BOOL,
    COUNT,
    FRACTION,
    MODE,
    NAME,
    NON_NEGATIVE,
    NUMBER,
    POSITIVE,
    REDUCTION,
    STEPS,
    UNIT,
)

# Arguments every Keras optimizer takes (learning_rate: a number or a schedule object).
OPTIMIZER_COMMON = {
    "weight_decay": NON_NEGATIVE,
    "clipnorm": POSITIVE,
    "clipvalue": POSITIVE,
    "global_clipnorm": POSITIVE,
    "use_ema": BOOL,
    "ema_momentum": FRACTION,
    "loss_scale_factor": POSITIVE,
    "gradient_accumulation_steps": {"type": "integer", "minimum": 2},
}
_ADAM = {"beta_1": UNIT, "beta_2": UNIT, "epsilon": POSITIVE, "amsgrad": BOOL}
OPTIMIZERS = {
    "SGD": {"momentum": FRACTION, "nesterov": BOOL},
    "Adam": _ADAM,
    "AdamW": _ADAM,
    "Adamax": {"beta_1": UNIT, "beta_2": UNIT, "epsilon": POSITIVE},
    "Nadam": {"beta_1": UNIT, "beta_2": UNIT, "epsilon": POSITIVE},
    "Lion": {"beta_1": UNIT, "beta_2": UNIT},
    "Lamb": {"beta_1": UNIT, "beta_2": UNIT, "epsilon": POSITIVE},
    "RMSprop": {"rho": UNIT, "momentum": NON_NEGATIVE, "epsilon": POSITIVE, "centered": BOOL},
    "Adagrad": {"initial_accumulator_value": NON_NEGATIVE, "epsilon": POSITIVE},
    "Adadelta": {"rho": UNIT, "epsilon": POSITIVE},
    "Adafactor": {
        "beta_2_decay": {"type": "number", "maximum": 0},  # > 0: 1 - t**decay < 0, NaN
        "epsilon_1": POSITIVE,
        "epsilon_2": POSITIVE,
        "clip_threshold": POSITIVE,
        "relative_step": BOOL,
    },
    "Ftrl": {
        "learning_rate_power": {"type": "number", "maximum": 0},
        "initial_accumulator_value": NON_NEGATIVE,
        "l1_regularization_strength": NON_NEGATIVE,
        "l2_regularization_strength": NON_NEGATIVE,
        "l2_shrinkage_regularization_strength": NON_NEGATIVE,
        "beta": NON_NEGATIVE,
    },
}
# keras.optimizers.schedules: {class: ({argument: schema}, required arguments)}.
_NUMBERS = {"type": "array", "items": NUMBER, "minItems": 1}
SCHEDULES = {
    "ExponentialDecay": (
        {
            "initial_learning_rate": POSITIVE,
            "decay_steps": STEPS,
            "decay_rate": POSITIVE,
            "staircase": BOOL,
        },
        ("initial_learning_rate", "decay_steps", "decay_rate"),
    ),
    "InverseTimeDecay": (
        {
            "initial_learning_rate": POSITIVE,
            "decay_steps": STEPS,
            "decay_rate": NON_NEGATIVE,
            "staircase": BOOL,
        },
        ("initial_learning_rate", "decay_steps", "decay_rate"),
    ),
    "PolynomialDecay": (
        {
            "initial_learning_rate": POSITIVE,
            "decay_steps": STEPS,
            "end_learning_rate": NON_NEGATIVE,
            "power": NON_NEGATIVE,
            "cycle": BOOL,
        },
        ("initial_learning_rate", "decay_steps"),
    ),
    "PiecewiseConstantDecay": (
        {"boundaries": {**_NUMBERS, "items": COUNT}, "values": _NUMBERS},
        ("boundaries", "values"),
    ),
    "CosineDecay": (
        {
            "initial_learning_rate": NON_NEGATIVE,
            "decay_steps": STEPS,
            "alpha": FRACTION,
            "warmup_target": POSITIVE,
            "warmup_steps": COUNT,
        },
        ("initial_learning_rate", "decay_steps"),
    ),
    "CosineDecayRestarts": (
        {
            "initial_learning_rate": POSITIVE,
            "first_decay_steps": STEPS,
            # t_mul < 1: the periods' sum converges, and past it the rate is NaN.
            "t_mul": {"type": "number", "minimum": 1},
            "m_mul": POSITIVE,
            "alpha": FRACTION,
        },
        ("initial_learning_rate", "first_decay_steps"),
    ),
}

# What labels a loss expects: drives synthetic data, "accuracy" and the checks in training.py.
CLASS_IDS, ONE_HOT, BINARY, REAL = "class_ids", "one_hot", "binary", "real"
_LOGITS = {"from_logits": BOOL, "reduction": REDUCTION, "name": NAME}
_CROSSENTROPY = {**_LOGITS, "label_smoothing": FRACTION, "axis": {"type": "integer"}}
_FOCAL = {**_CROSSENTROPY, "alpha": FRACTION, "gamma": NON_NEGATIVE}
_PLAIN = {"reduction": REDUCTION, "name": NAME}
# {class: (labels, {argument: schema})}
LOSSES = {
    "SparseCategoricalCrossentropy": (
        CLASS_IDS,
        {**_LOGITS, "ignore_class": {"type": "integer"}, "axis": {"type": "integer"}},
    ),
    "CategoricalCrossentropy": (ONE_HOT, _CROSSENTROPY),
    "CategoricalFocalCrossentropy": (ONE_HOT, _FOCAL),
    "BinaryCrossentropy": (BINARY, _CROSSENTROPY),
    "BinaryFocalCrossentropy": (BINARY, {**_FOCAL, "apply_class_balancing": BOOL}),
    "CategoricalHinge": (ONE_HOT, _PLAIN),
    "Hinge": (BINARY, _PLAIN),
    "SquaredHinge": (BINARY, _PLAIN),
    "KLDivergence": (ONE_HOT, _PLAIN),
    "CosineSimilarity": (REAL, {**_PLAIN, "axis": {"type": "integer"}}),
    "Huber": (REAL, {**_PLAIN, "delta": POSITIVE}),
    "LogCosh": (REAL, _PLAIN),
    "MeanAbsoluteError": (REAL, _PLAIN),
    "MeanAbsolutePercentageError": (REAL, _PLAIN),
    "MeanSquaredError": (REAL, _PLAIN),
    "MeanSquaredLogarithmicError": (REAL, _PLAIN),
    "Poisson": (REAL, _PLAIN),
}
LOSS_NAMES = {
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
_METRIC = {"name": NAME}
_THRESHOLD = {**_METRIC, "thresholds": FRACTION}
METRICS = {
    "Accuracy": _METRIC,
    "BinaryAccuracy": {**_METRIC, "threshold": FRACTION},
    "CategoricalAccuracy": _METRIC,
    "SparseCategoricalAccuracy": _METRIC,
    "TopKCategoricalAccuracy": {**_METRIC, "k": STEPS},
    "SparseTopKCategoricalAccuracy": {**_METRIC, "k": STEPS, "from_sorted_ids": BOOL},
    "AUC": {
        **_METRIC,
        "num_thresholds": {"type": "integer", "minimum": 2},
        "curve": {"enum": ["ROC", "PR"]},
        "multi_label": BOOL,
        "from_logits": BOOL,
    },
    "Precision": {**_THRESHOLD, "top_k": STEPS, "class_id": COUNT},
    "Recall": {**_THRESHOLD, "top_k": STEPS, "class_id": COUNT},
    "F1Score": {**_METRIC, "average": {"enum": ["micro", "macro", "weighted"]}},
    "MeanSquaredError": _METRIC,
    "MeanAbsoluteError": _METRIC,
    "MeanAbsolutePercentageError": _METRIC,
    "RootMeanSquaredError": _METRIC,
    "CosineSimilarity": {**_METRIC, "axis": {"type": "integer"}},
    "R2Score": _METRIC,
}
METRIC_NAMES = {
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
ACCURACY = {CLASS_IDS: "SparseCategoricalAccuracy", ONE_HOT: "CategoricalAccuracy",
            BINARY: "BinaryAccuracy", REAL: "Accuracy"}  # fmt: skip

# Callbacks: {class: ({argument: schema}, files)}. A spec never names a path: each file
# argument is filled in by the script from its --run-dir (see training.py).
_MONITOR = {"monitor": NAME, "mode": MODE, "verbose": {"enum": [0, 1]}}
CALLBACKS = {
    "EarlyStopping": (
        {
            **_MONITOR,
            "min_delta": NON_NEGATIVE,
            "patience": COUNT,
            "baseline": NUMBER,
            "restore_best_weights": BOOL,
            "start_from_epoch": COUNT,
        },
        {},
    ),
    "ReduceLROnPlateau": (
        {
            **_MONITOR,
            "factor": UNIT,
            "patience": COUNT,
            "min_delta": NON_NEGATIVE,
            "cooldown": COUNT,
            "min_lr": NON_NEGATIVE,
        },
        {},
    ),
    "ModelCheckpoint": (
        {**_MONITOR, "save_best_only": BOOL, "save_weights_only": BOOL},
        {"filepath": "best.keras"},
    ),
    "TensorBoard": (
        {"histogram_freq": COUNT, "write_graph": BOOL, "update_freq": {"enum": ["epoch"]}},
        {"log_dir": "logs"},
    ),
    "CSVLogger": ({"separator": {"enum": [",", ";", "\t"]}}, {"filename": "log.csv"}),
    "TerminateOnNaN": ({}, {}),
}
# Weight files that ModelCheckpoint writes when it saves weights only.
WEIGHTS_ONLY_FILE = "best.weights.h5"


def object_schema(title: str, classes: dict[str, dict], required=None) -> dict:
    """`{"type": Class, argument: value...}` for any class of a table: one branch per class,
    so an argument a class does not take is an error at its own key."""
    required = required or {}
    return {
        "title": title,
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"title": title, "enum": sorted(classes)}},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {
                    "properties": {"type": {"const": name}, **args},
                    "required": ["type", *required.get(name, ())],
                    "additionalProperties": False,
                },
            }
            for name, args in sorted(classes.items())
        ],
    }


def _per_output(schema: dict) -> dict:
    """One setting for every output, or an object keyed by output name."""
    return {"anyOf": [schema, {"type": "object", "additionalProperties": schema}]}


def schema() -> dict:
    """The `training` block's JSON Schema, from the tables above."""
    schedule = object_schema("learning-rate schedule", {k: v[0] for k, v in SCHEDULES.items()},
                             {k: v[1] for k, v in SCHEDULES.items()})  # fmt: skip
    learning_rate = {"anyOf": [POSITIVE, schedule]}
    optimizers = {
        name: {"learning_rate": learning_rate, **OPTIMIZER_COMMON, **args}
        for name, args in OPTIMIZERS.items()
    }
    loss = {
        "anyOf": [
            {"title": "loss", "enum": sorted(LOSS_NAMES)},
            object_schema("loss", {k: v[1] for k, v in LOSSES.items()}),
        ]
    }
    metric = {
        "anyOf": [
            {"title": "metric", "enum": ["accuracy", *sorted(METRIC_NAMES)]},
            object_schema("metric", METRICS),
        ]
    }
    metrics = {"type": "array", "items": metric, "uniqueItems": True}
    callbacks = {k: v[0] for k, v in CALLBACKS.items()}
    return {
        "type": "object",
        "properties": {
            "dataset": datasets.schema(),
            "optimizer": object_schema("optimizer", optimizers),
            "loss": _per_output(loss),
            "loss_weights": {"type": "object", "additionalProperties": NON_NEGATIVE},
            "metrics": _per_output(metrics),
            "callbacks": {"type": "array", "items": object_schema("callback", callbacks)},
            "epochs": STEPS,
            "batch_size": STEPS,
            "validation_split": UNIT,
            "class_weight": {"type": "object", "additionalProperties": NON_NEGATIVE},
            "targets": {"title": "targets", "enum": ["inputs"]},
        },
        "required": ["optimizer", "loss"],
        "additionalProperties": False,
    }

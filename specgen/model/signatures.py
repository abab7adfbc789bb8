"""Keras's constructor signatures for the training classes a spec may name (Keras 3.15).

Generated code passes arguments in the order Keras declares them, as a person reading the
Keras docs would write them, not alphabetically; rendering never imports Keras, so the order
is kept here. tests/test_signatures.py compares every entry with the installed Keras.
"""

from __future__ import annotations

from collections.abc import Iterable

# What every optimizer takes after its own arguments (AdamW takes weight_decay first).
_OPTIMIZER = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    "name",
)
# What every loss takes after its own arguments.
_LOSS = ("reduction", "name", "dtype")
# Categorical and binary crossentropy; the focal losses put their own arguments first.
_CROSSENTROPY = ("from_logits", "label_smoothing", "axis", *_LOSS)
# ExponentialDecay and InverseTimeDecay.
_DECAY = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")
# "module.Class": its __init__ parameters in order (self and **kwargs left out).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "optimizers.SGD": ("learning_rate", "momentum", "nesterov", *_OPTIMIZER),
    "optimizers.Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad", *_OPTIMIZER),
    "optimizers.AdamW": (
        "learning_rate",
        "weight_decay",
        "beta_1",
        "beta_2",
        "epsilon",
        "amsgrad",
        *_OPTIMIZER[1:],
    ),
    "optimizers.Adamax": ("learning_rate", "beta_1", "beta_2", "epsilon", *_OPTIMIZER),
    "optimizers.Nadam": ("learning_rate", "beta_1", "beta_2", "epsilon", *_OPTIMIZER),
    "optimizers.Lion": ("learning_rate", "beta_1", "beta_2", *_OPTIMIZER),
    "optimizers.Lamb": ("learning_rate", "beta_1", "beta_2", "epsilon", *_OPTIMIZER),
    "optimizers.RMSprop": ("learning_rate", "rho", "momentum", "epsilon", "centered", *_OPTIMIZER),
    "optimizers.Adagrad": ("learning_rate", "initial_accumulator_value", "epsilon", *_OPTIMIZER),
    "optimizers.Adadelta": ("learning_rate", "rho", "epsilon", *_OPTIMIZER),
    "optimizers.Adafactor": (
        "learning_rate",
        "beta_2_decay",
        "epsilon_1",
        "epsilon_2",
        "clip_threshold",
        "relative_step",
        *_OPTIMIZER,
    ),
    "optimizers.Ftrl": (
        "learning_rate",
        "learning_rate_power",
        "initial_accumulator_value",
        "l1_regularization_strength",
        "l2_regularization_strength",
        "l2_shrinkage_regularization_strength",
        "beta",
        *_OPTIMIZER,
    ),
    "optimizers.schedules.ExponentialDecay": _DECAY,
    "optimizers.schedules.InverseTimeDecay": _DECAY,
    "optimizers.schedules.PolynomialDecay": (
        "initial_learning_rate",
        "decay_steps",
        "end_learning_rate",
        "power",
        "cycle",
        "name",
    ),
    "optimizers.schedules.PiecewiseConstantDecay": ("boundaries", "values", "name"),
    "optimizers.schedules.CosineDecay": (
        "initial_learning_rate",
        "decay_steps",
        "alpha",
        "name",
        "warmup_target",
        "warmup_steps",
    ),
    "optimizers.schedules.CosineDecayRestarts": (
        "initial_learning_rate",
        "first_decay_steps",
        "t_mul",
        "m_mul",
        "alpha",
        "name",
    ),
    "losses.SparseCategoricalCrossentropy": (
        "from_logits",
        "ignore_class",
        "reduction",
        "axis",
        "name",
        "dtype",
    ),
    "losses.CategoricalCrossentropy": _CROSSENTROPY,
    "losses.CategoricalFocalCrossentropy": ("alpha", "gamma", *_CROSSENTROPY),
    "losses.BinaryCrossentropy": _CROSSENTROPY,
    "losses.BinaryFocalCrossentropy": ("apply_class_balancing", "alpha", "gamma", *_CROSSENTROPY),
    "losses.CategoricalHinge": _LOSS,
    "losses.Hinge": _LOSS,
    "losses.SquaredHinge": _LOSS,
    "losses.KLDivergence": _LOSS,
    "losses.CosineSimilarity": ("axis", *_LOSS),
    "losses.Huber": ("delta", *_LOSS),
    "losses.LogCosh": _LOSS,
    "losses.MeanAbsoluteError": _LOSS,
    "losses.MeanAbsolutePercentageError": _LOSS,
    "losses.MeanSquaredError": _LOSS,
    "losses.MeanSquaredLogarithmicError": _LOSS,
    "losses.Poisson": _LOSS,
    "metrics.Accuracy": ("name", "dtype"),
    "metrics.BinaryAccuracy": ("name", "dtype", "threshold"),
    "metrics.CategoricalAccuracy": ("name", "dtype"),
    "metrics.SparseCategoricalAccuracy": ("name", "dtype"),
    "metrics.TopKCategoricalAccuracy": ("k", "name", "dtype"),
    "metrics.SparseTopKCategoricalAccuracy": ("k", "name", "dtype", "from_sorted_ids"),
    "metrics.AUC": (
        "num_thresholds",
        "curve",
        "summation_method",
        "name",
        "dtype",
        "thresholds",
        "multi_label",
        "num_labels",
        "label_weights",
        "from_logits",
    ),
    "metrics.Precision": ("thresholds", "top_k", "class_id", "name", "dtype"),
    "metrics.Recall": ("thresholds", "top_k", "class_id", "name", "dtype"),
    "metrics.F1Score": ("average", "threshold", "name", "dtype"),
    "metrics.MeanSquaredError": ("name", "dtype"),
    "metrics.MeanAbsoluteError": ("name", "dtype"),
    "metrics.MeanAbsolutePercentageError": ("name", "dtype"),
    "metrics.RootMeanSquaredError": ("name", "dtype"),
    "metrics.CosineSimilarity": ("name", "dtype", "axis"),
    "metrics.R2Score": ("class_aggregation", "num_regressors", "name", "dtype"),
    "callbacks.EarlyStopping": (
        "monitor",
        "min_delta",
        "patience",
        "verbose",
        "mode",
        "baseline",
        "restore_best_weights",
        "start_from_epoch",
    ),
    "callbacks.ReduceLROnPlateau": (
        "monitor",
        "factor",
        "patience",
        "verbose",
        "mode",
        "min_delta",
        "cooldown",
        "min_lr",
    ),
    "callbacks.ModelCheckpoint": (
        "filepath",
        "monitor",
        "verbose",
        "save_best_only",
        "save_weights_only",
        "mode",
        "save_freq",
        "initial_value_threshold",
    ),
    "callbacks.TensorBoard": (
        "log_dir",
        "histogram_freq",
        "write_graph",
        "write_images",
        "write_steps_per_second",
        "update_freq",
        "profile_batch",
        "embeddings_freq",
        "embeddings_metadata",
    ),
    "callbacks.CSVLogger": ("filename", "separator", "append"),
    "callbacks.TerminateOnNaN": ("raise_error",),
}


def keras_order(qualified: str, names: Iterable[str]) -> list[str]:
    """`names` in the order `qualified`'s constructor declares them; any it does not (none, for
    a valid spec) after those, alphabetically."""
    rank = {name: index for index, name in enumerate(SIGNATURES.get(qualified, ()))}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))

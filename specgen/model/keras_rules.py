"""The rules Keras's own classes enforce across arguments, or against the model, that no
single argument's JSON Schema can say (the per-argument limits live in catalog/training.py).

Each rule is a row: the classes it binds, what it checks, and the line of Keras 3.15's source
(keras/src/...) it mirrors. tests/test_training_constraints.py constructs and uses every
catalog class with probe values and shows validation refuses exactly what Keras refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

Found = tuple[str, str] | None  # (the argument at fault, the message)


class Output(NamedTuple):
    """The model output a loss or metric sees: its rank (batch included) and last size."""

    rank: int = 2
    units: int | None = None


class Rule(NamedTuple):
    classes: frozenset[str] | None  # None: every class of its table
    check: Callable[[Mapping, Output], Found]
    source: str  # the Keras line it mirrors


def _float(*names: str) -> Callable[[Mapping, Output], Found]:
    """Arguments Keras takes only as a Python float: 1 fails, 1.0 runs."""

    def check(args: Mapping, out: Output) -> Found:
        for name in names:
            value = args.get(name)
            if value is None or isinstance(value, Mapping):  # absent, or a schedule
                continue
            items = value if isinstance(value, list | tuple) else [value]
            if not all(isinstance(v, float) for v in items):
                return name, (
                    f"Keras takes {name} only as numbers written with a decimal point"
                    f" (1.0, not 1); got {list(items) if len(items) > 1 else value!r}"
                )
        return None

    return check


def _one_of(*names: str) -> Callable[[Mapping, Output], Found]:
    def check(args: Mapping, out: Output) -> Found:
        given = [n for n in names if args.get(n) is not None]
        if len(given) > 1:
            return given[1], f"Keras takes one of {', '.join(names)}; got {', '.join(given)}"
        return None

    return check


def _piecewise(args: Mapping, out: Output) -> Found:
    boundaries, values = args.get("boundaries", ()), args.get("values", ())
    if len(boundaries) != len(values) - 1:
        return "values", (
            f"PiecewiseConstantDecay needs one value more than boundaries; got"
            f" {len(boundaries)} boundaries and {len(values)} values"
        )
    return None


def _axis(args: Mapping, out: Output) -> Found:
    axis, rank = args.get("axis"), out.rank
    if axis is not None and not -rank <= axis < rank:
        return "axis", f"axis {axis} is outside the output's {rank} axes (batch included)"
    return None


def _last_axis(args: Mapping, out: Output) -> Found:
    if args.get("axis", -1) not in (-1, out.rank - 1):
        return "axis", f"Keras takes only the last axis here (-1); got {args['axis']}"
    return None


def _class_index(args: Mapping, out: Output) -> Found:
    for name, what in (("class_id", "below"), ("top_k", "at most")):
        value, limit = args.get(name), out.units
        if value is None or limit is None:
            continue
        if value >= limit + (name == "top_k"):
            return name, f"{name} must be {what} the output's {limit} classes; got {value}"
    return None


OPTIMIZER_RULES = (
    Rule(None, _float("learning_rate"),
         "optimizers/base_optimizer.py:176 `if not isinstance(learning_rate, float)`"),
    Rule(None, _one_of("clipnorm", "clipvalue", "global_clipnorm"),
         "optimizers/base_optimizer.py:133 `if clip_args_sum > 1`"),
    Rule(frozenset({"SGD"}), _float("momentum"),
         "optimizers/sgd.py:74 `if not isinstance(momentum, float) or ...`"),
)  # fmt: skip
SCHEDULE_RULES = (
    Rule(frozenset({"PiecewiseConstantDecay"}), _piecewise,
         "optimizers/schedules/learning_rate_schedule.py:244 `len(boundaries) != len(values) - 1`"),
    Rule(frozenset({"PiecewiseConstantDecay"}), _float("values"),
         "learning_rate_schedule.py:267 `result_dtype = values[0].dtype`: an int value fails"
         " the first multiplication"),
    Rule(frozenset({"CosineDecayRestarts"}), _float("initial_learning_rate"),
         "learning_rate_schedule.py:850 `dtype = initial_learning_rate.dtype`: an int makes"
         " the cast of 1.0 in its `ops.cond` fail"),
)  # fmt: skip
LOSS_RULES = (
    Rule(frozenset({"SparseCategoricalCrossentropy"}), _last_axis,
         "backend/tensorflow/nn.py:1400 `Only axis=-1 is currently supported`"),
    Rule(None, _axis, "ops reduce over `axis`: an axis past the output's rank fails at the"
         " first batch"),
)  # fmt: skip
METRIC_RULES = (
    Rule(None, _axis, "metrics/regression_metrics.py cosine_similarity reduces over `axis`"),
    Rule(frozenset({"Precision", "Recall"}), _class_index,
         "metrics/metrics_utils.py:470 `_filter_top_k(y_pred, top_k)` and the `class_id`"
         " slice after it fail past the last class"),
)  # fmt: skip
RULES = {"optimizer": OPTIMIZER_RULES, "schedule": SCHEDULE_RULES, "loss": LOSS_RULES,
         "metric": METRIC_RULES}  # fmt: skip


NO_OUTPUT = Output()  # an optimizer or schedule sees no output


def broken(table: str, cls: str, args: Mapping, out: Output = NO_OUTPUT) -> list[Found]:
    """Every rule of `table` that `cls(**args)` breaks, as (argument, message)."""
    found = []
    for rule in RULES[table]:
        if rule.classes is None or cls in rule.classes:
            result = rule.check(args, out)
            if result is not None:
                found.append(result)
    return found

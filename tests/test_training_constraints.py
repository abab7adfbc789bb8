"""Validation knows Keras's own argument rules (issue 17, item 5), derived, not guessed.

For every class in the training catalog (optimizers, schedules, losses, metrics, callbacks)
and every argument a spec may pass it, probe values are derived from the argument's JSON
Schema (each bound, just inside and just outside; far out on an open side, where Keras may
hold a bound the schema lacks; an int where a float is wanted and a float where an int is; a
value outside an enum) plus the cross-argument cases of CROSS. Each probe constructs the real Keras
class and uses it once (an optimizer applies a gradient, a schedule is called, a loss and a
metric see a tiny batch, a callback runs an epoch); Keras "refuses" when that raises or gives
a non-finite number. specgen must refuse exactly those values with an error under
/training/..., at a line of the spec, and accept the rest, except where it is stricter than
Keras on purpose: STRICTER names, per argument, the values refused beyond Keras and why (a
refusal outside them fails, and so does an entry of a class that no probe needs).
TensorBoard's first use needs the tensorboard package; without it, it is only constructed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import specgen
from specgen.catalog import training as cat

keras = pytest.importorskip("keras")
try:
    import tensorboard  # noqa: F401 - only asks whether TensorBoard can write
except ImportError:
    TENSORBOARD = False
else:
    TENSORBOARD = True

# Values for the arguments a class needs, and the baseline every probe changes one part of.
SCHEDULE_BASE = {
    "initial_learning_rate": 0.1,
    "decay_steps": 10,
    "first_decay_steps": 10,
    "decay_rate": 0.5,
    "boundaries": [10],
    "values": [0.1, 0.01],
}
UNITS = 3


def _allows(schema: dict, v) -> bool:
    return schema.get("minimum", -math.inf) <= v <= schema.get("maximum", math.inf) and schema.get(
        "exclusiveMinimum", -math.inf
    ) < v < schema.get("exclusiveMaximum", math.inf)


def _number_probes(schema: dict) -> list:
    """Each bound of a number: on it, just inside and just outside; far out on an open side
    (where Keras may hold a bound the schema lacks); a float where an integer is wanted, and
    an int where a float is (Keras refuses some: `isinstance(x, float)`)."""
    integer = schema["type"] == "integer"
    step = 1 if integer else 1e-3
    values = [] if set(schema) - {"type"} else ([-1, 0, 1] if integer else [-0.5, 0.0, 0.5])
    for key, inside in (("minimum", 1), ("exclusiveMinimum", 1),
                        ("maximum", -1), ("exclusiveMaximum", -1)):  # fmt: skip
        if key in schema:
            bound = schema[key]
            values += [bound - inside * step, bound, bound + inside * step]
    if not {"maximum", "exclusiveMaximum"} & set(schema):
        values += [2, 1000] if integer else [1.5, 1000.0]
    if not {"minimum", "exclusiveMinimum"} & set(schema):
        values += [-3] if integer else [-1.5]
    if integer:
        values.append(values[-1] + 0.5)
    else:
        values = [float(v) for v in values]
        values += [int(v) for v in values if v.is_integer()]
        values += [v for v in (0, 1) if _allows(schema, v)]
    unique = []
    for v in values:
        if not any(v == u and type(v) is type(u) for u in unique):
            unique.append(v)
    return unique


def probes(schema: dict) -> list:
    """Probe values derived from one argument's schema."""
    if "enum" in schema:
        extra = ["bogus"] if all(isinstance(v, str) for v in schema["enum"]) else [2]
        return [*schema["enum"], *extra]
    if "anyOf" in schema:  # learning_rate: a number or a schedule (probed on its own)
        return probes(schema["anyOf"][0])
    kind = schema.get("type")
    if kind == "boolean":
        return [True, False]
    if kind in ("number", "integer"):
        return _number_probes(schema)
    if kind == "string":
        return ["probe_name"]  # names: checked by the name pattern, not a Keras rule
    if kind == "array":  # PiecewiseConstantDecay's lists: see CROSS
        return []
    raise AssertionError(f"no probes for schema {schema}")


CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")
# Cross-argument cases Keras checks (or breaks on) that no single argument's schema can say.
CROSS = {
    "optimizer": [
        *({a: 1.0, b: 1.0} for i, a in enumerate(CLIPS) for b in CLIPS[i + 1 :]),
        {"use_ema": False, "ema_momentum": 1.5},
        {"use_ema": True, "ema_momentum": 1.5},
        {"use_ema": True, "ema_momentum": 0.5},
    ],
    "PiecewiseConstantDecay": [
        {"boundaries": [10, 20], "values": [0.1, 0.01]},
        {"boundaries": [10], "values": [0.1, 0.01, 0.001]},
        {"boundaries": [], "values": [0.1]},
        {"boundaries": [20, 10], "values": [0.1, 0.01, 0.001]},
        {"boundaries": [10, 20], "values": [0.1, 0.01, 0.001]},
        {"boundaries": [10], "values": [1, 0.01]},
    ],
    "Precision": [{"class_id": UNITS - 1}, {"class_id": UNITS}, {"top_k": UNITS + 1}],
    "Recall": [{"class_id": UNITS - 1}, {"class_id": UNITS}, {"top_k": UNITS + 1}],
}

# Where specgen refuses what Keras takes, on purpose: {(class, argument): (the values refused
# beyond Keras, reason)}. The class "optimizer" stands for every optimizer (their shared
# arguments), "*" for every class; the argument "integer" for a float given where the schema
# wants an integer. A refusal outside its region is a failure: the table excuses no more.
LE0 = ("<= 0", lambda v: v <= 0)
LT0 = ("< 0", lambda v: v < 0)
GT0 = ("> 0", lambda v: v > 0)
LT1 = ("< 1", lambda v: v < 1)
OUT_CLOSED = ("outside [0, 1]", lambda v: not 0 <= v <= 1)
OUT_OPEN = ("outside (0, 1)", lambda v: not 0 < v < 1)
FLOAT = ("a float", lambda v: isinstance(v, float))
OTHER = ("outside the enum", lambda v: True)  # the schema refuses no member of it
STRICTER = {
    ("*", "integer"): (FLOAT, "a count of steps, epochs or classes is a whole number"),
    ("optimizer", "learning_rate"): (LE0, "a rate <= 0 trains nothing or climbs the loss"),
    ("optimizer", "weight_decay"): (LT0, "a negative decay grows the weights"),
    ("optimizer", "clipnorm"): (LE0, "a clip <= 0 zeroes or flips every gradient"),
    ("optimizer", "clipvalue"): (LE0, "a clip <= 0 zeroes or flips every gradient"),
    ("optimizer", "global_clipnorm"): (LE0, "a clip <= 0 zeroes or flips every gradient"),
    ("optimizer", "loss_scale_factor"): (LE0, "a factor <= 0 zeroes or flips every gradient"),
    ("optimizer", "ema_momentum"): (OUT_CLOSED, "also while use_ema is false, where Keras"
                                    " does not look (base_optimizer.py:111 `if use_ema:`)"),
    ("*", "beta_1"): (OUT_OPEN, "a moment's decay outside (0, 1) diverges or never moves"
                      " (Lion at 1.0 keeps its zero start: sign(0) = 0, no step)"),
    ("*", "beta_2"): (OUT_OPEN, "a moment's decay outside (0, 1) diverges or never moves"),
    ("*", "rho"): (OUT_OPEN, "a moving average's decay outside (0, 1) diverges or never moves"),
    ("*", "epsilon"): (LE0, "an epsilon <= 0 can divide by zero"),
    ("Adafactor", "epsilon_1"): (LE0, "an epsilon <= 0 can divide by zero"),
    ("Adafactor", "epsilon_2"): (LE0, "an epsilon <= 0 can divide by zero"),
    ("Adafactor", "beta_2_decay"): (GT0, "a decay > 0 makes 1 - step**decay negative: NaN"
                                    " once it outweighs epsilon (1000.0 at the 2nd step)"),
    ("Adafactor", "clip_threshold"): (LE0, "a threshold <= 0 zeroes every update"),
    ("Adagrad", "initial_accumulator_value"): (LT0, "a square root of a negative sum"),
    ("RMSprop", "momentum"): (LT0, "a negative momentum reverses past steps"),
    ("Ftrl", "beta"): (LT0, "a negative beta can divide by zero"),
    ("*", "initial_learning_rate"): (LE0, "a schedule starting at a rate <= 0 trains nothing"),
    ("*", "decay_rate"): (LE0, "a decay rate <= 0 zeroes, grows or flips the rate"),
    ("*", "end_learning_rate"): (LT0, "a negative end rate climbs the loss"),
    ("*", "warmup_target"): (LE0, "a warm-up towards a rate <= 0 trains nothing"),
    ("*", "warmup_steps"): (LT0, "a negative warm-up"),
    ("*", "t_mul"): (LT1, "t_mul < 1: the periods' sum converges, and past it the rate is NaN"),
    ("*", "m_mul"): (LE0, "restart rates <= 0 train nothing"),
    ("*", "alpha"): (OUT_CLOSED, "a fraction (of the rate, or a focal weight) outside [0, 1]"),
    ("*", "power"): (LT0, "a negative power grows the rate"),
    ("*", "label_smoothing"): (OUT_CLOSED, "labels below 0 or above 1"),
    ("*", "gamma"): (LT0, "a negative focusing power weighs easy examples up"),
    ("Huber", "delta"): (LE0, "a delta <= 0 makes the loss linear everywhere, or negative"),
    ("*", "threshold"): (OUT_CLOSED, "a probability threshold outside [0, 1] decides nothing"),
    ("*", "k"): (LT1, "top-0 accuracy is 0 whatever the model"),
    ("*", "top_k"): (LT1, "top-0 precision or recall counts nothing"),
    ("*", "class_id"): (LT0, "a negative class id slices from the end: another class"),
    ("*", "mode"): (OTHER, "Keras warns about an unknown mode and falls back to auto"),
    ("*", "verbose"): (OTHER, "0 or 1; Keras prints the same for any other true value"),
    ("*", "update_freq"): (OTHER, "epoch only: the script's TensorBoard logs per epoch"),
    ("*", "min_delta"): (LT0, "Keras takes the absolute value of a negative min_delta"),
    ("*", "patience"): (LT0, "negative patience acts at the first epoch"),
    ("*", "start_from_epoch"): (LT0, "a negative epoch means the first one"),
    ("*", "cooldown"): (LT0, "a negative cooldown is no cooldown"),
    ("ReduceLROnPlateau", "factor"): (LE0, "a factor <= 0 sets the rate to 0 or below"),
    ("ReduceLROnPlateau", "min_lr"): (LT0, "a negative floor for the rate"),
    ("TensorBoard", "histogram_freq"): (LT0, "a negative frequency means never"),
}  # fmt: skip


def stricter_key(table: str, cls: str, args: dict, error) -> tuple[str, str] | None:
    """The STRICTER entry that says why specgen refuses the value `error` points at though
    Keras takes it, or None when no entry covers that value."""
    arg = error.pointer.rsplit("/", 1)[1]
    value = args.get(arg)
    schema = TABLES[table][cls].get(arg, {})
    if schema.get("type") == "integer" and isinstance(value, float):
        arg = "integer"
    common = table == "optimizers" and arg in ("learning_rate", *cat.OPTIMIZER_COMMON)
    for owner in (cls, "optimizer" if common else cls, "*"):
        if (owner, arg) in STRICTER:
            (_, refused), _reason = STRICTER[(owner, arg)]
            return (owner, arg) if refused(value) else None
    return None


def _finite(*values) -> bool:
    return all(np.all(np.isfinite(keras.ops.convert_to_numpy(v))) for v in values)


class Probe:
    """Keras's answer to one set of arguments: None when it takes them, else the reason."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self._model = None

    def run(self, table: str, cls: str, args: dict) -> str | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok = getattr(self, table)(cls, dict(args))
        except Exception as error:  # noqa: BLE001 - any refusal by Keras is the answer
            return f"{type(error).__name__}: {str(error)[:120]}"
        return None if ok else "a non-finite result"

    def optimizers(self, cls, args):
        lr = args.pop("learning_rate", 0.01)
        if isinstance(lr, dict):
            lr = self._schedule(lr)
        optimizer = getattr(keras.optimizers, cls)(learning_rate=lr, **args)
        variable = keras.Variable(np.array([1.0, -2.0], "float32"))
        for _ in range(2):
            optimizer.apply_gradients([(keras.ops.array([0.5, -0.25]), variable)])
        return _finite(variable)

    def _schedule(self, value):
        args = {k: v for k, v in value.items() if k != "type"}
        return getattr(keras.optimizers.schedules, value["type"])(**args)

    def schedules(self, cls, args):
        schedule = self._schedule({"type": cls, **args})
        return _finite(*(schedule(step) for step in (0, 5, 15, 100)))

    def losses(self, cls, args):
        labels = cat.LOSSES[cls][0]
        loss = getattr(keras.losses, cls)(**args)
        logits = np.array([[0.2, -1.0, 0.5], [1.5, 0.1, -0.3]], "float32")
        if labels == cat.BINARY:
            y_true, y_pred = np.array([[1.0], [0.0]], "float32"), logits[:, :1]
        elif labels == cat.CLASS_IDS:
            y_true, y_pred = np.array([2, 0]), logits
        else:
            y_true, y_pred = np.eye(UNITS, dtype="float32")[[2, 0]], logits
        if not args.get("from_logits"):
            y_pred = (
                keras.ops.sigmoid(y_pred) if labels == cat.BINARY else keras.ops.softmax(y_pred)
            )
        return _finite(loss(y_true, y_pred))

    def metrics(self, cls, args):
        metric = getattr(keras.metrics, cls)(**args)
        y_pred = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], "float32")
        sparse = cls.startswith("Sparse")
        y_true = np.array([2, 0]) if sparse else np.eye(UNITS, dtype="float32")[[2, 0]]
        metric.update_state(y_true, y_pred)
        return _finite(metric.result())

    def _keras_model(self):
        if self._model is None:
            inputs = keras.Input((2,))
            model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
            self._model = model
        return self._model

    def callbacks(self, cls, args):
        files = dict(cat.CALLBACKS[cls][1])
        if cls == "ModelCheckpoint" and args.get("save_weights_only"):
            files["filepath"] = cat.WEIGHTS_ONLY_FILE
        first = [str(self.tmp / f) for f in files.values()]
        callback = getattr(keras.callbacks, cls)(*first, **args)
        if cls == "TensorBoard" and not TENSORBOARD:
            return True  # its first use needs the tensorboard package, not a spec's rule
        callback.set_model(self._keras_model())
        callback.on_train_begin()
        for epoch, loss in enumerate((1.0, 0.5)):
            callback.on_epoch_begin(epoch)
            callback.on_epoch_end(epoch, {"loss": loss, "val_loss": loss})
        callback.on_train_end()
        return True


# The spec each probe validates: a 3-class classifier, or a 1-unit one for binary labels.
def _spec(output_activation: str | None, units: int, training: dict) -> dict:
    dense = {"name": "out", "type": "Dense", "units": units}
    if output_activation:
        dense["activation"] = output_activation
    return {
        "name": "probe",
        "inputs": [{"name": "x", "shape": [4]}],
        "layers": [dense],
        "training": {"dataset": "synthetic", "epochs": 1, **training},
    }


def spec_for(table: str, cls: str, args: dict) -> tuple[dict, str]:
    """(the spec carrying the probed object, the pointer its errors must lie under)."""
    if table == "optimizers":
        training = {"optimizer": {"type": cls, **args}, "loss": "mse"}
        return _spec(None, UNITS, training), "/training/optimizer"
    if table == "schedules":
        schedule = {"type": cls, **args}
        training = {"optimizer": {"type": "SGD", "learning_rate": schedule}, "loss": "mse"}
        return _spec(None, UNITS, training), "/training/optimizer/learning_rate"
    if table == "losses":
        labels = cat.LOSSES[cls][0]
        units = 1 if labels == cat.BINARY else UNITS
        activation = "sigmoid" if labels == cat.BINARY else "softmax"
        if args.get("from_logits") or labels == cat.REAL:
            activation = None
        training = {"optimizer": {"type": "SGD"}, "loss": {"type": cls, **args}}
        return _spec(activation, units, training), "/training/loss"
    if table == "metrics":
        loss = "sparse_categorical_crossentropy" if cls.startswith("Sparse") else "mse"
        training = {"optimizer": {"type": "SGD"}, "loss": loss,
                    "metrics": [{"type": cls, **args}]}  # fmt: skip
        return _spec("softmax", UNITS, training), "/training/metrics/0"
    training = {"optimizer": {"type": "SGD"}, "loss": "mse", "callbacks": [{"type": cls, **args}]}
    return _spec(None, UNITS, training), "/training/callbacks/0"


TABLES = {
    "optimizers": {
        k: {"learning_rate": {"anyOf": [cat.POSITIVE]}, **cat.OPTIMIZER_COMMON, **v}
        for k, v in cat.OPTIMIZERS.items()
    },  # fmt: skip
    "schedules": {k: v[0] for k, v in cat.SCHEDULES.items()},
    "losses": {k: v[1] for k, v in cat.LOSSES.items()},
    "metrics": dict(cat.METRICS),
    "callbacks": {k: v[0] for k, v in cat.CALLBACKS.items()},
}
BASE = {"schedules": SCHEDULE_BASE}


def cases(table: str, cls: str) -> list[dict]:
    """Every probe of one class: one argument changed at a time, then the CROSS cases."""
    schemas = TABLES[table][cls]
    required = {}
    if table == "schedules":
        required = {k: SCHEDULE_BASE[k] for k in cat.SCHEDULES[cls][1]}
    found = [required]
    for arg, schema in schemas.items():
        found += [{**required, arg: value} for value in probes(schema)]
    cross = CROSS.get("optimizer" if table == "optimizers" else cls, [])
    found += [{**required, **extra} for extra in cross]
    return found


ALL_CLASSES = [(table, cls) for table, classes in TABLES.items() for cls in classes]


def test_every_catalog_class_is_probed():
    """A class added to the catalog is probed here without a line of this file changing."""
    assert {cls for t, cls in ALL_CLASSES if t == "optimizers"} == set(cat.OPTIMIZERS)
    assert {cls for t, cls in ALL_CLASSES if t == "schedules"} == set(cat.SCHEDULES)
    assert {cls for t, cls in ALL_CLASSES if t == "losses"} == set(cat.LOSSES)
    assert {cls for t, cls in ALL_CLASSES if t == "metrics"} == set(cat.METRICS)
    assert {cls for t, cls in ALL_CLASSES if t == "callbacks"} == set(cat.CALLBACKS)
    assert all(len(cases(t, c)) > 1 or not TABLES[t][c] for t, c in ALL_CLASSES)


@pytest.mark.parametrize(("table", "cls"), ALL_CLASSES)
def test_validation_agrees_with_keras(table, cls, tmp_path):
    probe = Probe(tmp_path)
    wrong, used = [], set()
    for args in cases(table, cls):
        keras_says = probe.run(table, cls, args)
        spec, under = spec_for(table, cls, args)
        errors = specgen.validate(spec)
        if keras_says is not None:
            located = errors and all(
                e.pointer.startswith(under) and e.line > 0 and e.column > 0 for e in errors
            )
            if not located:
                wrong.append(f"{args}: Keras refuses ({keras_says}); validation gives {errors}")
            continue
        keys = {e: stricter_key(table, cls, args, e) for e in errors}
        used |= set(keys.values())
        if unexplained := [e for e, key in keys.items() if key is None]:
            wrong.append(f"{args}: Keras takes it; validation refuses {unexplained}")
    stale = {key for key in STRICTER if key[0] == cls} - used
    assert not stale, f"STRICTER entries no probe needs: {stale}"
    assert not wrong, "\n".join(wrong)

"""`specgen import`: a saved model's `compile_config` -> the spec's `training` section.

What the spec can say is kept; what it cannot (a loss's from_logits, a custom optimizer, ...)
is named in a note, never dropped silently.
"""

from __future__ import annotations

import inspect

from ..catalog import training as training_catalog
from ..model.ir import snake_case

# Optimizer settings the spec's schema has a place for.
OPTIMIZER_KEYS = (
    "learning_rate momentum weight_decay rho clipnorm clipvalue beta_1 beta_2 epsilon"
    " nesterov amsgrad"
).split()
# Keras's loss aliases as the spec spells them.
LOSS_NAMES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}


def _round(value):
    # Keras stores float32 hyperparameters: 0.003 comes back as 0.003000000026077032.
    return float(f"{value:.7g}") if isinstance(value, float) else value


def _optimizer(saved, notes: list[str]) -> dict | None:
    import keras

    if isinstance(saved, str):
        saved = {"class_name": saved, "config": {}}
    cls = saved.get("class_name", "")
    match = next(
        (name for name in training_catalog.OPTIMIZERS if name.lower() == cls.lower()), None
    )
    if match is None:
        notes.append(f"optimizer {cls!r} is not one the spec can name; training not imported")
        return None
    defaults = {
        k: p.default
        for k, p in inspect.signature(getattr(keras.optimizers, match).__init__).parameters.items()
    }
    out: dict = {"type": match}
    for key, value in (saved.get("config") or {}).items():
        value = _round(value)
        if key in OPTIMIZER_KEYS and value is not None and value != defaults.get(key):
            out[key] = value
        elif key not in OPTIMIZER_KEYS and key != "name" and value not in (None, False):
            if value != defaults.get(key):
                notes.append(f"optimizer setting {key}={value!r} has no place in the spec")
    return out


def _loss(saved, notes: list[str]) -> str | dict | None:
    """A loss name, or `{"type": Class, args}` when its settings differ from the defaults."""
    if isinstance(saved, dict) and "class_name" in saved:
        cls = saved["class_name"]
        config = saved.get("config") or {}
        if cls in training_catalog.LOSSES:
            import keras

            allowed = training_catalog.LOSSES[cls][1]
            defaults = inspect.signature(getattr(keras.losses, cls).__init__).parameters
            args = {}
            for key, value in sorted(config.items()):
                value = _round(value)
                default = defaults[key].default if key in defaults else None
                if key == "name" or value == default:
                    continue
                if key in allowed:
                    args[key] = value
                else:
                    notes.append(f"loss setting {key}={value!r} has no place in the spec")
            if args:
                return {"type": cls, **args}
        else:
            for key, value in config.items():
                if key not in ("name", "reduction") and value not in (None, False):
                    notes.append(f"loss setting {key}={value!r} has no place in the spec")
        saved = snake_case(cls)
    if isinstance(saved, str):
        name = LOSS_NAMES.get(saved, saved)
        if name in training_catalog.LOSS_NAMES:
            return name
    notes.append(f"loss {saved!r} is not one the spec can name; training not imported")
    return None


def _losses(saved, outputs: list[str], notes: list[str]):
    """One loss, or one per output (`{"zb": "mse", "ab": ...}`) from a list in output order
    or a dict keyed by output name."""
    if isinstance(saved, list) and len(saved) == len(outputs) > 1:
        saved = dict(zip(outputs, saved, strict=True))
    if isinstance(saved, dict) and "class_name" not in saved:
        if sorted(saved) != sorted(outputs):
            notes.append(f"losses for {sorted(saved)} do not match the outputs {outputs}")
            return None
        found = {name: _loss(saved[name], notes) for name in outputs}
        return None if None in found.values() else found
    return _loss(saved, notes)


def training(
    compile_config: dict | None, notes: list[str], outputs: list[str] | None = None
) -> dict | None:
    if not compile_config:
        return None
    optimizer = _optimizer(compile_config.get("optimizer") or "rmsprop", notes)
    loss = _losses(compile_config.get("loss"), outputs or [], notes)
    if optimizer is None or loss is None:
        return None
    out: dict = {"optimizer": optimizer, "loss": loss}
    known = {"accuracy", *training_catalog.METRIC_NAMES}
    saved = compile_config.get("metrics") or []
    if not isinstance(saved, list):  # per output: the spec's metrics apply to every output
        notes.append(f"per-output metrics {saved!r} are not imported")
        saved = []
    metrics = [m for m in saved if isinstance(m, str) and m in known]
    dropped = [m for m in saved if not (isinstance(m, str) and m in known)]
    if dropped:
        notes.append(f"metrics {dropped!r} are not ones the spec can name")
    if metrics:
        out["metrics"] = metrics
    return out

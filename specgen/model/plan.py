"""The training block parsed once into typed, frozen objects (issue 22): the three forms a
loss or metric setting takes ("name", {"type": ...}, a dict keyed by output) are told apart
here and nowhere else. Spec values reach code only through `literal()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..catalog import training as cat
from .ir import Model, literal
from .signatures import keras_order


def _object(value) -> tuple[str, dict]:
    """(class, arguments) of `"name"` or `{"type": Class, ...}`."""
    if isinstance(value, str):
        return value, {}
    return value["type"], {k: v for k, v in value.items() if k != "type"}


def _call(module: str, cls: str, args: Mapping, first: str = "") -> str:
    parts = [first] if first else []
    parts += [f"{k}={_value(args[k])}" for k in keras_order(f"{module}.{cls}", args)]
    return f"keras.{module}.{cls}({', '.join(parts)})"


def _value(value) -> str:
    """An argument: a literal, or a learning-rate schedule object."""
    if isinstance(value, Mapping) and "type" in value:
        cls, args = _object(value)
        return _call("optimizers.schedules", cls, args)
    return literal(value)


def is_per_output(value) -> bool:
    """The one test of the three forms a loss or metric setting takes: `"name"` and
    `{"type": ...}` apply to every output; any other object is keyed by output name."""
    return isinstance(value, Mapping) and "type" not in value


@dataclass(frozen=True)
class KerasObject:
    """A Keras class the spec names, as `"name"` (an alias: `"mse"`) or `{"type": ...}`."""

    cls: str
    args: Mapping

    @classmethod
    def parse(cls, value, aliases: Mapping = MappingProxyType({})) -> KerasObject:
        name, args = _object(value)
        return cls(aliases.get(name, name), MappingProxyType(args))

    def code(self, module: str, first: str = "") -> str:
        return _call(module, self.cls, self.args, first)


@dataclass(frozen=True)
class PerOutput:
    """A setting resolved for every output once: `value[name]` (None where the spec gives
    none), and whether the spec keyed it by output (its JSON pointer then names one)."""

    field: str
    value: Mapping
    keyed: bool

    @classmethod
    def parse(cls, field: str, raw, outputs, convert=lambda v: v) -> PerOutput:
        keyed = is_per_output(raw)
        value = {
            name: (raw.get(name) if keyed else raw) if raw is not None else None for name in outputs
        }
        converted = {k: None if v is None else convert(v) for k, v in value.items()}
        return cls(field, MappingProxyType(converted), keyed)

    def pointer(self, name: str) -> str:
        return f"/{self.field}/{name}" if self.keyed else f"/{self.field}"


@dataclass(frozen=True)
class Plan:
    """The training block parsed once into typed, frozen parts; nothing below re-reads
    the raw dict to guess which form a loss took."""

    losses: PerOutput  # output -> KerasObject (loss class) or None
    metrics: PerOutput  # output -> tuple of raw metric settings
    optimizer: KerasObject
    callbacks: tuple[KerasObject, ...]


def plan(model: Model) -> Plan:
    spec = model.training
    return Plan(
        losses=PerOutput.parse(
            "loss",
            spec["loss"],
            model.outputs,
            lambda v: KerasObject.parse(v, cat.LOSS_NAMES),
        ),
        metrics=PerOutput.parse("metrics", spec.get("metrics", ()), model.outputs, tuple),
        optimizer=KerasObject.parse(spec["optimizer"]),
        callbacks=tuple(KerasObject.parse(c) for c in spec.get("callbacks", ())),
    )

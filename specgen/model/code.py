"""How spec values become code: literals, constructor calls, names and references.

Spec text reaches generated code only through `literal()`; names are validated identifiers;
class names come from the catalog's closed allowlists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .. import catalog
from ..catalog import applications, rnn


def literal(value: object) -> str:
    """A Python literal for a JSON value: the only way spec data becomes code."""
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, Mapping):
        # Sorted: the spec's key order must not change the output.
        pairs = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in sorted(value.items()))
        return "{" + pairs + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def tensor(ref: str) -> str:
    """The code for a reference: `x`, or `encoder[1]` for `encoder:1` (the 2nd output of a
    layer with several). Both parts passed the schema's pattern: an identifier and digits."""
    name, _, index = ref.partition(":")
    return f"{name}[{int(index)}]" if index else name


def base_name(ref: str) -> str:
    """The layer or input a reference names: `encoder` for `encoder:1`."""
    return ref.partition(":")[0]


@dataclass(frozen=True)
class ParamRef:
    """`{"param": "width"}` inside a block: the block's parameter, a validated identifier."""

    name: str


def argument(arg: catalog.Arg, value: object) -> str:
    """A constructor argument: a literal, or for object forms a call of an allowlisted class."""
    if isinstance(value, ParamRef):
        return value.name
    if arg.kind == "cell":  # RNN's cell, or a list of cells Keras stacks
        if isinstance(value, list | tuple):
            return "[" + ", ".join(argument(arg, cell) for cell in value) + "]"
        cell = rnn.CELLS[value["type"]]
        return constructor(cell, value["type"], {k: v for k, v in value.items() if k != "type"})
    if arg.kind == "layers":  # Pipeline's layers, each a constructor call
        return "[" + ", ".join(argument(replace(arg, kind="layer"), v) for v in value) + "]"
    if arg.kind == "layer":
        inner = catalog.BY_SPELLING[value["type"]]
        return constructor(inner, value["type"], {k: v for k, v in value.items() if k != "type"})
    if arg.kind in catalog.OBJECT_MODULES and isinstance(value, Mapping):
        # value["type"] passed the schema's closed enum of class names; arguments are literals.
        kwargs = ", ".join(f"{k}={literal(v)}" for k, v in sorted(value.items()) if k != "type")
        return f"keras.{catalog.OBJECT_MODULES[arg.kind]}.{value['type']}({kwargs})"
    return literal(value)


def constructor(
    kind: catalog.LayerKind,
    spelling: str,
    given: dict,
    name: str | None = None,
) -> str:
    if kind.name == "CustomLayer":
        return _custom_constructor(given, name)
    if kind.name == "Application":
        return _application(given, name)
    name = given.get("keras_name", name)  # a renamed import keeps its Keras name
    parts = [argument(a, given[a.name]) for a in kind.args if a.positional and a.name in given]
    parts += [
        f"{a.name}={argument(a, given[a.name])}"
        for a in kind.args
        if not a.positional and a.name in given and a.name != "keras_name"
    ]
    if name is not None:
        parts.append(f"name={literal(name)}")
    return f"{kind.module}.{spelling}({', '.join(parts)})"


def _application(given: dict, name: str | None) -> str:
    """`keras.applications.MobileNetV2(...)`: the class passed the schema's closed enum;
    arguments are literals; freezing goes through the module's `set_trainable`."""
    args = applications.constructor_args(given)
    name = given.get("keras_name", name)
    parts = [f"{key}={literal(value)}" for key, value in sorted(args.items())]
    if name is not None:
        parts.append(f"name={literal(name)}")
    code = f"keras.applications.{given['model']}({', '.join(parts)})"
    if "trainable" in given or "unfreeze" in given:
        unfreeze = literal(list(given.get("unfreeze", ())))
        code = f"set_trainable({code}, {literal(given.get('trainable', True))}, {unfreeze})"
    return code


_PLAIN = catalog.Arg("config", {})  # a config value: a literal, or a block parameter


def _custom_constructor(given: dict, name: str | None) -> str:
    """`mypkg.layers.Scale(factor=2.0, name=...)`: the path passed the schema's dotted-name
    pattern and the allowlist (resolve.custom_problem); config keys are checked identifiers."""
    config = given.get("config") or {}
    if isinstance(config, ParamRef):  # a block parameter holding the whole config
        parts = [f"**{config.name}"]
    else:
        parts = [f"{key}={argument(_PLAIN, value)}" for key, value in sorted(config.items())]
    parts += [f"{key}={literal(given[key])}" for key in ("trainable", "dtype") if key in given]
    name = given.get("keras_name", name)
    if name is not None:
        parts.append(f"name={literal(name)}")
    return f"{given['class']}({', '.join(parts)})"


# Public attributes Keras sets on a model while it trains, evaluates or predicts (Keras 3.15),
# besides those spec/reserved.py forbids as names: a layer stored there would be replaced.
RUNTIME_ATTRIBUTES = frozenset({"history", "stop_evaluating", "stop_predicting"})


def private_attribute(name: str) -> str:
    """The subclassed model's attribute for layer `name`: plain `name` where Keras saves the
    layer where a Functional model saves it, else a private `__name`.

    Keras saves a subclassed model's layers by walking its attributes in name order, private
    ones last (keras/src/saving/saving_lib.py, `_walk_saveable`), and saves each layer once,
    at the first path it reaches it by. `layers/<name>` is the Functional model's path, so a
    layer's own attribute must sort after `layers` or be private. Python mangles `__name` to
    `_<Class>__name`, which no Keras attribute can be; a name ending in `__` would not be
    mangled, so it gets a suffix."""
    if name > "layers" and not name.startswith("_") and name not in RUNTIME_ATTRIBUTES:
        return name
    return f"__{name}" + ("layer" if name.endswith("__") else "")


def snake_case(name: str) -> str:
    """Keras's own rule (keras.src.utils.naming.to_snake_case) for default layer names."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def shared_variable(layer: str) -> str:
    """The functional style's local for a layer that is called more than once (resolve.py
    checks that no input or layer has this name)."""
    return f"{layer}_layer"

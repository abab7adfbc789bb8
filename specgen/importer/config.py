"""One saved Keras layer's config -> a spec entry's parts: its arguments (differences from
Keras's defaults only), the layers it is called on, or an allowlisted op's operands."""

from __future__ import annotations

import inspect

from .. import catalog
from ..model.ir import snake_case

# Config keys every layer has that are not constructor arguments a spec would carry.
IGNORED = {
    "name",
    "autocast",
    "batch_input_shape",
    "input_shape",
    "build_config",
    "input_dim_",
}
# Values Keras resolves when it saves a layer; specgen's generated code implies them.
IMPLIED = {"data_format": "channels_last"}
OBJECT_NAMES = {
    "initializer": catalog.INITIALIZERS,
    "regularizer": catalog.REGULARIZERS,
    "constraint": catalog.CONSTRAINTS,
}


def _object(value: dict, kind: str):
    """A serialized initializer/regularizer/constraint -> a name or {"type": Class, args}."""
    cls, config = (
        value.get("class_name"),
        {k: v for k, v in (value.get("config") or {}).items() if v is not None},
    )
    name = snake_case(cls)
    if not config and name in OBJECT_NAMES[kind]:
        return name
    return {"type": cls, **config}


def _convert(arg: catalog.Arg, value):
    if arg.kind in OBJECT_NAMES and isinstance(value, dict):
        return _object(value, arg.kind)
    if arg.kind == "layer":
        inner = value["config"]
        kind = catalog.BY_SPELLING[value["class_name"]]
        return {"type": value["class_name"], **arguments(kind, inner, [])}
    return value


def _defaults(kind: catalog.LayerKind) -> dict:
    import keras

    signature = inspect.signature(getattr(keras.layers, kind.name).__init__)
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def policy(value) -> str | None:
    """A saved dtype (a DTypePolicy dict or a name) -> its name."""
    if isinstance(value, dict):
        return (value.get("config") or {}).get("name")
    return value


def _same(a, b) -> bool:
    norm = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
    return norm(a) == norm(b)


def arguments(kind: catalog.LayerKind, config: dict, problems: list[str], where: str = "") -> dict:
    defaults = _defaults(kind)
    args = {}
    for key, value in config.items():
        if key in IGNORED or (key in IMPLIED and value == IMPLIED[key]):
            continue
        if key == "trainable":
            if value is False:
                args[key] = False
            continue
        if key == "dtype":
            if policy(value) not in (None, "float32"):
                args[key] = policy(value)
            continue
        if key == "activation" and value == "linear" and key in defaults and defaults[key] is None:
            continue  # Keras saves the default activation None as "linear"
        arg = next((a for a in kind.args if a.name == key), None)
        converted = _convert(arg, value) if arg else value
        default = defaults.get(key, inspect.Parameter.empty)
        if arg and arg.kind in OBJECT_NAMES and isinstance(default, str):
            default = snake_case(default) if default[:1].isupper() else default
        if default is not inspect.Parameter.empty and _same(converted, default):
            continue
        if arg is None:
            if key not in defaults and value in (None, False, {}, []):
                continue
            problems.append(
                f"{where}{kind.name} argument {key}={value!r} is not supported by specgen"
            )
            continue
        args[key] = converted
    return args


def _ref(tensor, decode) -> str:
    name, node, index = tensor["config"]["keras_history"][:3]
    return decode(name, node, index)


def _plain(name: str, node: int, index: int) -> str:
    return name


def _is_tensor(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def inbound(layer: dict, decode=_plain, node_index: int = 0) -> list[str]:
    """The references one call of a layer takes: its tensor arguments, then the tensors of
    its keyword arguments (an RNN's `initial_state` list among them), in saved order.
    `decode(layer, node, index)` names the tensor a saved `keras_history` points at."""
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) <= node_index:
        return []
    args = nodes[node_index]["args"]
    first = args[0]
    refs = [_ref(t, decode) for t in first] if isinstance(first, list) else [_ref(first, decode)]
    refs += [_ref(t, decode) for t in args[1:] if _is_tensor(t)]
    for value in nodes[node_index].get("kwargs", {}).values():
        if _is_tensor(value):
            refs.append(_ref(value, decode))
        elif isinstance(value, list) and value and all(_is_tensor(t) for t in value):
            refs += [_ref(t, decode) for t in value]
    return refs


def op(layer: dict, name: str, problems: list[str], decode=_plain) -> dict | None:
    """An operation node (`x + 3.0` in a Functional graph) -> an `ops.<name>` spec entry."""
    spelling = "ops." + snake_case(layer["class_name"])
    kind = catalog.BY_SPELLING.get(spelling)
    if kind is None or not kind.op:
        problems.append(
            f"layer {name!r}: operation {layer['class_name']} ({layer.get('module')}) is not in"
            " specgen's allowlist of Keras ops"
        )
        return None
    node = (layer.get("inbound_nodes") or [{}])[0]
    entry: dict = {"name": name, "type": spelling, "inputs": []}
    for position, operand in enumerate(node.get("args", [])):
        if isinstance(operand, dict) and operand.get("class_name") == "__keras_tensor__":
            entry["inputs"].append(_ref(operand, decode))
        elif isinstance(operand, int | float) and not isinstance(operand, bool):
            entry[f"x{position + 1}"] = float(operand)
        else:
            problems.append(f"layer {name!r}: operand {operand!r} of {spelling} is not supported")
    if node.get("kwargs"):
        problems.append(f"layer {name!r}: keyword arguments {sorted(node['kwargs'])} of {spelling}")
    return entry


NESTED = ("Sequential", "Functional", "Model")


def pairs(found) -> list:
    """Keras writes one input/output flat (["x", 0, 0]) and several as a list of those."""
    found = found or []
    if isinstance(found, dict):  # a dict of outputs: keyed by name, weights in key order
        return [found[key] for key in sorted(found)]
    return [found] if found and isinstance(found[0], str) else list(found)

"""One saved Keras layer's config -> a spec entry's parts: its arguments (differences from
Keras's defaults only), the layers it is called on, or an allowlisted op's operands."""

from __future__ import annotations

import importlib
import inspect

from .. import catalog
from ..catalog import ops as catalog_ops
from ..catalog import pipeline, rnn, state, text
from ..model.ir import snake_case

# Config keys every layer has that are not constructor arguments a spec would carry.
IGNORED = {
    "name",
    "autocast",
    "batch_input_shape",
    "input_shape",
    "build_config",
    "input_dim_",
    "vocabulary_size",  # a lookup layer's, derived from its vocabulary
}
# Values Keras resolves when it saves a layer; specgen's generated code implies them.
IMPLIED = {"data_format": "channels_last", "oov_method": "floormod"}
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


def _cell(value: dict, problems: list[str], where: str):
    """A saved cell -> {"type": Cell, args}; StackedRNNCells -> the list of its cells."""
    cls = value.get("class_name")
    config = value.get("config") or {}
    if cls == "StackedRNNCells":
        return [_cell(cell, problems, where) for cell in config.get("cells", [])]
    if cls not in rnn.CELLS:
        problems.append(f"{where}RNN cell {cls!r} is not one of {', '.join(rnn.CELLS)}")
        return None
    return {"type": cls, **arguments(rnn.CELLS[cls], config, problems, where)}


def _pipeline(value, problems: list[str], where: str) -> list:
    """A saved Pipeline's layers -> entries; a layer a Pipeline may not hold is a problem."""
    held, entries = set(pipeline.members(catalog.LAYERS)), []
    for i, layer in enumerate(value if isinstance(value, list) else []):
        cls = layer.get("class_name")
        if cls not in held:
            problems.append(
                f"{where}Pipeline layers[{i}] is {cls!r}; a Pipeline here holds catalog layers"
                " called on one tensor, without a nested layer or a state file"
            )
            continue
        kind, config = catalog.BY_SPELLING[cls], layer.get("config") or {}
        entries.append({"type": cls, **arguments(kind, config, problems, where)})
    return entries


def _convert(arg: catalog.Arg, value, problems: list[str], where: str):
    if arg.kind == "cell":
        return _cell(value, problems, where)
    if arg.kind in OBJECT_NAMES and isinstance(value, dict):
        return _object(value, arg.kind)
    if arg.kind == "layers":
        return _pipeline(value, problems, where)
    if arg.kind == "layer":
        inner = value["config"]
        kind = catalog.BY_SPELLING[value["class_name"]]
        return {"type": value["class_name"], **arguments(kind, inner, [])}
    return value


def _defaults(kind: catalog.LayerKind) -> dict:
    import keras

    module = keras.layers if kind.module == "keras.layers" else importlib.import_module(kind.module)
    signature = inspect.signature(getattr(module, kind.name).__init__)
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


# Arguments Keras lets hold a function: here only its built-in names (text.py's enums).
NAMES_ONLY = {
    ("TextVectorization", "standardize"): text.STANDARDIZE,
    ("TextVectorization", "split"): text.SPLIT,
}


def _state_problem(kind: catalog.LayerKind, key: str, value) -> str | None:
    """Why an argument that holds code or a layer's adapted state cannot be imported; the
    value is only looked at, never deserialized."""
    names = NAMES_ONLY.get((kind.name, key))
    if names is not None and value is not None and value not in names:
        held = (
            f"a serialized {value.get('class_name')!r} ({value.get('config')!r})"
            if isinstance(value, dict)
            else repr(value)
        )
        return (
            f"{kind.name} argument {key} holds {held}; specgen takes only Keras's built-in"
            f" names ({', '.join(names)} or null): a function in a config is refused, never"
            " deserialized"
        )
    if (kind.name, key) in state.FILE_ARGS:
        if isinstance(value, str):
            return (
                f"{kind.name} argument {key} is the path {value!r}; specgen reads no path"
                " named in a model file: pass the list itself to the layer and save again"
            )
        if value is None and any(a.required for a in kind.args if a.name == key):
            return (
                f"{kind.name} has no {key} in its config (Keras keeps one adapted or read"
                " from a file with the weights); pass the list itself to the layer and save"
                " again"
            )
    return None


def arguments(kind: catalog.LayerKind, config: dict, problems: list[str], where: str = "") -> dict:
    defaults = _defaults(kind)
    args = {}
    for key, value in config.items():
        if problem := _state_problem(kind, key, value):
            problems.append(f"{where}{problem}")
            continue
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
        converted = _convert(arg, value, problems, where) if arg else value
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
    refs = []
    for value in nodes[node_index]["args"]:  # a constant operand (`1.5 - x`) is no input
        if _is_tensor(value):
            refs.append(_ref(value, decode))
        elif isinstance(value, list) and value and all(_is_tensor(t) for t in value):
            refs += [_ref(t, decode) for t in value]
    for value in nodes[node_index].get("kwargs", {}).values():
        if _is_tensor(value):
            refs.append(_ref(value, decode))
        elif isinstance(value, list) and value and all(_is_tensor(t) for t in value):
            refs += [_ref(t, decode) for t in value]
    return refs


def _key(value, problems: list[str], where: str) -> list | None:
    """A saved `x[...]` subscript -> the spec's key: integers, null, "..." and slices."""
    items = value if isinstance(value, list | tuple) else [value]
    key = []
    for item in items:
        kind = item.get("class_name") if isinstance(item, dict) else None
        if kind == "__slice__":
            bounds = item.get("config") or {}
            key.append({k: v for k, v in bounds.items() if v is not None})
        elif kind == "__ellipsis__":
            key.append("...")
        elif item is None or (isinstance(item, int) and not isinstance(item, bool)):
            key.append(item)
        else:
            problems.append(f"{where}: index {item!r} is not an integer, slice, None or ...")
            return None
    return key


def _op_defaults(name: str) -> dict:
    import keras

    function = getattr(keras.ops, name, None)
    if function is None:
        return {}
    return {
        k: p.default
        for k, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def op(layer: dict, name: str, problems: list[str], decode=_plain) -> dict | None:
    """An operation node (`x + 3.0`, `keras.ops.mean(x, axis=1)`, `x[:, 1:3]` in a Functional
    graph) -> an `ops.<name>` spec entry; an op outside the allowlist is refused by name."""
    function = snake_case(layer["class_name"])
    spelling = f"ops.{function}"
    kind = catalog.BY_SPELLING.get(spelling)
    where = f"layer {name!r}"
    if kind is None or not kind.op:
        problems.append(
            f"{where}: operation keras.ops.{function} (class {layer['class_name']} in"
            f" {layer.get('module')}) is not in specgen's allowlist of Keras ops"
        )
        return None
    node = (layer.get("inbound_nodes") or [{}])[0]
    entry: dict = {"name": name, "type": spelling, "inputs": []}
    form = catalog_ops.FORMS.get(spelling)
    operands = list(node.get("args", []))
    if form == "list" and operands and isinstance(operands[0], list):
        operands = [*operands[0], *operands[1:]]
    if form == "item" and len(operands) == 2:
        entry["key"] = _key(operands.pop(), problems, where)
    for position, operand in enumerate(operands):
        if _is_tensor(operand):
            entry["inputs"].append(_ref(operand, decode))
        elif form is None and isinstance(operand, int | float) and not isinstance(operand, bool):
            entry[f"x{position + 1}"] = float(operand)
        else:
            problems.append(
                f"{where}: operand {operand!r} of keras.ops.{function} is not supported"
            )
    defaults = _op_defaults(function)
    names = {a.name for a in kind.args}
    for key, value in (layer.get("config") or {}).items():
        if key == "name" or (key in defaults and _same(value, defaults[key])):
            continue
        if key in names:
            entry[key] = value
        elif value is not None:
            problems.append(
                f"{where}: argument {key}={value!r} of keras.ops.{function} is not supported"
            )
    if node.get("kwargs"):
        problems.append(
            f"{where}: keyword arguments {sorted(node['kwargs'])} of keras.ops.{function}"
            " are not supported"
        )
    return entry


NESTED = ("Sequential", "Functional", "Model")


def pairs(found) -> list:
    """Keras writes one input/output flat (["x", 0, 0]) and several as a list of those."""
    found = found or []
    if isinstance(found, dict):  # a dict of outputs: keyed by name, weights in key order
        return [found[key] for key in sorted(found)]
    return [found] if found and isinstance(found[0], str) else list(found)

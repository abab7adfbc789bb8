"""`specgen import`: a saved Keras model (Sequential or Functional) -> a spec.

Reads the model's config (a `.keras` file is a zip holding `config.json`). Every layer must be
in the catalog and every argument that differs from Keras's default must be one specgen knows:
anything else is an error naming the layer, never skipped. Keras is imported only to read
constructor defaults, so the spec stays short.
"""

from __future__ import annotations

import inspect
import io
import re
import zipfile
from pathlib import Path

from . import catalog, import_blocks, import_training
from .ir import snake_case

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


class ImportProblem(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


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
        return {"type": value["class_name"], **_arguments(kind, inner, [])}
    return value


def _defaults(kind: catalog.LayerKind) -> dict:
    import keras

    signature = inspect.signature(getattr(keras.layers, kind.name).__init__)
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _policy(value) -> str | None:
    """A saved dtype (a DTypePolicy dict or a name) -> its name."""
    if isinstance(value, dict):
        return (value.get("config") or {}).get("name")
    return value


def _same(a, b) -> bool:
    norm = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
    return norm(a) == norm(b)


def _arguments(kind: catalog.LayerKind, config: dict, problems: list[str], where: str = "") -> dict:
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
            if _policy(value) not in (None, "float32"):
                args[key] = _policy(value)
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


def _ref(tensor) -> str:
    return tensor["config"]["keras_history"][0]


def _inbound(layer: dict) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    args = nodes[0]["args"]
    first = args[0]
    refs = [_ref(t) for t in first] if isinstance(first, list) else [_ref(first)]
    refs += [
        _ref(t)
        for t in args[1:]
        if isinstance(t, dict) and t.get("class_name") == "__keras_tensor__"
    ]
    refs += [
        _ref(t)
        for t in nodes[0].get("kwargs", {}).values()
        if isinstance(t, dict) and t.get("class_name") == "__keras_tensor__"
    ]
    return refs


def _op(layer: dict, name: str, problems: list[str]) -> dict | None:
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
            entry["inputs"].append(_ref(operand))
        elif isinstance(operand, int | float) and not isinstance(operand, bool):
            entry[f"x{position + 1}"] = float(operand)
        else:
            problems.append(f"layer {name!r}: operand {operand!r} of {spelling} is not supported")
    if node.get("kwargs"):
        problems.append(f"layer {name!r}: keyword arguments {sorted(node['kwargs'])} of {spelling}")
    return entry


def _keep_float32(saved: list[dict], layers: list[dict]) -> None:
    """Under mixed precision a float32 layer (the usual output layer) says so explicitly."""
    if not any(entry.get("dtype") for entry in layers):
        return
    policies = {
        layer["config"].get("name"): _policy(layer["config"].get("dtype")) for layer in saved
    }
    for entry in layers:
        if policies.get(entry["name"]) == "float32" and not entry["type"].startswith("ops."):
            entry["dtype"] = "float32"


NESTED = ("Sequential", "Functional", "Model")


def _pairs(found) -> list:
    """Keras writes one input/output flat (["x", 0, 0]) and several as a list of those."""
    found = found or []
    return [found] if found and isinstance(found[0], str) else list(found)


def read_weight_sizes(path: Path) -> dict[str, int]:
    """{key: values} of each top-level layer's weights in a .keras file (`layers/<key>/vars`),
    so a CustomLayer's parameter count is known; empty for a config.json or without h5py."""
    try:
        import h5py
    except ImportError:
        return {}
    if not zipfile.is_zipfile(path):
        return {}
    with zipfile.ZipFile(path) as archive:
        if "model.weights.h5" not in archive.namelist():
            return {}
        data = io.BytesIO(archive.read("model.weights.h5"))
    sizes: dict[str, int] = {}
    with h5py.File(data, "r") as weights:
        for key, group in weights.get("layers", {}).items():
            variables = group.get("vars") if isinstance(group, h5py.Group) else None
            if variables is not None:
                sizes[key] = sum(int(v.size) for v in variables.values())
    return sizes


def to_spec(
    config: dict,
    notes: list[str] | None = None,
    *,
    fold: bool = True,
    weights: dict[str, int] | None = None,
) -> dict:
    """A spec dict for a Sequential or Functional model config; ImportProblem lists what is not.
    `notes` collects what was kept only in part (compile settings the spec cannot say)."""
    kind = config.get("class_name")
    if kind not in NESTED:
        raise ImportProblem(
            [
                f"{kind!r} is a subclassed model: its config holds no layer graph; import the"
                " Functional or Sequential model it was written as, or its config.json"
            ]
        )
    body = config["config"]
    problems: list[str] = []
    blocks: dict[str, dict] = {}
    from .import_graph import Walk  # it builds on this module's helpers

    inputs, layers, outputs = Walk(problems, blocks, weights=weights).graph(kind, body, top=True)
    if problems:
        raise ImportProblem(problems)
    _keep_float32(body["layers"], layers)
    spec = {
        "name": re.sub(r"\W", "_", snake_case(body.get("name") or "model")).strip("_") or "model",
        "inputs": inputs,
        "layers": _implicit(layers, inputs),
    }
    if outputs != [layers[-1]["name"]]:
        spec["outputs"] = outputs
    fit = import_training.training(config.get("compile_config"), [] if notes is None else notes)
    if fit:
        spec["training"] = fit
    if blocks:
        spec["blocks"] = {
            name: {**block, "layers": _implicit(block["layers"], block["inputs"])}
            for name, block in blocks.items()
        }
    if fold:
        spec = import_blocks.fold(import_blocks.merge_equal_blocks(spec))
    return spec


def _implicit(layers: list[dict], inputs: list) -> list[dict]:
    """Drop `inputs` where it says what a spec implies: the previous layer (or sole input)."""
    names = [i["name"] if isinstance(i, dict) else i for i in inputs]
    previous = names[0] if len(names) == 1 else None
    out = []
    for entry in layers:
        if entry.get("inputs") == [previous] and not entry["type"].startswith("ops."):
            entry = {k: v for k, v in entry.items() if k != "inputs"}
        out.append(entry)
        previous = entry["name"]
    return out


def custom_modules(spec: dict) -> list[str]:
    """Modules a spec's CustomLayers import: what the user must allow."""
    entries = [*spec["layers"], *(e for b in spec.get("blocks", {}).values() for e in b["layers"])]
    return sorted(
        {e["class"].rpartition(".")[0] for e in entries if e.get("type") == "CustomLayer"}
    )

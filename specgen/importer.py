"""`specgen import`: a saved Keras model (Sequential or Functional) -> a spec.

Reads the model's config (a `.keras` file is a zip holding `config.json`). Every layer must be
in the catalog and every argument that differs from Keras's default must be one specgen knows:
anything else is an error naming the layer, never skipped. Keras is imported only to read
constructor defaults, so the spec stays short.
"""

from __future__ import annotations

import inspect
import json
import re
import zipfile
from pathlib import Path

from . import catalog
from .ir import snake_case

# Config keys every layer has that are not constructor arguments a spec would carry.
IGNORED = {
    "name",
    "dtype",
    "trainable",
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


def read_config(path: Path) -> dict:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    return json.loads(path.read_text("utf-8"))


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


def _same(a, b) -> bool:
    norm = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
    return norm(a) == norm(b)


def _arguments(kind: catalog.LayerKind, config: dict, problems: list[str], where: str = "") -> dict:
    defaults = _defaults(kind)
    args = {}
    for key, value in config.items():
        if key in IGNORED or (key in IMPLIED and value == IMPLIED[key]):
            continue
        if key == "activation" and value == "linear" and defaults.get(key) is None:
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


def to_spec(config: dict) -> dict:
    """A spec dict for a Sequential or Functional model config; ImportProblem lists what is not."""
    kind = config.get("class_name")
    if kind not in ("Sequential", "Functional", "Model"):
        raise ImportProblem(
            [
                f"{kind!r} is a subclassed model: its config holds no layer graph; import the"
                " Functional or Sequential model it was written as, or its config.json"
            ]
        )
    body = config["config"]
    problems: list[str] = []
    inputs, layers, previous = [], [], None
    for layer in body["layers"]:
        cls, lconfig = layer["class_name"], layer["config"]
        name = lconfig.get("name") or layer.get("name")
        if cls == "InputLayer":
            shape = lconfig.get("batch_shape") or lconfig.get("batch_input_shape")
            entry = {"name": name, "shape": list(shape[1:])}
            if lconfig.get("dtype") not in (None, "float32") and isinstance(
                lconfig.get("dtype"), str
            ):
                entry["dtype"] = lconfig["dtype"]
            inputs.append(entry)
            previous = name
            continue
        if cls not in catalog.BY_SPELLING:
            problems.append(f"layer {name!r}: {cls} is not in specgen's catalog")
            continue
        entry = {
            "name": name,
            "type": cls,
            **_arguments(catalog.BY_SPELLING[cls], lconfig, problems, f"layer {name!r}: "),
        }
        refs = _inbound(layer) if kind != "Sequential" else [previous]
        if refs != [previous]:
            entry["inputs"] = refs
        layers.append(entry)
        previous = name
    if kind == "Sequential" and not inputs and body.get("build_input_shape"):
        inputs.append({"name": "inputs", "shape": list(body["build_input_shape"][1:])})
        layers[0].pop("inputs", None)
    if problems:
        raise ImportProblem(problems)
    spec = {
        "name": re.sub(r"\W", "_", snake_case(body.get("name") or "model")).strip("_") or "model",
        "inputs": inputs,
        "layers": layers,
    }
    found = body.get("output_layers") or []
    if found and isinstance(found[0], str):  # Keras writes one output flat: ["out", 0, 0]
        found = [found]
    outputs = [entry[0] for entry in found] if kind != "Sequential" else []
    if outputs and outputs != [layers[-1]["name"]]:
        spec["outputs"] = outputs
    return spec

"""`specgen import`: the walk over a saved graph, nested models and custom classes.

`importer.to_spec` runs one `Walk` over the model's config. A nested Sequential/Functional
model becomes a block or is inlined; Keras's own helper layers of keras.applications are
catalog entries matched by their module; any other registered class becomes a `CustomLayer`
the user must allow.
"""

from __future__ import annotations

import heapq
import re

from .. import catalog
from ..catalog import outputs as multi
from ..model.ir import base_name, snake_case
from .config import NESTED, arguments, inbound, op, pairs, policy


class Walk:
    """One pass over a model config. A nested Sequential/Functional model used as a layer
    becomes a block (a sub-graph written once, used by name) when it sits in the top graph and
    holds plain layers; deeper or op-holding ones are inlined, layer by layer."""

    def __init__(self, problems: list[str], blocks: dict[str, dict], names=None, weights=None):
        self.problems, self.blocks = problems, blocks
        # Weight counts by the .keras file's key (`layer_scale_3`), for top-level custom layers.
        self.weights = weights if weights is not None else {}  # a mapping, read lazily
        self.seen: dict[str, int] = {}
        self.names: set[str] = names if names is not None else set()
        self.shapes: dict[str, list] = {}

    def _record_shapes(self, body: dict) -> None:
        """Output shapes as the saved graph's consumers recorded them (for custom layers)."""
        for layer in body["layers"]:
            for node in layer.get("inbound_nodes") or []:
                for tensor in _tensors(node):
                    history = tensor["config"]["keras_history"]
                    self.shapes.setdefault(history[0], tensor["config"].get("shape"))

    def graph(self, kind: str, body: dict, top: bool = False):
        """(inputs, layers with explicit `inputs`, output names) of one (sub-)graph, walked
        once: an inlined nested model reuses its walk, so import is linear in the config."""
        if top:
            self.names |= _all_names(body)
        inputs, layers, alias = [], [], {}
        previous = None
        self._record_shapes(body)
        decode, calls = self._decoder(body)
        for layer in body["layers"]:
            cls, lconfig = layer["class_name"], layer["config"]
            name = lconfig.get("name") or layer.get("name")
            if cls == "InputLayer":
                inputs.append(_input(name, lconfig))
                previous = alias.get(name, name)
                continue
            refs = inbound(layer, decode) if kind != "Sequential" else [previous]
            if kind == "Sequential" and previous is None:  # no InputLayer: build_input_shape
                first = f"{snake_case(body.get('name') or 'model')}_input"
                shape = body.get("build_input_shape") or [None]
                inputs.append({"name": first, "shape": list(shape[1:])})
                refs = [alias.get(first, first)]
            refs = [alias.get(r, r) for r in refs]
            if cls in NESTED and str(layer.get("module", "keras")).startswith("keras"):
                previous = self.nested(layer, name, refs, top, layers, alias)
                self._calls_again(layer, name, name not in alias, decode, calls, alias, layers)
                continue
            if str(layer.get("module", "")).startswith("keras.src.ops"):
                entry = op(layer, name, self.problems, decode)
                if entry:
                    entry["inputs"] = [alias.get(r, r) for r in entry["inputs"]]
            elif not _catalogued(layer) and layer.get("registered_name"):
                entry = _custom(layer, name, refs, self.shapes)
                if top:  # Keras keys a layer's weights by class name and occurrence
                    key, count = snake_case(cls), self.seen.get(snake_case(cls), 0)
                    self.seen[key] = count + 1
                    saved = f"{key}_{count}" if count else key
                    if saved in self.weights:
                        entry["params"] = self.weights[saved]
            elif not _catalogued(layer):
                self.problems.append(f"layer {name!r}: {cls} is not in specgen's catalog")
                entry = None
            else:
                kind_ = catalog.BY_SPELLING[cls]
                args = arguments(kind_, lconfig, self.problems, f"layer {name!r}: ")
                entry = {"name": name, "type": cls, **args, "inputs": refs}
            if entry:
                layers.append(entry)
                self._calls_again(layer, name, True, decode, calls, alias, layers)
            previous = name
        order = {pair[0]: i for i, pair in enumerate(pairs(body.get("input_layers")))}
        inputs.sort(key=lambda entry: order.get(entry["name"], len(order)))
        found = [decode(*pair[:3]) for pair in pairs(body.get("output_layers"))]
        saved = body.get("output_layers")
        if isinstance(saved, dict) and sorted(saved) != sorted(alias.get(n, n) for n in found):
            self.problems.append(
                f"outputs: a dict keyed {sorted(saved)} whose keys are not the names of the"
                " layers that make them; a spec's dict of outputs is keyed by layer name"
            )
        if kind == "Sequential":
            return inputs, layers, [previous]
        return inputs, _run_order(layers), [alias.get(n, n) for n in found]

    def _decoder(self, body: dict):
        """How a saved `keras_history` [layer, node, index] is named in the spec: a layer's
        first call is the layer's name, a later call `<name>_call<k>` (a call entry), and an
        output of a layer with several outputs `name:index`."""
        several, calls = set(), {}
        for layer in body["layers"]:
            cls, config = layer["class_name"], layer["config"]
            name = config.get("name") or layer.get("name")
            inner = config.get("layer") if cls == "Bidirectional" else None
            if (cls in multi.STATES and config.get("return_state")) or (
                isinstance(inner, dict) and (inner.get("config") or {}).get("return_state")
            ):
                several.add(name)
            for k in range(1, len(layer.get("inbound_nodes") or [])):
                candidate, n = f"{name}_call{k}", 1
                while candidate in self.names:
                    n += 1
                    candidate = f"{name}_call{k}_{n}"
                self.names.add(candidate)
                calls[name, k] = candidate

        def decode(name: str, node: int, index: int) -> str:
            named = calls.get((name, node), name) if node else name
            return f"{named}:{index}" if index or name in several else named

        return decode, calls

    def _calls_again(self, layer, name, reusable, decode, calls, alias, layers) -> None:
        """A call entry for each later call of a layer (a shared layer or nested model)."""
        for k in range(1, len(layer.get("inbound_nodes") or [])):
            if not reusable:
                self.problems.append(
                    f"layer {name!r}: a nested model that is inlined (it holds operations or"
                    " sits inside another) is called more than once; this is not supported"
                )
                return
            refs = [alias.get(r, r) for r in inbound(layer, decode, k)]
            layers.append({"name": calls[name, k], "call": name, "inputs": refs})

    def nested(self, layer, name, refs, top, layers, alias) -> str:
        sub_kind, body = layer["class_name"], layer["config"]
        sub_inputs, sub_layers, sub_outputs = Walk(self.problems, self.blocks, self.names).graph(
            sub_kind, body
        )
        if len(sub_inputs) != len(refs) or len(sub_outputs) != 1:
            self.problems.append(
                f"layer {name!r}: a nested {sub_kind} with {len(sub_inputs)} input(s) and"
                f" {len(sub_outputs)} output(s) called on {len(refs)} tensor(s) is not supported"
            )
            return name
        plain = all(
            e.get("type") in catalog.BY_SPELLING and not catalog.BY_SPELLING[e["type"]].op
            for e in sub_layers
        )
        if top and plain and sub_layers:
            block = _block_name(name, {*self.blocks, *self.names})
            self.blocks[block] = {
                "description": f"The nested {sub_kind} model {name!r}, as saved.",
                "inputs": [i["name"] for i in sub_inputs],
                "layers": sub_layers,
                "outputs": sub_outputs,
            }
            layers.append({"name": name, "type": block, "inputs": refs})
            return name
        # Inline: the sub-graph's layers join this graph, fed by the outer tensors. The walk
        # above is reused (a second walk per level would make import exponential in depth).
        feeds = {i["name"]: ref for i, ref in zip(sub_inputs, refs, strict=True)}
        for entry in sub_layers:
            entry["inputs"] = [feeds.get(r, r) for r in entry["inputs"]]
        layers.extend(sub_layers)
        alias[name] = feeds.get(sub_outputs[0], sub_outputs[0])
        return alias[name]


def _run_order(layers: list[dict]) -> list[dict]:
    """The saved order, moved only where an entry uses one listed later (a shared layer's
    second call may take a tensor made after the layer's first call)."""
    index = {entry["name"]: i for i, entry in enumerate(layers)}
    needs = [
        {
            index[base]
            for r in [*entry.get("inputs", []), entry.get("call", "")]
            if (base := base_name(r)) in index
        }
        for entry in layers
    ]
    users: dict[int, list[int]] = {}
    for i, found in enumerate(needs):
        for j in found:
            users.setdefault(j, []).append(i)
    waiting = [len(found) for found in needs]
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for user in users.get(i, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, user)
    if len(order) != len(layers):  # a cycle: the spec's check will name it
        return layers
    return [layers[i] for i in order]


def _tensors(value):
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tensors(item)


def _catalogued(layer: dict) -> bool:
    """A catalog entry's class, matched by the module Keras saved with it: a keras.layers
    class from Keras, a helper layer of keras.applications (LayerScale, CustomScaleLayer) from
    its own module; never a user's class of the same name, which stays a CustomLayer."""
    kind = catalog.BY_SPELLING.get(layer["class_name"])
    if kind is None or kind.op:
        return False
    module = layer.get("module")
    if kind.module == "keras.layers":
        return module is None or module == "keras" or module.startswith("keras.")
    return module == kind.module


BASE_KEYS = {"name", "trainable", "dtype", "autocast", "build_config", "input_shape"}


def _custom(layer: dict, name: str, refs: list[str], shapes: dict) -> dict:
    """A registered class specgen does not know -> a CustomLayer the user must allow."""
    config = layer["config"]
    entry = {
        "name": name,
        "type": "CustomLayer",
        "class": f"{layer.get('module')}.{layer['class_name']}",
        "config": {k: v for k, v in config.items() if k not in BASE_KEYS},
        "inputs": refs,
    }
    if config.get("trainable") is False:
        entry["trainable"] = False
    if policy(config.get("dtype")) not in (None, "float32"):
        entry["dtype"] = policy(config["dtype"])
    if shapes.get(name) and shapes.get(name) != shapes.get(refs[0]):
        entry["output_shape"] = list(shapes[name][1:])
    return entry


def _all_names(body: dict) -> set[str]:
    """Every layer name in a (nested) config: a block's name must not shadow one in code."""
    names = set()
    for layer in body.get("layers", []):
        names.add(layer["config"].get("name") or layer.get("name"))
        if layer["class_name"] in NESTED:
            names |= _all_names(layer["config"])
    return names


def _block_name(name: str, taken: set) -> str:
    """`convnext_tiny_downsampling_block_0` -> `convnext_tiny_downsampling_block`, then `_2`..."""
    base = re.sub(r"\W", "_", snake_case(name)).strip("_") or "nested"
    base = re.sub(r"(_\d+)+$", "", base)
    base = base if base[0].isalpha() else f"m_{base}"
    base = base if base.endswith("_block") else f"{base}_block"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def _input(name: str, config: dict) -> dict:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    entry = {"name": name, "shape": list(shape[1:])}
    dtype = config.get("dtype")
    if isinstance(dtype, str) and dtype != "float32":
        entry["dtype"] = dtype
    return entry

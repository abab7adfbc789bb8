"""`specgen import`: saved names that cannot be spec names -> names that can.

Keras names a layer anything (`mobilenetv2_0.35_96`, `max` for `keras.ops.max`); a spec's
names become Python identifiers, so a name that is not one, or is reserved (a builtin, a
Keras attribute), is replaced by the nearest identifier not in use, and every reference to it
follows. A layer or Input keeps its Keras name as `keras_name` (its `name=` in the generated
code), so `get_layer("mobilenetv2_0.35_96")`, saved weight paths and the keys of the dict a
model is called with match the original.
"""

from __future__ import annotations

import re
import unicodedata

from ..spec.reserved import why_reserved


def _usable(name: str) -> bool:
    return (
        name.isidentifier()
        and name.isascii()
        and unicodedata.normalize("NFKC", name) == name
        and why_reserved(name) is None
    )


def _candidate(name: str) -> str:
    base = re.sub(r"\W", "_", name.encode("ascii", "replace").decode()).strip("_") or "layer"
    if base[0].isdigit():
        base = f"layer_{base}"
    return base if _usable(base) else f"{base}_layer"


def _keras_layer(entry: dict) -> bool:
    """A layer or nested model Keras names (not an operation, not a second call)."""
    return "type" in entry and not entry["type"].startswith("ops.")


def usable_names(spec: dict) -> dict:
    """The spec with each unusable input or layer name replaced everywhere, at the top level
    and inside each block (a nested model's own layers)."""
    blocks = spec.get("blocks", {})
    out = _renamed(spec, set(blocks))
    if blocks:
        out["blocks"] = {name: _renamed(block, set(blocks)) for name, block in blocks.items()}
    return out


def _name(entry) -> str:
    return entry["name"] if isinstance(entry, dict) else entry


def _renamed(graph: dict, blocks: set[str]) -> dict:
    """One graph (the model's or a block's) with its unusable names replaced."""
    names = [_name(e) for e in graph["inputs"]] + [e["name"] for e in graph["layers"]]
    taken = set(names) | blocks
    renamed: dict[str, str] = {}
    for name in names:
        if _usable(name):
            continue
        base, candidate, n = _candidate(name), _candidate(name), 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        renamed[name] = candidate
    if not renamed:
        return dict(graph)

    def ref(value: str) -> str:
        name, sep, index = value.rpartition(":") if ":" in value else (value, "", "")
        return renamed.get(name, name) + sep + index

    layers = []
    for entry in graph["layers"]:
        if entry["name"] in renamed and _keras_layer(entry):  # the layer keeps its Keras name
            entry = {**entry, "keras_name": entry["name"]}
        entry = {**entry, "name": renamed.get(entry["name"], entry["name"])}
        if "inputs" in entry:
            entry["inputs"] = [ref(r) for r in entry["inputs"]]
        if "call" in entry:
            entry["call"] = renamed.get(entry["call"], entry["call"])
        layers.append(entry)
    inputs = [
        # A model's renamed Input keeps its Keras name too: the dict it is called with is
        # keyed by it. A block's inputs are references, with no Keras name.
        {**e, "name": renamed[e["name"]], "keras_name": e["name"]}
        if isinstance(e, dict) and e["name"] in renamed
        else e
        if isinstance(e, dict)
        else renamed.get(e, e)
        for e in graph["inputs"]
    ]
    out = {**graph, "inputs": inputs, "layers": layers}
    if "outputs" in graph:
        out["outputs"] = [ref(r) for r in graph["outputs"]]
    return out

"""`specgen import`: saved names that cannot be spec names -> names that can.

Keras names a layer anything (`mobilenetv2_0.35_96`, `max` for `keras.ops.max`); a spec's
names become Python identifiers, so a name that is not one, or is reserved (a builtin, a
Keras attribute), is replaced by the nearest identifier not in use, and every reference to it
follows. Weights do not depend on names: `set_weights(original.get_weights())` still fits.
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


def usable_names(spec: dict) -> dict:
    """The spec with each unusable input or layer name (top level) replaced everywhere."""
    names = [e["name"] for e in spec["inputs"]] + [e["name"] for e in spec["layers"]]
    taken = set(names) | set(spec.get("blocks", {}))
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
        return spec

    def ref(value: str) -> str:
        name, sep, index = value.rpartition(":") if ":" in value else (value, "", "")
        return renamed.get(name, name) + sep + index

    layers = []
    for entry in spec["layers"]:
        entry = {**entry, "name": renamed.get(entry["name"], entry["name"])}
        if "inputs" in entry:
            entry["inputs"] = [ref(r) for r in entry["inputs"]]
        if "call" in entry:
            entry["call"] = renamed.get(entry["call"], entry["call"])
        layers.append(entry)
    out = {
        **spec,
        "inputs": [{**e, "name": renamed.get(e["name"], e["name"])} for e in spec["inputs"]],
        "layers": layers,
    }
    if "outputs" in spec:
        out["outputs"] = [renamed.get(r, r) for r in spec["outputs"]]
    return out

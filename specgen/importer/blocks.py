"""`specgen import`, last pass: repeated structures -> blocks, so a zoo model reads as code.

A flat saved graph (DenseNet's 58 dense layers, ResNet's bottlenecks) is cut at *fork points*:
a layer whose output is the only tensor alive at that point in the saved order and that feeds
several later layers (the input of a residual or dense unit). The layers between two cuts form
a segment. Segments with the same structure (layer types, argument keys, wiring) become one
block; argument values that differ between uses become the block's parameters. Saved order is
kept (a use stands where its layers stood), so `set_weights(original.get_weights())` still fits.
"""

from __future__ import annotations

import json
import keyword
import os
import re

from .. import catalog
from ..model.ir import snake_case

MIN_LAYERS = 3  # a shorter segment reads better inline
# Keras's default layer names (snake_case class names): a prefix made of one names no unit.
KERAS_NAMES = {snake_case(kind.name) for kind in catalog.LAYERS} | {"activation", "conv", "add"}


def _explicit(layers: list[dict], inputs: list[str]) -> list[list[str]]:
    refs, previous = [], inputs[0] if len(inputs) == 1 else None
    for entry in layers:
        refs.append(list(entry.get("inputs", [previous])))
        previous = entry["name"]
    return refs


def _segments(layers: list[dict], refs: list[list[str]], inputs: list[str]) -> list[range]:
    last_use: dict[str, int] = {}
    uses: dict[str, int] = {}
    for i, names in enumerate(refs):
        for name in names:
            last_use[name] = i
            uses[name] = uses.get(name, 0) + 1
    kinds = {entry["name"]: entry for entry in layers}

    def _fork(name: str) -> bool:
        entry = kinds.get(name)
        return uses.get(name, 0) >= 2 and entry is not None and _call(entry) == "list"

    cuts, alive, ends = [-1], {n for n in inputs if n in last_use}, []
    for i, entry in enumerate(layers):
        alive = {n for n in alive if last_use.get(n, -1) > i}
        if last_use.get(entry["name"], -1) > i:
            alive.add(entry["name"])
        name = entry["name"]
        if name not in alive or uses.get(name, 0) < 2:
            if (
                alive == {name}
                and catalog.BY_SPELLING.get(entry["type"])
                and _call(entry) == "list"
            ):
                ends.append(i)  # a merge that closes a unit: cut there too if a unit follows
            continue
        # A fork point: the only tensor alive, or (NASNet's cells take the last two cell
        # outputs) alive beside one other merge output that feeds several layers.
        if alive == {name} or (len(alive) == 2 and all(_fork(n) for n in alive)):
            cuts.append(i)
    cuts.append(len(layers) - 1)
    for end in ends:
        following = min(c for c in cuts if c > end)
        if following - end >= MIN_LAYERS:
            cuts.append(end)
    cuts.sort()
    return [range(a + 1, b + 1) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _call(entry: dict) -> str:
    kind = catalog.BY_SPELLING.get(entry["type"])
    return kind.call if kind else ""


def _eligible(entry: dict) -> bool:
    kind = catalog.BY_SPELLING.get(entry["type"])
    return kind is not None


def _shape(seg: range, layers: list[dict], refs: list[list[str]]):
    """(structure key, external inputs, per-layer argument values) of one segment."""
    local = {layers[i]["name"]: f"@{k}" for k, i in enumerate(seg)}
    external: list[str] = []
    wiring = []
    for i in seg:
        row = []
        for name in refs[i]:
            if name not in local:
                if name not in external:
                    external.append(name)
                row.append(f"in{external.index(name)}")
            else:
                row.append(local[name])
        wiring.append(row)
    args = [
        _flat({k: v for k, v in layers[i].items() if k not in ("name", "inputs", "type")})
        for i in seg
    ]
    key = json.dumps(
        # A CustomLayer's class is structure, never a parameter (it is checked and imported).
        [
            [layers[i]["type"], layers[i].get("class"), sorted(a), w]
            for i, a, w in zip(seg, args, wiring, strict=True)
        ]
    )
    return key, external, args, wiring


def _flat(args: dict) -> dict:
    """A CustomLayer's config keys compare one by one (`config/projection_dim`), so a unit
    whose only difference is one config value takes that value as a parameter."""
    config = args.pop("config", None)
    if isinstance(config, dict):
        args.update({f"config/{k}": v for k, v in config.items()})
    elif config is not None:
        args["config"] = config
    return args


def _unflat(args: dict) -> dict:
    config = {k.removeprefix("config/"): v for k, v in args.items() if k.startswith("config/")}
    out = {k: v for k, v in args.items() if not k.startswith("config/")}
    return {**out, "config": config} if config else out


def _inner_name(name: str, prefix: str, k: int, taken: set[str]) -> str:
    suffix = name[len(prefix) :] if name.startswith(prefix) else name
    parts = suffix.split("_")
    if not all(p.isdigit() for p in parts):
        while parts[0].isdigit():  # "0_bn" -> "bn_0"
            parts.append(parts.pop(0))
    candidate = "_".join(p for p in parts if p)
    if not candidate.isidentifier() or keyword.iskeyword(candidate) or candidate in taken:
        candidate = f"layer_{k}"
    taken.add(candidate)
    return candidate


def _param(layer: str, arg: str) -> str:
    return f"{layer}_{arg.removeprefix('config/')}"


def _prefix(names: list[str]) -> str:
    """The unit's name prefix, from the names that share the usual first word (a unit may hold
    an auto-named `add` beside `block1_conv`, `block1_bn`, ...)."""
    firsts = [n.split("_")[0] for n in names]
    usual = max(sorted(set(firsts)), key=firsts.count)
    common = os.path.commonprefix([n for n in names if n.split("_")[0] == usual])
    return common[: common.rfind("_") + 1] if "_" in common else ""


def fold(spec: dict) -> dict:
    """Return the spec with repeated segments of its top-level layers turned into blocks."""
    layers, inputs = spec["layers"], [i["name"] for i in spec["inputs"]]
    refs = _explicit(layers, inputs)
    groups: dict[str, list] = {}
    outputs = set(spec.get("outputs", []))
    used_after = {}
    for i, names in enumerate(refs):
        for name in names:
            used_after[name] = i
    for seg in _segments(layers, refs, inputs):
        # A block has one output: nothing else made inside may be used after it (or be an
        # output of the model).
        inner = [layers[i]["name"] for i in seg[:-1]]
        if any(used_after.get(n, -1) > seg[-1] or n in outputs for n in inner):
            continue
        if len(seg) >= MIN_LAYERS and all(_eligible(layers[i]) for i in seg):
            key, external, args, wiring = _shape(seg, layers, refs)
            groups.setdefault(key, []).append((seg, external, args, wiring))
    blocks = dict(spec.get("blocks", {}))
    replaced: dict[int, dict] = {}
    renamed: dict[str, str] = {}  # a unit's output is called by the use's name
    skip: set[int] = set()
    taken = {entry["name"] for entry in layers} | set(inputs) | set(blocks)
    for uses in groups.values():
        if len(uses) < 2:
            continue
        seg0, external0, args0, wiring = uses[0]
        first = [layers[i] for i in seg0]
        prefix0 = _prefix([e["name"] for e in first])
        base = re.sub(r"\d+", "", prefix0).strip("_").replace("__", "_").lower()
        if base in KERAS_NAMES:  # `activation_12, activation_13`: Keras's names, not the unit's
            base = f"{base}_unit"
        if not base:  # no common prefix (NASNet's cells): the most frequent word, as a unit
            words = [w for e in first for w in e["name"].split("_") if w.isalpha()]
            base = f"{max(sorted(set(words)), key=words.count)}_unit" if words else "unit"
        base = base if re.match("^[a-z][a-z0-9_]*$", base) else "unit"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        varying = sorted(
            {
                (k, arg)
                for _, _, args, _ in uses
                for k, values in enumerate(args)
                for arg in values
                if values[arg] != args0[k][arg]
            }
        )
        if any(isinstance(uses[0][2][k][arg], dict) for k, arg in varying):
            continue  # a dict default is mutable (B006); a list prints as a tuple
        inner_taken: set[str] = set()
        inner = [_inner_name(e["name"], prefix0, k, inner_taken) for k, e in enumerate(first)]
        params = {_param(inner[k], arg): args0[k][arg] for k, arg in varying}
        ports = [f"x{j}" if len(external0) > 1 else "x" for j in range(len(external0))]
        block_layers = []
        for k, entry in enumerate(first):
            values = dict(args0[k])
            for k2, arg in varying:
                if k2 == k:
                    values[arg] = {"param": _param(inner[k], arg)}
            wired = [
                ports[int(w[2:])] if w.startswith("in") else inner[int(w[1:])] for w in wiring[k]
            ]
            block_layers.append(
                {"name": inner[k], "type": entry["type"], **_unflat(values), "inputs": wired}
            )
        blocks[name] = {
            "description": f"A unit repeated {len(uses)} times in the saved model.",
            "inputs": ports,
            **({"params": params} if params else {}),
            "layers": _implicit(block_layers, ports),
        }
        for seg, external, args, _ in uses:
            names = [layers[i]["name"] for i in seg]
            label = _prefix(names).rstrip("_")
            if not label.isidentifier() or label in taken:
                label = names[-1]
            taken.add(label)
            use = {"name": label, "type": name, "inputs": external}
            renamed[names[-1]] = label
            use.update({_param(inner[k], arg): args[k][arg] for k, arg in varying})
            replaced[seg[0]] = use
            skip.update(seg)
    if not replaced:
        return spec
    out = []
    for i, entry in enumerate(layers):
        if i in replaced:
            use = replaced[i]
            out.append({**use, "inputs": [renamed.get(r, r) for r in use["inputs"]]})
        elif i not in skip:
            out.append({**entry, "inputs": [renamed.get(r, r) for r in refs[i]]})
    if "outputs" in spec:
        spec = {**spec, "outputs": [renamed.get(r, r) for r in spec["outputs"]]}
    return {**spec, "layers": _implicit(out, inputs), **({"blocks": blocks} if blocks else {})}


def _implicit(layers: list[dict], inputs: list[str]) -> list[dict]:
    previous, out = inputs[0] if len(inputs) == 1 else None, []
    for entry in layers:
        if entry.get("inputs") == [previous]:
            entry = {k: v for k, v in entry.items() if k != "inputs"}
        out.append(entry)
        previous = entry["name"]
    return out


def merge_equal_blocks(spec: dict) -> dict:
    """Blocks made from nested models that differ only in values (ConvNeXt's three
    downsampling Sequentials) -> one block whose differing values are parameters."""
    blocks = spec.get("blocks", {})
    groups: dict[str, list[str]] = {}
    for name, block in blocks.items():
        if "params" in block:
            continue
        layers = block["layers"]
        refs = _explicit(layers, block["inputs"])
        key, _, _, _ = _shape(range(len(layers)), layers, refs)
        groups.setdefault(f"{len(block['inputs'])}:{key}", []).append(name)
    merged: dict[str, tuple[str, dict]] = {}  # old block name -> (new name, parameter values)
    out_blocks = dict(blocks)
    for names in groups.values():
        if len(names) < 2:
            continue
        bodies = [blocks[n]["layers"] for n in names]
        args = [
            [
                _flat({k: v for k, v in e.items() if k not in ("name", "inputs", "type")})
                for e in body
            ]
            for body in bodies
        ]
        varying = sorted(
            {
                (k, a)
                for per in args
                for k, values in enumerate(per)
                for a in values
                if values[a] != args[0][k][a]
            }
        )
        if any(isinstance(args[0][k][a], dict) for k, a in varying):
            continue
        first = bodies[0]
        prefix = _prefix([e["name"] for e in first])
        taken: set[str] = set(blocks[names[0]]["inputs"])
        inner = [_inner_name(e["name"], prefix, k, taken) for k, e in enumerate(first)]
        rename = dict(zip([e["name"] for e in first], inner, strict=True))
        body = []
        for k, entry in enumerate(first):
            values = dict(args[0][k])
            for k2, a in varying:
                if k2 == k:
                    values[a] = {"param": _param(inner[k], a)}
            wired = (
                {"inputs": [rename.get(r, r) for r in entry["inputs"]]} if "inputs" in entry else {}
            )
            body.append({"name": inner[k], "type": entry["type"], **_unflat(values), **wired})
        new = {
            **blocks[names[0]],
            "description": f"{len(names)} nested models of one structure, as saved.",
            "layers": body,
        }
        if "outputs" in new:
            new["outputs"] = [rename.get(r, r) for r in new["outputs"]]
        if varying:
            new["params"] = {_param(inner[k], a): args[0][k][a] for k, a in varying}
        for n in names:
            out_blocks.pop(n)
        out_blocks[names[0]] = new
        for n, per in zip(names, args, strict=True):
            merged[n] = (names[0], {_param(inner[k], a): per[k][a] for k, a in varying})
    if not merged:
        return spec
    layers = []
    for entry in spec["layers"]:
        if entry["type"] in merged:
            target, values = merged[entry["type"]]
            entry = {**entry, "type": target, **values}
        layers.append(entry)
    return {**spec, "layers": layers, "blocks": out_blocks}

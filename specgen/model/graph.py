"""Stage 3 (continued): resolve a validated spec into the IR graph.

Default inputs, references, cycles, layers that feed nothing, block expansion and shape
inference. The model and every use of a block go through the same `_resolve`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from keyword import iskeyword

from .. import catalog
from ..catalog import allow_import as custom
from ..catalog import outputs as multi
from ..catalog import shapes
from ..spec.errors import SpecError
from ..spec.loader import Loaded
from ..spec.validation import layer_problems, nearest
from . import cycles, naming, strings
from .ir import (
    BlockDef,
    BlockNode,
    CallNode,
    InputNode,
    LayerNode,
    Model,
    ParamRef,
    base_name,
    freeze,
    model_hash,
    pascal_case,
    shared_variable,
    snake_case,
    spec_hash,
)

Report = Callable[[str, str], None]


def custom_problem(layer: dict) -> str | None:
    """Why a CustomLayer may not be emitted: its module is not allowed, or a config key is
    not a keyword argument name."""
    module = custom.module_of(layer["class"])
    try:
        allowed = custom.is_allowed(module)
    except custom.AllowImportProblem as exc:
        return str(exc)
    if not custom.is_module_name(module):
        return f"custom layer class {layer['class']!r}: {module!r} is not a Python module name"
    if not allowed:
        return (
            f"custom layer class {layer['class']!r}: module {module!r} is not allowed to be"
            f" imported; allow it with `specgen --allow-import {module} ...` or"
            f' `[tool.specgen] allow-import = ["{module}"]` in pyproject.toml'
        )
    bad = [k for k in layer.get("config", {}) if not k.isidentifier() or iskeyword(k)]
    if bad:
        return f"config keys must be Python identifiers, received {bad}"
    # Python reads identifiers NFKC-normalized: `ｕnits=2` is a second `units=` keyword.
    for key in layer.get("config", {}):
        normal = unicodedata.normalize("NFKC", key)
        if normal != key:
            return (
                f"config key {key!r} is not in NFKC normal form (Python reads it as"
                f" {normal!r}); write {normal!r}"
            )
    return None


def _auto_names(layers: list[dict], taken: set[str]) -> list[str]:
    """Explicit names, else Keras's defaults (dense, dense_1, ...) skipping names in use."""
    counters: dict[str, int] = {}
    names = []
    for layer in layers:
        if "name" in layer:
            names.append(layer["name"])
            continue
        kind = catalog.BY_SPELLING.get(layer["type"])
        if kind and kind.op:
            base = kind.name.removeprefix("ops.")  # Keras names `x + 3.0` "add", "add_1", ...
        else:
            base = snake_case(kind.name) if kind else layer["type"]
        while True:
            count = counters.get(base, 0)
            counters[base] = count + 1
            candidate = base if count == 0 else f"{base}_{count}"
            if candidate not in taken:
                break
        taken.add(candidate)
        names.append(candidate)
    return names


@dataclass
class _Graph:
    """What `_resolve` learns about one graph (the model's, or a block's for one use)."""

    names: list[str]
    refs: dict[str, list[str]]
    dims: dict[str, shapes.Dims | None]
    nodes: list = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    multi: dict[str, int] = field(default_factory=dict)  # layers with several outputs
    # Computed at the first forward reference (a valid spec has none): component ids, and
    # where each component's cycle was reported (reported once, however many references
    # close it).
    component: dict[str, int] | None = None
    reported: dict[int, str] = field(default_factory=dict)

    def cycle(self, name: str, ref: str, where: str) -> str | None:
        """The error for `name`'s reference to the later `ref` when that closes a cycle."""
        if self.component is None:
            self.component = cycles.components(self.refs)
        group = self.component[name]
        if self.component.get(ref) != group:
            return None
        if group in self.reported:
            return f"the layers form a cycle (reported at {self.reported[group]})"
        self.reported[group] = where
        within = {n for n, g in self.component.items() if g == group}
        return "the layers form a cycle: " + cycles.shown(
            cycles.through(name, ref, self.refs, within)
        )


def _references(
    raw: list[dict], names: list[str], inputs: list[str], base: str, err: Report
) -> dict[str, list[str]]:
    refs: dict[str, list[str]] = {}
    for i, layer in enumerate(raw):
        if "inputs" in layer:
            refs[names[i]] = list(layer["inputs"])
        elif i > 0:
            refs[names[i]] = [names[i - 1]]
        elif len(inputs) == 1:
            refs[names[i]] = [inputs[0]]
        else:
            refs[names[i]] = []
            err(f"{base}/{i}", "the first layer must list its inputs: there are several")
    return refs


def _check_refs(graph: _Graph, i: int, layer: dict, pointer: str, err: Report) -> bool:
    name, ok = graph.names[i], True
    for j, ref in enumerate(graph.refs[name]):
        base = base_name(ref)
        graph.used.add(base)
        where = f"{pointer}/inputs/{j}"
        if base in graph.multi and ref == base:
            count = graph.multi[base]
            err(
                where,
                f"layer {base!r} has {count} outputs; use one of them:"
                f" {', '.join(f'{base}:{k}' for k in range(count))}",
            )
            ok = False
            continue
        if ref in graph.dims:
            continue
        ok = False
        if base in graph.dims:
            count = graph.multi.get(base, 1)
            err(
                where,
                f"{ref!r}: layer {base!r} has {count} output(s)"
                + (f"; write {base!r}" if count == 1 else f", numbered 0 to {count - 1}"),
            )
        elif base not in graph.refs:
            hint = nearest(base, [*graph.dims, *graph.names])
            graph.used.add(hint)  # the layer it meant is not also reported as feeding nothing
            err(
                where,
                f"unknown input or layer {base!r}" + (f"; did you mean {hint!r}?" if hint else ""),
            )
        elif message := graph.cycle(name, ref, where):
            err(where, message)
        else:
            err(
                where,
                f"layer {name!r} uses {base!r}, which comes later;"
                " list layers in the order they run",
            )
    return ok


def _recurrent_shape(kind: catalog.LayerKind, args: dict, dims: list) -> shapes.Shape:
    """A layer's shape rule; a recurrent layer's extra inputs are its initial state."""
    if len(dims) > 1 and multi.state_dims(kind.name, args) is not None:
        multi.check_initial_state(kind.name, args, dims[1:])
        dims = dims[:1]
    return kind.shape(args, dims)


def _outputs(graph: _Graph, name: str, kind: str, args: dict, out: shapes.Shape) -> None:
    """`name:k` for each output of a layer with several."""
    found = multi.output_dims(kind, args, out.dims)
    if found:
        graph.multi[name] = len(found)
        graph.dims.update({f"{name}:{k}": dims for k, dims in enumerate(found)})


def _call_node(graph: _Graph, i: int, layer: dict, pointer: str, err: Report, make_block):
    """A call of an earlier layer or block use again: the same weights, other inputs."""
    name, wanted = graph.names[i], layer["call"]
    earlier = {node.name: node for node in graph.nodes}
    target = earlier.get(wanted)
    if isinstance(target, CallNode):
        target = target.target  # calling a call again calls its layer
    problem = None
    if target is None:
        hint = nearest(wanted, list(earlier))
        problem = (
            f"layer {wanted!r} comes later; list layers in the order they run"
            if wanted in graph.names
            else f"unknown layer {wanted!r}" + (f"; did you mean {hint!r}?" if hint else "")
        )
    elif target.is_block and target.block is None or target.is_op:
        problem = f"{wanted!r} is an operation or a failed block: it has no weights to reuse"
    if problem:
        graph.used.update(base_name(r) for r in graph.refs[name])
        err(f"{pointer}/call", problem)
        return CallNode(name, target, tuple(graph.refs[name]), shapes.Shape(()), pointer), False
    local = shared_variable(target.name)
    if local in graph.dims or local in graph.names or local in getattr(make_block, "specs", {}):
        err(
            f"{pointer}/call",
            f"layer {target.name!r} is called again, so the functional style names it"
            f" {local!r}: rename the input, layer or block of that name",
        )
        return CallNode(name, target, tuple(graph.refs[name]), shapes.Shape(()), pointer), False
    if target.is_block:
        use = {**dict(target.args), "type": target.block.name, "inputs": graph.refs[name]}
        node, ok = make_block(graph, i, use, pointer)
        out = node.out
    else:
        ok = _check_refs(graph, i, layer, pointer, err)
        out = shapes.Shape(())
        if ok and all(graph.dims.get(r) is not None for r in graph.refs[name]):
            try:
                args = dict(target.args)
                out = _recurrent_shape(target.kind, args, [graph.dims[r] for r in graph.refs[name]])
                _outputs(graph, name, target.kind.name, args, out)
            except shapes.ShapeError as exc:
                err(pointer, f"call {name!r} of layer {target.name!r} ({target.kind.name}): {exc}")
                ok = False
        else:
            ok = False
    node = CallNode(name, target, tuple(graph.refs[name]), shapes.Shape(out.dims), pointer)
    return node, ok


def _arity(kind: catalog.LayerKind, count: int) -> str | None:
    if count and (count < kind.min_inputs or (kind.max_inputs and count > kind.max_inputs)):
        if kind.min_inputs == kind.max_inputs:
            want = "one input" if kind.max_inputs == 1 else f"exactly {kind.max_inputs} inputs"
        else:
            want = f"at least {kind.min_inputs} inputs"
        return f"{kind.name} takes {want}, received {count}"
    return None


def _layer_node(
    graph: _Graph, i: int, layer: dict, pointer: str, err: Report
) -> tuple[LayerNode, bool]:
    name = graph.names[i]
    kind = catalog.BY_SPELLING[layer["type"]]
    ok = _check_refs(graph, i, layer, pointer, err)
    states = multi.max_inputs(kind.name, layer)
    if states and 1 < len(graph.refs[name]) <= states:
        pass  # a recurrent layer's initial state: checked by its shape below
    elif message := _arity(kind, len(graph.refs[name])):
        err(f"{pointer}/inputs" if "inputs" in layer else pointer, message)
        ok = False
    args = tuple((a.name, freeze(layer[a.name])) for a in kind.args if a.name in layer)
    if kind.name == "CustomLayer" and (problem := custom_problem(layer)):
        err(pointer, f"layer {name!r}: {problem}")
        ok = False
    out = shapes.Shape(())
    if not all(graph.dims.get(r) is not None for r in graph.refs[name]):
        ok = False  # an input failed and said so: no second error about its missing shape
    elif ok:
        try:
            out = _recurrent_shape(kind, dict(args), [graph.dims[r] for r in graph.refs[name]])
            _outputs(graph, name, kind.name, dict(args), out)
            if layer.get("trainable") is False:  # a frozen layer: every weight non-trainable
                out = shapes.Shape(out.dims, 0, out.trainable + out.non_trainable)
        except shapes.ShapeError as exc:
            err(pointer, f"layer {name!r} ({kind.name}): {exc}")
            ok = False
    return LayerNode(name, kind, layer["type"], args, tuple(graph.refs[name]), out, pointer), ok


def _resolve(
    raw: list[dict],
    inputs: dict[str, shapes.Dims],
    base: str,
    taken: set[str],
    err: Report,
    make_block,
) -> _Graph:
    names = _auto_names(raw, taken | {layer["name"] for layer in raw if "name" in layer})
    graph = _Graph(names, _references(raw, names, list(inputs), base, err), dict(inputs))
    for i, layer in enumerate(raw):
        pointer = f"{base}/{i}"
        if "call" in layer:
            node, ok = _call_node(graph, i, layer, pointer, err, make_block)
        elif layer["type"] in catalog.BY_SPELLING:
            node, ok = _layer_node(graph, i, layer, pointer, err)
        else:
            node, ok = make_block(graph, i, layer, pointer)
        graph.dims[node.name] = node.out.dims if ok else None
        graph.nodes.append(node)
    return graph


def _substitute(layer: dict, params: dict, pointer: str, err: Report, resolved: bool) -> dict:
    """A block's layer with `{"param": p}` replaced by the value (or a ParamRef for emitting)."""
    out = {}
    for key, value in layer.items():
        if isinstance(value, dict) and set(value) == {"param"}:
            ref = value["param"]
            if ref not in params:
                hint = nearest(ref, list(params))
                err(
                    f"{pointer}/{key}/param",
                    f"unknown block parameter {ref!r}"
                    + (f"; did you mean {hint!r}?" if hint else ""),
                )
                continue
            value = params[ref] if resolved else ParamRef(ref)
        elif key == "config" and isinstance(value, dict):  # a CustomLayer's config values
            value = _substitute(value, params, f"{pointer}/config", err, resolved)
        out[key] = value
    return out


class _Blocks:
    """Expands each use of a block: checks its arguments, resolves its inner graph."""

    def __init__(self, loaded: Loaded, err: Report):
        self.specs = loaded.data.get("blocks", {})
        self.loaded = loaded
        self.err = err
        self.defs: dict[str, BlockDef] = {}

    def definition(self, name: str) -> BlockDef:
        if name not in self.defs:
            spec, base = self.specs[name], f"/blocks/{name}"
            params = dict(spec.get("params", {}))
            raw = [
                _substitute(layer, params, f"{base}/layers/{j}", self.err, resolved=False)
                for j, layer in enumerate(spec["layers"])
            ]
            names = _auto_names(
                raw, set(spec["inputs"]) | {layer["name"] for layer in raw if "name" in layer}
            )
            refs = _references(raw, names, list(spec["inputs"]), f"{base}/layers", lambda *_: None)
            nodes = tuple(
                LayerNode(
                    names[j],
                    catalog.BY_SPELLING[layer["type"]],
                    layer["type"],
                    tuple(
                        (a.name, freeze(layer[a.name]))
                        for a in catalog.BY_SPELLING[layer["type"]].args
                        if a.name in layer
                    ),
                    tuple(refs[names[j]]),
                    shapes.Shape(()),
                    f"{base}/layers/{j}",
                )
                for j, layer in enumerate(raw)
            )
            naming.block_output_errors(name, spec, names, self.err)
            output = spec.get("outputs", [names[-1]])[0]
            self.defs[name] = BlockDef(
                name,
                spec.get("description", ""),
                tuple(sorted(params.items())),
                tuple(spec["inputs"]),
                nodes,
                output,
            )
        return self.defs[name]

    def __call__(self, graph: _Graph, i: int, layer: dict, pointer: str) -> tuple[BlockNode, bool]:
        name, kind = graph.names[i], layer["type"]
        if kind not in self.specs:
            graph.used.update(graph.refs[name])  # its inputs are not also "used by no layer"
            hint = nearest(kind, [*catalog.BY_SPELLING, *self.specs])
            self.err(
                f"{pointer}/type",
                f"unknown layer type or block {kind!r}"
                + (f"; did you mean {hint!r}?" if hint else ""),
            )
            return BlockNode(
                name, None, (), tuple(graph.refs[name]), (), shapes.Shape(()), pointer
            ), False
        block = self.definition(kind)
        defaults = dict(block.params)
        for key in layer:
            if key not in ("type", "name", "inputs") and key not in defaults:
                hint = nearest(key, list(defaults))
                self.err(
                    f"{pointer}/{key}",
                    f"block {kind!r} has no parameter {key!r}"
                    + (f"; did you mean {hint!r}?" if hint else ""),
                )
        values = {key: layer.get(key, default) for key, default in defaults.items()}
        args = tuple(sorted((k, freeze(v)) for k, v in values.items()))

        def node(inner: tuple = (), out: shapes.Shape | None = None) -> BlockNode:
            out = out or shapes.Shape(())
            return BlockNode(name, block, args, tuple(graph.refs[name]), inner, out, pointer)

        ok = _check_refs(graph, i, layer, pointer, self.err)
        count = len(graph.refs[name])
        if count != len(block.inputs):
            self.err(
                pointer, f"block {kind!r} takes {len(block.inputs)} input(s), received {count}"
            )
            ok = False
        if not ok or any(graph.dims.get(r) is None for r in graph.refs[name]):
            return node(), False
        base = f"/blocks/{kind}/layers"
        usage = f" (in block {kind!r}, used as {name!r})"
        errors_before = self._count
        inner_err = lambda where, message: self.err(where, message + usage)  # noqa: E731
        raw = []
        for j, inner in enumerate(self.specs[kind]["layers"]):
            concrete = _substitute(inner, values, f"{base}/{j}", inner_err, resolved=True)
            if concrete.get("type") not in catalog.BY_SPELLING:
                inner_err(
                    f"{base}/{j}/type",
                    f"a block's layers are catalog layers, received {concrete.get('type')!r}",
                )
                return node(), False
            for where, message, _ in layer_problems(concrete):
                inner_err(f"{base}/{j}{where}", message)
            raw.append(concrete)
        if self._count > errors_before:
            return node(), False
        dims = {
            alias: graph.dims[ref]
            for alias, ref in zip(block.inputs, graph.refs[name], strict=True)
        }
        inner = _resolve(raw, dims, base, set(), inner_err, self)
        out = next((n.out for n in inner.nodes if n.name == block.output), shapes.Shape(()))
        total = shapes.Shape(
            out.dims,
            sum(n.out.trainable for n in inner.nodes),
            sum(n.out.non_trainable for n in inner.nodes),
        )
        return node(tuple(inner.nodes), total), self._count == errors_before

    @property
    def _count(self) -> int:
        return self.err.count  # type: ignore[attr-defined]


class _Errors:
    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        self.found: list[SpecError] = []
        self.seen: set[SpecError] = set()

    def __call__(self, pointer: str, message: str) -> None:
        error = self.loaded.error(pointer, message)
        if error not in self.seen:  # one block used twice reports its own mistake once
            self.seen.add(error)
            self.found.append(error)

    @property
    def count(self) -> int:
        return len(self.found)


def build(loaded: Loaded) -> tuple[Model | None, list[SpecError]]:
    """Resolve references, expand blocks, infer shapes. Assumes `validate.check` passed."""
    data = loaded.data
    err = _Errors(loaded)
    inputs = tuple(
        InputNode(e["name"], tuple(e["shape"]), e.get("dtype", "float32"), f"/inputs/{i}")
        for i, e in enumerate(data["inputs"])
    )
    blocks = _Blocks(loaded, err)
    graph = _resolve(
        data["layers"],
        {e.name: e.dims for e in inputs},
        "/layers",
        # Block names are taken too: an unnamed use of block `b` is `b_1`, never a local `b`
        # that would shadow the helper function `b` in functional code.
        {e.name for e in inputs} | set(data.get("blocks", {})),
        err,
        blocks,
    )
    class_name = pascal_case(data["name"])
    if class_name in graph.names or class_name in {e.name for e in inputs}:
        err("/name", f"the model class {class_name!r} would clash with a layer or input name")
    outputs = tuple(data.get("outputs", [graph.names[-1]]))
    for j, ref in enumerate(outputs):
        if ref in graph.multi:
            err(
                f"/outputs/{j}",
                f"layer {ref!r} has {graph.multi[ref]} outputs; an output of"
                " the model is one tensor: pass it through a layer",
            )
        elif ref not in graph.names:
            hint = nearest(ref, graph.names)
            err(
                f"/outputs/{j}",
                f"unknown layer {ref!r}" + (f"; did you mean {hint!r}?" if hint else ""),
            )
    for node in graph.nodes:
        if node.name not in graph.used and node.name not in outputs:
            err(node.pointer, f"layer {node.name!r} feeds nothing; use it or list it in outputs")
    for node in inputs:
        if node.name not in graph.used:
            err(node.pointer, f"input {node.name!r} is not used by any layer")
    for name in data.get("blocks", {}):
        if name not in blocks.defs:
            err(f"/blocks/{name}", f"block {name!r} is never used")
    naming.check(data, graph.nodes, [e.name for e in inputs], err)
    strings.check(inputs, graph.nodes, blocks.defs.values(), err, trains="training" in data)
    if err.found:
        return None, err.found
    model = Model(
        name=data["name"],
        description=data.get("description", ""),
        seed=data.get("seed"),
        inputs=inputs,
        layers=tuple(graph.nodes),
        blocks=tuple(blocks.defs.values()),
        outputs=outputs,
        training=freeze(data.get("training")),
        spec_sha256=spec_hash(data),
        model_sha256=model_hash(data),
        file=loaded.file,
        source=loaded.source,
        output_structure=data.get("output_structure", "dict"),
    )
    return model, []

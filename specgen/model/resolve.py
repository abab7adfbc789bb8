"""Stage 3 (continued): one graph's layers into IR nodes with inferred shapes.

A catalog layer becomes a `LayerNode`, a layer or block called again a `CallNode`; a block's
use is made by the callable `make_block` (`blocks.Blocks`), which resolves its inner graph
through `resolve` again.
"""

from __future__ import annotations

import unicodedata
from keyword import iskeyword

from .. import catalog
from ..catalog import allow_import as custom
from ..catalog import outputs as multi
from ..catalog import shapes
from ..spec.validation import nearest
from .ir import CallNode, LayerNode, base_name, freeze, shared_variable
from .references import Graph, Report, auto_names, check_refs, references


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


def _recurrent_shape(kind: catalog.LayerKind, args: dict, dims: list) -> shapes.Shape:
    """A layer's shape rule; a recurrent layer's extra inputs are its initial state."""
    if len(dims) > 1 and multi.state_dims(kind.name, args) is not None:
        multi.check_initial_state(kind.name, args, dims[1:])
        dims = dims[:1]
    return kind.shape(args, dims)


def _outputs(graph: Graph, name: str, kind: str, args: dict, out: shapes.Shape) -> None:
    """`name:k` for each output of a layer with several."""
    found = multi.output_dims(kind, args, out.dims)
    if found:
        graph.multi[name] = len(found)
        graph.dims.update({f"{name}:{k}": dims for k, dims in enumerate(found)})


def _call_node(graph: Graph, i: int, layer: dict, pointer: str, err: Report, make_block):
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
        ok = check_refs(graph, i, layer, pointer, err)
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
    graph: Graph, i: int, layer: dict, pointer: str, err: Report
) -> tuple[LayerNode, bool]:
    name = graph.names[i]
    kind = catalog.BY_SPELLING[layer["type"]]
    ok = check_refs(graph, i, layer, pointer, err)
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
            if layer.get("trainable") is False and not layer.get("unfreeze"):
                # a frozen layer: every weight non-trainable (an Application's `unfreeze`
                # names the layers that train: its shape rule counts them)
                out = shapes.Shape(out.dims, 0, out.trainable + out.non_trainable)
        except shapes.ShapeError as exc:
            err(pointer, f"layer {name!r} ({kind.name}): {exc}")
            ok = False
    return LayerNode(name, kind, layer["type"], args, tuple(graph.refs[name]), out, pointer), ok


def resolve(
    raw: list[dict],
    inputs: dict[str, shapes.Dims],
    base: str,
    taken: set[str],
    err: Report,
    make_block,
) -> Graph:
    names = auto_names(raw, taken | {layer["name"] for layer in raw if "name" in layer})
    graph = Graph(names, references(raw, names, list(inputs), base, err), dict(inputs))
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

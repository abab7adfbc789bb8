"""Stage 3 (continued): each use of a block expanded into its own resolved inner graph, its
parameters substituted and checked; the definition (with `ParamRef`s) kept once for emitting.
"""

from __future__ import annotations

from .. import catalog
from ..catalog import shapes
from ..spec.loader import Loaded
from ..spec.validation import layer_problems, nearest
from . import naming
from .ir import BlockDef, BlockNode, LayerNode, ParamRef, freeze
from .references import Graph, Report, auto_names, check_refs, references
from .resolve import resolve


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


class Blocks:
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
            names = auto_names(
                raw, set(spec["inputs"]) | {layer["name"] for layer in raw if "name" in layer}
            )
            refs = references(raw, names, list(spec["inputs"]), f"{base}/layers", lambda *_: None)
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

    def __call__(self, graph: Graph, i: int, layer: dict, pointer: str) -> tuple[BlockNode, bool]:
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
            if key not in ("type", "name", "inputs", "keras_name") and key not in defaults:
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
            return BlockNode(
                name,
                block,
                args,
                tuple(graph.refs[name]),
                inner,
                out,
                pointer,
                layer.get("keras_name"),
            )

        ok = check_refs(graph, i, layer, pointer, self.err)
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
        inner = resolve(raw, dims, base, set(), inner_err, self)
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

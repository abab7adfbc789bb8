"""Stage 3 (continued): the names and references of one graph (the model's, or a block's for
one use): default names, default inputs, and the check of every reference (unknown, later,
a cycle, a layer with several outputs named whole).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .. import catalog
from ..catalog import shapes
from ..spec.validation import nearest
from . import cycles
from .ir import base_name, snake_case

Report = Callable[[str, str], None]


def auto_names(layers: list[dict], taken: set[str]) -> list[str]:
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
class Graph:
    """What `resolve.resolve` learns about one graph (the model's, or a block's for one use)."""

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


def references(
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


def check_refs(graph: Graph, i: int, layer: dict, pointer: str, err: Report) -> bool:
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

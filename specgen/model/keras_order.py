"""The order in which Keras's Functional model lists a graph's layers, computed without Keras.

`model.layers`, `get_weights()` and the paths inside a `.weights.h5` file all follow this
order in a Functional model (keras/src/ops/function.py, `map_graph`). Every style emits its
layers in it, so the three styles create, list and save their layers identically.

Keras walks the graph depth-first from each output (outputs flattened, a dict in sorted key
order), numbering each layer when first reached; then gives each layer a depth (the longest
path to an output) and lists layers by decreasing depth, ties in numbering order. The result
is a topological order, so the generated code can also run in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def functional_order(
    parents: Mapping[str, Sequence[str]], inputs: Sequence[str], outputs: Sequence[str]
) -> list[str]:
    """Every input and layer name in Keras's order.

    `parents` maps each layer to the names it is called on, in call order; `inputs` are the
    model's inputs in spec order; `outputs` are the names flattened as Keras flattens them.
    """
    numbering: dict[str, int] = {}
    finished: list[str] = []  # post-order: every node after its parents
    done: set[str] = set()
    for output in outputs:
        # An explicit stack: a long chain would pass Python's recursion limit.
        stack = [(output, False)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                if name not in done:
                    done.add(name)
                    finished.append(name)
                continue
            if name in done:
                continue
            numbering.setdefault(name, len(numbering))
            stack.append((name, True))
            stack.extend((parent, False) for parent in reversed(parents.get(name, ())))
    depth: dict[str, int] = {}
    for name in reversed(finished):
        own = depth.setdefault(name, 0)
        for parent in parents.get(name, ()):
            depth[parent] = max(depth.get(parent, 0), own + 1)
    for name in inputs:  # an input no output depends on: depth 0, listed first among them
        if name not in depth:
            depth[name], numbering[name] = 0, -1
    return sorted(depth, key=lambda name: (-depth[name], numbering[name]))

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
    return graph_order(parents, inputs, outputs, {})[0]


def graph_order(
    parents: Mapping[str, Sequence[str]],
    inputs: Sequence[str],
    outputs: Sequence[str],
    owner: Mapping[str, str],
) -> tuple[list[str], list[str]]:
    """(layers in Keras's order, nodes in an order to run them) for a graph whose nodes may
    share a layer: `owner` maps a call node to the layer it calls again (a node absent from it
    is its own layer). As in Keras, a shared layer's depth is the largest of its nodes' depths
    and its numbering the first time any of its nodes is reached. Nodes run by decreasing
    depth, so each layer's first node comes in the layers' order (they are made in it)."""
    layer = lambda node: owner.get(node, node)  # noqa: E731
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
            numbering.setdefault(layer(name), len(numbering))
            stack.append((name, True))
            stack.extend((parent, False) for parent in reversed(parents.get(name, ())))
    depth: dict[str, int] = {}  # by node
    layer_depth: dict[str, int] = {}
    for name in reversed(finished):
        own = max(depth.setdefault(name, 0), layer_depth.get(layer(name), 0))
        depth[name] = layer_depth[layer(name)] = own
        for parent in parents.get(name, ()):
            depth[parent] = max(depth.get(parent, 0), own + 1)
    for name in inputs:  # an input no output depends on: depth 0, listed first among them
        if name not in depth:
            depth[name] = layer_depth[name] = 0
            numbering[name] = -1
    position = {name: i for i, name in enumerate(finished)}
    layers = sorted(layer_depth, key=lambda name: (-layer_depth[name], numbering[name]))
    nodes = sorted(depth, key=lambda n: (-depth[n], numbering[layer(n)], position.get(n, -1)))
    return layers, nodes

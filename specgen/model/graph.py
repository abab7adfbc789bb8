"""Stage 3 (continued): resolve a validated spec into the IR graph.

Default inputs, references and cycles (`references`), layer nodes and shape inference
(`resolve`), block expansion (`blocks`); here, what only the whole model can tell: its
outputs, layers that feed nothing, unused inputs and blocks, and the `Model` itself. The model
and every use of a block go through the same `resolve.resolve`.
"""

from __future__ import annotations

from ..spec.errors import SpecError
from ..spec.loader import Loaded
from ..spec.validation import nearest
from . import naming, strings
from .blocks import Blocks
from .ir import InputNode, Model, freeze, model_hash, pascal_case, spec_hash
from .resolve import resolve


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
        InputNode(
            e["name"],
            tuple(e["shape"]),
            e.get("dtype", "float32"),
            f"/inputs/{i}",
            e.get("keras_name"),
        )
        for i, e in enumerate(data["inputs"])
    )
    blocks = Blocks(loaded, err)
    graph = resolve(
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

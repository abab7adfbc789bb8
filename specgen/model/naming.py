"""One namespace per generated file: every identifier the templates print, checked together.

Like torch.fx's `_Namespace`, names are drawn from one table per scope that first reserves
Python keywords and builtins and the module's own globals (`keras`, `SEED`, `build_model`).
specgen does not rename silently (generated names are the spec's names, so code traces back
to the spec); what would collide is instead a validation error at the spec's place, so that a
spec that validates renders code that builds, in every style. The scopes:

- module (subclass style): the model class and one class per block, `PascalCase` of the
  snake_case names (`a_b` and `a__b` are both `AB`);
- module (functional style): one helper function per block, named like the block; the
  model's inputs and layers are locals of `build_model`, which calls those helpers;
- Keras layer names, unique in one model: inputs, layers, and `<use>_<inner layer>` for each
  layer of each block use (functional and sequential name inner layers that way).

Names inside one block (inputs, parameters, layers) and the reserved words for every name are
checked by `validate.name_errors`; this module checks the names that span scopes.
"""

from __future__ import annotations

import builtins
import keyword
import unicodedata
from collections.abc import Callable

from .ir import pascal_case

# Every global a generated module defines or imports (see the templates' module prologue).
MODULE_GLOBALS = frozenset(
    """
    build_model contextlib from_spec_config in_spec_order InferenceSequential keras
    MODEL_SHA256 random SEED seeded set_trainable symbolic_inputs
    """.split()
)
Report = Callable[[str, str], None]


class Namespace:
    """Names claimed in one scope; a second claim of a name reports both owners."""

    def __init__(self, what: str, reserved: frozenset[str] = frozenset()):
        self.what = what
        self.reserved = reserved
        self.owners: dict[str, str] = {}

    def claim(self, name: str, owner: str, pointer: str, err: Report) -> None:
        """Names are compared as Python compares identifiers: after NFKC normalization."""
        normal = unicodedata.normalize("NFKC", name)
        if normal in self.reserved:
            err(pointer, f"{owner} becomes {self.what} {name!r}, which is reserved")
        elif normal in self.owners:
            err(pointer, f"{owner} becomes {self.what} {name!r}, as does {self.owners[normal]}")
        else:
            self.owners[normal] = owner


_CLASS_RESERVED = (
    MODULE_GLOBALS
    | frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset(dir(builtins))
)


def check(data: dict, nodes: list, input_names: list[str], err: Report) -> None:
    """Cross-scope collisions of a spec whose graph resolved (`nodes` are the model's nodes)."""
    blocks = data.get("blocks", {})
    classes = Namespace("the class", _CLASS_RESERVED)
    classes.claim(pascal_case(data["name"]), f"model {data['name']!r}", "/name", err)
    for block in sorted(blocks):
        classes.claim(pascal_case(block), f"block {block!r}", f"/blocks/{block}", err)

    # Functional style: build_model's locals must not shadow the block helpers it calls.
    for i, name in enumerate(input_names):
        if name in blocks:
            err(f"/inputs/{i}/name", f"input {name!r} has the name of block {name!r}")
    for node in nodes:
        if node.name in blocks:
            err(node.pointer, f"layer {node.name!r} has the name of block {node.name!r}")

    keras_names = Namespace("the Keras layer name")
    for i, entry in enumerate(data["inputs"]):  # a renamed import's Input: its `keras_name`
        where = f"/inputs/{i}/" + ("keras_name" if "keras_name" in entry else "name")
        keras_names.claim(
            entry.get("keras_name", input_names[i]), f"input {input_names[i]!r}", where, err
        )
    for node in nodes:  # a renamed import is known to Keras by its `keras_name`
        keras_name = getattr(node, "keras_name", None) or node.name
        keras_names.claim(keras_name, f"layer {node.name!r}", node.pointer, err)
    for node in nodes:
        for inner in getattr(node, "inner", ()):
            full = f"{node.name}_{inner.name}"
            owner = f"layer {inner.name!r} of block use {node.name!r}"
            keras_names.claim(full, owner, node.pointer, err)

    outputs = data.get("outputs", [])
    for j, ref in enumerate(outputs):
        if ref in outputs[:j]:
            err(f"/outputs/{j}", f"output {ref!r} is listed twice")


def block_output_errors(name: str, spec: dict, layer_names: list[str], err: Report) -> None:
    """A block's declared output must be one of its own layers."""
    for j, ref in enumerate(spec.get("outputs", [])):
        if ref not in layer_names:
            hint = ", ".join(repr(n) for n in layer_names[:5])
            err(
                f"/blocks/{name}/outputs/{j}",
                f"block {name!r} has no layer {ref!r}; its layers are {hint}",
            )

"""Stage 3: a validated spec -> a frozen graph of layer nodes with inferred shapes.

The IR owns every fact the templates print (constructor calls, names, shapes), so templates
stay declarative and spec text reaches code only through `literal()` (`code.py`); the nodes
live in `nodes.py`, the model here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..spec.errors import SpecError
from ..spec.loader import SourceMap
from .code import (  # noqa: F401 - the IR's vocabulary, used as `ir.<name>`
    ParamRef,
    argument,
    base_name,
    constructor,
    literal,
    pascal_case,
    private_attribute,
    shared_variable,
    snake_case,
    tensor,
)
from .keras_order import graph_order
from .nodes import (  # noqa: F401
    BlockDef,
    BlockNode,
    CallNode,
    InputNode,
    LayerNode,
    inference_argument,
)


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    seed: int | None
    inputs: tuple[InputNode, ...]
    layers: tuple[LayerNode | BlockNode, ...]
    blocks: tuple[BlockDef, ...]
    outputs: tuple[str, ...]
    training: Mapping | None
    spec_sha256: str  # the whole spec: the training script's
    model_sha256: str  # what builds the model (model_hash): the model modules'
    file: str
    source: SourceMap = field(compare=False, repr=False)
    output_structure: str = "dict"

    def error(self, pointer: str, message: str) -> SpecError:
        return SpecError(self.file, *self.source.locate(pointer), pointer, message)

    @property
    def class_name(self) -> str:
        return pascal_case(self.name)

    @property
    def imports(self) -> tuple[str, ...]:
        """Modules of allowed custom layers, and of Keras's own helper layers outside
        keras.layers (catalog entries, no opt-in), imported after `import keras`."""
        nodes = [*self.layers, *(n for b in self.blocks for n in b.layers)]
        built = [n for n in nodes if n.owner == n.name and not n.is_block]
        custom = {
            dict(n.args)["class"].rpartition(".")[0] for n in built if n.kind.name == "CustomLayer"
        }
        helpers = {n.kind.module for n in built if not n.kind.op} - {"keras.layers"}
        return tuple(sorted(custom | helpers))

    @property
    def sets_trainable(self) -> bool:
        """A pretrained backbone is frozen or partly unfrozen: the module defines
        `set_trainable`."""
        nodes = [*self.layers, *(n for b in self.blocks for n in b.layers)]
        return any(
            n.owner == n.name
            and not n.is_block
            and n.kind.name == "Application"
            and ("trainable" in dict(n.args) or "unfreeze" in dict(n.args))
            for n in nodes
        )

    @property
    def params(self) -> tuple[int, int]:
        return (
            sum(n.out.trainable for n in self.layers),
            sum(n.out.non_trainable for n in self.layers),
        )

    @property
    def single_input(self) -> bool:
        return len(self.inputs) == 1

    def structure(self, names, var=lambda name: name) -> str:
        """One tensor as itself; several as a dict keyed by name (inputs and outputs alike)."""
        if len(names) == 1:
            return var(names[0])
        return "{" + ", ".join(f"{literal(n)}: {var(n)}" for n in names) + "}"

    @property
    def trains_by_default(self) -> bool:
        """A layer of the model itself trains when called without `training` (see
        LayerKind.trains_by_default): the Sequential style then defaults to inference."""
        return any(node.trains_by_default for node in self.layers)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.inputs)

    @property
    def input_keys(self) -> tuple[str, ...]:
        """The keys of the dict every style is called with: each Input's Keras name."""
        return tuple(e.key for e in self.inputs)

    def _order(self) -> tuple[list[str], list[str]]:
        parents = {node.name: [base_name(r) for r in node.inputs] for node in self.layers}
        owner = {node.name: node.owner for node in self.layers if node.owner != node.name}
        flat = self.outputs
        if len(self.outputs) > 1 and self.output_structure == "dict":
            flat = tuple(sorted(self.outputs))  # Keras flattens a dict in sorted key order
        return graph_order(parents, self.input_names, flat, owner)

    @property
    def keras_layers(self) -> tuple[LayerNode | BlockNode, ...]:
        """The layers in the order Keras's Functional model lists them (see keras_order).

        Every style creates, calls and tracks its layers in this order, so `get_weights()`,
        `.weights.h5` paths and the seeds each layer draws agree between the styles. A call of
        a layer again (a call node) is not a layer: it uses its target's weights.
        """
        by_name = {node.name: node for node in self.layers if node.owner == node.name}
        return tuple(by_name[name] for name in self._order()[0] if name in by_name)

    @property
    def keras_nodes(self) -> tuple:
        """Every layer node and call node, in an order to run them: each layer's first call
        comes in `keras_layers` order."""
        by_name = {node.name: node for node in self.layers}
        return tuple(by_name[name] for name in self._order()[1] if name in by_name)

    @property
    def functional_steps(self) -> tuple[tuple[str, str], ...]:
        """(variable, expression) lines of the functional style's build_model(). A layer that
        is called again is made once into `<name>_layer` and then called."""
        shared = {node.owner for node in self.layers if node.owner != node.name}
        made: set[str] = set()
        steps = []
        for node in self.keras_nodes:
            if node.owner not in shared:
                steps.append((node.name, node.functional_expr))
                continue
            target = node.target if node.owner != node.name else node
            if node.owner not in made:
                made.add(node.owner)
                steps.append((shared_variable(node.owner), target.constructor))
            call = f"{shared_variable(node.owner)}({node.call_args()}{inference_argument(node)})"
            steps.append((node.name, call))
        return tuple(steps)

    @property
    def outputs_code(self) -> str:
        """The model's outputs: one tensor, a dict by name, or a list (as imported)."""
        if len(self.outputs) > 1 and self.output_structure == "list":
            return f"[{', '.join(self.outputs)}]"
        return self.structure(self.outputs)

    @property
    def input_structure(self) -> str:
        """How every style takes several inputs: a list in spec order (or a dict by name)."""
        names = self.input_names
        return names[0] if len(names) == 1 else f"[{', '.join(names)}]"

    @property
    def symbolic_inputs(self) -> str:
        """`keras.Input(...)` for each input, structured as the model is called."""
        if self.single_input:
            return self.inputs[0].constructor
        return "[" + ", ".join(e.constructor for e in self.inputs) + "]"

    @property
    def export_needs_signature(self) -> bool:
        """Keras exports a subclassed model with `model.input_dtype` (float32) for every
        input, so a model with another input dtype passes its own signature."""
        return any(e.dtype != "float32" for e in self.inputs)

    @property
    def build_inputs(self) -> str:
        """Inside the subclass's build(): symbolic tensors from `input_shape`."""
        if self.single_input:
            return f"keras.KerasTensor(input_shape{self.inputs[0].dtype_arg})"
        tensors = ", ".join(
            f"keras.KerasTensor(shapes[{i}]{e.dtype_arg})" for i, e in enumerate(self.inputs)
        )
        return f"[{tensors}]"

    def chain_break(self) -> tuple[str, str] | None:
        """Why this graph is not a Sequential chain, as (pointer, message); None when it is."""
        if len(self.inputs) != 1:
            return "/inputs", f"a Sequential model has one input; this spec has {len(self.inputs)}"
        previous = self.inputs[0].name
        for node in self.layers:
            if node.owner != node.name:
                return (
                    node.pointer,
                    f"{node.name!r} calls layer {node.owner!r} again; a Sequential model"
                    " calls each layer once: use --style functional or subclass",
                )
            if node.is_op:
                return (
                    node.pointer,
                    f"{node.name!r} is an operation ({node.kind.name}), not a layer; a"
                    " Sequential model holds layers only: use --style functional or subclass",
                )
            if node.inputs != (previous,):
                got = ", ".join(node.inputs)
                return (
                    node.pointer,
                    f"layer {node.name!r} breaks the chain: it takes ({got}), not the output of"
                    f" {previous!r} alone; use --style functional or subclass",
                )
            previous = node.name
        if self.outputs != (previous,):
            return "/outputs", "a Sequential model outputs its last layer only"
        return None


def spec_hash(data: dict) -> str:
    """sha256 of the spec's canonical JSON, so key order and whitespace do not matter."""
    return _canonical_hash({k: v for k, v in data.items() if k != "$schema"})


# Top-level keys that do not build the model: a model module's hash leaves them out, so an
# edit of the training block (or the prose) keeps the modules and saved models as they were.
NOT_MODEL = frozenset({"$schema", "training", "description"})


def model_hash(data: dict) -> str:
    """sha256 of what builds the model: inputs, layers, blocks, outputs, seed, name (every
    top-level key but NOT_MODEL's, so a key added later counts until said otherwise)."""
    return _canonical_hash({k: v for k, v in data.items() if k not in NOT_MODEL})


def _canonical_hash(body: dict) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def freeze(value):
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value

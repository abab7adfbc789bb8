"""Stage 3: a validated spec -> a frozen graph of layer nodes with inferred shapes.

The IR owns every fact the templates print (constructor calls, names, shapes), so templates
stay declarative and spec text reaches code only through `literal()`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .. import catalog
from ..catalog import shapes
from ..spec.errors import SpecError
from ..spec.loader import SourceMap
from .keras_order import functional_order


def literal(value: object) -> str:
    """A Python literal for a JSON value: the only way spec data becomes code."""
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, Mapping):
        # Sorted: the spec's key order must not change the output.
        pairs = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in sorted(value.items()))
        return "{" + pairs + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


@dataclass(frozen=True)
class ParamRef:
    """`{"param": "width"}` inside a block: the block's parameter, a validated identifier."""

    name: str


def argument(arg: catalog.Arg, value: object) -> str:
    """A constructor argument: a literal, or for object forms a call of an allowlisted class."""
    if isinstance(value, ParamRef):
        return value.name
    if arg.kind == "layer":
        inner = catalog.BY_SPELLING[value["type"]]
        return constructor(inner, value["type"], {k: v for k, v in value.items() if k != "type"})
    if arg.kind in catalog.OBJECT_MODULES and isinstance(value, Mapping):
        # value["type"] passed the schema's closed enum of class names; arguments are literals.
        kwargs = ", ".join(f"{k}={literal(v)}" for k, v in sorted(value.items()) if k != "type")
        return f"keras.{catalog.OBJECT_MODULES[arg.kind]}.{value['type']}({kwargs})"
    return literal(value)


def constructor(
    kind: catalog.LayerKind,
    spelling: str,
    given: dict,
    name: str | None = None,
) -> str:
    if kind.name == "CustomLayer":
        return _custom_constructor(given, name)
    parts = [argument(a, given[a.name]) for a in kind.args if a.positional and a.name in given]
    parts += [
        f"{a.name}={argument(a, given[a.name])}"
        for a in kind.args
        if not a.positional and a.name in given
    ]
    if name is not None:
        parts.append(f"name={literal(name)}")
    return f"keras.layers.{spelling}({', '.join(parts)})"


_PLAIN = catalog.Arg("config", {})  # a config value: a literal, or a block parameter


def _custom_constructor(given: dict, name: str | None) -> str:
    """`mypkg.layers.Scale(factor=2.0, name=...)`: the path passed the schema's dotted-name
    pattern and the allowlist (graph.py); config keys are checked identifiers."""
    config = given.get("config") or {}
    if isinstance(config, ParamRef):  # a block parameter holding the whole config
        parts = [f"**{config.name}"]
    else:
        parts = [f"{key}={argument(_PLAIN, value)}" for key, value in sorted(config.items())]
    parts += [f"{key}={literal(given[key])}" for key in ("trainable", "dtype") if key in given]
    if name is not None:
        parts.append(f"name={literal(name)}")
    return f"{given['class']}({', '.join(parts)})"


def private_attribute(name: str) -> str:
    """`__name`: Python mangles it to `_<Class>__name`, so no layer name can shadow Keras's own
    attributes, private ones included; Keras saves private layers under `layers/`, as in a
    Functional model. A name ending in `__` would not be mangled, so it gets a suffix."""
    return f"__{name}" + ("layer" if name.endswith("__") else "")


def snake_case(name: str) -> str:
    """Keras's own rule (keras.src.utils.naming.to_snake_case) for default layer names."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class InputNode:
    name: str
    dims: shapes.Dims
    dtype: str
    pointer: str

    @property
    def shape(self) -> str:
        return literal(list(self.dims))

    @property
    def batch_shape(self) -> str:
        return literal([None, *self.dims])

    @property
    def dtype_arg(self) -> str:
        return "" if self.dtype == "float32" else f", dtype={literal(self.dtype)}"

    @property
    def constructor(self) -> str:
        return f"keras.Input(shape={self.shape}{self.dtype_arg}, name={literal(self.name)})"


@dataclass(frozen=True)
class LayerNode:
    name: str
    kind: catalog.LayerKind
    spelling: str
    args: tuple[tuple[str, object], ...]
    inputs: tuple[str, ...]
    out: shapes.Shape
    pointer: str

    @property
    def constructor(self) -> str:
        return constructor(self.kind, self.spelling, dict(self.args), self.name)

    def call_args(self, var=lambda name: name) -> str:
        names = [var(name) for name in self.inputs]
        return f"[{', '.join(names)}]" if self.kind.call == "list" else ", ".join(names)

    @property
    def is_op(self) -> bool:
        return self.kind.op

    def op_expr(self, var=lambda name: name, params: str = "") -> str:
        """`keras.ops.add(x, 3.0)`: tensors from inputs, a literal operand in its place.
        In a block layer's call(), a parameter is an attribute: `params="self."`."""
        given = dict(self.args)
        operands = [var(name) for name in self.inputs]
        for key, at in (("x1", 0), ("x2", len(operands) + 1)):
            if key in given:
                value = given[key]
                code = params + value.name if isinstance(value, ParamRef) else literal(value)
                operands.insert(at, code)
        return f"keras.{self.kind.name}({', '.join(operands)})"

    @property
    def functional_expr(self) -> str:
        if self.is_op:
            return self.op_expr()
        # A layer that trains by default is told it is not training: a Functional model
        # passes `training` on only when its caller gives one (fit() does), so model(x)
        # infers as predict() does; the node keeps the argument in .keras files.
        inference = ", training=False" if self.kind.trains_by_default else ""
        return f"{self.constructor}({self.call_args()}{inference})"

    @property
    def takes_training(self) -> bool:
        return self.kind.training

    @property
    def trains_by_default(self) -> bool:
        return self.kind.trains_by_default

    @property
    def attribute(self) -> str:
        """The subclass model's private attribute (see private_attribute)."""
        return private_attribute(self.name)

    @property
    def is_block(self) -> bool:
        return False

    @property
    def type_name(self) -> str:
        return self.kind.name

    @property
    def params(self) -> int:
        return self.out.trainable + self.out.non_trainable


@dataclass(frozen=True)
class BlockDef:
    """A block as written once: emitted as one registered Layer subclass in every style."""

    name: str
    description: str
    params: tuple[tuple[str, object], ...]  # (name, default)
    inputs: tuple[str, ...]
    layers: tuple[LayerNode, ...]  # arguments may hold ParamRef
    output: str

    @property
    def class_name(self) -> str:
        return pascal_case(self.name)

    @property
    def takes_training(self) -> bool:
        return any(node.kind.training for node in self.layers)

    @property
    def params_signature(self) -> str:
        """`, width=16, ...` after the leading parameter; empty without parameters."""
        return "".join(f", {name}={literal(default)}" for name, default in self.params)

    @property
    def config_update(self) -> str:
        """The parameters, and the model's hash that from_config checks."""
        pairs = [f"{literal(name)}: self.{name}" for name, _ in self.params]
        return "{" + ", ".join([*pairs, '"model_sha256": MODEL_SHA256']) + "}"

    @property
    def build_symbolic(self) -> str:
        if len(self.inputs) == 1:
            return "keras.KerasTensor(input_shape)"
        return "[keras.KerasTensor(shape) for shape in input_shape]"

    @property
    def unpack_inputs(self) -> str:
        """How call() / the helper names its inputs: `x = inputs` or `a, b = inputs`."""
        return f"{', '.join(self.inputs)} = inputs"


@dataclass(frozen=True)
class BlockNode:
    """One use of a block in the model's graph."""

    name: str
    block: BlockDef
    args: tuple[tuple[str, object], ...]  # every parameter, resolved
    inputs: tuple[str, ...]
    inner: tuple[LayerNode, ...]  # the block's layers with this use's values
    out: shapes.Shape
    pointer: str

    @property
    def kwargs(self) -> str:
        return "".join(f"{name}={literal(value)}, " for name, value in self.args)

    @property
    def constructor(self) -> str:
        return f"{self.block.class_name}({self.kwargs}name={literal(self.name)})"

    def call_args(self, var=lambda name: name) -> str:
        names = [var(name) for name in self.inputs]
        return names[0] if len(names) == 1 else f"[{', '.join(names)}]"

    @property
    def functional_expr(self) -> str:
        return f"{self.constructor}({self.call_args()})"

    @property
    def takes_training(self) -> bool:
        return self.block.takes_training

    @property
    def trains_by_default(self) -> bool:
        return False  # its call() passes `training` on to its layers, None as None

    @property
    def is_op(self) -> bool:
        return False

    @property
    def attribute(self) -> str:
        """The subclass model's private attribute (see private_attribute)."""
        return private_attribute(self.name)

    @property
    def is_block(self) -> bool:
        return True

    @property
    def type_name(self) -> str:
        return self.block.class_name

    @property
    def params(self) -> int:
        return self.out.trainable + self.out.non_trainable


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

    def error(self, pointer: str, message: str) -> SpecError:
        return SpecError(self.file, *self.source.locate(pointer), pointer, message)

    @property
    def class_name(self) -> str:
        return pascal_case(self.name)

    @property
    def imports(self) -> tuple[str, ...]:
        """Modules of allowed custom layers, imported after `import keras`."""
        nodes = [*self.layers, *(n for b in self.blocks for n in b.layers)]
        return tuple(
            sorted(
                {
                    dict(n.args)["class"].rpartition(".")[0]
                    for n in nodes
                    if not n.is_block and n.kind.name == "CustomLayer"
                }
            )
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
    def keras_layers(self) -> tuple[LayerNode | BlockNode, ...]:
        """The layers in the order Keras's Functional model lists them (see keras_order).

        Every style creates, calls and tracks its layers in this order, so `get_weights()`,
        `.weights.h5` paths and the seeds each layer draws agree between the styles.
        """
        parents = {node.name: node.inputs for node in self.layers}
        flat_outputs = sorted(self.outputs) if len(self.outputs) > 1 else self.outputs
        order = functional_order(parents, self.input_names, flat_outputs)
        by_name = {node.name: node for node in self.layers}
        return tuple(by_name[name] for name in order if name in by_name)

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

"""The IR's nodes: inputs, layers (and operations), block definitions and uses, and calls of a
layer again. Each owns the facts the templates print for it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import catalog
from ..catalog import ops as ops_catalog
from ..catalog import outputs as multi
from ..catalog import shapes
from .code import (
    ParamRef,
    constructor,
    literal,
    pascal_case,
    private_attribute,
    shared_variable,
    tensor,
)


@dataclass(frozen=True)
class InputNode:
    name: str
    dims: shapes.Dims
    dtype: str
    pointer: str
    keras_name: str | None = None  # the Keras name of a renamed import's input

    @property
    def key(self) -> str:
        """The Input's Keras name: a Functional model called with a dict reads this key."""
        return self.keras_name or self.name

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
        return f"keras.Input(shape={self.shape}{self.dtype_arg}, name={literal(self.key)})"


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

    @property
    def keras_name(self) -> str | None:
        """The Keras name of a renamed import (its `name=`), where it is not `name`."""
        return dict(self.args).get("keras_name")

    def call_args(self, var=tensor) -> str:
        names = [var(name) for name in self.inputs]
        if self.kind.call == "list":
            return f"[{', '.join(names)}]"
        if len(names) > 1 and multi.state_dims(self.kind.name, dict(self.args)) is not None:
            return f"{names[0]}, initial_state=[{', '.join(names[1:])}]"
        return ", ".join(names)

    @property
    def owner(self) -> str:
        """The layer whose weights this node uses: itself (a call node names another)."""
        return self.name

    @property
    def outputs(self) -> int:
        """How many tensors a call returns (an LSTM with return_state: 3)."""
        found = multi.output_dims(self.kind.name, dict(self.args), self.out.dims)
        return len(found) if found else 1

    @property
    def is_op(self) -> bool:
        return self.kind.op

    def op_expr(self, var=tensor, params: str = "") -> str:
        """`keras.ops.add(x, 3.0)`, `keras.ops.mean(x, axis=1)`, `x[:, 1:3]`: tensors from
        inputs, a literal operand in its place, other arguments as keywords (their names are
        the catalog's). In a block layer's call(), a parameter is an attribute: `params="self."`."""
        given = dict(self.args)

        def code(value) -> str:
            return params + value.name if isinstance(value, ParamRef) else literal(value)

        tensors = [var(name) for name in self.inputs]
        form = ops_catalog.FORMS.get(self.kind.name)
        if form == "item":
            return f"{tensors[0]}[{ops_catalog.key_code(given['key'])}]"
        if form == "list":
            operands = [f"[{', '.join(tensors)}]"]
        elif form == "einsum":
            operands = [code(given["subscripts"]), *tensors]
        else:
            operands = list(tensors)
            for key, at in (("x1", 0), ("x2", len(operands) + 1)):
                if key in given:
                    operands.insert(at, code(given[key]))
        operands += [
            f"{a.name}={code(given[a.name])}"
            for a in self.kind.args
            if a.name in given and a.name not in ops_catalog.NOT_KEYWORDS
        ]
        return f"keras.{self.kind.name}({', '.join(operands)})"

    @property
    def functional_expr(self) -> str:
        if self.is_op:
            return self.op_expr()
        return f"{self.constructor}({self.call_args()}{inference_argument(self)})"

    @property
    def takes_training(self) -> bool:
        return self.kind.training

    @property
    def trains_by_default(self) -> bool:
        return self.kind.trains_by_default

    @property
    def attribute(self) -> str:
        """The subclass model's attribute for this layer (see private_attribute)."""
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
    keras_name: str | None = None  # the Keras name of a renamed import (a nested model's)

    @property
    def kwargs(self) -> str:
        return "".join(f"{name}={literal(value)}, " for name, value in self.args)

    @property
    def constructor(self) -> str:
        name = self.keras_name or self.name
        return f"{self.block.class_name}({self.kwargs}name={literal(name)})"

    def call_args(self, var=tensor) -> str:
        names = [var(name) for name in self.inputs]
        return names[0] if len(names) == 1 else f"[{', '.join(names)}]"

    @property
    def owner(self) -> str:
        return self.name

    @property
    def outputs(self) -> int:
        return 1

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
        """The subclass model's attribute for this layer (see private_attribute)."""
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
class CallNode:
    """`{"name": "right_code", "call": "encoder", "inputs": ["right"]}`: the layer (or block
    use) `encoder` called again on other tensors, with the same weights. It makes nothing."""

    name: str
    target: LayerNode | BlockNode
    inputs: tuple[str, ...]
    out: shapes.Shape  # no weights of its own
    pointer: str

    @property
    def owner(self) -> str:
        return self.target.name

    @property
    def outputs(self) -> int:
        return self.target.outputs

    def call_args(self, var=tensor) -> str:
        return replace(self.target, inputs=self.inputs).call_args(var)

    @property
    def functional_expr(self) -> str:
        return f"{shared_variable(self.owner)}({self.call_args()}{inference_argument(self)})"

    @property
    def takes_training(self) -> bool:
        return self.target.takes_training

    @property
    def trains_by_default(self) -> bool:
        return self.target.trains_by_default

    @property
    def is_op(self) -> bool:
        return False

    @property
    def is_block(self) -> bool:
        return self.target.is_block

    @property
    def kind(self) -> catalog.LayerKind:
        return self.target.kind  # a layer's (is_block is False)

    @property
    def args(self) -> tuple:
        return self.target.args

    @property
    def attribute(self) -> str:
        return self.target.attribute

    @property
    def type_name(self) -> str:
        return self.target.type_name

    @property
    def params(self) -> int:
        return 0


def inference_argument(node) -> str:
    """A layer that trains by default is told it is not training: a Functional model passes
    `training` on only when its caller gives one (fit() does), so model(x) infers as
    predict() does; the node keeps the argument in .keras files."""
    return ", training=False" if node.trains_by_default else ""

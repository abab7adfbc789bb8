"""The layer catalog: the one place that says which Keras layers a spec may use.

Each entry names a `keras.layers` class, its JSON-valued constructor arguments (as JSON Schema
fragments), which of them Keras's own docs pass positionally, and its shape rule. The JSON
Schema in `schemas/`, validation, shape inference and the templates all draw on this table, so
adding a layer is one entry here, one rule in `shapes.py`, and its test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from . import shapes

# Closed allowlists: spec text selects among these names and nothing else.
ACTIVATIONS = (
    "celu elu exponential gelu glu hard_sigmoid hard_silu hard_swish leaky_relu linear"
    " log_softmax mish relu relu6 selu sigmoid silu softmax softplus softsign swish tanh"
).split()
INITIALIZERS = (
    "constant glorot_normal glorot_uniform he_normal he_uniform identity lecun_normal"
    " lecun_uniform ones orthogonal random_normal random_uniform truncated_normal"
    " variance_scaling zeros"
).split()
REGULARIZERS = ["l1", "l2", "l1_l2", "orthogonal_regularizer"]
CONSTRAINTS = ["max_norm", "min_max_norm", "non_neg", "unit_norm"]


def _named(title: str, names: list[str], *, nullable: bool = False) -> dict:
    return {"title": title, "enum": [*names, None] if nullable else list(names)}


ACTIVATION = _named("activation", ACTIVATIONS, nullable=True)
BOOL = {"type": "boolean"}
POS_INT = {"type": "integer", "minimum": 1}
FLOAT = {"type": "number"}
SEED = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
PADDING = _named("padding", ["valid", "same"])
RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}


def int_tuple(rank: int) -> dict:
    return {
        "title": f"a positive integer or a list of {rank}",
        "anyOf": [POS_INT, {"type": "array", "items": POS_INT, "minItems": rank, "maxItems": rank}],
    }


@dataclass(frozen=True)
class Arg:
    name: str
    schema: Mapping
    required: bool = False
    positional: bool = False  # passed positionally, as the Keras docs write it


@dataclass(frozen=True)
class LayerKind:
    name: str
    args: tuple[Arg, ...]
    shape: Callable[[dict, list[shapes.Dims]], shapes.Shape]
    aliases: tuple[str, ...] = ()
    # "one": layer(x); "list": layer([a, b]) for merges.
    call: str = "one"
    min_inputs: int = 1
    # Passed `training=` in subclassed call(): behaves differently in training.
    training: bool = False
    defaults: Mapping = field(default_factory=dict)

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def arg(self, name: str) -> Arg:
        return next(a for a in self.args if a.name == name)


def _weights(*prefixes: str) -> tuple[Arg, ...]:
    args = []
    for prefix in prefixes:
        args += [
            Arg(f"{prefix}_initializer", _named("initializer", INITIALIZERS)),
            Arg(f"{prefix}_regularizer", _named("regularizer", REGULARIZERS, nullable=True)),
            Arg(f"{prefix}_constraint", _named("constraint", CONSTRAINTS, nullable=True)),
        ]
    return tuple(args)


_BIASED = (Arg("activation", ACTIVATION), Arg("use_bias", BOOL), *_weights("kernel", "bias"))
_ACTIVITY = (Arg("activity_regularizer", _named("regularizer", REGULARIZERS, nullable=True)),)


def _conv(rank: int) -> LayerKind:
    return LayerKind(
        f"Conv{rank}D",
        (
            Arg("filters", POS_INT, required=True, positional=True),
            Arg("kernel_size", int_tuple(rank), required=True, positional=True),
            Arg("strides", int_tuple(rank)),
            Arg("padding", PADDING),
            Arg("dilation_rate", int_tuple(rank)),
            Arg("groups", POS_INT),
            *_BIASED,
            *_ACTIVITY,
        ),
        shapes.conv(rank),
        aliases=(f"Convolution{rank}D",),
    )


def _pool(kind: str, rank: int) -> LayerKind:
    return LayerKind(
        f"{kind}Pooling{rank}D",
        (
            Arg("pool_size", int_tuple(rank), positional=True),
            Arg("strides", {"anyOf": [int_tuple(rank), {"type": "null"}]}),
            Arg("padding", PADDING),
        ),
        shapes.pool(rank),
        aliases=(f"{kind}Pool{rank}D",),
    )


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "Dense",
        (Arg("units", POS_INT, required=True, positional=True), *_BIASED, *_ACTIVITY),
        shapes.dense,
    ),
    LayerKind(
        "Activation",
        (Arg("activation", _named("activation", ACTIVATIONS), required=True, positional=True),),
        shapes.identity,
    ),
    LayerKind(
        "Dropout",
        (Arg("rate", RATE, required=True, positional=True), Arg("seed", SEED)),
        shapes.identity,
        training=True,
    ),
    LayerKind("Flatten", (), shapes.flatten),
    LayerKind(
        "BatchNormalization",
        (
            Arg("axis", {"type": "integer"}),
            Arg("momentum", {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}),
            Arg("epsilon", {"type": "number", "exclusiveMinimum": 0}),
            Arg("center", BOOL),
            Arg("scale", BOOL),
            *_weights("beta", "gamma"),
            Arg("moving_mean_initializer", _named("initializer", INITIALIZERS)),
            Arg("moving_variance_initializer", _named("initializer", INITIALIZERS)),
        ),
        shapes.batch_normalization,
        training=True,
    ),
    _conv(1),
    _conv(2),
    _conv(3),
    _pool("Max", 1),
    _pool("Max", 2),
    _pool("Max", 3),
    _pool("Average", 1),
    _pool("Average", 2),
    _pool("Average", 3),
)

BY_SPELLING: Mapping[str, LayerKind] = MappingProxyType(
    {spelling: kind for kind in LAYERS for spelling in kind.spellings}
)
# Keys every layer entry may carry besides its constructor arguments.
LAYER_KEYS = ("type", "name", "inputs")

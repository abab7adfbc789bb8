"""The catalog's building blocks: argument schemas, `Arg`, `LayerKind` and the closed allowlists.

Each family module (`catalog.py` for the core layers, `catalog_activations.py`,
`catalog_preprocessing.py`, `catalog_ops.py`) builds its entries from these; `catalog` joins
them into one table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import shapes

# Closed allowlists: spec text selects among these names and nothing else.
ACTIVATIONS = (
    "celu elu exponential gelu glu hard_sigmoid hard_silu hard_swish leaky_relu linear"
    " log_softmax mish relu relu6 selu sigmoid silu softmax softplus softsign swish tanh"
).split()
INITIALIZERS = (
    "glorot_normal glorot_uniform he_normal he_uniform identity lecun_normal"
    " lecun_uniform ones orthogonal random_normal random_uniform truncated_normal"
    " variance_scaling zeros"
).split()
REGULARIZERS = ["l1", "l2", "orthogonal_regularizer"]
CONSTRAINTS = ["max_norm", "min_max_norm", "non_neg", "unit_norm"]


INITIALIZER_CLASSES = {
    "Constant": ("value",),
    "GlorotNormal": ("seed",),
    "GlorotUniform": ("seed",),
    "HeNormal": ("seed",),
    "HeUniform": ("seed",),
    "Identity": ("gain",),
    "LecunNormal": ("seed",),
    "LecunUniform": ("seed",),
    "Ones": (),
    "Orthogonal": ("gain", "seed"),
    "RandomNormal": ("mean", "stddev", "seed"),
    "RandomUniform": ("minval", "maxval", "seed"),
    "TruncatedNormal": ("mean", "stddev", "seed"),
    "VarianceScaling": ("scale", "mode", "distribution", "seed"),
    "Zeros": (),
}
REGULARIZER_CLASSES = {
    "L1": ("l1",),
    "L2": ("l2",),
    "L1L2": ("l1", "l2"),
    "OrthogonalRegularizer": ("factor", "mode"),
}
CONSTRAINT_CLASSES = {
    "MaxNorm": ("max_value", "axis"),
    "MinMaxNorm": ("min_value", "max_value", "rate", "axis"),
    "NonNeg": (),
    "UnitNorm": ("axis",),
}
# Keras modules that the object forms name: {"type": "GlorotUniform", "seed": 1}.
OBJECT_MODULES = {
    "initializer": "initializers",
    "regularizer": "regularizers",
    "constraint": "constraints",
}
_OBJECT_ARG_SCHEMAS = {
    "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "mode": {"enum": ["fan_in", "fan_out", "fan_avg", "rows", "columns"]},
    "distribution": {"enum": ["truncated_normal", "untruncated_normal", "uniform"]},
    "axis": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
}


def _named(title: str, names: list[str], *, nullable: bool = False) -> dict:
    return {"title": title, "enum": [*names, None] if nullable else list(names)}


def _object_form(title: str, classes: dict[str, tuple[str, ...]]) -> dict:
    """`{"type": Class, args}`: each class takes only its own arguments."""
    return {
        "type": "object",
        "properties": {"type": {"title": f"{title} class", "enum": sorted(classes)}},
        "required": ["type"],
        "allOf": [
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {
                    "properties": {"type": {"const": name}}
                    | {arg: _OBJECT_ARG_SCHEMAS.get(arg, {"type": "number"}) for arg in args},
                    "additionalProperties": False,
                },
            }
            for name, args in sorted(classes.items())
        ],
    }


def _name_or_object(title: str, names: list[str], classes: dict, *, nullable: bool = False) -> dict:
    return {
        "title": f'{title} name or {{"type": ..., arguments}}',
        "anyOf": [_named(title, names, nullable=nullable), _object_form(title, classes)],
    }


# The name Keras knows a layer by when it is not an identifier (`mobilenetv2_0.35_96`, a name
# with dots or dashes): the spec's `name` is the code's identifier, `keras_name` the layer's
# `name=`, written as a string literal. Keras refuses `/` in a name; no control characters.
KERAS_NAME = {
    "title": "the layer's Keras name, where it is not an identifier",
    "type": "string",
    "maxLength": 256,
    "pattern": "^[^\\x00-\\x1f\\x7f/]+(?!\\n)$",
}
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
    # "initializer", "regularizer", "constraint": an object form becomes a constructor call;
    # "layer": a nested layer spec (Bidirectional's `layer`).
    kind: str | None = None


@dataclass(frozen=True)
class LayerKind:
    name: str
    args: tuple[Arg, ...]
    shape: Callable[[dict, list[shapes.Dims]], shapes.Shape]
    aliases: tuple[str, ...] = ()
    # "one": layer(x); "list": layer([a, b]) for merges; "positional": layer(query, value).
    call: str = "one"
    min_inputs: int = 1
    max_inputs: int | None = 1
    # Passed `training=` in subclassed call(): behaves differently in training.
    training: bool = False
    # Its call() defaults to `training=True` (Keras's augmentation layers): called without a
    # `training` argument, as a Functional or Sequential model calls it, it trains.
    trains_by_default: bool = False
    defaults: Mapping = field(default_factory=dict)
    # An operation node (`keras.ops.<name>`): called, never constructed; no weights.
    op: bool = False
    # The Keras module that defines the class: Keras's own helper layers of keras.applications
    # live outside keras.layers; generated code imports that module and constructs from it.
    module: str = "keras.layers"

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


INITIALIZER = _name_or_object("initializer", INITIALIZERS, INITIALIZER_CLASSES)
REGULARIZER = _name_or_object("regularizer", REGULARIZERS, REGULARIZER_CLASSES, nullable=True)
CONSTRAINT = _name_or_object("constraint", CONSTRAINTS, CONSTRAINT_CLASSES, nullable=True)


def weights(*prefixes: str) -> tuple[Arg, ...]:
    args = []
    for prefix in prefixes:
        args += [
            Arg(f"{prefix}_initializer", INITIALIZER, kind="initializer"),
            Arg(f"{prefix}_regularizer", REGULARIZER, kind="regularizer"),
            Arg(f"{prefix}_constraint", CONSTRAINT, kind="constraint"),
        ]
    return tuple(args)


_weights = weights  # the core module's spelling

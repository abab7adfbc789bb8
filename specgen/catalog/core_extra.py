"""Core layers beyond the core module's (keras/src/layers/core): Identity and Masking, which
pass their input through (Masking also sets a mask), and ReversibleEmbedding, called forward
as an Embedding. Each entry sits beside its shape rule.

Not catalogued on purpose: Lambda (it holds code; a spec never executes code), the framework
bridges TFSMLayer, JaxLayer, FlaxLayer and TorchModuleWrapper, and the abstract bases and
non-layers Layer, Wrapper, RNN with its cells (GRUCell, LSTMCell, SimpleRNNCell,
StackedRNNCells), Input, InputLayer and InputSpec (Pipeline is catalog/pipeline.py).
"""

from __future__ import annotations

from . import shapes
from .base import BOOL, CONSTRAINT, FLOAT, INITIALIZER, POS_INT, REGULARIZER, Arg, LayerKind


def _reversible_embedding(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    """Called forward (the default): an Embedding; untied, a second (output, input) matrix
    maps back to logits when called with reverse=True."""
    out = shapes.embedding(args, dims)
    tables = 1 if args.get("tie_weights", True) else 2
    return shapes.Shape(out.dims, tables * out.trainable)


LAYERS: tuple[LayerKind, ...] = (
    LayerKind("Identity", (), shapes.identity),
    LayerKind("Masking", (Arg("mask_value", FLOAT),), shapes.identity),
    LayerKind(
        "ReversibleEmbedding",
        (
            Arg("input_dim", POS_INT, required=True, positional=True),
            Arg("output_dim", POS_INT, required=True, positional=True),
            Arg("tie_weights", BOOL),
            Arg("embeddings_initializer", INITIALIZER, kind="initializer"),
            Arg("embeddings_regularizer", REGULARIZER, kind="regularizer"),
            Arg("embeddings_constraint", CONSTRAINT, kind="constraint"),
            Arg("mask_zero", BOOL),
            Arg(
                "logit_soft_cap",
                {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]},
            ),
        ),
        _reversible_embedding,
    ),
)

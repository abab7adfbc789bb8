"""Attention layers beyond MultiHeadAttention (keras/src/layers/attention): Attention and
AdditiveAttention take a list `[query, value]` or `[query, value, key]`; GroupQueryAttention is
called like MultiHeadAttention, `layer(query, value[, key])`. Each entry sits beside its shape
rule.
"""

from __future__ import annotations

from . import shapes
from .base import BOOL, POS_INT, RATE, REGULARIZER, SEED, Arg, LayerKind, _named, weights


def _inputs(dims: list[shapes.Dims]) -> tuple[shapes.Dims, shapes.Dims, shapes.Dims]:
    if len(dims) not in (2, 3):
        raise shapes.ShapeError(f"expected inputs (query, value[, key]), received {len(dims)}")
    query, value, key = (*dims, dims[1])[:3]
    for what, x in (("query", query), ("value", value), ("key", key)):
        if len(x) != 2:
            raise shapes.ShapeError(
                f"the {what} must be (batch, steps, features), received {shapes.show(x)}"
            )
    if value[0] is not None and key[0] is not None and value[0] != key[0]:
        raise shapes.ShapeError(f"value and key need equal steps, received {value[0]} and {key[0]}")
    return query, value, key


def _scores(additive: bool):
    def rule(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
        query, value, key = _inputs(dims)
        q_dim = shapes.known(query[-1], "the query's last axis", query)
        k_dim = shapes.known(key[-1], "the key's last axis", key)
        if q_dim != k_dim and (additive or args.get("score_mode", "dot") == "dot"):
            raise shapes.ShapeError(f"query and key need equal features, received {q_dim}, {k_dim}")
        if additive:
            params = q_dim if args.get("use_scale", True) else 0
        else:
            params = int(args.get("use_scale", False)) + (args.get("score_mode") == "concat")
        return shapes.Shape((query[0], value[-1]), params)

    return rule


def _group_query(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    query, value, key = _inputs(dims)
    q_dim = shapes.known(query[-1], "the query's last axis", query)
    v_dim = shapes.known(value[-1], "the value's last axis", value)
    k_dim = shapes.known(key[-1], "the key's last axis", key)
    if q_dim != v_dim:  # Keras's compute_output_shape requires it
        raise shapes.ShapeError(
            f"the query's and the value's last axes must be equal, received {q_dim} and {v_dim}"
        )
    heads, groups = args["num_query_heads"], args["num_key_value_heads"]
    if heads % groups:
        raise shapes.ShapeError(f"num_key_value_heads={groups} must divide num_query_heads={heads}")
    width, bias = args["head_dim"], int(args.get("use_bias", True))
    params = (q_dim + bias) * heads * width + (k_dim + v_dim + 2 * bias) * groups * width
    params += heads * width * q_dim + bias * q_dim
    if args.get("use_gate"):
        params += (q_dim + bias) * heads * width
    return shapes.Shape((query[0], q_dim), params)


def _scored(name: str, args: tuple[Arg, ...], *, additive: bool) -> LayerKind:
    """Attention or AdditiveAttention: called on a list [query, value] or [query, value, key]."""
    return LayerKind(
        name, args, _scores(additive), call="list", min_inputs=2, max_inputs=3, training=True
    )


LAYERS: tuple[LayerKind, ...] = (
    _scored(
        "Attention",
        (
            Arg("use_scale", BOOL),
            Arg("score_mode", _named("score mode", ["dot", "concat"])),
            Arg("dropout", RATE),
            Arg("seed", SEED),
        ),
        additive=False,
    ),
    _scored("AdditiveAttention", (Arg("use_scale", BOOL), Arg("dropout", RATE)), additive=True),
    LayerKind(
        "GroupQueryAttention",
        (
            Arg("head_dim", POS_INT, required=True),
            Arg("num_query_heads", POS_INT, required=True),
            Arg("num_key_value_heads", POS_INT, required=True),
            Arg("dropout", RATE),
            Arg("use_bias", BOOL),
            *weights("kernel", "bias"),
            Arg("activity_regularizer", REGULARIZER, kind="regularizer"),
            Arg("use_gate", BOOL),
            Arg("seed", SEED),
        ),
        _group_query,
        call="positional",
        min_inputs=2,
        max_inputs=3,
        training=True,
    ),
)

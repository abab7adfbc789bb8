"""Pipeline (keras/src/layers/preprocessing/pipeline.py): a layer that calls its `layers` in
turn, each on the one before's output, as `keras.layers.Pipeline([...])`. The layers are
arguments, never nodes of the graph.

What a pipeline may hold is narrower than what Keras takes: a catalog layer called on one
tensor, without a nested layer or cell, a preprocessing state read from a file, or weights.
Keras's Pipeline is a preprocessing chain: it has no `build()` and calls each layer with
`training=True` unless told otherwise, so a layer with weights would be built inside it and
saved under a private attribute. The shape rule composes the inner layers' rules and refuses
one that has weights. The entry sits beside its rule; `layers.py` adds it after the base-layer
arguments, as Keras's Pipeline takes only `layers` and `name`.
"""

from __future__ import annotations

from . import shapes, state
from .base import Arg, LayerKind

NOT_HELD = {"Pipeline", "CustomLayer", "Application", "RNN"}


def members(kinds: tuple[LayerKind, ...]) -> list[str]:
    """The spellings a pipeline may hold, from the catalog's table."""
    files = {name for name, _ in state.FILE_ARGS}
    return sorted(
        spelling
        for kind in kinds
        if not kind.op
        and kind.call == "one"
        and kind.max_inputs == 1
        and kind.name not in NOT_HELD | files
        and not any(a.kind in ("layer", "cell", "layers") for a in kind.args)
        for spelling in kind.spellings
    )


def _pipeline(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    from .layers import BY_SPELLING, LAYERS  # the table this entry joins

    x = shapes.single(dims)
    allowed = set(members(LAYERS))
    for i, inner in enumerate(args["layers"]):
        if inner["type"] not in allowed:
            raise shapes.ShapeError(
                f"Pipeline layers[{i}]: {inner['type']!r} cannot sit in a Pipeline (a layer"
                " called on one tensor, without weights, a nested layer or a state file)"
            )
        kind = BY_SPELLING[inner["type"]]
        try:
            out = kind.shape({**kind.defaults, **inner}, [x])
        except shapes.ShapeError as e:
            raise shapes.ShapeError(f"Pipeline layers[{i}] ({inner['type']}): {e}") from None
        if out.trainable or out.non_trainable:
            raise shapes.ShapeError(
                f"Pipeline layers[{i}] ({inner['type']}) has {out.trainable + out.non_trainable}"
                " weights; a Pipeline holds layers without weights: put this one in the"
                " spec's `layers`"
            )
        x = out.dims
    return shapes.Shape(x)


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "Pipeline",
        (
            Arg(
                "layers",
                {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/pipeline_layer"}},
                required=True,
                positional=True,
                kind="layers",
            ),
            Arg("keras_name", {"$ref": "#/$defs/keras_name"}),
        ),
        _pipeline,
        training=True,
        trains_by_default=True,
    ),
)

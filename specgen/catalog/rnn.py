"""RNN (keras/src/layers/rnn/rnn.py) with its cell as data: one of LSTMCell, GRUCell,
SimpleRNNCell, or a list of them (Keras stacks a list in StackedRNNCells, each cell reading the
one before). The cells are arguments, never layers of the graph: `CELLS` holds them apart from
the catalog's table. The entry sits beside its shape rule.
"""

from __future__ import annotations

from . import shapes
from .base import ACTIVATION, BOOL, POS_INT, SEED, Arg, LayerKind, weights

# Each cell and the recurrent layer whose arithmetic it does.
LAYER_OF = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}
RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}


def _step(gated: bool) -> tuple[Arg, ...]:
    """What a cell computes at each step: the arguments a cell and its layer share."""
    gates = (Arg("recurrent_activation", ACTIVATION),) if gated else ()
    return (
        Arg("units", POS_INT, required=True, positional=True),
        Arg("activation", ACTIVATION),
        *gates,
        Arg("use_bias", BOOL),
        *weights("kernel", "recurrent", "bias"),
        Arg("dropout", RATE),
        Arg("recurrent_dropout", RATE),
    )


def _cell(name: str) -> LayerKind:
    extra = {
        "LSTMCell": (Arg("unit_forget_bias", BOOL),),
        "GRUCell": (Arg("reset_after", BOOL),),
    }.get(name, ())
    return LayerKind(
        name,
        (*_step(name != "SimpleRNNCell"), Arg("seed", SEED), *extra),
        shapes.recurrent(LAYER_OF[name]),
    )


def recurrent_layer(name: str) -> LayerKind:
    """SimpleRNN, LSTM or GRU: a cell's arguments and how the layer runs it over time."""
    extra = (Arg("reset_after", BOOL),) if name == "GRU" else ()
    return LayerKind(
        name,
        (
            *_step(name != "SimpleRNN"),
            Arg("return_sequences", BOOL),
            Arg("return_state", BOOL),  # several outputs: see catalog.outputs
            Arg("go_backwards", BOOL),
            Arg("unroll", BOOL),
            Arg("seed", SEED),
            *extra,
        ),
        shapes.recurrent(name),
        training=True,
    )


CELLS = {name: _cell(name) for name in LAYER_OF}
CELL = {
    "title": "a recurrent cell",
    "type": "object",
    "properties": {"type": {"title": "cell type", "enum": list(CELLS)}},
    "required": ["type"],
    "allOf": [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {
                "properties": {"type": {"const": name}} | {a.name: a.schema for a in kind.args},
                "required": ["type", *(a.name for a in kind.args if a.required)],
                "additionalProperties": False,
            },
        }
        for name, kind in CELLS.items()
    ],
}


def _rnn(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    cells = args["cell"]
    cells = list(cells) if isinstance(cells, list | tuple) else [cells]
    trainable, width = 0, None
    for cell in cells:
        kind = CELLS[cell["type"]]
        step = kind.shape({**cell, "return_sequences": True}, [(*x[:-1], width or x[-1])])
        trainable += step.trainable
        width = cell["units"]
    out = (x[0], width) if args.get("return_sequences") else (width,)
    return shapes.Shape(out, trainable)


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "RNN",
        (
            Arg(
                "cell",
                {"anyOf": [CELL, {"type": "array", "items": CELL, "minItems": 1}]},
                required=True,
                positional=True,
                kind="cell",
            ),
            Arg("return_sequences", BOOL),
            Arg("go_backwards", BOOL),
            Arg("unroll", BOOL),
            Arg("zero_output_for_mask", BOOL),
        ),
        _rnn,
        training=True,
    ),
)

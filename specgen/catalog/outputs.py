"""Layers with several outputs, and recurrent layers called with an initial state.

An LSTM with `return_state: true` returns `[sequence_or_last, h, c]`; a spec refers to each
output as `encoder:0`, `encoder:1`, `encoder:2` (a bare `encoder` would be the list). The same
layer takes an initial state as its extra inputs: `"inputs": ["x", "encoder:1", "encoder:2"]`
is `decoder(x, initial_state=[encoder[1], encoder[2]])`. A Bidirectional layer has the states
of its forward layer, then those of its backward layer.
"""

from __future__ import annotations

from . import shapes

# How many state tensors each recurrent layer keeps (and returns with return_state).
STATES = {"SimpleRNN": 1, "GRU": 1, "LSTM": 2}


def _states(args: dict) -> list[shapes.Dims]:
    return [(args["units"],)] * STATES[args["type"]]


def state_dims(kind: str, args: dict) -> list[shapes.Dims] | None:
    """The state tensors a recurrent layer keeps (what `initial_state` takes), else None."""
    if kind in STATES:
        return _states({**args, "type": kind})
    if kind == "Bidirectional":
        inner = args["layer"]
        return _states(inner) + _states(args.get("backward_layer") or inner)
    return None


def returns_state(kind: str, args: dict) -> bool:
    if kind == "Bidirectional":
        return bool(args["layer"].get("return_state"))
    return kind in STATES and bool(args.get("return_state"))


def output_dims(kind: str, args: dict, main: shapes.Dims) -> list[shapes.Dims] | None:
    """Every output's dims when the layer has several (the main output first), else None."""
    if not returns_state(kind, args):
        return None
    if kind == "Bidirectional" and args.get("merge_mode", "concat") is None:
        raise shapes.ShapeError("merge_mode null with return_state is not supported")
    return [main, *(state_dims(kind, args) or [])]


def check_initial_state(kind: str, args: dict, given: list[shapes.Dims]) -> None:
    """Extra inputs of a recurrent layer are its initial state: all of them, each its size."""
    wanted = state_dims(kind, args)
    if wanted is None:
        return
    if len(given) != len(wanted):
        raise shapes.ShapeError(
            f"an initial state is {len(wanted)} tensor(s) of {[list(w) for w in wanted]};"
            f" received {len(given)} extra input(s)"
        )
    for k, (dims, want) in enumerate(zip(given, wanted, strict=True)):
        if tuple(dims) != tuple(want):
            raise shapes.ShapeError(
                f"initial state {k} must have shape {list(want)}, received {list(dims)}"
            )


def max_inputs(kind: str, args: dict) -> int | None:
    wanted = state_dims(kind, args)
    return None if wanted is None else 1 + len(wanted)

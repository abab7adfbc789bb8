"""Categorical preprocessing layers (keras/src/layers/preprocessing) whose state is data given
inline: CategoryEncoding, Hashing, HashedCrossing, Discretization with its `bin_boundaries`
and IntegerLookup with its `vocabulary`. None has weights. Each entry sits beside its shape rule.

The vocabulary and the bin boundaries may also be a data file next to the spec (`state.py`);
StringLookup and TextVectorization, which take strings, are in `text.py`.
"""

from __future__ import annotations

from . import shapes, state
from .base import FLOAT, POS_INT, Arg, LayerKind, _named

MODES = ["one_hot", "multi_hot", "count"]


def encoded(mode: str, x: shapes.Dims, depth: int) -> shapes.Dims:
    """Keras's output shape for `one_hot`/`multi_hot`/`count` with `depth` classes."""
    if mode == "one_hot":
        return (*x[:-1], depth) if x and x[-1] == 1 else (*x, depth)
    if not x:
        raise shapes.ShapeError(
            f"output_mode {mode!r} encodes the last axis: expected a rank-2 input or more,"
            f" received {shapes.show(x)}"
        )
    return (*x[:-1], depth)


def _category_encoding(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    return shapes.Shape(encoded(args.get("output_mode", "multi_hot"), x, args["num_tokens"]))


def _hashing(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    mode = args.get("output_mode", "int")
    if mode == "int":
        return shapes.Shape(x)
    if mode == "one_hot" or not x:
        return shapes.Shape((*x[:-1], args["num_bins"]) if x else (args["num_bins"],))
    return shapes.Shape((*x[:-1], args["num_bins"]))


def _discretization(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    bins = args["bin_boundaries"]
    if any(a >= b for a, b in zip(bins, bins[1:], strict=False)):
        raise shapes.ShapeError(f"bin_boundaries must increase, received {bins}")
    if args.get("output_mode", "int") == "int":
        return shapes.Shape(x)
    return shapes.Shape(encoded("one_hot", x, len(bins) + 1))


def _hashed_crossing(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    if len(dims) != 2:
        raise shapes.ShapeError(f"expected two inputs to cross, received {len(dims)}")
    a, b = dims
    if a != b:
        raise shapes.ShapeError(
            f"the crossed inputs need equal shapes, received {shapes.show(a)}, {shapes.show(b)}"
        )
    if args.get("output_mode", "int") == "int":
        return shapes.Shape(a)
    return shapes.Shape(encoded("one_hot", a, args["num_bins"]))


def _integer_lookup(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    vocabulary, mask = args["vocabulary"], args.get("mask_token")
    if mask is not None and mask in vocabulary:
        raise shapes.ShapeError(f"the vocabulary may not hold the mask token ({mask})")
    mode = args.get("output_mode", "int")
    if mode == "int":
        return shapes.Shape(x)
    # The mask token has an index only in `int` mode (Keras's _oov_start_index).
    depth = len(vocabulary) + args.get("num_oov_indices", 1)
    return shapes.Shape(encoded(mode, x, depth))


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "CategoryEncoding",
        (
            Arg("num_tokens", POS_INT, required=True),
            Arg("output_mode", _named("output mode", MODES)),
        ),
        _category_encoding,
    ),
    LayerKind(
        "Hashing",
        (
            Arg("num_bins", POS_INT, required=True, positional=True),
            Arg("mask_value", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
            Arg(
                "salt",
                {
                    "anyOf": [
                        {"type": "integer", "minimum": 0},
                        {
                            "type": "array",
                            "items": {"type": "integer", "minimum": 0},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                        {"type": "null"},
                    ]
                },
            ),
            Arg("output_mode", _named("output mode", ["int", *MODES])),
        ),
        _hashing,
    ),
    LayerKind(
        "Discretization",
        (
            # Inline state: the bins Keras's adapt() would compute.
            Arg(
                "bin_boundaries",
                state.inline_or_file({"type": "array", "items": FLOAT, "minItems": 1}),
                required=True,
            ),
            Arg("output_mode", _named("output mode", ["int", "one_hot"])),
        ),
        _discretization,
    ),
    LayerKind(
        "IntegerLookup",
        (
            # Inline state: the vocabulary Keras's adapt() would find, without repeats.
            Arg(
                "vocabulary",
                state.inline_or_file(
                    {
                        "type": "array",
                        "items": {"type": "integer"},
                        "minItems": 1,
                        "uniqueItems": True,
                    }
                ),
                required=True,
            ),
            Arg("num_oov_indices", {"type": "integer", "minimum": 0}),
            Arg("mask_token", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
            Arg("oov_token", {"type": "integer"}),
            Arg("output_mode", _named("output mode", ["int", *MODES])),
        ),
        _integer_lookup,
    ),
    LayerKind(
        "HashedCrossing",
        (
            Arg("num_bins", POS_INT, required=True, positional=True),
            Arg("output_mode", _named("output mode", ["int", "one_hot"])),
        ),
        _hashed_crossing,
        call="list",
        min_inputs=2,
        max_inputs=2,
    ),
)

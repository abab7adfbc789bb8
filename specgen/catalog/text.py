"""Layers that take strings (keras/src/layers/preprocessing): StringLookup and
TextVectorization, each with its vocabulary as data, inline or in a file next to the spec
(`state.py`). Each entry sits beside its shape rule.

Keras lets `standardize` and `split` hold a function; here they take only Keras's built-in
names, and an imported config that holds a function for them is refused (importer/config.py).
"""

from __future__ import annotations

from . import shapes, state
from .base import BOOL, FLOAT, POS_INT, Arg, LayerKind, _named
from .encoding import MODES, encoded

# Layers whose inputs must be string tensors, and the others that accept them (Hashing
# hashes strings as it hashes integers).
ONLY_STRINGS = ("StringLookup", "TextVectorization")
TAKES_STRINGS = (*ONLY_STRINGS, "Hashing")

TOKEN = {"type": "string", "maxLength": state.MAX_ITEM_CHARS}
VOCABULARY = state.inline_or_file(
    {"type": "array", "items": TOKEN, "minItems": 1, "uniqueItems": True}
)
IDF = {"type": "array", "items": FLOAT, "minItems": 1}
NULLABLE_POS_INT = {"anyOf": [POS_INT, {"type": "null"}]}
OUTPUT_MODES = ["int", *MODES, "tf_idf"]
STANDARDIZE = ["lower_and_strip_punctuation", "lower", "strip_punctuation"]
SPLIT = ["whitespace", "character"]
# Arguments Keras saves that would make the output not one dense tensor.
NOT_DENSE = ("sparse", "ragged")


def _common(args: dict, vocabulary: list, specials: dict) -> int:
    """Checks shared by both layers; returns the encoded depth."""
    for key in NOT_DENSE:
        if args.get(key):
            raise shapes.ShapeError(f"{key}=True gives a non-dense tensor; leave it false")
    for what, token in specials.items():
        if token is not None and token in vocabulary:
            raise shapes.ShapeError(f"the vocabulary may not hold the {what} ({token!r})")
    mode = args.get("output_mode", "int")
    idf = args.get("idf_weights")
    if (mode == "tf_idf") != (idf is not None):
        raise shapes.ShapeError("idf_weights go with output_mode 'tf_idf', and only with it")
    if idf is not None and len(idf) != len(vocabulary):
        raise shapes.ShapeError(
            f"idf_weights has {len(idf)} values for a vocabulary of {len(vocabulary)}"
        )
    oov = args.get("num_oov_indices", 1)
    size = len(vocabulary) + oov + (specials.get("mask token") is not None)
    max_tokens = args.get("max_tokens")
    if max_tokens is not None and size > max_tokens:
        raise shapes.ShapeError(
            f"max_tokens {max_tokens} is less than the vocabulary with its special tokens ({size})"
        )
    if args.get("pad_to_max_tokens") and mode != "int":
        if max_tokens is None:
            raise shapes.ShapeError("pad_to_max_tokens needs max_tokens")
        return max_tokens
    return len(vocabulary) + oov  # the mask token has an index only in `int` mode


def _string_lookup(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    if args.get("invert"):
        raise shapes.ShapeError("invert=True gives strings; a spec's strings are its inputs")
    specials = {"mask token": args.get("mask_token"), "OOV token": args.get("oov_token", "[UNK]")}
    depth = _common(args, args["vocabulary"], specials)
    mode = args.get("output_mode", "int")
    return shapes.Shape(x if mode == "int" else encoded(mode, x, depth))


def _text_vectorization(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    mode = args.get("output_mode", "int")
    if x not in ((), (1,)) or (mode != "int" and x):
        want = "shape [] or [1]" if mode == "int" else "shape [] (one text per example)"
        raise shapes.ShapeError(f"expected a {want}, received {shapes.show(x)}")
    if args.get("ngrams") is not None and args.get("split", "whitespace") is None:
        raise shapes.ShapeError("ngrams need split: there are no tokens to join")
    depth = _common(args, args["vocabulary"], {"mask token": "", "OOV token": "[UNK]"})
    if mode == "int":
        return shapes.Shape((args.get("output_sequence_length"),))
    if args.get("output_sequence_length") is not None:
        raise shapes.ShapeError("output_sequence_length goes only with output_mode 'int'")
    return shapes.Shape((depth,))


SHARED = (
    Arg("max_tokens", NULLABLE_POS_INT),
    Arg("vocabulary", VOCABULARY, required=True),
    Arg("idf_weights", IDF),
    Arg("output_mode", _named("output mode", OUTPUT_MODES)),
    Arg("pad_to_max_tokens", BOOL),
    Arg("sparse", BOOL),
    Arg("encoding", _named("encoding", ["utf-8"])),
)

LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "StringLookup",
        (
            *SHARED,
            Arg("num_oov_indices", {"type": "integer", "minimum": 0}),
            Arg("mask_token", {"anyOf": [TOKEN, {"type": "null"}]}),
            Arg("oov_token", TOKEN),
            Arg("invert", BOOL),
            Arg("salt", {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}),
        ),
        _string_lookup,
    ),
    LayerKind(
        "TextVectorization",
        (
            *SHARED,
            Arg("standardize", _named("standardize", STANDARDIZE, nullable=True)),
            Arg("split", _named("split", SPLIT, nullable=True)),
            Arg(
                "ngrams",
                {
                    "anyOf": [
                        POS_INT,
                        {"type": "array", "items": POS_INT, "minItems": 1},
                        {"type": "null"},
                    ]
                },
            ),
            Arg("output_sequence_length", NULLABLE_POS_INT),
            Arg("ragged", BOOL),
        ),
        _text_vectorization,
    ),
)

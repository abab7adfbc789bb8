"""What `specgen verify` feeds a model: lengths for `null` dimensions that every layer
accepts, integers below the bound an Embedding sets, random inputs, and the calling
conventions a model takes them in."""

from __future__ import annotations

import math

from .model.ir import Model

# A `null` (variable) dimension gets the first of these lengths that every layer accepts
# (a valid convolution or pooling needs a long enough input); the last is the fallback.
VARIABLE_LENGTHS = (5, 8, 16, 32, 64, 128, 256)
VARIABLE_LENGTH = VARIABLE_LENGTHS[0]


def _accepts(nodes, dims: dict) -> bool:
    """Whether the shape rules of `nodes` (blocks included) accept these input shapes. A node
    this walk does not follow (a layer called again) ends it: what came before is accepted."""
    from .catalog import outputs, shapes

    for node in nodes:
        if not node.is_block and not hasattr(node, "kind"):
            return True  # a call of a layer again: its shapes are its first call's
        parents = [dims[name] for name in node.inputs]
        try:
            if node.is_block:
                inner = dict(zip(node.block.inputs, parents, strict=True))
                if not _accepts(node.inner, inner):
                    return False
                dims[node.name] = inner[node.block.output]
                continue
            args = dict(node.args)
            if len(parents) > 1 and outputs.state_dims(node.kind.name, args) is not None:
                parents = parents[:1]  # a recurrent layer's extra inputs are its state
            dims[node.name] = node.kind.shape(args, parents).dims
            found = outputs.output_dims(node.kind.name, args, dims[node.name])
            dims.update({f"{node.name}:{k}": d for k, d in enumerate(found or ())})
        except shapes.ShapeError:
            return False
    return True


# The exclusive upper bound of an integer input that no layer bounds.
INTEGER_BOUND = 10
# Layers that take integer indices below an argument of theirs.
_INDEX_BOUNDS = {"Embedding": "input_dim", "ReversibleEmbedding": "input_dim"}
_INDEX_BOUNDS |= {"CategoryEncoding": "num_tokens"}


def integer_bound(model: Model, name: str) -> int:
    """Integers drawn for input `name` span the smallest bound its direct users set."""
    bounds = [
        dict(node.args)[_INDEX_BOUNDS[node.kind.name]]
        for node in model.layers
        if name in node.inputs and not node.is_block and node.kind.name in _INDEX_BOUNDS
    ]
    return min(bounds, default=INTEGER_BOUND)


def variable_length(model: Model) -> int:
    """A length for the model's `null` input dimensions that every layer accepts."""
    for length in VARIABLE_LENGTHS:
        dims = {e.name: tuple(length if d is None else d for d in e.dims) for e in model.inputs}
        if _accepts(model.layers, dims):
            return length
    return VARIABLE_LENGTHS[-1]


def sample_inputs(model: Model, rows: int, seed: int = 0):
    """Random inputs for `model`: one array, or a dict keyed by input name."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = {}
    length = variable_length(model)
    for node in model.inputs:
        shape = (rows, *(length if d is None else d for d in node.dims))
        if node.dtype == "string":
            words, per = string_words(model, node.name)
            picks = np.array(words)[rng.integers(0, len(words), size=(math.prod(shape), per))]
            arrays[node.key] = np.array([" ".join(p) for p in picks]).reshape(shape)
        elif node.dtype.startswith("int"):
            high = integer_bound(model, node.name)
            arrays[node.key] = rng.integers(0, high, size=shape).astype(node.dtype)
        else:
            arrays[node.key] = rng.random(shape, dtype="float32")
    return arrays[model.inputs[0].key] if len(arrays) == 1 else arrays


def string_words(model: Model, name: str) -> tuple[list[str], int]:
    """Words for a string input and how many make one string (a sentence for a
    TextVectorization, one word for a lookup): the vocabularies of the layers that read it,
    a word of none of them (out of vocabulary) and one in capitals (standardize lowers it)."""
    words, per = ["Zzyzx", "THE"], 1
    for node in model.layers:
        args = dict(getattr(node, "args", ()))
        if name in node.inputs:
            words += [str(w) for w in args.get("vocabulary", ())]
            kind = getattr(getattr(node, "kind", None), "name", None)
            per = 3 if kind == "TextVectorization" else per
    return words, per


def calling_conventions(model: Model, x) -> dict:
    """One tensor; or a dict keyed by Keras input name, a list and a tuple in spec order."""
    if not isinstance(x, dict):
        return {"tensor": x}
    ordered = [x[name] for name in model.input_keys]
    return {"dict": x, "list": ordered, "tuple": tuple(ordered)}

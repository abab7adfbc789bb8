"""EinsumDense (keras/src/layers/core/einsum_dense.py): a dense layer written as an einsum
equation `input,kernel->output` with one letter per axis, batch first. Only the explicit form
is offered (no `...`): every axis is named, so the kernel's and bias's shapes read off the
letters. Its shape rule sits beside it.
"""

from __future__ import annotations

import math
import re

from . import shapes
from .base import ACTIVATION, Arg, LayerKind, weights

EQUATION = re.compile(r"^([a-z]+),([a-z]+)->([a-z]+)$")
SIZES = {
    "title": "the output's sizes after the batch axis (null: an input axis's size, left unknown)",
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {
            "type": "array",
            "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
        },
    ],
}


def _einsum_dense(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    x = shapes.single(dims)
    match = EQUATION.match(args["equation"])
    if match is None:
        raise shapes.ShapeError(f"equation {args['equation']!r} is not 'input,kernel->output'")
    given, kernel, output = match.groups()
    full = (None, *x)
    if len(given) != len(full):
        raise shapes.ShapeError(
            f"equation input {given!r} names {len(given)} axes; input {shapes.show(x)} has"
            f" {len(full)}"
        )
    sizes = shapes.as_tuple(args["output_shape"], 1)
    if len(sizes) != len(output) - 1:
        raise shapes.ShapeError(
            f"output_shape {list(sizes)} needs one size for each of {output[1:]!r}"
        )
    known = dict(zip(given, full, strict=True))
    out = []
    for letter, size in zip(output[1:], sizes, strict=True):
        have = known.get(letter)
        if size is not None and have is not None and size != have:
            raise shapes.ShapeError(
                f"output_shape gives {size} for {letter!r}, the input has {have} there"
            )
        if size is None and have is None:
            raise shapes.ShapeError(f"output_shape must give the size of {letter!r}")
        out.append(size)  # Keras keeps a null size unknown, as its output's static shape
    letters = known | {c: s for c, s in zip(output[1:], out, strict=True) if s is not None}
    missing = [c for c in kernel + args.get("bias_axes", "") if c not in letters]
    if missing:
        raise shapes.ShapeError(
            f"axes {''.join(missing)!r} are neither the input's nor the output's"
        )
    kernel_size = math.prod(shapes.known(letters[c], f"axis {c!r}", x) for c in kernel)
    bias_axes = args.get("bias_axes") or ""
    if any(c not in output for c in bias_axes):
        raise shapes.ShapeError(f"bias_axes {bias_axes!r} must be letters of the output {output!r}")
    bias = math.prod(letters[c] for c in bias_axes) if bias_axes else 0
    return shapes.Shape(tuple(out), kernel_size + bias)


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "EinsumDense",
        (
            Arg(
                "equation",
                {
                    "title": "input,kernel->output: one lowercase letter per axis, batch first",
                    "type": "string",
                    "pattern": "^[a-z]{1,8},[a-z]{1,8}->[a-z]{1,8}(?!\\n)$",
                },
                required=True,
                positional=True,
            ),
            Arg("output_shape", SIZES, required=True, positional=True),
            Arg("activation", ACTIVATION),
            Arg(
                "bias_axes",
                {"type": "string", "pattern": "^[a-z]{1,8}(?!\\n)$", "title": "output letters"},
            ),
            *weights("kernel", "bias"),
        ),
        _einsum_dense,
    ),
)

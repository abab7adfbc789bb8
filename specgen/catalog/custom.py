"""`CustomLayer`: a layer class the user owns, referenced by its dotted path.

`{"type": "CustomLayer", "class": "mypkg.layers.Scale", "config": {"factor": 2.0}}` becomes
`mypkg.layers.Scale(factor=2.0, name=...)` after `import mypkg.layers`, and only when that
module is allowed from outside the spec (see `custom.py`). specgen cannot run the class, so the
output shape is declared (`output_shape`, without the batch axis; the input's shape when
absent) and so are its weights (`params`, counted as trainable).
"""

from __future__ import annotations

from . import shapes
from .base import Arg, LayerKind

CLASS_PATH = {
    "title": "a dotted path module.Class",
    "type": "string",
    "pattern": "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+(?!\\n)$",
    "maxLength": 200,
}


def _declared(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    declared = args.get("output_shape")
    out = tuple(declared) if declared is not None else dims[0]
    return shapes.Shape(out, args.get("params", 0))


LAYERS: tuple[LayerKind, ...] = (
    LayerKind(
        "CustomLayer",
        (
            Arg("class", CLASS_PATH, required=True),
            Arg("config", {"type": "object"}),
            Arg(
                "output_shape",
                {
                    "type": "array",
                    "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
                },
            ),
            Arg("params", {"type": "integer", "minimum": 0}),
        ),
        _declared,
        call="positional",
        max_inputs=None,
        training=True,
    ),
)

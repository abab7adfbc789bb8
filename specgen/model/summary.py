"""A `model.summary()`-like table from the IR: shapes and parameter counts without TensorFlow."""

from __future__ import annotations

from ..catalog.shapes import show
from .ir import Model


def table(model: Model) -> str:
    rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
    rows += [(f"{e.name} (InputLayer)", show(e.dims), "0", "-") for e in model.inputs]
    rows += [
        (f"{n.name} ({n.type_name})", show(n.out.dims), f"{n.params:,}", ", ".join(n.inputs))
        for n in model.layers
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    line = lambda row: "  ".join(  # noqa: E731
        cell.rjust(w) if i == 2 else cell.ljust(w)
        for i, (cell, w) in enumerate(zip(row, widths, strict=True))
    ).rstrip()
    rule = "-" * len(line(rows[0]).ljust(sum(widths) + 6))
    trainable, frozen = model.params
    return "\n".join(
        [
            f'Model: "{model.name}"',
            rule,
            line(rows[0]),
            rule,
            *(line(row) for row in rows[1:]),
            rule,
            f"Total params: {trainable + frozen:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {frozen:,}",
            f"Outputs: {', '.join(model.outputs)}",
        ]
    )

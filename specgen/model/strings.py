"""Where string tensors may go. A spec's strings are its inputs of dtype `string`; each feeds
only layers that take strings (`catalog.text.TAKES_STRINGS`), and a layer that takes nothing
but strings (StringLookup, TextVectorization) reads a string input of the model directly: a
block's inputs and every layer's output are numbers. The training script's data sources give
numbers, so a spec with strings has no `training` section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..catalog import text
from .nodes import CallNode, InputNode, LayerNode


def _kind(node) -> str | None:
    target = node.target if isinstance(node, CallNode) else node
    return target.kind.name if isinstance(target, LayerNode) else None


def check(
    inputs: Iterable[InputNode],
    nodes: Iterable,
    blocks: Iterable,
    err: Callable[[str, str], None],
    *,
    trains: bool = False,
) -> None:
    strings = {e.name for e in inputs if e.dtype == "string"}
    for e in inputs:
        if trains and e.name in strings:
            err(
                f"{e.pointer}/dtype",
                f"input {e.name!r} holds strings, and the training script's data sources give"
                " numbers: leave out `training`, or read token ids (an int32 input)",
            )
    takes = ", ".join(text.TAKES_STRINGS)
    for node in nodes:
        kind = _kind(node)
        for ref in node.inputs:
            if ref in strings and kind not in text.TAKES_STRINGS:
                what = kind or "a block"
                err(
                    node.pointer,
                    f"layer {node.name!r} ({what}) reads input {ref!r}, which holds strings;"
                    f" strings go to {takes}",
                )
            elif ref not in strings and kind in text.ONLY_STRINGS:
                err(
                    node.pointer,
                    f"layer {node.name!r} ({kind}) takes strings: its input must be a model"
                    f" input of dtype 'string', received {ref!r}",
                )
    for block in blocks:
        for node in block.layers:
            if node.kind.name in text.ONLY_STRINGS:
                err(
                    node.pointer,
                    f"layer {node.name!r} ({node.kind.name}) takes strings, and a block's"
                    " inputs are numbers: use it outside the block",
                )

"""`specgen plot`: the model graph as Graphviz DOT, rendered to SVG or PNG when Graphviz is
installed. Built from the IR, so it needs no TensorFlow."""

from __future__ import annotations

import shutil
import subprocess

from .ir import Model
from .shapes import show


class GraphvizMissing(RuntimeError):
    pass


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(model: Model) -> str:
    lines = [
        f"digraph {_quote(model.name)} {{",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    for node in model.inputs:
        label = f"{node.name}\nInput\n{show(node.dims)}"
        lines.append(f"  {_quote(node.name)} [shape=ellipse, label={_quote(label)}];")
    for node in model.layers:
        style = ', style="rounded,filled", fillcolor="#e8f0fe"' if node.is_block else ""
        label = f"{node.name}\n{node.type_name}\n{show(node.out.dims)}"
        if node.params:
            label += f"\n{node.params:,} params"
        lines.append(f"  {_quote(node.name)} [shape=box{style}, label={_quote(label)}];")
        lines += [f"  {_quote(ref)} -> {_quote(node.name)};" for ref in node.inputs]
    for name in model.outputs:
        lines.append(f"  {_quote(name)} [penwidth=2];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(model: Model, fmt: str) -> bytes:
    """DOT text, or the diagram as `svg`/`png` bytes through Graphviz's `dot`."""
    text = dot(model)
    if fmt == "dot":
        return text.encode()
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(
            "Graphviz is not installed (no `dot` on PATH): install it (apt install graphviz,"
            " brew install graphviz) or write a .dot file instead"
        )
    return subprocess.run(
        [program, f"-T{fmt}"], input=text.encode(), capture_output=True, check=True
    ).stdout

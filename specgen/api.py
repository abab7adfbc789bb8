"""The public Python API: load, validate, compile, render. Never imports TensorFlow or Keras."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import graph, ir, training
from . import validate as validation
from .errors import SpecError, SpecInvalid
from .load import Loaded, load_path, load_text
from .render import STYLES, render_model

Spec = dict[str, Any] | str | os.PathLike


def load(spec: Spec) -> Loaded:
    """Read a spec from a path, a JSON string or a dict, keeping line:column for every value."""
    if isinstance(spec, dict):
        # Laid out as JSON so that errors in a dict still point at a line of something readable.
        return load_text(json.dumps(spec, indent=2, ensure_ascii=False), "<dict>")
    if isinstance(spec, str) and spec.lstrip().startswith(("{", "[")):
        return load_text(spec, "<string>")
    return load_path(Path(spec))


def _check(loaded: Loaded) -> tuple[ir.Model | None, list[SpecError]]:
    errors = validation.check(loaded)
    if errors:
        return None, errors
    model, errors = graph.build(loaded)
    if model is not None:
        errors = training.check(model)
    return (None, errors) if errors else (model, [])


def validate(spec: Spec) -> list[SpecError]:
    """Every problem in the spec (schema, names, graph, shapes); empty when it is valid."""
    return sorted(_check(spec if isinstance(spec, Loaded) else load(spec))[1])


def compile(spec: Spec) -> ir.Model:  # noqa: A001 - the verb users expect of a compiler
    """The spec's IR, or SpecInvalid with every error."""
    model, errors = _check(spec if isinstance(spec, Loaded) else load(spec))
    if errors:
        raise SpecInvalid(errors)
    assert model is not None
    return model


def styles_for(model: ir.Model, style: str) -> tuple[str, ...]:
    """The styles a request names: 'all' means every style this spec can take."""
    if style == "all":
        return tuple(s for s in STYLES if s != "sequential" or model.chain_break() is None)
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)} or all")
    if style == "sequential" and (reason := model.chain_break()):
        raise SpecInvalid([model.error(*reason)])
    return (style,)


def render(
    spec: Spec | ir.Model, style: str = "functional", *, templates: str | os.PathLike | None = None
) -> dict[str, str]:
    """{file name: source} for the style ('sequential', 'functional', 'subclass' or 'all')."""
    model = spec if isinstance(spec, ir.Model) else compile(spec)
    folder = Path(templates).resolve() if templates is not None else None
    return render_model(model, styles_for(model, style), folder)

"""The public Python API: load, validate, compile, render. Never imports TensorFlow or Keras.

The compiler's stages (loader, validation, graph, IR, training) are imported on first use: a
CLI re-render served from the cache (outputs.py) never needs them. Their modules are not named
like the functions here (`load`, `validate`, ...): importing a submodule binds its name on the
package, which would replace `specgen.validate` the function with the module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .emit.render import STYLES, render_model
from .spec.errors import SpecError, SpecInvalid, TemplateProblem

if TYPE_CHECKING:
    from .model import ir
    from .spec.loader import Loaded

Spec = Union[dict[str, Any], str, os.PathLike, "Loaded"]  # noqa: UP007 - "Loaded" is lazy


def _refuse(where: str, message: str, pointer: str = "") -> Loaded:
    from .spec.loader import Loaded, load_text

    return Loaded(where, None, load_text("{}").source, [SpecError(where, 1, 1, pointer, message)])


def from_json(text: str, file: str = "<string>") -> Loaded:
    """A spec from JSON text (a str is otherwise always a path: `{x}.json` is a fine file name)."""
    if not isinstance(text, str):
        raise TypeError(f"from_json() takes JSON text as str, received {type(text).__name__}")
    from .spec.loader import load_text

    return load_text(text, file)


def load(spec: Spec) -> Loaded:
    """Read a spec from a path (str or os.PathLike) or a dict, keeping line:column for values.

    A str is always a path, never JSON text: pass text through `from_json`. Anything else (None,
    bytes, a list) raises TypeError naming what was received.
    """
    from .emit.pyvalue import dump_python
    from .spec.loader import Loaded, load_path, load_text

    if isinstance(spec, Loaded):
        return spec
    if isinstance(spec, dict):
        # Laid out as JSON so that errors in a dict still point at a line of something readable;
        # values JSON cannot hold (sets, tuple keys, NaN, huge ints, cycles) are errors there.
        text, problem = dump_python(spec)
        return _refuse("<dict>", problem[1], problem[0]) if problem else load_text(text, "<dict>")
    if isinstance(spec, bytes | bytearray):
        raise TypeError(
            "a spec is a path (str or os.PathLike) or a dict; for JSON bytes use"
            " specgen.from_json(data.decode())"
        )
    if not isinstance(spec, str | os.PathLike):
        raise TypeError(
            f"a spec is a path (str or os.PathLike) or a dict, received {type(spec).__name__}"
        )
    path = os.fspath(spec)
    if isinstance(path, bytes):
        raise TypeError("a spec path must be str, not bytes")
    if not path:
        return _refuse("<empty path>", "the spec path is empty; expected a .json file")
    if "\0" in path:
        return _refuse(repr(path), "the spec path holds a NUL character")
    return load_path(Path(path))


def _check(loaded: Loaded) -> tuple[ir.Model | None, list[SpecError]]:
    from .model import graph, training
    from .spec import validation

    errors = validation.check(loaded)
    if errors:
        return None, errors
    model, errors = graph.build(loaded)
    if model is not None:
        errors = training.check(model)
    return (None, errors) if errors else (model, [])


def validate(spec: Spec) -> list[SpecError]:
    """Every problem in the spec (schema, names, graph, shapes); empty when it is valid."""
    return sorted(_check(load(spec))[1])


def compile(spec: Spec) -> ir.Model:  # noqa: A001 - the verb users expect of a compiler
    """The spec's IR, or SpecInvalid with every error."""
    model, errors = _check(load(spec))
    if errors:
        raise SpecInvalid(errors)
    assert model is not None
    return model


def styles_for(model: ir.Model, style: str) -> tuple[str, ...]:
    """The styles a request names: 'all' means every style this spec can take."""
    if style == "all":
        return tuple(s for s in STYLES if s != "sequential" or model.chain_break() is None)
    if not isinstance(style, str):
        raise TypeError(f"style is a str, received {type(style).__name__}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)} or all")
    if style == "sequential" and (reason := model.chain_break()):
        raise SpecInvalid([model.error(*reason)])
    return (style,)


def render(
    spec: Spec | ir.Model, style: str = "functional", *, templates: str | os.PathLike | None = None
) -> dict[str, str]:
    """{file name: source} for the style ('sequential', 'functional', 'subclass' or 'all')."""
    from .model import ir

    model = spec if isinstance(spec, ir.Model) else compile(spec)
    return render_model(model, styles_for(model, style), template_folder(templates))


def template_folder(templates: str | os.PathLike | None) -> Path | None:
    """The override folder, which must exist: a typo must not silently use packaged templates."""
    if templates is None:
        return None
    if not isinstance(templates, str | os.PathLike):
        raise TypeError(f"templates is a folder path, received {type(templates).__name__}")
    folder = Path(templates)
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise TemplateProblem(f"{folder}: the templates folder {reason}")
    return folder.resolve()

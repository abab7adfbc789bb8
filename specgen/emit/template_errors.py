"""Templates from a --templates folder: read safely, and every failure named by file and line.

A broken override template is the user's input, not a bug in specgen: its syntax errors, its
undefined names and its run-time errors become `FILE:LINE: message` (exit 1), never exit 3.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jinja2
from jinja2.loaders import split_template_path

from ..spec.errors import TemplateProblem
from ..spec.resources import find_template


class SafeLoader(jinja2.BaseLoader):
    """FileSystemLoader's search order, but only regular files of bounded size (a FIFO named
    like a template would hang FileSystemLoader)."""

    def __init__(self, folders: list[str]):
        self.folders = folders

    def get_source(self, environment, template):
        found = find_template(self.folders, *split_template_path(template))
        if found is None:
            raise jinja2.TemplateNotFound(template)
        text, path = found
        return text, str(path), _uptodate(path, path.stat().st_mtime)


def _uptodate(path: Path, mtime: float):
    return lambda: os.path.exists(path) and path.stat().st_mtime == mtime


def _template_line(exc: BaseException) -> tuple[str, int] | None:
    """Jinja rewrites tracebacks so that template frames carry the template's file and line."""
    import traceback  # only on a failure

    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".jinja"):
            return frame.filename, frame.lineno or 0
    return None


@contextmanager
def located(template_folder: Path | None) -> Iterator[None]:
    """Turn template failures into TemplateProblem when the user supplied templates; with the
    packaged templates only, a failure is specgen's bug and propagates as it is."""
    try:
        yield
    except TemplateProblem:
        raise
    except jinja2.TemplateSyntaxError as exc:
        if template_folder is None:
            raise
        raise TemplateProblem(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        if template_folder is None:
            raise
        raise TemplateProblem(f"{template_folder}: template {exc.name!r} not found") from None
    except Exception as exc:  # noqa: BLE001 - a user template can raise anything while rendering
        if template_folder is None:
            raise
        where = _template_line(exc)
        place = f"{where[0]}:{where[1]}" if where else str(template_folder)
        raise TemplateProblem(f"{place}: {type(exc).__name__}: {exc}") from None


def check_python(sources: dict[str, str], template_folder: Path) -> None:
    """Code from override templates must parse; say where it does not (ruff would only fail)."""
    for name, text in sorted(sources.items()):
        try:
            compile(text, name, "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
        except SyntaxError as exc:
            raise TemplateProblem(
                f"{template_folder}: the templates render {name}, which is not valid Python:"
                f" line {exc.lineno}: {exc.msg}"
            ) from None

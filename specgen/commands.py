"""What each `specgen` command does, once its command line is parsed (cli.py parses).

Problems meant for the user are raised as Failed (exit 1) or Usage (exit 2), already phrased.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import api
from .catalog import allow_import as custom
from .emit import write as writing
from .spec.errors import OutputConflict, SpecError, SpecInvalid, TemplateProblem

OK, INVALID = 0, 1  # exit codes (cli.py has the rest)


def echo(text: str, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)


class Usage(Exception):
    """A command line specgen cannot act on: exit 2, like argparse's own errors."""


class Failed(Exception):
    """Problems already phrased for the user; the CLI prints them and exits 1."""

    def __init__(self, lines: list[str]):
        self.lines = lines


def quiet_tensorflow(verbose: bool) -> None:
    """Unless `verbose`, load TensorFlow and Keras with their start-up log kept out of the
    terminal: what they print while loading and finding devices (some of it before their
    own log level applies), and later C++ and absl lines below errors (a TF_CPP_MIN_LOG_LEVEL
    the user set is kept). Without TensorFlow, nothing: the command says what is missing."""
    if verbose:
        return
    import contextlib
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # TensorFlow's C++ writes to the file descriptor, not sys.stderr
    try:
        with contextlib.suppress(ImportError):
            import importlib

            importlib.import_module("keras")  # loaded here, quietly, for the command
            importlib.import_module("tensorflow").config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    with contextlib.suppress(ImportError):  # absl comes with TensorFlow
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)


def _errors(errors: list[SpecError]) -> Failed:
    return Failed([str(e) for e in sorted(errors)])


def _plan(out: Path, files: dict[str, str]) -> list[writing.Planned]:
    try:
        return writing.plan(out, files)
    except writing.OutputProblem as exc:
        raise Failed([str(exc)]) from None


def _write_one(path: Path, data: bytes, ours, force: bool, what: str) -> None:
    from .emit.write_one import write_file

    try:
        write_file(path, data, ours=ours, force=force, what=what)
    except writing.OutputProblem as exc:
        raise Failed([str(exc)]) from None


def render(specs, style, out, force, check, diff, prune, templates) -> None:
    """Render SPECS (spec files, or folders of them) and print what happened to each file.

    Each output file is reported as `written`, `unchanged` or `skipped (reason)`. A folder
    stands for its *.json files whose $schema names model-spec.schema.json. A module specgen
    wrote in --out that the specs no longer produce is orphaned (--check fails on it, --prune
    deletes it). Modules of models the specs do not define count only when the specs are all
    those of their folders (a folder, or specs/*.json; or with --prune), never when one is
    picked out.
    """
    from .emit.render import STYLES
    from .outputs import complete, orphans, render_all
    from .outputs import prune as prune_one

    try:
        if templates is not None:
            templates = api.template_folder(templates)
        result = render_all(specs, style, templates)
    except TemplateProblem as exc:
        raise Failed([str(exc)]) from None
    if result.errors or result.clashes:
        raise Failed([str(e) for e in sorted(result.errors)] + result.clashes)
    planned = _plan(out, result.files)
    styles = STYLES if style == "all" else (style,)
    orphaned = orphans(out, result, styles, prune or complete(specs))
    for line in result.skipped:
        echo(f"skipped: {line}")
    if check or diff:
        stale = [item for item in planned if item.stale]
        for item in stale:
            echo(
                writing.unified_diff(item)
                if diff
                else f"{'stale' if item.current is not None else 'missing'}: {item.path}"
            )
        for orphan in orphaned:
            echo(_orphaned(orphan))
        raise SystemExit(INVALID if stale or orphaned else OK)
    try:
        written = set(writing.write_all(planned, force=force))
    except OutputConflict as exc:
        raise Failed(exc.messages) from None
    except writing.OutputProblem as exc:
        raise Failed([str(exc)]) from None
    for item in planned:
        echo(f"{'written' if item.path in written else 'unchanged'}: {item.path}")
    for orphan in orphaned:
        kept = prune_one(orphan, force) if prune else _orphaned(orphan)
        if not prune:
            echo(kept)
        elif kept is None:
            echo(f"pruned: {orphan.path}")
        else:
            echo(f"not pruned: {orphan.path} (no given spec produces it, but it is {kept})")


def _orphaned(orphan) -> str:
    if orphan.keep is None:
        return f"orphaned: {orphan.path} (no given spec produces it; --prune deletes it)"
    return f"orphaned: {orphan.path} (no given spec produces it; it is {orphan.keep})"


def validate(specs) -> None:
    """Check SPECS without writing anything."""
    errors = [e for spec in specs for e in api.validate(spec)]
    if errors:
        raise _errors(errors)
    for spec in specs:
        echo(f"{spec}: ok")


def schema(output, force) -> None:
    """Print (or write) the JSON Schema of a spec, generated from the layer catalog.

    -o replaces a file only when it is a specgen schema (same $id), or with --force."""
    from .spec.schema import build_schema, dumps

    built = build_schema()
    text = dumps(built)
    if output is None:
        sys.stdout.write(text)
        return

    def ours(existing: bytes) -> bool:
        import json

        try:
            return json.loads(existing).get("$id") == built.get("$id")
        except (ValueError, AttributeError, RecursionError):
            return False

    _write_one(output, text.encode("utf-8"), ours, force, "a specgen schema")
    echo(str(output))


def _compiled(spec):
    try:
        return api.compile(spec)
    except SpecInvalid as exc:
        raise _errors(exc.errors) from None


def summary(spec) -> None:
    """Print layers, output shapes and parameter counts (no TensorFlow needed)."""
    from .model.summary import table

    echo(table(_compiled(spec)))


def plot(spec, output, force) -> None:
    """Draw the model graph of SPEC (no TensorFlow needed).

    -o replaces a file only when it is a plot specgen wrote (.dot, .svg), or with --force."""
    from .model.plot import GraphvizMissing, is_plot, render

    fmt = output.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png", "dot"):
        raise Usage(f"--output must end in .svg, .png or .dot, received {output.name!r}")
    model = _compiled(spec)
    try:
        data = render(model, fmt)
    except GraphvizMissing as exc:
        raise Failed([f"specgen: {exc}"]) from None
    _write_one(output, data, is_plot, force, "a specgen plot")
    echo(str(output))


def verify(spec, steps, verbose=False) -> None:
    """Build every style SPEC allows and prove they are the same model (needs TensorFlow)."""
    model = _compiled(spec)
    quiet_tensorflow(verbose)
    from .verify import verify as run_verify

    if not run_verify(model, steps=steps, echo=echo):
        raise SystemExit(INVALID)


def import_(model, output, force, flat, verbose=False) -> None:
    """Turn a saved Keras model (MODEL.keras or config.json) into a spec.

    -o never replaces an existing file (other than with identical text) without --force."""
    from .importer import layout
    from .importer.convert import ImportProblem, custom_modules
    from .importer.guard import read_and_convert

    notes: list[str] = []
    try:
        spec = read_and_convert(
            model, notes, fold=not flat, before_convert=lambda: quiet_tensorflow(verbose)
        )
    except ImportProblem as exc:
        raise Failed(
            [p if p.startswith(str(model)) else f"{model}: {p}" for p in exc.problems]
        ) from None
    spec = layout.with_schema(spec, layout.schema_reference(output))
    needs = custom_modules(spec)
    unnamed = [m for m in needs if not custom.is_module_name(m)]
    if unnamed:  # Keras records `"module": null` for some registered classes
        raise Failed(
            [
                f"{model}: a custom layer's module is not recorded in the saved config"
                f" (module {m!r}); specgen cannot tell which module to import: save the"
                " model with the layer class defined in an importable module"
                for m in unnamed
            ]
        )
    with custom.allowing(*needs):
        errors = api.validate(spec)
    if errors:
        raise Failed(
            [f"{model}: the imported spec is invalid: {e.pointer}: {e.message}" for e in errors]
        )
    text = layout.dumps(spec)
    _write_one(output, text.encode("utf-8"), lambda _: False, force, "an imported spec")
    echo(str(output))
    for note in notes:
        echo(f"note: {note}", err=True)
    if needs:
        echo(
            "note: the spec uses custom layer classes; render or verify it with "
            + " ".join(f"--allow-import {m}" for m in needs)
            + " (or list them in [tool.specgen] allow-import in pyproject.toml)",
            err=True,
        )

"""The `specgen` command: a thin layer over the Python API that prints errors once.

Exit codes: 0 ok; 1 invalid spec, refused request, conflicting or stale output; 2 usage error;
3 internal error (a bug: one line and a request to report it, never a traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__, api, custom
from . import write as writing
from .errors import OutputConflict, SpecError, SpecInvalid

OK, INVALID, USAGE, INTERNAL = 0, 1, 2, 3
STYLE_CHOICES = ("sequential", "functional", "subclass", "all")


class Failed(Exception):
    """Problems already phrased for the user; the CLI prints them and exits 1."""

    def __init__(self, lines: list[str]):
        self.lines = lines


def _errors(errors: list[SpecError]) -> Failed:
    return Failed([str(e) for e in sorted(errors)])


def _render_all(specs: tuple[str, ...], style: str, templates: Path | None) -> dict[str, str]:
    files: dict[str, str] = {}
    errors: list[SpecError] = []
    for spec in specs:
        try:
            files.update(api.render(spec, style, templates=templates))
        except SpecInvalid as exc:
            errors += exc.errors
    if errors:
        raise _errors(errors)
    return files


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="specgen")
@click.option(
    "--allow-import",
    "allow",
    multiple=True,
    metavar="MODULE",
    help="Allow CustomLayer classes from MODULE (also: [tool.specgen] allow-import).",
)
def cli(allow) -> None:
    """Compile JSON model specs into Keras modules (Sequential, Functional, subclassed)."""
    custom.allow_import(*allow)


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--style",
    type=click.Choice(STYLE_CHOICES),
    default="functional",
    show_default=True,
    help="API style to emit; 'all' emits every style the spec can take.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("generated"),
    show_default=True,
    help="Folder to write into.",
)
@click.option(
    "--force", is_flag=True, help="Replace files specgen did not write or that were edited by hand."
)
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 if any file is stale or missing."
)
@click.option(
    "--diff",
    is_flag=True,
    help="Write nothing; print a unified diff of stale files (exit 1 if any).",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of templates that override the packaged ones by name.",
)
def render(specs, style, out, force, check, diff, templates) -> None:
    """Render SPECS into Python modules, printing each path."""
    planned = writing.plan(out, _render_all(specs, style, templates))
    if check or diff:
        stale = [item for item in planned if item.stale]
        for item in stale:
            click.echo(
                writing.unified_diff(item)
                if diff
                else f"{'stale' if item.current is not None else 'missing'}: {item.path}"
            )
        raise SystemExit(INVALID if stale else OK)
    try:
        writing.write_all(planned, force=force)
    except OutputConflict as exc:
        raise Failed(exc.messages) from None
    for item in planned:
        click.echo(str(item.path))


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(specs) -> None:
    """Check SPECS without writing anything."""
    errors = [e for spec in specs for e in api.validate(spec)]
    if errors:
        raise _errors(errors)
    for spec in specs:
        click.echo(f"{spec}: ok")


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file (specgen's own: schemas/model-spec.schema.json).",
)
def schema(output) -> None:
    """Print (or write) the JSON Schema of a spec, generated from the layer catalog."""
    from .schema import build_schema, dumps

    text = dumps(build_schema())
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(str(output))


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
def summary(spec) -> None:
    """Print layers, output shapes and parameter counts (no TensorFlow needed)."""
    from .summary import table

    try:
        model = api.compile(spec)
    except SpecInvalid as exc:
        raise _errors(exc.errors) from None
    click.echo(table(model))


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Diagram file: .svg or .png (through Graphviz) or .dot.",
)
def plot(spec, output) -> None:
    """Draw the model graph of SPEC (no TensorFlow needed)."""
    from .plot import GraphvizMissing, render

    fmt = output.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png", "dot"):
        raise click.UsageError(f"--output must end in .svg, .png or .dot, received {output.name!r}")
    try:
        model = api.compile(spec)
    except SpecInvalid as exc:
        raise _errors(exc.errors) from None
    try:
        data = render(model, fmt)
    except GraphvizMissing as exc:
        raise Failed([f"specgen: {exc}"]) from None
    output.write_bytes(data)
    click.echo(str(output))


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--steps", default=3, show_default=True, help="Training steps to compare.")
def verify(spec, steps) -> None:
    """Build every style SPEC allows and prove they are the same model (needs TensorFlow)."""
    try:
        model = api.compile(spec)
    except SpecInvalid as exc:
        raise _errors(exc.errors) from None
    from .verify import verify as run_verify

    if not run_verify(model, steps=steps, echo=click.echo):
        raise SystemExit(INVALID)


@cli.command(name="import")
@click.argument("model", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the spec (JSON).",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option(
    "--flat", is_flag=True, help="Keep every layer in the model; do not fold repeated units."
)
def import_(model, output, force, flat) -> None:
    """Turn a saved Keras model (MODEL.keras or config.json) into a spec."""
    import json

    from .importer import (
        ImportProblem,
        custom_modules,
        read_config,
        read_weight_sizes,
        to_spec,
    )

    try:
        notes: list[str] = []
        weights = read_weight_sizes(model)
        spec = to_spec(read_config(model), notes, fold=not flat, weights=weights)
    except ImportProblem as exc:
        raise Failed([f"{model}: {problem}" for problem in exc.problems]) from None
    except (OSError, ValueError, KeyError) as exc:
        raise Failed([f"{model}: not a readable Keras model or config ({exc})"]) from None
    needs = custom_modules(spec)
    with custom.allowing(*needs):
        errors = api.validate(spec)
    if errors:
        raise Failed(
            [f"{model}: the imported spec is invalid: {e.pointer}: {e.message}" for e in errors]
        )
    if output.exists() and not force:
        raise Failed([f"{output}: exists; use --force to replace it"])
    output.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    click.echo(str(output))
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if needs:
        click.echo(
            "note: the spec uses custom layer classes; render or verify it with "
            + " ".join(f"--allow-import {m}" for m in needs)
            + " (or list them in [tool.specgen] allow-import in pyproject.toml)",
            err=True,
        )


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="specgen", standalone_mode=False)
    except Failed as exc:
        for line in exc.lines:
            click.echo(line, err=True)
        return INVALID
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return INVALID
    except click.ClickException as exc:
        exc.show()
        return USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else OK
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        click.echo(
            f"specgen: internal error: {type(exc).__name__}: {exc} (this is a bug; please report it"
            " with the spec that caused it)",
            err=True,
        )
        return INTERNAL
    return OK


if __name__ == "__main__":
    sys.exit(main())

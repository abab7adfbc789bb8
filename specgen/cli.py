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
from .errors import OutputConflict, SpecError, SpecInvalid, TemplateProblem

OK, INVALID, USAGE, INTERNAL = 0, 1, 2, 3
STYLE_CHOICES = ("sequential", "functional", "subclass", "all")


class Failed(Exception):
    """Problems already phrased for the user; the CLI prints them and exits 1."""

    def __init__(self, lines: list[str]):
        self.lines = lines


def _errors(errors: list[SpecError]) -> Failed:
    return Failed([str(e) for e in sorted(errors)])


def _plan(out: Path, files: dict[str, str]) -> list[writing.Planned]:
    try:
        return writing.plan(out, files)
    except writing.OutputProblem as exc:
        raise Failed([str(exc)]) from None


def _write_one(path: Path, data: bytes, ours, force: bool, what: str) -> None:
    from .write_one import write_file

    try:
        write_file(path, data, ours=ours, force=force, what=what)
    except writing.OutputProblem as exc:
        raise Failed([str(exc)]) from None


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
@click.argument("specs", nargs=-1, required=True, type=click.Path())
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
    type=click.Path(path_type=Path),
    default=Path("generated"),
    show_default=True,
    help="Folder to write into.",
)
@click.option(
    "--force", is_flag=True, help="Replace files specgen did not write or that were edited by hand."
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if any file is stale, missing or orphaned.",
)
@click.option(
    "--diff",
    is_flag=True,
    help="Write nothing; print a unified diff of stale files (exit 1 if any).",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Delete orphaned files: ones specgen wrote in --out that no given spec produces.",
)
@click.option(
    "--templates",
    type=click.Path(path_type=Path),
    help="Folder of templates that override the packaged ones by name.",
)
def render(specs, style, out, force, check, diff, prune, templates) -> None:
    """Render SPECS (spec files, or folders of them) and print what happened to each file.

    Each output file is reported as `written`, `unchanged` or `skipped (reason)`. A folder stands
    for its *.json files whose $schema names model-spec.schema.json. A module specgen wrote in
    --out that the specs no longer produce is orphaned (--check fails on it, --prune deletes
    it). Modules of models the specs do not define count only when the specs are all those of
    their folders (a folder, or specs/*.json; or with --prune), never when one is picked out.
    """
    from .outputs import complete, orphans, render_all
    from .render import STYLES

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
        click.echo(f"skipped: {line}")
    if check or diff:
        stale = [item for item in planned if item.stale]
        for item in stale:
            click.echo(
                writing.unified_diff(item)
                if diff
                else f"{'stale' if item.current is not None else 'missing'}: {item.path}"
            )
        for path in orphaned:
            click.echo(f"orphaned: {path} (no given spec produces it; --prune deletes it)")
        raise SystemExit(INVALID if stale or orphaned else OK)
    try:
        written = set(writing.write_all(planned, force=force))
    except OutputConflict as exc:
        raise Failed(exc.messages) from None
    except writing.OutputProblem as exc:
        raise Failed([str(exc)]) from None
    for item in planned:
        click.echo(f"{'written' if item.path in written else 'unchanged'}: {item.path}")
    for path in orphaned:
        if prune:
            path.unlink()
            click.echo(f"pruned: {path}")
        else:
            click.echo(f"orphaned: {path} (no given spec produces it; --prune deletes it)")


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path())
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
    type=click.Path(path_type=Path),
    help="Write the schema to this file (specgen's own: schemas/model-spec.schema.json).",
)
@click.option("--force", is_flag=True, help="Replace a file that is not a specgen schema.")
def schema(output, force) -> None:
    """Print (or write) the JSON Schema of a spec, generated from the layer catalog.

    -o replaces a file only when it is a specgen schema (same $id), or with --force."""
    from .schema import build_schema, dumps

    built = build_schema()
    text = dumps(built)
    if output is None:
        click.echo(text, nl=False)
        return

    def ours(existing: bytes) -> bool:
        import json

        try:
            return json.loads(existing).get("$id") == built.get("$id")
        except (ValueError, AttributeError, RecursionError):
            return False

    _write_one(output, text.encode("utf-8"), ours, force, "a specgen schema")
    click.echo(str(output))


@cli.command()
@click.argument("spec", type=click.Path())
def summary(spec) -> None:
    """Print layers, output shapes and parameter counts (no TensorFlow needed)."""
    from .summary import table

    try:
        model = api.compile(spec)
    except SpecInvalid as exc:
        raise _errors(exc.errors) from None
    click.echo(table(model))


@cli.command()
@click.argument("spec", type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Diagram file: .svg or .png (through Graphviz) or .dot.",
)
@click.option("--force", is_flag=True, help="Replace a file that is not a specgen plot.")
def plot(spec, output, force) -> None:
    """Draw the model graph of SPEC (no TensorFlow needed).

    -o replaces a file only when it is a plot specgen wrote (.dot, .svg), or with --force."""
    from .plot import GraphvizMissing, is_plot, render

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
    _write_one(output, data, is_plot, force, "a specgen plot")
    click.echo(str(output))


@cli.command()
@click.argument("spec", type=click.Path())
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
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the spec (JSON).",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option(
    "--flat", is_flag=True, help="Keep every layer in the model; do not fold repeated units."
)
def import_(model, output, force, flat) -> None:
    """Turn a saved Keras model (MODEL.keras or config.json) into a spec.

    -o never replaces an existing file (other than with identical text) without --force."""
    import json

    from .import_guard import read_and_convert
    from .importer import ImportProblem, custom_modules

    notes: list[str] = []
    try:
        spec = read_and_convert(model, notes, fold=not flat)
    except ImportProblem as exc:
        raise Failed(
            [p if p.startswith(str(model)) else f"{model}: {p}" for p in exc.problems]
        ) from None
    needs = custom_modules(spec)
    with custom.allowing(*needs):
        errors = api.validate(spec)
    if errors:
        raise Failed(
            [f"{model}: the imported spec is invalid: {e.pointer}: {e.message}" for e in errors]
        )
    text = json.dumps(spec, indent=2) + "\n"
    _write_one(output, text.encode("utf-8"), lambda _: False, force, "an imported spec")
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
    except (TemplateProblem, writing.OutputProblem) as exc:
        click.echo(str(exc), err=True)
        return INVALID
    except OSError as exc:  # the environment (permissions, a full disk), not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"specgen: {where}{exc.strerror or exc}", err=True)
        return INVALID
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

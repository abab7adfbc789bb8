"""The `specgen` command: a thin layer over the Python API that prints errors once.

Exit codes: 0 ok; 1 invalid spec, refused request, conflicting or stale output; 2 usage error;
3 internal error (a bug: one line and a request to report it, never a traceback).

Built on click, which gives shell completion (`specgen completion bash|zsh|fish`) for the
commands, their options, style names and spec files. Importing click costs a warm (cached)
render a few milliseconds; bench/render_speed.py checks it stays >= 40x faster than
`import tensorflow`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__
from . import commands as run
from .catalog import allow_import as custom
from .commands import INVALID, OK, Failed, Usage, echo
from .emit import write as writing
from .spec.errors import TemplateProblem

USAGE, INTERNAL = 2, 3  # OK and INVALID: commands.py
STYLE_CHOICES = ("sequential", "functional", "subclass", "all")
DEFAULT_STYLE = "functional"
SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_SPECGEN_COMPLETE"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _complete_specs(ctx, param, incomplete: str):
    """Spec files for the shell: *.json files and folders (a folder stands for its specs)."""
    from click.shell_completion import CompletionItem

    folder, _, start = incomplete.rpartition("/")
    base = Path(folder or ".")
    if folder == "" and incomplete.startswith("/"):
        base = Path("/")
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(start) or (entry.name.startswith(".") and not start):
            continue
        shown = f"{folder}/{entry.name}" if folder else entry.name
        if entry.is_dir():
            found.append(CompletionItem(shown + "/", type="plain"))
        elif entry.suffix == ".json":
            found.append(CompletionItem(shown, type="plain"))
    return found


def _paths(**options):
    return click.Path(path_type=Path, **options)


def _usage(function):
    """A command's Usage problem (a bad option value found late) becomes click's usage error:
    the command's usage line, the problem, exit 2."""

    def call(**options):
        try:
            function(**options)
        except Usage as exc:
            raise click.UsageError(str(exc)) from None

    return call


def _help(function) -> str:
    return function.__doc__ or ""


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="specgen")
@click.option(
    "--allow-import",
    multiple=True,
    metavar="MODULE",
    help="Allow CustomLayer classes from MODULE (also: [tool.specgen] allow-import).",
)
def cli(allow_import: tuple[str, ...]) -> None:
    """Compile JSON model specs into Keras modules (Sequential, Functional, subclassed).

    `specgen COMMAND -h` says more.
    """
    custom.allow_import(*allow_import)


SPECS = click.argument("specs", nargs=-1, required=True, shell_complete=_complete_specs)
SPEC = click.argument("spec", shell_complete=_complete_specs)


@cli.command(help=_help(run.render))
@SPECS
@click.option(
    "--style",
    type=click.Choice(STYLE_CHOICES),
    default=DEFAULT_STYLE,
    show_default=True,
    help="API style to emit; 'all' emits every style the spec can take.",
)
@click.option(
    "--out",
    type=_paths(),
    default=Path("generated"),
    show_default=True,
    help="Folder to write into.",
)
@click.option(
    "--force", is_flag=True, help="Replace files specgen did not write or that were edited by hand."
)
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 if any file is stale, missing or orphaned."
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
    type=_paths(),
    help="Folder of templates that override the packaged ones by name.",
)
def render(**options) -> None:
    _usage(run.render)(**options)


@cli.command(help=_help(run.validate))
@SPECS
def validate(specs) -> None:
    run.validate(specs)


@cli.command(help=_help(run.schema))
@click.option(
    "-o",
    "--output",
    type=_paths(),
    help="Write the schema to this file (specgen's own: schemas/model-spec.schema.json).",
)
@click.option("--force", is_flag=True, help="Replace a file that is not a specgen schema.")
def schema(**options) -> None:
    run.schema(**options)


@cli.command(help=_help(run.summary))
@SPEC
def summary(spec) -> None:
    run.summary(spec)


@cli.command(help=_help(run.plot))
@SPEC
@click.option(
    "-o",
    "--output",
    required=True,
    type=_paths(),
    help="Diagram file: .svg or .png (through Graphviz) or .dot.",
)
@click.option("--force", is_flag=True, help="Replace a file that is not a specgen plot.")
def plot(**options) -> None:
    _usage(run.plot)(**options)


@cli.command(help=_help(run.verify))
@SPEC
@click.option("--steps", type=int, default=3, show_default=True, help="Training steps to compare.")
@click.option(
    "--verbose", is_flag=True, help="Let TensorFlow print its start-up log (hidden by default)."
)
def verify(**options) -> None:
    run.verify(**options)


@cli.command("import", help=_help(run.import_))
@click.argument("model", type=_paths(), metavar="MODEL")
@click.option(
    "-o", "--output", required=True, type=_paths(), help="Where to write the spec (JSON)."
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option(
    "--flat", is_flag=True, help="Keep every layer in the model; do not fold repeated units."
)
@click.option(
    "--verbose", is_flag=True, help="Let TensorFlow print its start-up log (hidden by default)."
)
def import_(**options) -> None:
    run.import_(**options)


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, styles, spec files).

    \b
    bash:  eval "$(specgen completion bash)"     (in ~/.bashrc)
    zsh:   eval "$(specgen completion zsh)"      (in ~/.zshrc)
    fish:  specgen completion fish > ~/.config/fish/completions/specgen.fish
    """
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None  # click ships all three
    click.echo(complete(cli, {}, "specgen", COMPLETE_VAR).source())


def run_click(argv: list[str]) -> int:
    """Run one command line through click; its exceptions become exit codes."""
    try:
        code = cli.main(
            args=argv, prog_name="specgen", standalone_mode=False, complete_var=COMPLETE_VAR
        )
    except click.exceptions.Abort:
        echo("Aborted.", err=True)
        return INVALID
    except click.ClickException as exc:  # usage errors (2) and click's own file errors (1)
        exc.show()
        return exc.exit_code
    return code if isinstance(code, int) else OK


def main(argv: list[str] | None = None) -> int:
    try:
        return run_click(sys.argv[1:] if argv is None else list(argv))
    except Failed as exc:
        for line in exc.lines:
            echo(line, err=True)
        return INVALID
    except KeyboardInterrupt:
        echo("Aborted.", err=True)
        return INVALID
    except SystemExit as exc:  # render --check's verdict, shell completion's answer
        return exc.code if isinstance(exc.code, int) else OK
    except BrokenPipeError:  # `specgen render --diff | head`: the reader has all it wanted
        return pipe_closed()
    except (TemplateProblem, writing.OutputProblem) as exc:
        echo(str(exc), err=True)
        return INVALID
    except OSError as exc:  # the environment (permissions, a full disk), not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        echo(f"specgen: {where}{exc.strerror or exc}", err=True)
        return INVALID
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        echo(
            f"specgen: internal error: {type(exc).__name__}: {exc} (this is a bug; please report it"
            " with the spec that caused it)",
            err=True,
        )
        return INTERNAL


def pipe_closed() -> int:
    """Stdout's reader went away: stop quietly. What is still buffered goes nowhere (Python
    would otherwise report the failed flush at exit); exit 1, as click does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return INVALID


def console() -> None:
    """The `specgen` command. Before exiting, the objects left are frozen out of the garbage
    collector: its passes over every module's objects at interpreter shutdown were 10-20% of
    a cold one-spec render (bench/render_speed.py). Only here, never in `main`, which
    programs and tests call in a process that goes on."""
    import gc

    code = main()
    try:
        sys.stdout.flush()  # a closed pipe shows here when the output was buffered
    except BrokenPipeError:
        code = pipe_closed()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()

"""The `specgen` command: a thin layer over the Python API that prints errors once.

Exit codes: 0 ok; 1 invalid spec, refused request, conflicting or stale output; 2 usage error;
3 internal error (a bug: one line and a request to report it, never a traceback).

Built on argparse rather than click: a code generator must start in milliseconds, and importing
click was ~10 ms of a ~150 ms cold one-spec render (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .catalog import allow_import as custom
from .commands import (
    INVALID,
    OK,
    Failed,
    Usage,
    echo,
    import_,
    plot,
    render,
    schema,
    summary,
    validate,
    verify,
)
from .emit import write as writing
from .spec.errors import TemplateProblem

USAGE, INTERNAL = 2, 3  # OK and INVALID: commands.py
STYLE_CHOICES = ("sequential", "functional", "subclass", "all")
DEFAULT_STYLE = "functional"


def _render_arguments(add) -> None:
    add("specs", nargs="+", metavar="SPECS")
    add(
        "--style",
        choices=STYLE_CHOICES,
        default=DEFAULT_STYLE,
        help="API style to emit; 'all' emits every style the spec can take"
        f" (default: {DEFAULT_STYLE}).",
    )
    add(
        "--out",
        type=Path,
        default=Path("generated"),
        help="Folder to write into (default: generated).",
    )
    add(
        "--force",
        action="store_true",
        help="Replace files specgen did not write or that were edited by hand.",
    )
    add(
        "--check",
        action="store_true",
        help="Write nothing; exit 1 if any file is stale, missing or orphaned.",
    )
    add(
        "--diff",
        action="store_true",
        help="Write nothing; print a unified diff of stale files (exit 1 if any).",
    )
    add(
        "--prune",
        action="store_true",
        help="Delete orphaned files: ones specgen wrote in --out that no given spec produces.",
    )
    add(
        "--templates",
        type=Path,
        help="Folder of templates that override the packaged ones by name.",
    )


def _schema_arguments(add) -> None:
    add(
        "-o",
        "--output",
        type=Path,
        help="Write the schema to this file (specgen's own: schemas/model-spec.schema.json).",
    )
    add("--force", action="store_true", help="Replace a file that is not a specgen schema.")


def _plot_arguments(add) -> None:
    add("spec")
    add(
        "-o",
        "--output",
        required=True,
        type=Path,
        help="Diagram file: .svg or .png (through Graphviz) or .dot.",
    )
    add("--force", action="store_true", help="Replace a file that is not a specgen plot.")


def _import_arguments(add) -> None:
    add("model", type=Path, metavar="MODEL")
    add("-o", "--output", required=True, type=Path, help="Where to write the spec (JSON).")
    add("--force", action="store_true", help="Replace an existing file.")
    add(
        "--flat",
        action="store_true",
        help="Keep every layer in the model; do not fold repeated units.",
    )


COMMANDS: dict[str, tuple[Callable[..., None], Callable[[Callable], None]]] = {
    "render": (render, _render_arguments),
    "validate": (validate, lambda add: add("specs", nargs="+", metavar="SPECS")),
    "schema": (schema, _schema_arguments),
    "summary": (summary, lambda add: add("spec")),
    "plot": (plot, _plot_arguments),
    "verify": (
        verify,
        lambda add: (
            add("spec"),
            add("--steps", type=int, default=3, help="Training steps to compare (default: 3)."),
        ),
    ),
    "import": (import_, _import_arguments),
}


def _unindent(docstring: str) -> str:
    """inspect.cleandoc for a module-level function's docstring, without importing inspect."""
    first, *rest = docstring.splitlines() or [""]
    return "\n".join([first, *(line.removeprefix("    ") for line in rest)]).strip()


def _command_parser(name: str) -> argparse.ArgumentParser:
    function, arguments = COMMANDS[name]
    parser = argparse.ArgumentParser(
        prog=f"specgen {name}",
        description=_unindent(function.__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    arguments(parser.add_argument)
    return parser


def _top_parser() -> argparse.ArgumentParser:
    listing = "\n".join(
        f"  {name:9s} {(function.__doc__ or '').splitlines()[0]}"
        for name, (function, _) in COMMANDS.items()
    )
    parser = argparse.ArgumentParser(
        prog="specgen",
        description="Compile JSON model specs into Keras modules (Sequential, Functional,"
        " subclassed).",
        usage="specgen [-h] [--version] [--allow-import MODULE] COMMAND [ARGS]...",
        epilog=f"commands:\n{listing}\n\n`specgen COMMAND -h` says more.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"specgen, version {__version__}")
    parser.add_argument(
        "--allow-import",
        action="append",
        default=[],
        metavar="MODULE",
        help="Allow CustomLayer classes from MODULE (also: [tool.specgen] allow-import).",
    )
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help="one of those below")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def run(argv: list[str]) -> None:
    """Parse and run one command line; SystemExit carries argparse's exits (help, usage)."""
    top = _top_parser().parse_args(argv)
    custom.allow_import(*top.allow_import)
    parser = _command_parser(top.command)
    # intermixed: options and specs in any order (`render specs --out g --check more.json`).
    options = vars(parser.parse_intermixed_args(top.arguments))
    try:
        COMMANDS[top.command][0](**options)
    except Usage as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> int:
    try:
        run(sys.argv[1:] if argv is None else list(argv))
    except Failed as exc:
        for line in exc.lines:
            echo(line, err=True)
        return INVALID
    except KeyboardInterrupt:
        echo("Aborted.", err=True)
        return INVALID
    except SystemExit as exc:  # argparse: 0 after --help or --version, 2 for a usage error
        return exc.code if isinstance(exc.code, int) else OK
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
    return OK


def console() -> None:
    """The `specgen` command. Before exiting, the objects left are frozen out of the garbage
    collector: its passes over every module's objects at interpreter shutdown were 10-20% of
    a cold one-spec render (bench/render_speed.py). Only here, never in `main`, which
    programs and tests call in a process that goes on."""
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()

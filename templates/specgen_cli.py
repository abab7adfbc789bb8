"""The command line of the generated training scripts, parsed before TensorFlow is
imported.

Shared by every `train_*.py` in this folder (rendered once); standard library only, so
that `--help` and argument errors answer at once."""

import argparse
import contextlib
import importlib
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """What a spec decides about training, besides its model, optimizer, loss and
    metrics.

    inputs: {name: (shape, dtype)}; outputs: {name: (shape, kind of labels its loss
    takes)}; vocabulary: the first Embedding's input_dim (synthetic integers and text
    stay below it)."""

    name: str
    seed: int | None
    epochs: int
    batch_size: int
    dataset: object
    inputs: dict
    outputs: dict
    vocabulary: int | None = None
    validation_split: float | None = None
    targets: str | None = None
    # sha256 of the whole spec: a run folder resumes only a run of this content.
    spec_sha256: str | None = None
    # {input: the Normalization layers reading it}: mean and variance learnt (adapt).
    learnt_statistics: dict | None = None


def sibling(package, name):
    """A module of this folder: `pkg.name` inside a package, plain `name` beside a
    script."""
    return importlib.import_module(f"{package}.{name}" if package else name)


def runtime(package, verbose=False):
    """specgen_runtime, which imports TensorFlow. Unless `verbose`, TensorFlow's
    start-up log stays out of the terminal: what it prints while it loads and finds its
    devices (some of it before its own log level applies), and its later C++ and absl
    lines below errors (a TF_CPP_MIN_LOG_LEVEL the user set is kept)."""
    if verbose:
        return sibling(package, "specgen_runtime")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_to_devnull():
        module = sibling(package, "specgen_runtime")
        module.tf.config.list_physical_devices()
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return module


@contextlib.contextmanager
def _stderr_to_devnull():
    """File descriptor 2 to /dev/null for a while: TensorFlow's C++ writes there."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _writable_file(parser, option, path, suffix=None):
    """Refuse, before any training, a path that could not be written afterwards."""
    if path is None:
        return
    if suffix and not path.endswith(suffix):
        parser.error(f"{option} needs a path ending in {suffix}; got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        parser.error(f"{option} {path!r} is a directory")
    if not os.path.isdir(folder):
        parser.error(f"{option} {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        parser.error(f"{option} {path!r}: folder {folder!r} is not writable")


def rendered(script, modules):
    """The styles of `modules` ({style: module name}) whose module is rendered beside
    `script` (the training script's __file__)."""
    folder = os.path.dirname(os.path.abspath(script))
    return tuple(
        style
        for style, name in modules.items()
        if os.path.isfile(os.path.join(folder, f"{name}.py"))
    )


def default_style(styles):
    """The only style rendered; functional when there are several and it is one of
    them, else the first."""
    return "functional" if "functional" in styles or not styles else styles[0]


def parse_args(settings, argv=None, description=None, styles=("functional",)):
    """The script's options; `styles`: the styles whose model module is beside it."""
    seed = settings.seed if settings.seed is not None else 0
    parser = argparse.ArgumentParser(
        description=(description or f"Train the {settings.name} model.")
        .strip()
        .splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--style",
        choices=styles,
        default=default_style(styles),
        help="which rendered module builds the model (every style is the same model)",
    )
    add(
        "--loop",
        choices=["fit", "tape"],
        default="fit",
        help="model.fit, or a custom tf.GradientTape loop with the same semantics",
    )
    add("--epochs", type=int, default=settings.epochs, help="training epochs")
    add(
        "--batch-size",
        type=int,
        default=settings.batch_size,
        help="global batch size (split across replicas)",
    )
    add(
        "--data",
        default="spec",
        help="'spec' (the spec's data set), 'synthetic', or a path to an .npz with"
        " x_train, y_train, x_test, y_test",
    )
    add(
        "--samples",
        type=int,
        default=1024,
        help="training samples for --data synthetic",
    )
    add(
        "--seed",
        type=int,
        default=seed,
        help="seed for weights, shuffling and synthetic data",
    )
    add(
        "--run-dir",
        default=settings.name,
        help="folder for checkpoints, logs and the final model; the same command"
        " again resumes the run it holds",
    )
    add(
        "--fresh",
        action="store_true",
        help="discard the run in --run-dir and start over",
    )
    add("--save", metavar="PATH.keras", help="also save the trained model here")
    add("--plot", metavar="PATH.png", help="plot loss and metrics per epoch")
    add(
        "--strategy",
        choices=["default", "mirrored", "multiworker"],
        default="default",
        help="tf.distribute strategy",
    )
    add(
        "--jit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="XLA-compile the steps (default: on a GPU only; XLA is slower on CPUs)",
    )
    add(
        "--mixed-precision",
        action="store_true",
        help="compute in float16 with float32 variables and outputs (for GPUs)",
    )
    add(
        "--logical-cpus",
        type=int,
        default=0,
        help="split the CPU into N logical devices (try --strategy mirrored)",
    )
    add("--quiet", action="store_true", help="no progress bars")
    add(
        "--verbose",
        action="store_true",
        help="let TensorFlow print its start-up log (hidden by default)",
    )
    add(
        "--predict",
        metavar="FILE_OR_FOLDER",
        help="print the predictions of --run-dir's model.keras for these image or"
        " text files, with class names; trains nothing",
    )
    args = parser.parse_args(argv)
    if not styles:
        parser.error("no model module beside this script; render its spec with specgen")
    if args.epochs < 1 or args.batch_size < 1 or args.samples < 1:
        parser.error("--epochs, --batch-size and --samples must be at least 1")
    if args.strategy == "multiworker" and args.loop == "fit":
        # Keras 3.15's fit builds its metrics from a first batch of PerReplica values,
        # which MultiWorkerMirroredStrategy cannot convert; the tape loop has no such
        # step.
        parser.error(
            "--strategy multiworker needs --loop tape (Keras 3.15's fit fails there)"
        )
    _writable_file(parser, "--save", args.save, ".keras")
    _writable_file(parser, "--plot", args.plot, ".png")
    if os.path.exists(args.run_dir) and not os.path.isdir(args.run_dir):
        parser.error(f"--run-dir {args.run_dir!r} exists and is not a folder")
    existing = os.path.abspath(args.run_dir)
    while not os.path.exists(existing):  # the folders made for it go in the nearest one
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK):
        parser.error(
            f"--run-dir {args.run_dir!r}: {existing!r} is not a writable folder"
        )
    if args.data not in ("spec", "synthetic") and not os.path.isfile(args.data):
        parser.error(f"--data {args.data!r}: no such file")
    return args

"""Kill and resume with every callback of the catalog: each one's state carries over, so the
resumed run equals one that never stopped. The kill is at a known point (the runtime kills
itself after an epoch's checkpoint when SPECGEN_KILL_AFTER_EPOCH says so): no clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT

import specgen
from specgen.catalog import training as training_catalog

# min_delta larger than any change: after epoch 0, no epoch improves, so each callback's
# counters advance every epoch and a resume that lost them acts at another epoch.
CALLBACKS = [
    {"type": "EarlyStopping", "monitor": "val_loss", "patience": 4, "min_delta": 100.0,
     "restore_best_weights": True},
    # Lowers the rate after epochs 1 and 4; the cooldown spans the kill (after epoch 2).
    {"type": "ReduceLROnPlateau", "monitor": "val_loss", "patience": 1, "cooldown": 3,
     "factor": 0.5, "min_delta": 100.0},
    # This model's validation loss is lowest in epoch 0: a resume that lost `best` saves again.
    {"type": "ModelCheckpoint", "monitor": "val_loss", "save_best_only": True},
    {"type": "CSVLogger"},
    {"type": "TerminateOnNaN"},
]  # fmt: skip
SPEC = {
    "name": "every_callback",
    "seed": 3,
    "inputs": [{"name": "x", "shape": [4]}],
    "layers": [
        {"name": "hidden", "type": "Dense", "units": 8, "activation": "relu"},
        {"name": "out", "type": "Dense", "units": 3},
    ],
    "training": {
        "dataset": "synthetic",
        "optimizer": {"type": "SGD", "learning_rate": 0.1},
        "loss": {"type": "SparseCategoricalCrossentropy", "from_logits": True},
        "callbacks": CALLBACKS,
        "validation_split": 0.25,
        "epochs": 9,
        "batch_size": 8,
    },
}
ARGV = ["--quiet", "--data", "synthetic", "--samples", "64"]


def test_the_spec_holds_every_callback_of_the_catalog_but_tensorboard():
    # TensorBoard needs the tensorboard package (not a test dependency); it carries no state:
    # every summary is stepped by epoch (specgen_runtime.CALLBACK_STATE).
    assert {c["type"] for c in CALLBACKS} == set(training_catalog.CALLBACKS) - {"TensorBoard"}


def _script(tmp_path):
    for name, text in specgen.render(SPEC, "functional").items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / "train_every_callback.py"


LOOPS = ("fit", "tape")
# One process runs the training script's main() once per run (a run folder, its loop, and
# the epoch after whose checkpoint it is killed, if any) and prints a line {folder: summary}
# after each run that finished. TensorFlow's start dominates the time, so a process trains
# more than once: the runtime keeps no state between runs, and the resumed runs start in a
# process of their own, with nothing but the run folders to go on.
DRIVER = """
import contextlib, io, json, os, sys
import train_every_callback as script
argv = json.loads(sys.argv[1])
for folder, loop, kill in json.loads(sys.argv[2]):
    if kill is not None:
        os.environ["SPECGEN_KILL_AFTER_EPOCH"] = str(kill)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = script.main([*argv, "--loop", loop, "--run-dir", folder])
    assert code == 0, (folder, code)
    print(json.dumps({folder: json.loads(out.getvalue().strip().splitlines()[-1])}), flush=True)
"""


def _start(script, runs):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, json.dumps(ARGV), json.dumps(runs)],
        cwd=script.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _summaries(process, returncode=0):
    out, err = process.communicate()
    assert process.returncode == returncode, err[-3000:]
    summaries = {}
    for line in out.strip().splitlines():
        summaries.update(json.loads(line))
    for summary in summaries.values():
        summary.pop("samples_per_sec")
    return summaries


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Per loop, one process runs it whole, then again killed after epoch 2's checkpoint
    (epochs 0, 1, 2 done); then one more process resumes both killed runs."""
    folder = tmp_path_factory.mktemp("every_callback")
    script = _script(folder)
    starts = [
        _start(script, [[f"whole_{loop}", loop, None], [f"killed_{loop}", loop, 3]])
        for loop in LOOPS
    ]
    whole = {}
    for process in starts:
        whole.update(_summaries(process, returncode=-9))
    resumed = _summaries(_start(script, [[f"killed_{loop}", loop, None] for loop in LOOPS]))
    return folder, whole, resumed


@pytest.mark.slow
@pytest.mark.parametrize("loop", LOOPS)
def test_kill_and_resume_with_every_callback(loop, runs):
    folder, wholes, resumes = runs
    whole, resumed = wholes[f"whole_{loop}"], resumes[f"killed_{loop}"]
    history = whole["history"]
    # What makes the test able to fail: each callback acted after the kill point.
    assert len(history["loss"]) == 5 < SPEC["training"]["epochs"], "EarlyStopping stopped"
    rates = history["learning_rate"]
    assert rates[1] > rates[2] == rates[3] == rates[4], "ReduceLROnPlateau cooled down"
    assert history["val_loss"][0] < min(history["val_loss"][1:]), "only epoch 0 is the best"
    assert resumed == whole  # history (with the learning rate), final figures
    runs = [folder / f"whole_{loop}", folder / f"killed_{loop}"]
    for name in ("model.keras", "best.keras"):  # restored best weights; ModelCheckpoint's best
        weights = [keras.models.load_model(run / name).get_weights() for run in runs]
        for a, b in zip(*weights, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert (runs[0] / "log.csv").read_text() == (runs[1] / "log.csv").read_text()
    assert os.path.getsize(runs[1] / "log.csv") > 0


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"])
def test_a_callback_attribute_keras_no_longer_has_fails_naming_it(name, tmp_path):
    """A Keras that renamed a callback's attribute: saving the run folder fails naming it,
    never storing None that a resumed run would read back as a reset counter."""
    from conftest import import_file

    _script(tmp_path)
    runtime = import_file(tmp_path / "specgen_runtime.py")
    args = {"filepath": str(tmp_path / "best.keras")} if name == "ModelCheckpoint" else {}
    callback = getattr(keras.callbacks, name)(**args)
    key = runtime.CALLBACK_STATE[name][0]
    delattr(callback, key)  # as a Keras without it would leave the object
    with pytest.raises(runtime.DataError, match=rf"cannot checkpoint {name}\.{key}: this Keras"):
        runtime._state(callback)

"""README promises, each run as a user runs it (the CLI, or the generated training script):
the .keras size limit, no write through a link for `schema -o`/`plot -o`/`import -o`, an orphan
left by removing a training block, the --jit default, `verify` on a spec without a seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT

from specgen.spec import limits

ENV = {
    "PYTHONPATH": str(ROOT),
    "PATH": "/usr/bin:/bin",
    "SPECGEN_CACHE_DIR": "",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
SPEC = {
    "name": "promise",
    "inputs": [{"name": "x", "shape": [3]}],
    "layers": [{"name": "out", "type": "Dense", "units": 2}],
}
TRAINING = {
    "dataset": "synthetic",
    "optimizer": {"type": "SGD", "learning_rate": 0.01},
    "loss": "mse",
    "epochs": 1,
    "batch_size": 8,
}
# A Keras Sequential config, as `specgen import` reads it (a .keras file's config.json).
KERAS_CONFIG = {
    "class_name": "Sequential",
    "config": {
        "name": "s",
        "layers": [
            {
                "class_name": "InputLayer",
                "config": {"batch_shape": [None, 2], "dtype": "float32", "name": "x"},
            },
            {"class_name": "Dense", "config": {"name": "d", "units": 1}},
        ],
    },
}


def specgen_cli(cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", "specgen.cli", *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
    )


def test_a_huge_file_that_is_no_archive_is_refused_unread(tmp_path):
    """`import` reads a .keras archive of any size, but of a file that is no archive it reads
    at most the README's 16 MiB, the limit of the config.json it stands for."""
    assert limits.MAX_CONFIG_BYTES == 16 * 1024 * 1024  # the README's figure
    big = tmp_path / "big.keras"
    with open(big, "wb") as stream:  # sparse: no disk space taken
        stream.truncate(256 * 1024 * 1024 + 1)
    out = specgen_cli(tmp_path, "import", big, "-o", "s.json")
    assert out.returncode == 1
    assert out.stderr == (
        f"{big}: is {256 * 1024 * 1024 + 1:,} bytes; the limit is {limits.MAX_CONFIG_BYTES:,}\n"
    )
    assert not (tmp_path / "s.json").exists()


def _commands(tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        archive.writestr("config.json", json.dumps(KERAS_CONFIG))
    return {
        "schema": (["schema", "-o"], "out.json"),
        "plot": (["plot", "spec.json", "-o"], "out.dot"),
        "import": (["import", "m.keras", "-o"], "out.json"),
    }


@pytest.mark.parametrize("command", ["schema", "plot", "import"])
def test_single_file_outputs_never_write_through_a_link(command, tmp_path):
    args, name = _commands(tmp_path)[command]
    target = tmp_path / "precious.txt"
    target.write_text("mine\n")
    link = tmp_path / name
    link.symlink_to(target.name)
    out = specgen_cli(tmp_path, *args, name)
    assert out.returncode == 1 and "is a symbolic link" in out.stderr, out.stderr
    assert link.is_symlink() and target.read_text() == "mine\n"
    out = specgen_cli(tmp_path, *args, name, "--force")  # replaces the link itself
    assert out.returncode == 0, out.stderr
    assert not link.is_symlink() and link.stat().st_size > 0
    assert target.read_text() == "mine\n"


def test_removing_a_training_block_leaves_an_orphan_named_checked_and_pruned(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC | {"training": TRAINING}))
    assert specgen_cli(tmp_path, "render", spec, "--out", "g").returncode == 0
    orphan = tmp_path / "g" / "train_promise.py"
    assert orphan.exists()
    spec.write_text(json.dumps(SPEC))  # the training block removed
    out = specgen_cli(tmp_path, "render", spec, "--out", "g")
    assert out.returncode == 0 and "orphan" in out.stdout + out.stderr, out.stdout + out.stderr
    assert str(orphan.relative_to(tmp_path)) in out.stdout + out.stderr
    assert orphan.exists()  # named, not deleted
    out = specgen_cli(tmp_path, "render", spec, "--out", "g", "--check")
    assert out.returncode == 1, out.stdout + out.stderr
    out = specgen_cli(tmp_path, "render", spec, "--out", "g", "--prune")
    assert out.returncode == 0 and not orphan.exists()
    assert (tmp_path / "g" / "promise_functional.py").exists()


def _saved_jit(tmp_path, *flags):
    run = tmp_path / ("run" + "".join(flags))
    out = subprocess.run(
        [sys.executable, "train_promise.py", "--quiet", "--samples", "32"]
        + ["--data", "synthetic", "--run-dir", str(run), *flags],
        cwd=tmp_path / "g",
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    with zipfile.ZipFile(run / "model.keras") as archive:
        config = json.loads(archive.read("config.json"))
    return config["compile_config"]["jit_compile"]


@pytest.mark.slow
def test_jit_defaults_to_xla_on_gpus_only(tmp_path):
    tf = pytest.importorskip("tensorflow")
    (tmp_path / "spec.json").write_text(json.dumps(SPEC | {"training": TRAINING}))
    assert specgen_cli(tmp_path, "render", "spec.json", "--out", "g").returncode == 0
    gpu = bool(tf.config.list_physical_devices("GPU"))
    assert _saved_jit(tmp_path) is gpu  # the default
    assert _saved_jit(tmp_path, "--jit") is True  # the saved field does say so


def test_verify_a_spec_without_a_seed_under_seed_0(tmp_path):
    pytest.importorskip("keras")
    assert "seed" not in SPEC
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    out = specgen_cli(tmp_path, "verify", "spec.json")
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    rows = {line.split("  ")[0]: line.split()[-3:] for line in out.stdout.splitlines()[1:-1]}
    assert rows["initial weights"] == ["ok", "ok", "ok"]  # equal seeds: bit-identical
    assert out.stdout.splitlines()[-1] == "verified: 3 styles of promise are the same model"
    # verify writes nothing beside the spec (ruff once left a .ruff_cache folder here)
    assert os.listdir(tmp_path) == ["spec.json"]


def test_render_writes_nothing_outside_its_output_folder(tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    assert specgen_cli(tmp_path, "render", "spec.json", "--out", "g").returncode == 0
    assert sorted(os.listdir(tmp_path)) == ["g", "spec.json"]


SAVE = """
import sys, numpy as np
sys.path.insert(0, "g")
import promise_sequential as module
model = module.build_model(seed=0)
model.save("m.keras")
x = np.arange(12, dtype="float32").reshape(4, 3) / 7
np.savez("before.npz", x=x, y=model.predict(x, verbose=0), units=model.layers[-1].units)
"""
LOAD = """
import keras, numpy as np
model = keras.models.load_model("m.keras")  # the module is not imported, nor on the path
saved = np.load("before.npz")
assert type(model) is keras.Sequential, type(model)
assert model.layers[-1].units == int(saved["units"]), model.layers[-1].units
np.testing.assert_array_equal(model.predict(saved["x"], verbose=0), saved["y"])
print("reloaded", [layer.name for layer in model.layers])
"""


def test_a_sequential_model_reloads_the_architecture_saved_in_its_file(tmp_path):
    pytest.importorskip("keras")
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    assert specgen_cli(tmp_path, "render", "spec.json", "--style", "sequential", "--out", "g")

    def run(code):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=ENV, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out

    run(SAVE)
    # The spec edited and re-rendered since: the file's own architecture comes back.
    edited = SPEC | {"layers": [{"name": "out", "type": "Dense", "units": 5}]}
    (tmp_path / "spec.json").write_text(json.dumps(edited))
    rerender = specgen_cli(tmp_path, "render", "spec.json", "--style", "sequential", "--out", "g")
    assert rerender.returncode == 0 and "written:" in rerender.stdout, rerender.stderr
    out = run(LOAD)
    assert out.stdout.strip() == "reloaded ['out']"

"""Generated training scripts: same curve in both loops, real data, loaders, strategies, CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from conftest import ROOT, SPECS, import_file, spec_id

import specgen
from specgen.model import training

keras = pytest.importorskip("keras")

# Stated tolerance between the fit and tape loops' per-epoch figures. Both read the same
# batches in the same order with the same ops, so they agree to float32 rounding.
RTOL, ATOL = 1e-5, 1e-6


def _script(rendered, name):
    """A spec's one training script; it trains any rendered style (`--style`)."""
    return import_file(rendered / f"train_{name}.py")


def _train(script, *argv):
    run_dir = tempfile.mkdtemp(prefix="specgen-run-")
    args = script.parse_args(["--quiet", "--run-dir", run_dir, *argv])
    with contextlib.redirect_stdout(io.StringIO()):
        summary, model = script.train(args)
    return summary, model


def _data_args(model):
    """Small, offline data for a spec: synthetic instead of a download. 256 samples make full
    batches in both splits: Keras 3.15's fit weights each per-output loss by the static batch
    size (None in a traced step), so with a partial last batch its `val_<output>_loss` is an
    unweighted mean of batch means, while the tape loop keeps the weighted mean."""
    builtin = (
        isinstance(model.training.get("dataset"), str) and model.training["dataset"] != "digits"
    )
    return ["--data", "synthetic", "--samples", "256"] if builtin else []


# Specs without a training section (the autoencoder, variable-length) have no script.
TRAINED = [s for s in SPECS if "training" in json.loads(s.read_text())]


@pytest.mark.parametrize("spec", TRAINED, ids=spec_id)
def test_fit_and_tape_give_the_same_curve(spec, rendered):
    model = specgen.compile(spec)
    script = _script(rendered, model.name)
    argv = [*_data_args(model), "--epochs", "3"]
    fit, _ = _train(script, "--loop", "fit", *argv)
    tape, _ = _train(script, "--loop", "tape", *argv)
    assert fit["history"].keys() == tape["history"].keys()
    for key, curve in fit["history"].items():
        np.testing.assert_allclose(tape["history"][key], curve, rtol=RTOL, atol=ATOL, err_msg=key)
    assert len(fit["history"]["loss"]) == 3
    # Validation's list of what a callback may monitor is what Keras really logs.
    assert set(training.logged_names(model)) == fit["history"].keys() - {"learning_rate"}
    for summary in (fit, tape):
        assert {"loop", "epochs", "loss", "train_loss", "samples_per_sec"} <= summary.keys()
        assert summary["samples_per_sec"] > 0


def test_every_style_trains_identically(rendered):
    model = specgen.compile(ROOT / "specs" / "cifar100.json")
    curves = {
        style: _train(
            _script(rendered, model.name),
            "--style",
            style,
            "--loop",
            "tape",
            *_data_args(model),
            "--epochs",
            "2",
        )[0]["history"]["loss"]
        for style in ("sequential", "functional", "subclass")
    }
    assert curves["sequential"] == curves["functional"] == curves["subclass"]


@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_digits_cnn_reaches_98_percent(loop, rendered):
    """scikit-learn's real 8x8 digits, held-out 20% test split."""
    summary, _ = _train(_script(rendered, "digits_cnn"), "--style", "subclass", "--loop", loop)
    assert summary["accuracy"] >= 0.98, summary["accuracy"]


@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_synthetic_linear_recovers_slope_and_intercept(loop, rendered):
    _, model = _train(_script(rendered, "linear_regression"), "--loop", loop)
    kernel, bias = (w.numpy() for w in model.get_layer("line").weights)
    assert abs(float(kernel[0, 0]) - 3.0) < 0.05 and abs(float(bias[0]) - 1.0) < 0.05


def test_tiny_regression_predicts_the_line(rendered):
    _, model = _train(_script(rendered, "tiny_regression"), "--loop", "fit")
    prediction = np.asarray(model.predict(np.array([[5.0], [4.0]]), verbose=0)).ravel()
    np.testing.assert_allclose(prediction, [-4.0, -3.0], atol=0.1)


@pytest.mark.parametrize(
    "name, shape, channel_axis",
    [
        ("mnist", (6, 28, 28), True),
        ("fashion_mnist", (6, 28, 28), True),
        ("cifar100", (6, 32, 32, 3), False),
    ],
)
def test_builtin_loader_preprocessing(name, shape, channel_axis, rendered, monkeypatch, tmp_path):
    spec = json.loads((ROOT / "specs" / "cifar100.json").read_text())
    spec["training"]["dataset"] = name
    spec["name"] = f"loader_{name}"
    if channel_axis:
        spec["inputs"][0]["shape"] = [28, 28, 1]
    spec["layers"][-1]["units"] = 100 if name == "cifar100" else 10
    for file_name, text in specgen.render(spec, "functional").items():
        (tmp_path / file_name).write_text(text)
    script = import_file(tmp_path / f"train_loader_{name}.py")
    raw = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    labels = np.arange(6).reshape(-1, 1)
    monkeypatch.setattr(
        getattr(keras.datasets, name), "load_data", lambda: ((raw, labels), (raw[:2], labels[:2]))
    )
    (x_train, y_train), (x_test, _) = script.load_spec_data()
    expected = (6, 28, 28, 1) if channel_axis else shape
    assert x_train.shape == expected and x_test.shape == (2, *expected[1:])
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    np.testing.assert_allclose(x_train.reshape(shape), raw / 255.0, rtol=1e-6)
    assert (y_train == labels.ravel()).all()  # (rows, 1) labels become (rows,) class ids


def test_offline_builtin_dataset_is_one_line_error(rendered, monkeypatch, capsys):
    script = _script(rendered, "cifar100_cnn")

    def offline():
        raise Exception(
            "URL fetch failure on https://example.invalid: None -- [Errno -2] Name or service not known"
        )

    monkeypatch.setattr(keras.datasets.cifar100, "load_data", offline)
    assert script.main(["--quiet", "--run-dir", tempfile.mkdtemp()]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--data synthetic" in err and "Traceback" not in err


def _mnist_arrays(train: int, test: int) -> dict[str, np.ndarray]:
    """Random MNIST-shaped splits for the mnist_cnn spec's .npz source."""
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.random((train, 28, 28, 1), dtype=np.float32),
        "y_train": rng.integers(0, 10, train),
        "x_test": rng.random((test, 28, 28, 1), dtype=np.float32),
        "y_test": rng.integers(0, 10, test),
    }


def test_npz_data_save_plot_and_json_last_line(rendered, tmp_path, capsys):
    script = _script(rendered, "mnist_cnn")
    arrays = _mnist_arrays(train=64, test=16)
    np.savez(tmp_path / "data.npz", **arrays)
    saved, plot = tmp_path / "m.keras", tmp_path / "curves.png"
    argv = [
        "--run-dir",
        str(tmp_path / "run"),
        "--data",
        str(tmp_path / "data.npz"),
        "--epochs",
        "2",
        "--save",
        str(saved),
        "--plot",
        str(plot),
        "--quiet",
    ]
    assert script.main(argv) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["loop"] == "fit" and last["epochs"] == 2 and 0 <= last["accuracy"] <= 1
    mnist = next(s for s in SPECS if s.stem == "mnist_cnn")
    assert keras.models.load_model(saved).count_params() == specgen.compile(mnist).params[0]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    np.savez(tmp_path / "bad.npz", x_train=arrays["x_train"])
    assert (
        script.main(["--data", str(tmp_path / "bad.npz"), "--quiet", "--run-dir", str(tmp_path)])
        == 1
    )
    assert "has no y_train" in capsys.readouterr().err


def test_import_has_no_side_effects_and_help_explains_options(rendered, capsys):
    script = _script(rendered, "cifar100_cnn")
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--loop",
        "--epochs",
        "--batch-size",
        "--data",
        "--samples",
        "--seed",
        "--save",
        "--plot",
        "--strategy",
        "--jit",
        "--no-jit",
        "--mixed-precision",
        "--quiet",
        "--run-dir",
        "--fresh",
        "--style",
        "--verbose",
    ):
        assert option in text, option
    assert "{sequential,functional,subclass}" in text  # every rendered style


# float32's unit roundoff, for tolerances derived from the arithmetic.
UNIT_ROUNDOFF = 2.0**-24


def test_mirrored_strategy_on_two_logical_cpus(rendered):
    """MirroredStrategy splits each global batch across two logical CPUs, in both loops.

    The tape loop's curve equals the single-device curve up to float32 summation order.
    Keras 3.15's own fit under MirroredStrategy drifts from its single-device run, so for
    fit we assert that it trains, not that it matches (see the issue note).

    Exact where it can be: both runs use deterministic kernels (TF_DETERMINISTIC_OPS=1) and
    TensorFlow's own Eigen kernels rather than oneDNN's (TF_ENABLE_ONEDNN_OPTS=0), whose
    blocking and so summation order follow the CPU's vector width: with oneDNN on, an AVX-512
    machine drifted to 1.31e-4 at epoch 3 (issue 19). What stays is the one difference the
    strategy makes by design: each gradient is summed as two half-batch sums plus their
    all-reduce instead of one sum, a different order of the same float32 additions. The
    tolerance is that order's worst case (Higham, Accuracy and Stability of Numerical
    Algorithms, eq. 4.4: |error| <= gamma_N * sum|terms|, gamma_N = N u / (1 - N u)) for the
    longest such sum, conv2's kernel gradient (batch 32 x 24 x 24 output positions), added up
    to first order over every optimizer step of the run (Adam's step is the gradient over its
    own magnitude, so a step's relative error carries over as it is). Measured with these
    settings: 1.0e-7, far inside it; a replica-scaling bug (a factor of 2) is far outside."""
    script = rendered / "train_mnist_cnn.py"
    samples, epochs, batch = 128, 3, 32
    common = ["--data", "synthetic", "--samples", str(samples), "--epochs", str(epochs)]
    exact = {"TF_DETERMINISTIC_OPS": "1", "TF_ENABLE_ONEDNN_OPTS": "0"}

    def start(*extra):
        return _start(script, *common, "--run-dir", tempfile.mkdtemp(), *extra, env=exact)

    mirrored = ("--strategy", "mirrored", "--logical-cpus", "2")
    started = [start("--loop", "tape", *mirrored), start("--loop", "tape")]
    started.append(start("--loop", "fit", *mirrored))
    tape_mirrored, tape_single, fit_mirrored = (
        _run(script, started=process)["history"] for process in started
    )
    longest = batch * 24 * 24
    gamma = longest * UNIT_ROUNDOFF / (1 - longest * UNIT_ROUNDOFF)
    rtol = epochs * (samples // batch) * gamma  # 12 steps: 1.3e-2
    for key in tape_single:
        np.testing.assert_allclose(
            tape_mirrored[key], tape_single[key], rtol=rtol, atol=1e-6, err_msg=key
        )
    assert (
        np.isfinite(fit_mirrored["loss"]).all()
        and fit_mirrored["loss"][-1] < fit_mirrored["loss"][0]
    )


def _free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_multiworker_on_two_local_processes(rendered):
    """MultiWorkerMirroredStrategy driven by TF_CONFIG: two workers on loopback ports, each
    with one CPU, train together and report the single-device curve."""
    script = rendered / "train_mnist_cnn.py"
    common = [
        "--loop",
        "tape",
        "--data",
        "synthetic",
        "--samples",
        "128",
        "--epochs",
        "2",
        "--quiet",
    ]
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_CONFIG=json.dumps(config))
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(script),
                    *common,
                    "--strategy",
                    "multiworker",
                    "--run-dir",
                    tempfile.mkdtemp(),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=rendered,
            )
        )
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-2000:]
    curves = [json.loads(out.strip().splitlines()[-1])["history"]["loss"] for out, _ in outputs]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    single = subprocess.run(
        [sys.executable, str(script), *common, "--run-dir", tempfile.mkdtemp()],
        capture_output=True,
        text=True,
        env=env,
        cwd=rendered,
    )
    expected = json.loads(single.stdout.strip().splitlines()[-1])["history"]["loss"]
    for curve in curves:
        np.testing.assert_allclose(curve, expected, rtol=1e-4)


def test_multiworker_fit_is_refused_with_a_reason(rendered, capsys):
    script = _script(rendered, "mnist_cnn")
    with pytest.raises(SystemExit) as info:
        script.parse_args(["--strategy", "multiworker"])
    assert info.value.code == 2
    assert "--strategy multiworker needs --loop tape" in capsys.readouterr().err


# ------------------------------------------------ callbacks, schedules, resume, data sources

RESUMABLE = {
    "name": "resumable",
    "seed": 7,
    "inputs": [{"name": "x", "shape": [12]}],
    "layers": [
        {"name": "hidden", "type": "Dense", "units": 16, "activation": "relu"},
        {"name": "norm", "type": "BatchNormalization"},
        {"name": "drop", "type": "Dropout", "rate": 0.3},
        {"name": "logits", "type": "Dense", "units": 4},
    ],
    "training": {
        "dataset": "synthetic",
        "optimizer": {
            "type": "AdamW",
            "weight_decay": 0.0001,
            "clipnorm": 1.0,
            "learning_rate": {
                "type": "CosineDecay",
                "initial_learning_rate": 0.01,
                "decay_steps": 100,
                "warmup_steps": 5,
                "warmup_target": 0.02,
            },
        },
        "loss": {"type": "SparseCategoricalCrossentropy", "from_logits": True},
        "metrics": ["accuracy", {"type": "SparseTopKCategoricalAccuracy", "k": 2}],
        "callbacks": [
            {
                "type": "EarlyStopping",
                "monitor": "val_loss",
                "patience": 2,
                "restore_best_weights": True,
            },
            {"type": "ModelCheckpoint", "monitor": "val_loss", "save_best_only": True},
            {"type": "CSVLogger"},
            {"type": "TerminateOnNaN"},
        ],
        "validation_split": 0.2,
        "class_weight": {"0": 1.0, "1": 2.0},
        "epochs": 10,
        "batch_size": 16,
    },
}
SMALL = ["--data", "synthetic", "--samples", "200"]


def _render(spec, folder, style="functional"):
    for name, text in specgen.render(spec, style).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / f"train_{spec['name']}.py"


def _start(script, *argv, env=None):
    """A training script started in its own process; `_run` waits for it. Independent runs
    of one test overlap this way: each spends seconds importing TensorFlow on one core."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.Popen(
        [sys.executable, str(script), "--quiet", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=script.parent,
    )


def _run(script, *argv, check=True, started=None):
    process = started or _start(script, *argv)
    stdout, stderr = process.communicate()
    out = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check:
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])
    return out


def test_early_stopping_schedule_and_class_weight_agree_in_both_loops(tmp_path):
    script = import_file(_render(RESUMABLE, tmp_path))
    fit, _ = _train(script, "--loop", "fit", *SMALL)
    tape, _ = _train(script, "--loop", "tape", *SMALL)
    assert fit["history"].keys() == tape["history"].keys()
    for key, curve in fit["history"].items():
        np.testing.assert_allclose(tape["history"][key], curve, rtol=RTOL, atol=ATOL, err_msg=key)
    assert len(fit["history"]["loss"]) < 10, "EarlyStopping stops before the last epoch"
    rates = fit["history"]["learning_rate"]
    assert len(set(rates)) == len(rates), "the cosine schedule moves every epoch"
    assert fit["accuracy"] == tape["accuracy"]


def test_reduce_lr_on_plateau_and_autoencoder_in_both_loops(rendered):
    script = _script(rendered, "ae_with_callbacks")
    fit, _ = _train(script, "--loop", "fit")
    tape, _ = _train(script, "--loop", "tape")
    for key, curve in fit["history"].items():
        np.testing.assert_allclose(tape["history"][key], curve, rtol=RTOL, atol=ATOL, err_msg=key)
    rates = fit["history"]["learning_rate"]
    assert rates[-1] < rates[0], "ReduceLROnPlateau lowered the rate"
    assert fit["history"]["loss"][-1] < 0.8 * fit["history"]["loss"][0], "the autoencoder learns"


def _checkpoint_epoch(folder):
    try:
        with np.load(folder / "checkpoint.npz") as data:
            return json.loads(str(data["meta"]))["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_kill_and_resume_equals_an_uninterrupted_run(loop, tmp_path):
    """SIGKILL right after the second epoch's checkpoint (the runtime kills itself there when
    SPECGEN_KILL_AFTER_EPOCH says so: a known point, no clock), then the same command again:
    the same history, final figures, weights and CSV log."""
    script = _render(RESUMABLE, tmp_path)
    argv = ["--loop", loop, *SMALL]
    uninterrupted = _start(script, *argv, "--run-dir", "whole")  # runs beside the killed one
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", SPECGEN_KILL_AFTER_EPOCH="2")
    command = [sys.executable, str(script), "--quiet", *argv, "--run-dir", "killed"]
    killed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _checkpoint_epoch(tmp_path / "killed") == 2
    whole = _run(script, started=uninterrupted)
    assert 2 < len(whole["history"]["loss"])
    resumed = _run(script, *argv, "--run-dir", "killed")
    assert resumed["history"] == whole["history"]
    assert {k: v for k, v in resumed.items() if k != "samples_per_sec"} == {
        k: v for k, v in whole.items() if k != "samples_per_sec"
    }
    weights = [
        keras.models.load_model(tmp_path / run / "model.keras").get_weights()
        for run in ("whole", "killed")
    ]
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (tmp_path / "whole/log.csv").read_text() == (tmp_path / "killed/log.csv").read_text()
    if loop == "fit":
        return  # the rest is the same in both loops
    again = _run(script, *argv, "--run-dir", "killed")  # a finished run reports, trains no more
    assert again["history"] == whole["history"] and again["loss"] == whole["loss"]
    other = _run(script, "--loop", loop, *SMALL, "--seed", "1", "--run-dir", "killed", check=False)
    assert other.returncode == 1 and "--fresh" in other.stderr and "Traceback" not in other.stderr


def _one_line_error(out):
    assert out.returncode == 1, out.stdout[-500:] + out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    return lines[0]


def test_bad_npz_files_are_one_line_errors(rendered, tmp_path, capsys):
    script = _script(rendered, "mnist_cnn")
    good = _mnist_arrays(train=8, test=4)
    cases = {
        "shape": (
            {"x_train": good["x_train"][..., 0]},
            "x_train has shape (8, 28, 28); the model needs (rows, 28, 28, 1)",
        ),
        "dtype": ({"y_train": np.array(["a"] * 8)}, "y_train has dtype <U1"),
        "nan": ({"x_test": np.full((4, 28, 28, 1), np.nan, np.float32)}, "x_test holds NaN"),
        "range": ({"y_train": np.full(8, 10)}, "outside the class ids 0..9"),
        "rows": ({"y_test": good["y_test"][:3]}, "y_test has 3 rows; x_test has 4"),
    }
    for name, (change, message) in cases.items():
        np.savez(tmp_path / f"{name}.npz", **{**good, **change})
        assert (
            script.main(
                ["--quiet", "--data", str(tmp_path / f"{name}.npz"), "--run-dir", str(tmp_path)]
            )
            == 1
        )
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (name, err)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "shape.npz").read_bytes()[:300])
    assert (
        script.main(["--quiet", "--data", str(tmp_path / "cut.npz"), "--run-dir", str(tmp_path)])
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read") and err.count("\n") == 1


def test_nan_loss_exits_non_zero_with_one_line(rendered, tmp_path):
    rng = np.random.default_rng(0)
    huge = {
        "x_train": np.full((64, 1), 3e38, np.float32),
        "y_train": rng.random((64, 1), dtype=np.float32),
        "x_test": np.ones((8, 1), np.float32),
        "y_test": np.ones((8, 1), np.float32),
    }
    np.savez(tmp_path / "huge.npz", **huge)
    script = rendered / "train_tiny_regression.py"
    out = _run(
        script, "--data", str(tmp_path / "huge.npz"), "--run-dir", str(tmp_path / "r"), check=False
    )
    line = _one_line_error(out)
    assert "the loss became" in line and "NaN" not in out.stdout


def test_output_paths_are_checked_before_training(rendered, tmp_path, capsys):
    script = _script(rendered, "tiny_regression")
    for argv, message in (
        (["--save", str(tmp_path / "missing" / "m.keras")], "does not exist"),
        (["--plot", str(tmp_path / "missing" / "p.png")], "does not exist"),
        (["--save", str(tmp_path / "m.h5")], "ending in .keras"),
        (["--run-dir", str(tmp_path / "file.txt")], "not a folder"),
    ):
        (tmp_path / "file.txt").write_text("x")
        with pytest.raises(SystemExit) as info:
            script.parse_args(argv)
        assert info.value.code == 2 and message in capsys.readouterr().err


def test_help_answers_without_tensorflow(rendered):
    code = (
        "import runpy, sys; sys.argv = ['x', '--help']\n"
        "try:\n    runpy.run_path(sys.argv_path, run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'\n"
    ).replace("sys.argv_path", repr(str(rendered / "train_digits_cnn.py")))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=rendered)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--run-dir" in out.stdout


def test_scripts_work_inside_a_package(rendered, tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for path in rendered.glob("*tiny_regression*.py"):
        (package / path.name).write_text(path.read_text())
    for shared in ("specgen_cli.py", "specgen_data.py", "specgen_images.py", "specgen_runtime.py"):
        (package / shared).write_text((rendered / shared).read_text())
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [
        sys.executable,
        "-m",
        "pkg.train_tiny_regression",
        "--style",
        "subclass",
        "--quiet",
        "--epochs",
        "1",
    ]
    out = subprocess.run(
        [*command, "--run-dir", "run"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.splitlines()[-1])["epochs"] == 1
    check = "from pkg import tiny_regression_functional as m; m.build_model()"
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]


def _classifier(name, inputs, layers, dataset, loss="sparse_categorical_crossentropy"):
    return {
        "name": name,
        "seed": 1,
        "inputs": inputs,
        "layers": layers,
        "training": {"dataset": dataset, "optimizer": {"type": "Adam"}, "loss": loss,
                     "metrics": ["accuracy"], "epochs": 2, "batch_size": 8},
    }  # fmt: skip


def test_image_csv_and_text_folder_sources_train(tmp_path):
    rng = np.random.default_rng(0)
    from PIL import Image

    for label in ("cats", "dogs"):
        (tmp_path / "images" / label).mkdir(parents=True)
        (tmp_path / "texts" / label).mkdir(parents=True)
        for index in range(10):
            pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / label / f"{index}.png")
            words = " ".join(rng.choice(["purr", "bark", "meow", "woof", "sit"], 6))
            (tmp_path / "texts" / label / f"{index}.txt").write_text(f"{label} {words}")
    rows = ["a,b,kind"] + [f"{x:.3f},{-x:.3f},{int(x > 0.5)}" for x in rng.random(40)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    specs = [
        _classifier(
            "images",
            [{"name": "image", "shape": [8, 8, 3]}],
            [
                {"type": "Rescaling", "scale": 1 / 255},
                {"type": "Flatten"},
                {"type": "Dense", "units": 2, "activation": "softmax"},
            ],
            {"image_folder": str(tmp_path / "images"), "image_size": [8, 8], "test_split": 0.25},
        ),
        _classifier(
            "table",
            [{"name": "features", "shape": [2]}],
            [{"type": "Dense", "units": 2, "activation": "softmax"}],
            {"csv": str(tmp_path / "table.csv"), "features": ["a", "b"], "label": "kind"},
        ),
        _classifier(
            "texts",
            [{"name": "tokens", "shape": [8], "dtype": "int32"}],
            [
                {"type": "Embedding", "input_dim": 20, "output_dim": 4},
                {"type": "GlobalAveragePooling1D"},
                {"type": "Dense", "units": 2, "activation": "softmax"},
            ],
            {"text_folder": str(tmp_path / "texts"), "test_split": 0.25},
        ),
    ]
    for spec in specs:
        assert specgen.validate(spec) == [], spec["name"]
        script = import_file(_render(spec, tmp_path))
        for loop in ("fit", "tape"):
            summary, _ = _train(script, "--loop", loop)
            assert summary["epochs"] == 2 and 0 <= summary["accuracy"] <= 1, (spec["name"], loop)


def _errors(spec):
    return [(e.pointer, e.message) for e in specgen.validate(spec)]


def test_validation_refuses_what_keras_cannot_train_right():
    base = _classifier(
        "m",
        [{"name": "x", "shape": [4]}],
        [{"name": "out", "type": "Dense", "units": 3, "activation": "softmax"}],
        "synthetic",
    )

    def variant(training=None, layers=None, inputs=None):
        spec = json.loads(json.dumps(base))
        spec["training"].update(training or {})
        spec["layers"] = layers or spec["layers"]
        spec["inputs"] = inputs or spec["inputs"]
        return spec

    assert _errors(base) == []
    logits = {"loss": {"type": "SparseCategoricalCrossentropy", "from_logits": True}}
    assert "gives probabilities" in _errors(variant(logits))[0][1]
    linear = [{"name": "out", "type": "Dense", "units": 3}]
    assert "gives logits" in _errors(variant(layers=linear))[0][1]
    assert _errors(variant(logits, linear)) == []
    one = [{"name": "out", "type": "Dense", "units": 1, "activation": "softmax"}]
    assert "one unit per class" in _errors(variant(layers=one))[0][1]
    schedule = {
        "optimizer": {
            "type": "SGD",
            "learning_rate": {
                "type": "ExponentialDecay",
                "initial_learning_rate": 0.1,
                "decay_steps": 10,
                "decay_rate": 0.9,
            },
        },
        "callbacks": [{"type": "ReduceLROnPlateau"}],
    }
    assert _errors(variant(schedule)) == [
        (
            "/training/callbacks/0",
            "ReduceLROnPlateau changes the learning rate, which the optimizer's schedule owns; use a constant learning_rate",
        )
    ]
    messages = [m for _, m in _errors(variant({"dataset": "cifar100"}))]
    assert any("cifar100 images are [32, 32, 3]" in m for m in messages), messages
    assert any("cifar100 has 100 classes" in m for m in messages), messages
    assert "class 5 does not exist" in _errors(variant({"class_weight": {"5": 2.0}}))[0][1]
    assert _errors(variant({"targets": "inputs", "loss": "mse"}))[0][0] == "/training/targets"
    bad_arg = {"optimizer": {"type": "SGD", "beta_1": 0.9}}
    assert _errors(variant(bad_arg))[0][0].startswith("/training/optimizer")
    # A spec never names a path: the script puts ModelCheckpoint's file in its --run-dir.
    assert _errors(variant({"callbacks": [{"type": "ModelCheckpoint", "filepath": "/etc/x"}]})) == [
        ("/training/callbacks/0/filepath", "unknown key 'filepath'")
    ]
    typo = {"callbacks": [{"type": "EarlyStopping", "monitor": "val_acc"}], "metrics": ["accuracy"]}
    assert _errors(variant(typo)) == [
        (
            "/training/callbacks/0/monitor",
            "'val_acc' is not in the training logs; they hold loss, accuracy, val_loss, val_accuracy",
        )
    ]


def test_mixed_precision_keeps_outputs_float32(rendered):
    script = _script(rendered, "digits_cnn")
    try:
        _, model = _train(
            script, "--mixed-precision", "--epochs", "1", "--data", "synthetic", "--samples", "64"
        )
        x = np.zeros((2, 8, 8, 1), np.float32)
        assert model(x).dtype == "float32"
        assert model.get_layer("conv1").compute_dtype == "float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_one_script_per_spec_trains_the_style_rendered_beside_it(tmp_path, capsys):
    """The script is the same text whatever style a render writes; --style defaults to the
    only model module beside it, or functional when there are several."""
    spec = ROOT / "specs" / "tiny_regression.json"
    scripts = {style: specgen.render(spec, style)["train_tiny_regression.py"] for style in
               ("sequential", "functional", "subclass", "all")}  # fmt: skip
    assert len(set(scripts.values())) == 1
    for styles, default in (
        (("subclass",), "subclass"),
        (("functional", "subclass"), "functional"),
        (("sequential", "subclass"), "sequential"),
    ):
        folder = tmp_path / "-".join(styles)
        folder.mkdir()
        for style in styles:
            for name, text in specgen.render(spec, style).items():
                (folder / name).write_text(text)
        script = import_file(folder / "train_tiny_regression.py")
        assert script.parse_args([]).style == default
        if default == "subclass":
            with pytest.raises(SystemExit):
                script.parse_args(["--style", "functional"])  # not rendered here
            assert "invalid choice: 'functional'" in capsys.readouterr().err
            assert type(script.build_model()).__name__ == "TinyRegression"


def test_tensorflow_start_up_log_stays_out_of_the_terminal(rendered, tmp_path):
    """Run as a user runs it (no TF_CPP_MIN_LOG_LEVEL): stderr holds no TensorFlow log line;
    --verbose lets them through, whatever this machine's TensorFlow has to say."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, str(rendered / "train_tiny_regression.py"), "--quiet"]
    command += ["--epochs", "1", "--run-dir", str(tmp_path / "run")]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=rendered)
    assert out.returncode == 0, out.stderr[-2000:]
    log_line = re.compile(r"^(?:[IWEF]\d{4} |WARNING: All log messages before absl)", re.M)
    assert not log_line.search(out.stderr), out.stderr[-2000:]
    assert json.loads(out.stdout.splitlines()[-1])["epochs"] == 1

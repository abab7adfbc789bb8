"""Generated training scripts: same curve in both loops, real data, loaders, strategies, CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import SPECS, import_file, spec_id

import specgen

keras = pytest.importorskip("keras")

# Stated tolerance between the fit and tape loops' per-epoch figures. Both read the same
# batches in the same order with the same ops, so they agree to float32 rounding.
RTOL, ATOL = 1e-5, 1e-6


def _script(rendered, name, style="functional"):
    return import_file(rendered / f"train_{name}_{style}.py")


def _train(script, *argv):
    args = script.parse_args(["--quiet", *argv])
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
    for summary in (fit, tape):
        assert {"loop", "epochs", "loss", "train_loss", "samples_per_sec"} <= summary.keys()
        assert summary["samples_per_sec"] > 0


def test_every_style_trains_identically(rendered):
    model = specgen.compile(SPECS[0])
    curves = {
        style: _train(
            _script(rendered, model.name, style),
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
    summary, _ = _train(_script(rendered, "digits_cnn", "subclass"), "--loop", loop)
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
    spec = json.loads(SPECS[0].read_text())
    spec["training"]["dataset"] = name
    spec["name"] = f"loader_{name}"
    if channel_axis:
        spec["inputs"][0]["shape"] = [28, 28, 1]
    for file_name, text in specgen.render(spec, "functional").items():
        (tmp_path / file_name).write_text(text)
    script = import_file(tmp_path / f"train_loader_{name}_functional.py")
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
    assert (y_train == labels).all()


def test_offline_builtin_dataset_is_one_line_error(rendered, monkeypatch, capsys):
    script = _script(rendered, "cifar100_cnn")

    def offline():
        raise Exception(
            "URL fetch failure on https://example.invalid: None -- [Errno -2] Name or service not known"
        )

    monkeypatch.setattr(keras.datasets.cifar100, "load_data", offline)
    assert script.main(["--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--data synthetic" in err and "Traceback" not in err


def test_npz_data_save_plot_and_json_last_line(rendered, tmp_path, capsys):
    script = _script(rendered, "mnist_cnn")
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.random((64, 28, 28, 1), dtype=np.float32),
        "y_train": rng.integers(0, 10, 64),
        "x_test": rng.random((16, 28, 28, 1), dtype=np.float32),
        "y_test": rng.integers(0, 10, 16),
    }
    np.savez(tmp_path / "data.npz", **arrays)
    saved, plot = tmp_path / "m.keras", tmp_path / "curves.png"
    argv = [
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
    assert script.main(["--data", str(tmp_path / "bad.npz"), "--quiet"]) == 1
    assert "has no y_train" in capsys.readouterr().err


def test_import_has_no_side_effects_and_help_explains_options(rendered, capsys):
    script = _script(rendered, "cifar100_cnn", "subclass")
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
    ):
        assert option in text, option


def test_mirrored_strategy_on_two_logical_cpus(rendered):
    """MirroredStrategy splits each global batch across two logical CPUs, in both loops.

    The tape loop's curve equals the single-device curve (to float32 reduction order).
    Keras 3.15's own fit under MirroredStrategy drifts from its single-device run, so for
    fit we assert that it trains, not that it matches (see the issue note)."""
    script = rendered / "train_mnist_cnn_functional.py"
    common = ["--data", "synthetic", "--samples", "128", "--epochs", "3", "--quiet"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")

    def run(*extra):
        out = subprocess.run(
            [sys.executable, str(script), *common, *extra],
            capture_output=True,
            text=True,
            env=env,
            cwd=rendered,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])["history"]

    mirrored = ("--strategy", "mirrored", "--logical-cpus", "2")
    tape_mirrored, tape_single = run("--loop", "tape", *mirrored), run("--loop", "tape")
    for key in tape_single:
        np.testing.assert_allclose(
            tape_mirrored[key], tape_single[key], rtol=1e-4, atol=1e-6, err_msg=key
        )
    fit_mirrored = run("--loop", "fit", *mirrored)
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
    script = rendered / "train_mnist_cnn_functional.py"
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
                [sys.executable, str(script), *common, "--strategy", "multiworker"],
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
        [sys.executable, str(script), *common],
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

"""Embedding and tooling: verify, template overrides, plots, the README's API example."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

import specgen
from specgen.cli import main
from specgen.model import plot

CIFAR = ROOT / "specs" / "cifar100.json"
# verify runs every check on every style; the smallest spec with all three styles exercises
# its whole path (the styles' equivalence for every spec is tests/test_equivalence.py's).
SMALLEST = ROOT / "specs" / "linear_regression.json"


def test_verify_proves_the_styles_equal(capsys):
    pytest.importorskip("keras")
    assert main(["verify", str(SMALLEST)]) == 0
    out = capsys.readouterr().out
    assert "verified: 3 styles of linear_regression are the same model" in out
    assert re.search(r"initial weights\s+ok\s+ok\s+ok", out)


def test_verify_fails_when_a_style_differs(monkeypatch, capsys):
    pytest.importorskip("keras")
    real = specgen.api.render

    def tampered(spec, style="functional", **kwargs):
        files = real(spec, style, **kwargs)
        name = "linear_regression_subclass.py"
        assert "SEED = 1\n" in files[name]
        files[name] = files[name].replace("SEED = 1\n", "SEED = 2\n")
        return files

    monkeypatch.setattr(specgen.api, "render", tampered)
    assert main(["verify", str(SMALLEST)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"initial weights\s+ok\s+ok\s+DIFFERS", out) and "NOT verified" in out


def test_templates_override_by_name(tmp_path):
    packaged = (ROOT / "templates" / "functional.py.jinja").read_text()
    (tmp_path / "functional.py.jinja").write_text(
        packaged.replace("import keras\n", "import keras  # company header\n")
    )
    files = specgen.render(CIFAR, "functional", templates=tmp_path)
    assert "import keras  # company header" in files["cifar100_cnn_functional.py"]
    assert (
        "# company header" not in specgen.render(CIFAR, "functional")["cifar100_cnn_functional.py"]
    )
    assert (
        main(["render", str(CIFAR), "--templates", str(tmp_path), "--out", str(tmp_path / "out")])
        == 0
    )
    assert "# company header" in (tmp_path / "out" / "cifar100_cnn_functional.py").read_text()


def test_plot_dot_and_missing_graphviz(tmp_path, monkeypatch, capsys):
    target = tmp_path / "model.dot"
    assert main(["plot", str(ROOT / "specs" / "resnet_blocks.json"), "-o", str(target)]) == 0
    text = target.read_text()
    assert '"stem" -> "res1";' in text and "ResBlock" in text
    monkeypatch.setattr(plot.shutil, "which", lambda _: None)
    assert main(["plot", str(CIFAR), "-o", str(tmp_path / "model.svg")]) == 1
    assert "Graphviz is not installed" in capsys.readouterr().err
    assert not (tmp_path / "model.svg").exists()


def test_many_specs_all_styles_in_one_process(tmp_path, capsys):
    specs = sorted(str(p) for p in (ROOT / "specs").glob("*.json"))
    assert main(["render", *specs, "--style", "all", "--out", str(tmp_path)]) == 0
    written = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("written: ")
    ]
    assert len(written) == len(list(tmp_path.glob("*.py"))) >= 2 * len(specs)


def test_readme_python_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "cifar100_cnn_subclass.py" in result.stdout


def test_pre_commit_hook_runs_render_check():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    # Run for real through pre-commit in tests/test_user_repo.py.
    assert "entry: specgen render --style all --check" in hooks and "pass_filenames: false" in hooks


def _originals(keras):
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1), name="image")
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(image)
    b = keras.layers.Conv2D(
        4, 3, padding="same", kernel_initializer=keras.initializers.HeNormal(seed=3), name="c2"
    )(a)
    skip = keras.layers.Add(name="skip")([a, b])
    norm = keras.layers.BatchNormalization(name="norm")(skip)
    flat = keras.layers.Flatten(name="flat")(norm)
    out = keras.layers.Dense(
        3, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01), name="out"
    )(flat)
    functional = keras.Model(image, out, name="orig_net")
    sequential = keras.Sequential(
        [
            keras.Input((6,), name="features"),
            keras.layers.Dense(5, activation="tanh", name="h"),
            keras.layers.Dropout(0.5, name="d"),
            keras.layers.Dense(2, name="y"),
        ],
        name="SeqNet",
    )
    return {"functional": functional, "sequential": sequential}


@pytest.mark.parametrize("which", ["functional", "sequential"])
def test_import_render_gives_the_same_model(which, tmp_path):
    keras = pytest.importorskip("keras")
    import numpy as np

    original = _originals(keras)[which]
    original.save(tmp_path / "orig.keras")
    spec_path = tmp_path / "spec.json"
    assert main(["import", str(tmp_path / "orig.keras"), "-o", str(spec_path)]) == 0
    assert specgen.validate(spec_path) == []
    model = specgen.compile(spec_path)
    for name, text in specgen.render(model, "all").items():
        (tmp_path / name).write_text(text)
    from conftest import import_file

    x = np.random.default_rng(1).random((4, *original.inputs[0].shape[1:]), dtype=np.float32)
    for style in ("functional", "subclass"):
        rebuilt = import_file(tmp_path / f"{model.name}_{style}.py").build_model()
        rebuilt.set_weights(original.get_weights())
        np.testing.assert_array_equal(np.asarray(rebuilt(x)), np.asarray(original(x)))


def test_import_names_unsupported_layers(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, name="d"),
            keras.layers.Lambda(lambda x: x * 2, name="unit"),
        ]
    )
    model.save(tmp_path / "m.keras")
    assert main(["import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "s.json")]) == 1
    assert "layer 'unit': Lambda is not in specgen's catalog" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()

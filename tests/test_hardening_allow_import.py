"""Issue 19, class 6 (and class 10's `--allow-import None`): the custom-layer opt-in is exactly
the list of module names the user wrote, and nothing else widens it."""

from __future__ import annotations

import json
import zipfile

import pytest

import specgen
from specgen.catalog import allow_import as custom
from specgen.cli import main


def _spec(cls: str) -> dict:
    layer = {"type": "CustomLayer", "class": cls, "config": {"units": 3}, "output_shape": [3]}
    return {"name": "m", "inputs": [{"name": "x", "shape": [4]}], "layers": [layer]}


@pytest.fixture
def pyproject(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def write(value: str) -> None:
        (tmp_path / "pyproject.toml").write_text(f"[tool.specgen]\nallow-import = {value}\n")
        custom._pyproject.cache_clear()

    yield write
    custom._pyproject.cache_clear()


@pytest.mark.parametrize(
    "value, module, received",
    [
        ('"mypkg"', "m", "a string"),  # round 2 allowed the one-letter modules m, y, p, ...
        ('"keras.layers"', "keras.layers", "a string"),
        ("{ mypkg = true }", "mypkg", "a table"),
        ("{ mypkg = true }", "keras.layers", "a table"),
        ('["my-pkg"]', "keras.layers", "'my-pkg'"),
        ("[1]", "keras.layers", "1"),
        ('["keras.layers", "class"]', "keras.layers", "'class'"),
        ('["ｋeras.layers"]', "keras.layers", "'ｋeras.layers'"),  # NFKC look-alike
        ('[""]', "keras.layers", "''"),
        ("true", "keras.layers", "bool"),
    ],
)
def test_only_a_list_of_module_names_is_accepted(pyproject, tmp_path, value, module, received):
    pyproject(value)
    (error,) = specgen.validate(_spec(f"{module}.Dense"))
    assert error.pointer.startswith("/layers/0")
    assert str(tmp_path / "pyproject.toml") in error.message
    assert "[tool.specgen] allow-import must be a list of module names" in error.message
    assert received in error.message


def test_a_list_of_module_names_allows_those_and_their_submodules_only(pyproject):
    pyproject('["keras.layers"]')
    assert specgen.validate(_spec("keras.layers.Dense")) == []
    (error,) = specgen.validate(_spec("keras.Dense"))
    assert "is not allowed" in error.message


def test_a_pyproject_that_is_not_toml_is_an_error_not_an_empty_list(pyproject, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.specgen\n")
    custom._pyproject.cache_clear()
    (error,) = specgen.validate(_spec("keras.layers.Dense"))
    assert "cannot be read as TOML" in error.message


def test_the_cli_exits_1_naming_the_key(pyproject, tmp_path, capsys):
    pyproject('"mypkg"')
    (tmp_path / "s.json").write_text(json.dumps(_spec("m.Dense")))
    assert main(["render", str(tmp_path / "s.json"), "--out", str(tmp_path / "o")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "allow-import must be a list of module names" in line and "a string" in line
    assert not (tmp_path / "o").exists()


def test_a_spec_naming_a_keyword_module_is_invalid():
    (error,) = specgen.validate(_spec("None.Scale"))
    assert "'None' is not a Python module name" in error.message


def test_import_of_a_custom_layer_without_module_never_says_allow_import_none(tmp_path, capsys):
    pytest.importorskip("keras")
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {"batch_shape": [None, 2], "dtype": "float32", "name": "x"},
        },
        {
            "module": None,  # what Keras records for some registered classes
            "class_name": "Scale",
            "registered_name": "pkg>Scale",
            "config": {"name": "scale", "factor": 2.0},
            "build_config": {"input_shape": [None, 2]},
        },
    ]
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "s", "layers": layers},
    }
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    assert main(["import", str(path), "-o", str(tmp_path / "s.json")]) == 1
    err = capsys.readouterr().err
    assert "--allow-import None" not in err and "module is not recorded" in err
    assert not (tmp_path / "s.json").exists()
    layers[1]["module"] = "mypkg.layers"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    assert main(["import", str(path), "-o", str(tmp_path / "s.json")]) == 0
    assert "--allow-import mypkg.layers" in capsys.readouterr().err

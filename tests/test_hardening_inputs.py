"""Issue 12: every hostile input is refused with its place, in bounded time and memory.
The Python API, input limits, `specgen import` archives and --templates folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT

import specgen
from specgen.cli import main
from specgen.spec import limits, schema
from specgen.spec.errors import TemplateProblem
from specgen.spec.schema_check import Validator

SPEC = {
    "name": "m",
    "inputs": [{"name": "x", "shape": [2]}],
    "layers": [{"type": "Dense", "units": 1}],
}


def test_every_schema_pattern_anchors_the_whole_string():
    import jsonschema

    built = schema.build_schema()
    patterns = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(built)
    assert patterns
    for pattern in patterns:
        assert pattern.startswith("^") and pattern.endswith("(?!\\n)$"), pattern
    bad = {**SPEC, "name": "m\n"}
    assert not Validator(built).is_valid(bad, built)
    assert not jsonschema.Draft202012Validator(built).is_valid(bad)
    bad = {**SPEC, "training": {"dataset": "x.npz\n", "loss": "mse", "optimizer": "sgd"}}
    assert not jsonschema.Draft202012Validator(built).is_valid(bad)


@pytest.mark.parametrize("value", [None, b"{}", bytearray(b"{}"), [SPEC], {1, 2}, 3, 2.5])
def test_the_api_raises_a_clear_type_error_for_what_is_not_a_spec(value):
    for function in (specgen.validate, specgen.compile, specgen.render, specgen.load):
        with pytest.raises(TypeError, match="path|from_json"):
            function(value)


@pytest.mark.parametrize(
    "spec, pointer, message",
    [
        ({**SPEC, "seed": {1, 2}}, "/seed", "set is not a JSON value"),
        ({**SPEC, ("a",): 1}, "", "keys must be str"),
        ({**SPEC, "seed": 10**5000}, "/seed", "integer too large"),
        ({**SPEC, "seed": float("nan")}, "/seed", "not valid JSON"),
        ({**SPEC, "description": "a\ud800b"}, "/description", "lone surrogate"),
        ({**SPEC, "seed": b"1"}, "/seed", "bytes is not a JSON value"),
    ],
)
def test_dict_values_json_cannot_hold_are_located_errors(spec, pointer, message):
    (error,) = specgen.validate(spec)
    assert error.pointer == pointer and message in error.message
    with pytest.raises(specgen.SpecInvalid):
        specgen.render(spec)


def test_deep_and_cyclic_dicts_are_errors_not_recursion():
    deep = current = {}
    for _ in range(5000):
        current["a"] = current = {}
    cyclic = dict(SPEC)
    cyclic["description"] = [cyclic]
    assert "nested deeper" in specgen.validate({**SPEC, "x": deep})[0].message
    assert "contains itself" in specgen.validate(cyclic)[0].message


def test_a_str_is_always_a_path_and_text_goes_through_from_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = '{"name": 1}'
    (tmp_path / name).write_text(json.dumps(SPEC))
    assert specgen.validate(name) == []  # a file with a brace in its name is a file
    (error,) = specgen.validate("[x]")
    assert error.file == "[x]" and "no such file" in error.message
    assert specgen.validate(specgen.from_json(json.dumps(SPEC))) == []
    assert "is a directory" in specgen.validate(".")[0].message
    (error,) = specgen.validate("")
    assert "the spec path is empty" in error.message
    with pytest.raises(TypeError):
        specgen.from_json(b"{}")


def test_missing_templates_folder_is_an_error(tmp_path):
    with pytest.raises(TemplateProblem, match="does not exist"):
        specgen.render(SPEC, templates=tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(TemplateProblem, match="not a folder"):
        specgen.render(SPEC, templates=tmp_path / "file")


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{% if x %}\n", "functional.py.jinja:1: Unexpected end of template"),
        ("a\n{{ model.nope }}\n", "functional.py.jinja:2: UndefinedError"),
        ("{{ 1 // 0 }}\n", "functional.py.jinja:1: ZeroDivisionError"),
        ("{% include 'nothing.jinja' %}\n", "template 'nothing.jinja' not found"),
        ("def (:\n", "m_functional.py, which is not valid Python: line 1"),
        (b"\xff\n", "functional.py.jinja: not valid UTF-8"),
        (None, "functional.py.jinja: is not a regular file"),
    ],
)
def test_broken_override_templates_name_file_and_line(tmp_path, capsys, source, expected):
    template = tmp_path / "functional.py.jinja"
    if source is None:
        os.mkfifo(template)
    elif isinstance(source, bytes):
        template.write_bytes(source)
    else:
        template.write_text(source)
    spec = tmp_path / "m.json"
    spec.write_text(json.dumps(SPEC))
    args = ["render", str(spec), "--out", str(tmp_path / "o"), "--templates", str(tmp_path)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert expected in err and "internal error" not in err and len(err.splitlines()) == 1


def test_non_regular_and_oversized_spec_files_are_refused_at_once(tmp_path, monkeypatch):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert "not a regular file" in specgen.validate(fifo)[0].message
    assert "not a regular file" in specgen.validate("/dev/zero")[0].message
    monkeypatch.setattr(limits, "MAX_SPEC_BYTES", 100)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**SPEC, "description": "x" * 200}))
    assert "the limit is 100" in specgen.validate(big)[0].message
    monkeypatch.setattr(limits, "MAX_LAYERS", 2)
    many = {**SPEC, "layers": [{"type": "Dense", "units": 1}] * 3}
    (error,) = specgen.validate(many)
    assert error.pointer == "/layers" and "the limit is 2" in error.message


def test_long_strings_and_wide_arrays_are_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_STRING_CHARS", 20)
    (error,) = specgen.validate({**SPEC, "description": "x" * 21})
    assert error.pointer == "/description" and "limit" in error.message
    monkeypatch.setattr(limits, "MAX_ITEMS", 5)
    (error,) = specgen.validate({**SPEC, "description": [1, 2, 3, 4, 5, 6]})
    assert error.pointer == "/description" and "over 5 items" in error.message


def _keras(tmp_path, config: bytes, name="m.keras", method=zipfile.ZIP_DEFLATED) -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("config.json", config)
    return str(path)


def _lie_about_size(path: str) -> None:
    """Rewrite the declared uncompressed size of config.json to 10 bytes."""
    raw = bytearray(open(path, "rb").read())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(signature)
        raw[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    open(path, "wb").write(bytes(raw))


LAYER = {"class_name": "Dense", "config": {"name": "d", "units": 1}}


@pytest.mark.parametrize(
    "config, expected",
    [
        (b"{", "config.json:1:2: /: expected a key"),
        (b'"just a string"', "/: expected a JSON object"),
        (b'{"class_name": "Functional", "config": []}', "/config: expected an object"),
        (b'{"class_name": "Functional", "config": {"layers": 1}}', "/config/layers: expected"),
        (b'{"class_name": "Functional", "config": {"layers": [1]}}', "/config/layers/0:"),
        (
            b'{"class_name": "Functional", "config": {"layers": [{"class_name": 3, "config": {}}]}}',
            "/config/layers/0/class_name: expected a class name",
        ),
        (
            json.dumps(
                {"class_name": "Sequential", "config": {"layers": [LAYER], "build_input_shape": 7}}
            ).encode(),
            "not a Keras model config specgen can read",
        ),
        (b'{"a": [' * 100 + b"]}" * 100, "nested deeper than 64"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "integer of 5001 digits"),
    ],
)
def test_malformed_keras_configs_are_located(tmp_path, capsys, config, expected):
    pytest.importorskip("keras")
    assert main(["import", _keras(tmp_path, config), "-o", str(tmp_path / "s.json")]) == 1
    err = capsys.readouterr().err
    assert expected in err and "internal error" not in err, err


# Runs `specgen import` on one file with tracemalloc on: the peak of what Python allocated
# while refusing it (the modules the command needs are imported first: their code is not data).
MEASURE = """
import sys, tracemalloc
from specgen.cli import main
from specgen import importer, verify  # noqa: F401
from specgen.importer import guard  # noqa: F401
tracemalloc.start()
code = main(["import", sys.argv[1], "-o", sys.argv[2]])
print(code, tracemalloc.get_traced_memory()[1])
"""


def _peak(path, out):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SPECGEN_CACHE_DIR": ""}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    code, peak = result.stdout.split()
    return int(code), int(peak), result.stderr


def test_zip_bombs_and_fifos_are_refused_in_bounded_memory(tmp_path):
    bomb = _keras(tmp_path, b" " * (limits.MAX_CONFIG_BYTES + 1), "bomb.keras")
    liar = _keras(tmp_path, b" " * (limits.MAX_CONFIG_BYTES + 1), "liar.keras")
    _lie_about_size(liar)
    ratio = _keras(tmp_path, b"{}" + b" " * (4 << 20), "ratio.keras")
    fifo = tmp_path / "fifo.keras"
    os.mkfifo(fifo)
    # What refusing a 2-byte config costs: the command's own work, the baseline.
    code, baseline, err = _peak(_keras(tmp_path, b"{}", "small.keras"), tmp_path / "s.json")
    assert code == 1, err
    for path, expected, inflated in [
        (bomb, "declares", limits.MAX_CONFIG_BYTES + 1),
        (liar, "cannot be extracted", limits.MAX_CONFIG_BYTES + 1),  # zipfile stops early
        (ratio, "zip bomb", 4 << 20),
        (fifo, "not a regular file", None),
        (str(tmp_path), "is a directory", None),
        (_keras(tmp_path, b"{}", "empty.keras", zipfile.ZIP_STORED)[:-6] + "nope", "no such", None),
    ]:
        code, peak, err = _peak(path, tmp_path / "s.json")
        assert code == 1 and expected in err, err
        # Bounded: past the baseline, under a quarter of what inflating the config would hold
        # (4 MiB: 16 MiB for the others), so the refusal came before the bytes were read.
        bound = (inflated or 16 << 20) // 4
        print(f"{os.path.basename(path)}: {peak - baseline:,} bytes past {baseline:,}")
        assert peak - baseline < bound, f"{path}: {peak:,} bytes at peak ({baseline:,} base)"
    assert not (tmp_path / "s.json").exists()


def test_import_output_is_not_clobbered(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    source = tmp_path / "m.keras"
    model.save(source)
    mine = tmp_path / "mine.json"
    mine.write_text("mine")
    assert main(["import", str(source), "-o", str(mine)]) == 1
    assert mine.read_text() == "mine"
    assert main(["import", str(source), "-o", str(mine), "--force"]) == 0
    assert json.loads(mine.read_text())["layers"][0]["type"] == "Dense"

"""The shared training runtime (specgen/emit/shared.py): copied as it is, already formatted."""

from __future__ import annotations

import subprocess

from conftest import ROOT

import specgen
from specgen.emit import format as formatting
from specgen.emit import header, shared

SPEC = ROOT / "specs" / "digits_cnn.json"


def test_packaged_modules_are_already_formatted_and_lint_clean():
    sources = {name: shared.source(name)[0] for name in shared.NAMES}
    assert formatting.start(sources)() == sources
    paths = [str(ROOT / "templates" / name) for name in shared.NAMES]
    lint = subprocess.run(
        ["ruff", "check", "--isolated", "--select", "E,F,W,I,UP,B,SIM,RUF,BLE", *paths],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout


def test_rendered_as_the_packaged_text_under_a_header():
    files = specgen.render(SPEC, "functional")
    for name in shared.NAMES:
        parts = header.split(files[name])
        assert parts is not None and parts[2] == shared.source(name)[0]
        assert parts[1] == header.parse_fingerprint(parts[2])


def test_an_override_is_formatted_and_fingerprinted_like_any_output(tmp_path):
    packaged, _ = shared.source("specgen_cli.py")
    # Unformatted on purpose: ruff must lay it out, and the header must hash the new code.
    (tmp_path / "specgen_cli.py").write_text(
        packaged.replace("import argparse\n", "import argparse\nCOMPANY = ( 'acme' )\n", 1)
    )
    assert shared.source("specgen_cli.py", tmp_path)[1] is False
    files = specgen.render(SPEC, "functional", templates=tmp_path)
    text = files["specgen_cli.py"]
    assert 'COMPANY = "acme"\n' in text
    parts = header.split(text)
    assert parts is not None and parts[1] == header.parse_fingerprint(parts[2])
    assert parts[1] != header.parse_fingerprint(packaged)
    plain = specgen.render(SPEC, "functional")
    assert files["train_digits_cnn.py"] == plain["train_digits_cnn.py"]
    assert files["specgen_data.py"] == plain["specgen_data.py"]

"""Inputs that once crashed the loader or validator (found by bench/fuzz_loader.py): each
must now come back as errors, never an exception."""

from __future__ import annotations

import pytest
from conftest import ROOT

from specgen.api import _check
from specgen.spec.loader import load_bytes

CASES = sorted((ROOT / "tests" / "fuzz_regressions").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_no_crash(path):
    model, errors = _check(load_bytes(path.read_bytes(), path.name))
    assert model is None and errors
    assert all(str(e).startswith(f"{path.name}:") for e in errors)

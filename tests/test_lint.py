"""Every spec's render passes ruff as a user runs it: at ruff's default rules and under the
strict set E,F,W,I,UP,B,SIM,RUF,BLE, with no `noqa` comment anywhere (generated code a reviewer
accepts as written by hand). The `rendered` fixture holds every spec in every style."""

from __future__ import annotations

import subprocess

import pytest

STRICT = "E,F,W,I,UP,B,SIM,RUF,BLE"


@pytest.mark.parametrize("rules", [[], ["--select", STRICT]], ids=["defaults", "strict"])
def test_every_render_is_ruff_clean(rendered, rules):
    files = sorted(str(path) for path in rendered.glob("*.py"))
    assert any("train_" in name for name in files) and len(files) > 30
    # --isolated: ruff's own defaults, not this repository's configuration.
    lint = subprocess.run(
        ["ruff", "check", "--isolated", "--no-cache", "--output-format", "concise", *rules, *files],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-1000:]


def test_no_noqa_in_generated_code(rendered):
    for path in rendered.glob("*.py"):
        assert "noqa" not in path.read_text(encoding="utf-8"), path.name


def test_one_entry_point_per_training_script_and_keras_imported_where_used(rendered):
    scripts = sorted(rendered.glob("train_*.py"))
    assert scripts
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        assert text.count('if __name__ == "__main__":') == 1, path.name
        assert "\nimport keras" not in text, path.name  # at the top it would load TensorFlow

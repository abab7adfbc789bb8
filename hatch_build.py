"""Wheel build step: ship specgen/prebuilt/ (compiled templates, shared-module fingerprints).

See specgen/emit/prebuilt.py for what it holds and why a render may ignore it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install renders from the checkout, which has no prebuilt/
        sys.path.insert(0, self.root)
        try:
            from specgen.emit import prebuild
        finally:
            sys.path.remove(self.root)
        if not Path(prebuild.__file__).resolve().is_relative_to(Path(self.root).resolve()):
            raise RuntimeError(f"imported {prebuild.__file__}, not the specgen being built")
        self._folder = tempfile.TemporaryDirectory(prefix="specgen-prebuilt-")
        prebuild.build(Path(self._folder.name))
        build_data["force_include"][self._folder.name] = "specgen/prebuilt"

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        folder = getattr(self, "_folder", None)
        if folder is not None:
            folder.cleanup()

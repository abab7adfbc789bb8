"""`specgen import`: a saved Keras model (Sequential or Functional) -> a spec.

Reads the model's config (a `.keras` file is a zip holding `config.json`). Every layer must be
in the catalog and every argument that differs from Keras's default must be one specgen knows:
anything else is an error naming the layer, never skipped. Keras is imported only to read
constructor defaults, so the spec stays short.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..model.ir import snake_case
from . import blocks as import_blocks
from . import names as import_names
from . import training as import_training
from .config import NESTED, policy


class ImportProblem(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _keep_float32(saved: list[dict], layers: list[dict]) -> None:
    """Under mixed precision a float32 layer (the usual output layer) says so explicitly."""
    if not any(entry.get("dtype") for entry in layers):
        return
    policies = {
        layer["config"].get("name"): policy(layer["config"].get("dtype")) for layer in saved
    }
    for entry in layers:
        op_or_call = entry.get("type", "ops.").startswith("ops.")
        if policies.get(entry["name"]) == "float32" and not op_or_call:
            entry["dtype"] = "float32"


class WeightSizes:
    """{key: values} of each top-level layer's weights in a .keras file (`layers/<key>/vars`),
    so a CustomLayer's parameter count is known. Read only when first asked (a model without
    custom layers never opens its weights) and streamed from the archive, never loaded whole;
    empty without h5py or weights."""

    def __init__(self, path: Path):
        self.path = path
        self.sizes: dict[str, int] | None = None

    def _read(self) -> dict[str, int]:
        try:
            import h5py
        except ImportError:
            return {}
        sizes: dict[str, int] = {}
        with zipfile.ZipFile(self.path) as archive:
            if "model.weights.h5" not in archive.namelist():
                return {}
            with archive.open("model.weights.h5") as data, h5py.File(data, "r") as weights:
                for key, group in weights.get("layers", {}).items():
                    variables = group.get("vars") if isinstance(group, h5py.Group) else None
                    if variables is not None:
                        sizes[key] = sum(int(v.size) for v in variables.values())
        return sizes

    def _all(self) -> dict[str, int]:
        if self.sizes is None:
            self.sizes = self._read()
        return self.sizes

    def __contains__(self, key: str) -> bool:
        return key in self._all()

    def __getitem__(self, key: str) -> int:
        return self._all()[key]


def to_spec(
    config: dict,
    notes: list[str] | None = None,
    *,
    fold: bool = True,
    weights=None,
) -> dict:
    """A spec dict for a Sequential or Functional model config; ImportProblem lists what is not.
    `notes` collects what was kept only in part (compile settings the spec cannot say)."""
    kind = config.get("class_name")
    if kind not in NESTED:
        raise ImportProblem(
            [
                f"{kind!r} is a subclassed model: its config holds no layer graph; import the"
                " Functional or Sequential model it was written as, or its config.json"
            ]
        )
    body = config["config"]
    problems: list[str] = []
    blocks: dict[str, dict] = {}
    from .walk import Walk  # it builds on this module's helpers

    inputs, layers, outputs = Walk(problems, blocks, weights=weights).graph(kind, body, top=True)
    if problems:
        raise ImportProblem(problems)
    _keep_float32(body["layers"], layers)
    draft = {"inputs": inputs, "layers": layers, "outputs": outputs, "blocks": blocks}
    draft = import_names.usable_names(draft)
    inputs, layers, outputs, blocks = (draft[k] for k in ("inputs", "layers", "outputs", "blocks"))
    spec = {
        "name": re.sub(r"\W", "_", snake_case(body.get("name") or "model")).strip("_") or "model",
        "inputs": inputs,
        "layers": _implicit(layers, inputs),
    }
    if outputs != [layers[-1]["name"]]:
        spec["outputs"] = outputs
    if len(outputs) > 1 and not isinstance(body.get("output_layers"), dict):
        spec["output_structure"] = "list"  # Keras lists (and orders weights) as saved
    fit = import_training.training(
        config.get("compile_config"), [] if notes is None else notes, outputs
    )
    if fit:
        spec["training"] = fit
    if blocks:
        spec["blocks"] = {
            name: {**block, "layers": _implicit(block["layers"], block["inputs"])}
            for name, block in blocks.items()
        }
    if fold and not any("call" in entry for entry in spec["layers"]):
        # Folding would hide a layer that is called again inside a block.
        spec = import_blocks.fold(import_blocks.merge_equal_blocks(spec))
    return spec


def _implicit(layers: list[dict], inputs: list) -> list[dict]:
    """Drop `inputs` where it says what a spec implies: the previous layer (or sole input)."""
    names = [i["name"] if isinstance(i, dict) else i for i in inputs]
    previous = names[0] if len(names) == 1 else None
    out = []
    for entry in layers:
        if entry.get("inputs") == [previous] and not entry.get("type", "ops.").startswith("ops."):
            entry = {k: v for k, v in entry.items() if k != "inputs"}
        out.append(entry)
        previous = entry["name"]
    return out


def custom_modules(spec: dict) -> list[str]:
    """Modules a spec's CustomLayers import: what the user must allow."""
    entries = [*spec["layers"], *(e for b in spec.get("blocks", {}).values() for e in b["layers"])]
    return sorted(
        {e["class"].rpartition(".")[0] for e in entries if e.get("type") == "CustomLayer"}
    )

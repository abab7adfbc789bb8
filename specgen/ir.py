"""Stage 3: a validated spec -> a frozen graph of layer nodes with inferred shapes.

The IR owns every fact the templates print (constructor calls, names, shapes), so templates
stay declarative and spec text reaches code only through `literal()`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from . import catalog, shapes
from .errors import SpecError
from .load import Loaded, SourceMap
from .validate import nearest


def literal(value: object) -> str:
    """A Python literal for a JSON value: the only way spec data becomes code."""
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, Mapping):
        # Sorted: the spec's key order must not change the output.
        pairs = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in sorted(value.items()))
        return "{" + pairs + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def argument(arg: catalog.Arg, value: object) -> str:
    """A constructor argument: a literal, or for object forms a call of an allowlisted class."""
    if arg.kind == "layer":
        inner = catalog.BY_SPELLING[value["type"]]
        return constructor(inner, value["type"], {k: v for k, v in value.items() if k != "type"})
    if arg.kind in catalog.OBJECT_MODULES and isinstance(value, Mapping):
        # value["type"] passed the schema's closed enum of class names; arguments are literals.
        kwargs = ", ".join(f"{k}={literal(v)}" for k, v in sorted(value.items()) if k != "type")
        return f"keras.{catalog.OBJECT_MODULES[arg.kind]}.{value['type']}({kwargs})"
    return literal(value)


def constructor(kind: catalog.LayerKind, spelling: str, given: dict, name: str | None = None) -> str:
    parts = [argument(a, given[a.name]) for a in kind.args if a.positional and a.name in given]
    parts += [f"{a.name}={argument(a, given[a.name])}" for a in kind.args if not a.positional and a.name in given]
    if name is not None:
        parts.append(f"name={literal(name)}")
    return f"keras.layers.{spelling}({', '.join(parts)})"


def snake_case(name: str) -> str:
    """Keras's own rule (keras.src.utils.naming.to_snake_case) for default layer names."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class InputNode:
    name: str
    dims: shapes.Dims
    dtype: str
    pointer: str

    @property
    def shape(self) -> str:
        return literal(list(self.dims))

    @property
    def batch_shape(self) -> str:
        return literal([None, *self.dims])

    @property
    def dtype_arg(self) -> str:
        return "" if self.dtype == "float32" else f", dtype={literal(self.dtype)}"

    @property
    def constructor(self) -> str:
        return f"keras.Input(shape={self.shape}{self.dtype_arg}, name={literal(self.name)})"


@dataclass(frozen=True)
class LayerNode:
    name: str
    kind: catalog.LayerKind
    spelling: str
    args: tuple[tuple[str, object], ...]
    inputs: tuple[str, ...]
    out: shapes.Shape
    pointer: str

    @property
    def constructor(self) -> str:
        return constructor(self.kind, self.spelling, dict(self.args), self.name)

    def call_args(self, var=lambda name: name) -> str:
        names = [var(name) for name in self.inputs]
        return f"[{', '.join(names)}]" if self.kind.call == "list" else ", ".join(names)

    @property
    def params(self) -> int:
        return self.out.trainable + self.out.non_trainable


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    seed: int | None
    inputs: tuple[InputNode, ...]
    layers: tuple[LayerNode, ...]
    outputs: tuple[str, ...]
    training: Mapping | None
    spec_sha256: str
    file: str
    source: SourceMap = field(compare=False, repr=False)

    def error(self, pointer: str, message: str) -> SpecError:
        return SpecError(self.file, *self.source.locate(pointer), pointer, message)

    @property
    def class_name(self) -> str:
        return pascal_case(self.name)

    @property
    def params(self) -> tuple[int, int]:
        return (
            sum(n.out.trainable for n in self.layers),
            sum(n.out.non_trainable for n in self.layers),
        )

    @property
    def single_input(self) -> bool:
        return len(self.inputs) == 1

    def structure(self, names, var=lambda name: name) -> str:
        """One tensor as itself; several as a dict keyed by name (inputs and outputs alike)."""
        if len(names) == 1:
            return var(names[0])
        return "{" + ", ".join(f"{literal(n)}: {var(n)}" for n in names) + "}"

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.inputs)

    @property
    def build_shapes(self) -> str:
        shapes_by_name = {e.name: e.batch_shape for e in self.inputs}
        return self.structure(self.input_names, shapes_by_name.__getitem__)

    def chain_break(self) -> tuple[str, str] | None:
        """Why this graph is not a Sequential chain, as (pointer, message); None when it is."""
        if len(self.inputs) != 1:
            return "/inputs", f"a Sequential model has one input; this spec has {len(self.inputs)}"
        previous = self.inputs[0].name
        for node in self.layers:
            if node.inputs != (previous,):
                got = ", ".join(node.inputs)
                return (
                    node.pointer,
                    f"layer {node.name!r} breaks the chain: it takes ({got}), not the output of"
                    f" {previous!r} alone; use --style functional or subclass",
                )
            previous = node.name
        if self.outputs != (previous,):
            return "/outputs", "a Sequential model outputs its last layer only"
        return None


def spec_hash(data: dict) -> str:
    """sha256 of the spec's canonical JSON, so key order and whitespace do not matter."""
    body = {k: v for k, v in data.items() if k != "$schema"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _freeze(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _auto_names(layers: list[dict], taken: set[str]) -> list[str]:
    """Explicit names, else Keras's defaults (dense, dense_1, ...) skipping names in use."""
    counters: dict[str, int] = {}
    names = []
    for layer in layers:
        if "name" in layer:
            names.append(layer["name"])
            continue
        base = snake_case(catalog.BY_SPELLING[layer["type"]].name)
        while True:
            count = counters.get(base, 0)
            counters[base] = count + 1
            candidate = base if count == 0 else f"{base}_{count}"
            if candidate not in taken:
                break
        taken.add(candidate)
        names.append(candidate)
    return names


def _find_cycle(name: str, refs: dict[str, list[str]]) -> list[str] | None:
    path, seen = [name], set()

    def walk(node: str) -> bool:
        for ref in refs.get(node, []):
            if ref == name:
                return True
            if ref in refs and ref not in seen:
                seen.add(ref)
                path.append(ref)
                if walk(ref):
                    return True
                path.pop()
        return False

    return [*path, name] if walk(name) else None


def build(loaded: Loaded) -> tuple[Model | None, list[SpecError]]:
    """Resolve references, infer shapes. Assumes `validate.check` found nothing."""
    data = loaded.data
    errors: list[SpecError] = []
    err = lambda pointer, message: errors.append(loaded.error(pointer, message))  # noqa: E731

    inputs = tuple(
        InputNode(e["name"], tuple(e["shape"]), e.get("dtype", "float32"), f"/inputs/{i}")
        for i, e in enumerate(data["inputs"])
    )
    raw = data["layers"]
    explicit = {e.name for e in inputs} | {layer["name"] for layer in raw if "name" in layer}
    names = _auto_names(raw, set(explicit))
    class_name = pascal_case(data["name"])
    if class_name in names or class_name in {e.name for e in inputs}:
        err("/name", f"the model class {class_name!r} would clash with a layer or input name")

    refs: dict[str, list[str]] = {}
    for i, layer in enumerate(raw):
        if "inputs" in layer:
            refs[names[i]] = list(layer["inputs"])
        elif i > 0:
            refs[names[i]] = [names[i - 1]]
        elif len(inputs) == 1:
            refs[names[i]] = [inputs[0].name]
        else:
            refs[names[i]] = []
            err(f"/layers/{i}", "the first layer must list its inputs: the model has several")

    dims: dict[str, shapes.Dims | None] = {e.name: e.dims for e in inputs}
    used: set[str] = set()
    nodes = []
    for i, layer in enumerate(raw):
        name, pointer = names[i], f"/layers/{i}"
        kind = catalog.BY_SPELLING[layer["type"]]
        ok = True
        for j, ref in enumerate(refs[name]):
            used.add(ref)
            if ref in dims:
                continue
            ok = False
            where = f"{pointer}/inputs/{j}"
            if ref not in refs:
                known = [*dims, *names]
                hint = nearest(ref, known)
                used.add(hint)  # the layer it meant is not also reported as feeding nothing
                err(where, f"unknown input or layer {ref!r}" + (f"; did you mean {hint!r}?" if hint else ""))
            elif cycle := _find_cycle(name, refs):
                err(where, "the layers form a cycle: " + " -> ".join(cycle))
            else:
                err(where, f"layer {name!r} uses {ref!r}, which comes later; list layers in the order they run")
        count = len(refs[name])
        if count and (count < kind.min_inputs or (kind.max_inputs and count > kind.max_inputs)):
            if kind.min_inputs == kind.max_inputs:
                want = "one input" if kind.max_inputs == 1 else f"exactly {kind.max_inputs} inputs"
            else:
                want = f"at least {kind.min_inputs} inputs"
            err(f"{pointer}/inputs" if "inputs" in layer else pointer, f"{kind.name} takes {want}, received {count}")
            ok = False
        args = tuple((a.name, _freeze(layer[a.name])) for a in kind.args if a.name in layer)
        out = shapes.Shape(())
        if ok and all(dims.get(r) is not None for r in refs[name]):
            try:
                out = kind.shape(dict(args), [dims[r] for r in refs[name]])
            except shapes.ShapeError as exc:
                err(pointer, f"layer {name!r} ({kind.name}): {exc}")
                ok = False
        dims[name] = out.dims if ok else None
        nodes.append(LayerNode(name, kind, layer["type"], args, tuple(refs[name]), out, pointer))

    outputs = tuple(data.get("outputs", [names[-1]]))
    for j, ref in enumerate(outputs):
        if ref not in names:
            hint = nearest(ref, names)
            err(f"/outputs/{j}", f"unknown layer {ref!r}" + (f"; did you mean {hint!r}?" if hint else ""))
    for node in nodes:
        if node.name not in used and node.name not in outputs:
            err(node.pointer, f"layer {node.name!r} feeds nothing; use it or list it in outputs")
    for node in inputs:
        if node.name not in used:
            err(node.pointer, f"input {node.name!r} is not used by any layer")
    if errors:
        return None, errors
    model = Model(
        name=data["name"],
        description=data.get("description", ""),
        seed=data.get("seed"),
        inputs=inputs,
        layers=tuple(nodes),
        outputs=outputs,
        training=_freeze(data.get("training")),
        spec_sha256=spec_hash(data),
        file=loaded.file,
        source=loaded.source,
    )
    return model, []

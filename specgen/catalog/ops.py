"""Operation nodes: Keras ops applied to tensors in a Functional graph, from a closed allowlist.

Keras 3 records `x + 3.0` or `keras.ops.mean(x, axis=1)` on symbolic tensors as operation
nodes (module `keras.src.ops.numpy` / `keras.src.ops.nn` in a saved config). A spec writes one
as `{"type": "ops.add", "inputs": ["x"], "x2": 3.0}`: the tensor operands come from `inputs`,
a literal operand is `x1` (first) or `x2` (second), named as in the `keras.ops` signature;
other arguments (`axis`, `keepdims`, `axes`, `newshape`, `subscripts`, `x_min`, ...) keep the
names Keras saves them under. `ops.get_item` is slicing: `"key": [{"start": 1, "stop": 3}]`
is `x[:, 1:3]` (the batch axis is never indexed). Each op has a shape rule; axes count the
batch axis as Keras does, and an op that would reduce, move or index the batch is refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import shapes
from .base import BOOL, FLOAT, Arg, LayerKind

BINARY = "add subtract multiply divide true_divide power maximum minimum".split()
UNARY = (
    "negative absolute abs sqrt square exp log tanh sigmoid relu relu6 hard_sigmoid silu"
).split()
REDUCTIONS = "mean sum max min".split()

INT = {"type": "integer"}
AXES = {"title": "an axis or a list of axes", "anyOf": [INT, {"type": "array", "items": INT}]}
SLICE = {
    "title": "a slice",
    "type": "object",
    "properties": {k: {"anyOf": [INT, {"type": "null"}]} for k in ("start", "stop", "step")},
    "additionalProperties": False,
}
KEY_ITEM = {
    "title": "an index, a slice, null (a new axis) or '...'",
    "anyOf": [INT, {"type": "null"}, {"const": "..."}, SLICE],
}

# How each op takes its tensors: "list" as one list (concatenate), "einsum" after the
# subscripts, "item" as `x[key]`; any other op takes them as leading positional arguments.
FORMS = {"ops.concatenate": "list", "ops.stack": "list", "ops.einsum": "einsum"}
FORMS["ops.get_item"] = "item"
# Arguments that are not keywords of the call (operands or the subscript key).
NOT_KEYWORDS = frozenset({"x1", "x2", "subscripts", "key"})


def _binary(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    constants = [k for k in ("x1", "x2") if k in args]
    if len(dims) + len(constants) != 2:
        raise shapes.ShapeError(
            f"takes two operands: {len(dims)} input(s) and constants {constants or 'none'}"
        )
    return shapes.Shape(dims[0] if len(dims) == 1 else shapes.broadcast(*dims))


def _axis(axis: int, rank: int, what: str = "axis") -> int:
    """An axis of the full shape (batch first), checked and made non-negative; never 0."""
    if not -rank <= axis < rank:
        raise shapes.ShapeError(f"{what} {axis} is out of range for rank {rank} (batch included)")
    axis %= rank
    if axis == 0:
        raise shapes.ShapeError(f"{what} {axis} is the batch axis, which an op may not change")
    return axis


def _full(dims: shapes.Dims) -> list:
    return [None, *dims]


def _join(args: dict, dims: list[shapes.Dims], stack: bool) -> shapes.Shape:
    first = _full(dims[0])
    for other in dims[1:]:
        if len(other) != len(dims[0]):
            raise shapes.ShapeError(f"inputs of ranks {[len(d) + 1 for d in dims]} differ")
    axis = args.get("axis", 0)
    if stack:
        axis = _axis(axis, len(first) + 1)
        for other in dims[1:]:
            if shapes.broadcast(tuple(first), tuple(_full(other))) != tuple(first):
                raise shapes.ShapeError(f"stacked shapes {[shapes.show(d) for d in dims]} differ")
        return shapes.Shape(tuple([*first[:axis], len(dims), *first[axis:]][1:]))
    axis = _axis(axis, len(first))
    total: int | None = 0
    for other in dims:
        full = _full(other)
        for k, (a, b) in enumerate(zip(first, full, strict=True)):
            if k != axis and a is not None and b is not None and a != b:
                raise shapes.ShapeError(
                    f"shapes {[shapes.show(d) for d in dims]} differ outside axis {axis}"
                )
        total = None if total is None or full[axis] is None else total + full[axis]
    first[axis] = total
    return shapes.Shape(tuple(first[1:]))


def _reduce(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    full = _full(shapes.single(dims))
    axis = args.get("axis")
    if axis is None:
        raise shapes.ShapeError("axis null reduces the batch axis too; name the axes")
    axes = {_axis(a, len(full)) for a in ([axis] if isinstance(axis, int) else axis)}
    keep = args.get("keepdims", False)
    out = [1 if k in axes else d for k, d in enumerate(full) if keep or k not in axes]
    return shapes.Shape(tuple(out[1:]))


def _transpose(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    full = _full(shapes.single(dims))
    axes = args.get("axes")
    if axes is None or sorted(a % len(full) for a in axes) != list(range(len(full))):
        raise shapes.ShapeError(f"axes must be a permutation of 0..{len(full) - 1}")
    if axes[0] % len(full) != 0:
        raise shapes.ShapeError("axes must keep the batch axis first (axes[0] = 0)")
    return shapes.Shape(tuple(full[a] for a in axes)[1:])


def _reshape(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    given = shapes.single(dims)
    new = list(args["newshape"])
    if not new or new[0] not in (-1, None):
        raise shapes.ShapeError("newshape must keep the batch axis first: -1")
    rest = new[1:]
    if any(d == -1 for d in rest) or any(d is None or d < 1 for d in rest):
        raise shapes.ShapeError("newshape after the batch axis must be positive sizes")
    if None not in given:
        size = 1
        for d in given:
            size *= d
        wanted = 1
        for d in rest:
            wanted *= d
        if size != wanted:
            raise shapes.ShapeError(f"cannot reshape {shapes.show(given)} to {rest}")
    return shapes.Shape(tuple(rest))


def _expand(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    full = _full(shapes.single(dims))
    axis = _axis(args["axis"], len(full) + 1)
    return shapes.Shape(tuple([*full[:axis], 1, *full[axis:]][1:]))


def _squeeze(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    full = _full(shapes.single(dims))
    if args.get("axis") is None:
        raise shapes.ShapeError("axis null would squeeze a batch of one; name the axis")
    axis = _axis(args["axis"], len(full))
    if full[axis] not in (1, None):
        raise shapes.ShapeError(f"axis {axis} has size {full[axis]}, not 1")
    return shapes.Shape(tuple(d for k, d in enumerate(full) if k != axis)[1:])


def _matmul(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    if len(dims) != 2 or min(len(d) for d in dims) < 2:
        raise shapes.ShapeError("takes two tensors of rank 3 or more (batch included)")
    a, b = _full(dims[0]), _full(dims[1])
    if a[-1] is not None and b[-2] is not None and a[-1] != b[-2]:
        raise shapes.ShapeError(f"inner sizes {a[-1]} and {b[-2]} differ")
    batch = shapes.broadcast(tuple(a[:-2]), tuple(b[:-2]))
    return shapes.Shape((*batch, a[-2], b[-1])[1:])


def _einsum(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    text = args["subscripts"]
    if "->" not in text or "." in text:
        raise shapes.ShapeError("subscripts need an explicit '->' and no '...'")
    given, out = text.replace(" ", "").split("->")
    terms = given.split(",")
    if len(terms) != len(dims) or not all(t.isalpha() for t in [*terms, out or "a"]):
        raise shapes.ShapeError(f"subscripts {text!r} do not name {len(dims)} operand(s)")
    sizes: dict[str, int | None] = {}
    for term, d in zip(terms, dims, strict=True):
        full = _full(d)
        if len(term) != len(full):
            raise shapes.ShapeError(f"{term!r} has {len(term)} axes; the operand has {len(full)}")
        for letter, size in zip(term, full, strict=True):
            known = sizes.get(letter)
            if known is not None and size is not None and known != size:
                raise shapes.ShapeError(f"axis {letter!r} is {known} and {size}")
            sizes[letter] = size if known is None else known
    if not out or any(t[0] != out[0] for t in terms) or out[0] in out[1:]:
        raise shapes.ShapeError("every operand and the result must start with the batch axis")
    if any(letter not in sizes for letter in out):
        raise shapes.ShapeError(f"result axes {out!r} are not all in the operands")
    return shapes.Shape(tuple(sizes[letter] for letter in out[1:]))


def _whole(item) -> bool:
    return (
        isinstance(item, Mapping)
        and item.get("start") in (None, 0)
        and item.get("stop") is None
        and item.get("step") in (None, 1)
    )


def _get_item(args: dict, dims: list[shapes.Dims]) -> shapes.Shape:
    full = _full(shapes.single(dims))
    key = list(args["key"])
    if key.count("...") > 1:
        raise shapes.ShapeError("at most one '...'")
    used = sum(1 for k in key if k is not None and k != "...")
    if used > len(full):
        raise shapes.ShapeError(f"{used} indices for rank {len(full)} (batch included)")
    rest = [{}] * (len(full) - used)
    if "..." in key:
        at = key.index("...")
        key[at : at + 1] = rest
    else:
        key += rest
    out: list = []
    axis = 0
    for item in key:
        if item is None:
            if axis == 0:
                raise shapes.ShapeError("a new axis before the batch axis")
            out.append(1)
            continue
        size = full[axis]
        if axis == 0 and not _whole(item):
            raise shapes.ShapeError("the batch axis must be taken whole (':' or '...')")
        if isinstance(item, int):
            if size is not None and not -size <= item < size:
                raise shapes.ShapeError(f"index {item} is out of range for size {size}")
        else:
            if item.get("step") == 0:
                raise shapes.ShapeError("a slice step of 0")
            bounds = slice(item.get("start"), item.get("stop"), item.get("step"))
            out.append(None if size is None else len(range(*bounds.indices(size))))
        axis += 1
    return shapes.Shape(tuple(out[1:]))


def key_code(key) -> str:
    """`x[...]`'s subscript from a validated key: integers, None, `...` and slices only."""
    parts = []
    for item in key:
        if item is None or item == "...":
            parts.append("None" if item is None else "...")
        elif isinstance(item, int):
            parts.append(str(int(item)))
        else:
            bounds = [item.get(k) for k in ("start", "stop", "step")]
            text = ":".join("" if b is None else str(int(b)) for b in bounds)
            parts.append(text.removesuffix(":") if bounds[2] is None else text)
    return ", ".join(parts)


def _op(name: str, args: tuple[Arg, ...], rule, **kw) -> LayerKind:
    return LayerKind(f"ops.{name}", args, rule, op=True, **kw)


LAYERS: tuple[LayerKind, ...] = (
    *(
        LayerKind(
            f"ops.{name}",
            (Arg("x1", FLOAT), Arg("x2", FLOAT)),
            _binary,
            max_inputs=2,
            op=True,
        )
        for name in BINARY
    ),
    *(LayerKind(f"ops.{name}", (), shapes.identity, op=True) for name in UNARY),
    _op("concatenate", (Arg("axis", INT),), lambda a, d: _join(a, d, False), max_inputs=None),
    _op("stack", (Arg("axis", INT),), lambda a, d: _join(a, d, True), max_inputs=None),
    *(_op(n, (Arg("axis", AXES), Arg("keepdims", BOOL)), _reduce) for n in REDUCTIONS),
    _op("transpose", (Arg("axes", {"type": "array", "items": INT}, required=True),), _transpose),
    _op(
        "reshape",
        (Arg("newshape", {"type": "array", "items": INT, "minItems": 1}, required=True),),
        _reshape,
    ),
    _op("expand_dims", (Arg("axis", INT, required=True),), _expand),
    _op("squeeze", (Arg("axis", INT, required=True),), _squeeze),
    _op("matmul", (), _matmul, min_inputs=2, max_inputs=2),
    _op(
        "einsum",
        (
            Arg(
                "subscripts",
                {"type": "string", "pattern": "^[a-zA-Z,]+->[a-zA-Z]+(?!\\n)$"},
                required=True,
            ),
        ),
        _einsum,
        max_inputs=None,
    ),
    _op(
        "clip",
        (Arg("x_min", FLOAT, required=True), Arg("x_max", FLOAT, required=True)),
        shapes.identity,
    ),
    _op("get_item", (Arg("key", {"type": "array", "items": KEY_ITEM}, required=True),), _get_item),
)

"""Fuzz the loader and validator: any exception out of `specgen.validate` is a crash.

Inputs: random bytes, byte-level mutations of the real specs (flips, insertions, deletions,
splices), and random JSON documents shaped like specs. Runs for --seconds and prints what it ran
and every distinct crash (with a reproducer saved under --crashes).

    python bench/fuzz_loader.py --seconds 300
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from specgen.api import _check, render  # noqa: E402
from specgen.spec.loader import load_bytes  # noqa: E402

SEEDS = [p.read_bytes() for p in sorted((ROOT / "specs").glob("*.json"))]
SEEDS += [p.read_bytes() for p in sorted((ROOT / "tests" / "invalid").glob("*.json"))]
TOKENS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b'"',
    b"\\",
    b"NaN",
    b"-Infinity",
    b"1e999",
    b"null",
    b"true",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"\r",
    b"\u2028".decode("unicode_escape").encode(),
    b'"inputs"',
    b'"layers"',
    b'"type"',
    b'"Add"',
    b'"blocks"',
    b'{"param": "w"}',
    b"-1",
    b"0",
    b"99999999999999999999",
    # Issue 12: limits and names that collide once they become Python identifiers.
    b"[" * 70,
    b"1" * 30,
    b'"\\ud800"',
    b'"m\\n"',
    b'"a__b"',
    b'"a_b"',
    b'"b_out"',
    b'"s_e_e_d"',
    b'"none"',
    b'"SEED"',
    b'"res_block"',
    b'"outputs": ["out", "out"]',
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        at = rng.randrange(len(data) + 1)
        if choice < 0.3 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.6:
            data[at:at] = rng.choice(TOKENS)
        elif choice < 0.8 and data:
            del data[at : at + rng.randint(1, 20)]
        else:
            other = rng.choice(SEEDS)
            start = rng.randrange(len(other) or 1)
            data[at:at] = other[start : start + rng.randint(1, 80)]
    return bytes(data)


def random_json(rng: random.Random, depth: int = 0):
    kinds = ["null", "bool", "int", "float", "str"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, 1, -1, 3, 2**31, 10**30, rng.randint(-100, 100)])
    if kind == "float":
        return rng.choice([0.5, -0.0, 1e308, 3.0, rng.random()])
    if kind == "str":
        return rng.choice(
            ["Dense", "x", "", "relu", "Add", "image", "\u2028", "a" * 70, "self", "res_block"]
            + ["a_b", "a__b", "b_out", "out", "s_e_e_d", "none", "m\n", "x.npz\n", "\ud800"]
        )
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [
        "name",
        "type",
        "inputs",
        "layers",
        "shape",
        "units",
        "outputs",
        "blocks",
        "params",
        "training",
        "loss",
        "zzz",
    ]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def spec_like(rng: random.Random) -> bytes:
    doc = json.loads(rng.choice(SEEDS[:8]))
    for _ in range(rng.randint(1, 4)):
        node = doc
        for _ in range(rng.randint(0, 3)):
            if isinstance(node, dict) and node:
                node = node[rng.choice(list(node))]
            elif isinstance(node, list) and node:
                node = rng.choice(node)
        if isinstance(node, dict):
            node[rng.choice(list(node) or ["k"])] = random_json(rng)
        elif isinstance(node, list):
            node.append(random_json(rng))
    return json.dumps(doc).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"))
    parser.add_argument(
        "--render",
        action="store_true",
        help="also render every valid spec in every style and compile the code (slower)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts = {"bytes": 0, "mutated": 0, "spec_like": 0}
    valid, crashes = 0, {}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        kind = rng.choice(list(counts))
        if kind == "bytes":
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        elif kind == "mutated":
            data = mutate(rng, rng.choice(SEEDS))
        else:
            data = spec_like(rng)
        counts[kind] += 1
        try:
            model, errors = _check(load_bytes(data, "fuzz.json"))
            valid += model is not None
            if model is not None and args.render:
                for name, text in render(model, "all").items():
                    compile(text, name, "exec")
            for error in errors:
                str(error)
        except Exception:  # noqa: BLE001 - a crash is what we are looking for
            key = traceback.format_exc().strip().splitlines()[-1]
            if key not in crashes:
                crashes[key] = data
                args.crashes.mkdir(exist_ok=True)
                (args.crashes / f"crash-{len(crashes)}.json").write_bytes(data)
    total = sum(counts.values())
    print(
        f"ran {total} inputs in {args.seconds:.0f} s ({total / args.seconds:.0f}/s): {counts};"
        f" {valid} were valid specs"
    )
    print(f"distinct crashes: {len(crashes)}")
    for key in crashes:
        print(f"  {key}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())

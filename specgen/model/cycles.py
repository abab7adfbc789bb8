"""Cycles among a graph's references, found in one iterative pass (no Python recursion: a
10,000-layer spec in any order, or a cycle of thousands of layers, is a located error)."""

from __future__ import annotations


def components(refs: dict[str, list[str]]) -> dict[str, int]:
    """Each layer's strongly connected component (Tarjan's algorithm, iterative: no Python
    recursion, so a 10,000-layer spec is one pass whatever its order). Two layers share a
    component exactly when each reaches the other: a reference inside one is on a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    component: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in refs:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(refs[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in refs:  # an input, or an unknown name reported elsewhere
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(refs[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component[member] = index[node]
                        if member == node:
                            break
    return component


def through(name: str, ref: str, refs: dict[str, list[str]], within: set[str]) -> list[str]:
    """The shortest cycle `name -> ref -> ... -> name` (breadth first, iterative), through
    layers of `within` only (the component of both)."""
    before = {ref: ref}
    queue, head = [ref], 0
    while head < len(queue):
        node = queue[head]
        head += 1
        if node == name:
            break
        for child in refs[node]:
            if child in within and child not in before:
                before[child] = node
                queue.append(child)
    path = [name]
    while path[-1] != ref:
        path.append(before[path[-1]])
    return [name, *reversed(path)]


def shown(cycle: list[str]) -> str:
    if len(cycle) <= 12:
        return " -> ".join(cycle)
    return (
        " -> ".join(cycle[:8]) + f" -> ... ({len(cycle) - 11:,} more) -> " + " -> ".join(cycle[-3:])
    )

"""Dotted paths into scenario data (`pools.iopc.staff.0.value`, `pools.*.cases_per_staff`).

Levers, sweeps, calibration and goal-seeking all name scenario fields this way; this is the
one reader and writer they share. A part is a mapping key, a list index, or `*` (every
item of a list or mapping).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(node: Any, path: str) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) that `path` reaches; nothing where it reaches nothing."""
    yield from _walk(node, path.split("."))


def _walk(node: Any, parts: list[str]) -> Iterator[tuple[Any, Any]]:
    if not parts:
        return
    head, *rest = parts
    keys: list[Any]
    if isinstance(node, list):
        wanted = range(len(node)) if head == "*" else [int(head)] if head.isdigit() else []
        keys = [k for k in wanted if k < len(node)]
    elif isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
    else:
        keys = []
    for k in keys:
        if rest:
            yield from _walk(node[k], rest)
        else:
            yield node, k


def expand(data: Any, path: str) -> list[str]:
    """Every concrete path (no `*`) that `path` reaches, in the order `walk` visits them."""
    return [".".join(parts) for parts in _expand(data, path.split("."), [])]


def _expand(node: Any, parts: list[str], done: list[str]) -> Iterator[list[str]]:
    if not parts:
        yield done
        return
    head, *rest = parts
    if isinstance(node, list):
        wanted = range(len(node)) if head == "*" else [int(head)] if head.isdigit() else []
        keys: list[Any] = [k for k in wanted if k < len(node)]
    elif isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
    else:
        keys = []
    for k in keys:
        yield from _expand(node[k], rest, [*done, str(k)])


def values_at(data: Any, path: str) -> list[Any]:
    """Every value `path` reaches (one for a path without wildcards)."""
    return [container[key] for container, key in walk(data, path)]


def get_path(data: Any, path: str) -> Any:
    """The value at `path`; KeyError if the path names nothing."""
    found = values_at(data, path)
    if not found:
        raise KeyError(path)
    return found[0]


def set_path(data: Any, path: str, value: Any) -> None:
    """Set every field `path` reaches; a missing last key under an existing mapping is added."""
    parent, _, last = path.rpartition(".")
    containers = [data] if not parent else values_at(data, parent)
    if not containers:
        raise KeyError(path)
    for node in containers:
        if isinstance(node, list):
            indices = range(len(node)) if last == "*" else [int(last)]
            for i in indices:
                node[i] = value
        elif last == "*":
            for k in node:
                node[k] = value
        else:
            node[last] = value


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of nested data by its dotted path (list items by position), in order."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(leaves(value, f"{prefix}{key}."))
        return out
    if isinstance(data, list | tuple) and data:
        out = {}
        for i, value in enumerate(data):
            out.update(leaves(value, f"{prefix}{i}."))
        return out
    return {prefix[:-1]: data}


def differences(a: Any, b: Any) -> list[tuple[str, Any, Any]]:
    """(path, value in a, value in b) for every leaf where two nested data differ; a leaf
    only one side has is paired with None."""
    left, right = leaves(a), leaves(b)
    paths = list(left) + [p for p in right if p not in left]
    return [(p, left.get(p), right.get(p)) for p in paths if left.get(p) != right.get(p)]


def flatten(overlay: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested overlay as dotted paths to its leaves, as a scenario's `extends:` merges it
    (`deep_merge`): mappings merge key by key, while lists and distributions (a mapping
    naming its `dist`) replace the value whole."""
    out: dict[str, Any] = {}
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and "dist" not in value:
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


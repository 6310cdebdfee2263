"""The matcher of the acceptance cases in ``tests/acceptance/``: a pattern against a JSON value.

A dict pattern requires each of its keys and matches them recursively; ``{"$contains": [...]}``
requires each sub-pattern to match some element of a list, ``{"$not_contains": [...]}`` none,
``{"$len": n}`` a list of that length; lists match element by element; numbers and decimal
strings compare as decimals; anything else by equality.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _operator(op: str, arg: Any, actual: Any, path: str) -> list[str]:
    if not isinstance(actual, list):
        return [f"{path}: expected a list for {op}, got {json.dumps(actual)[:200]}"]
    if op == "$contains":
        return [f"{path}: no element matches {json.dumps(p)}" for p in arg
                if not any(not mismatches(p, a) for a in actual)]
    if op == "$not_contains":
        return [f"{path}: an element matches {json.dumps(p)}, none should" for p in arg
                if any(not mismatches(p, a) for a in actual)]
    if op == "$len":
        return [] if len(actual) == arg else [f"{path}: length {len(actual)}, expected {arg}"]
    return [f"{path}: unknown operator {op}"]


def mismatches(pattern: Any, actual: Any, path: str = "$") -> list[str]:
    """Every way ``actual`` fails ``pattern`` (empty when it matches)."""
    if isinstance(pattern, dict) and len(pattern) == 1 and next(iter(pattern)).startswith("$"):
        op, arg = next(iter(pattern.items()))
        return _operator(op, arg, actual, path)
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {json.dumps(actual)[:200]}"]
        return [problem for key, sub in pattern.items()
                for problem in (mismatches(sub, actual[key], f"{path}.{key}") if key in actual
                                else [f"{path}.{key}: missing"])]
    if isinstance(pattern, list):
        if not isinstance(actual, list) or len(actual) != len(pattern):
            return [f"{path}: expected {json.dumps(pattern)}, got {json.dumps(actual)[:200]}"]
        return [problem for i, (p, a) in enumerate(zip(pattern, actual, strict=True))
                for problem in mismatches(p, a, f"{path}[{i}]")]
    dp, da = _decimal(pattern), _decimal(actual)
    if dp is not None and da is not None:
        return [] if dp == da else [f"{path}: expected {pattern!r}, got {actual!r}"]
    return [] if pattern == actual else [f"{path}: expected {pattern!r}, got {actual!r}"]

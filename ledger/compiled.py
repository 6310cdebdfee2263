"""The modules the install compiles with mypyc (the fold and what it calls on every event),
and the guard that runs them as Python when they cannot be trusted as compiled.

``pip install`` compiles :data:`COMPILED` (``setup.py``) and records each source's SHA-256
beside it (:data:`STAMP`). An extension module is found before its ``.py``, so after an edit
(or a checkout) the old machine code would run instead of the new source; and compiled
modules call one another directly, so one stale module makes the whole group stale. When a
source's hash differs from its stamp, when the stamp is missing, when the stamp names a
module the list no longer holds (an older install's), or when ``CORLEDGER_PURE_PYTHON`` is
set, :func:`guard` makes every one of them load from its ``.py``: the answers stay those of
the source, only slower. :func:`state` says which.
This module imports only the standard library: ``setup.py`` reads it before anything is
installed.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COMPILED = (
    "ledger.codec",
    "ledger.rulebooks.base",
    "ledger.rulebooks.cycle",
    "projections.order",
    "projections.voids",
    "projections.timeline",
    "projections.status",
    "projections.lapses",
    "projections.sql.read_models",
)
STAMP = "ledger/compiled-sources.json"  # relative to the directory holding the packages
PURE_PYTHON = "CORLEDGER_PURE_PYTHON"  # set (to anything but "" or "0"): never compiled

ROOT = Path(__file__).resolve().parent.parent
_state: str | None = None
_from_source: set[str] = set(COMPILED)  # the modules _SourceFirst loads from their .py


def source_of(module: str, root: Path = ROOT) -> Path:
    """The ``.py`` file of a module named in :data:`COMPILED`."""
    return root.joinpath(*module.split(".")).with_suffix(".py")


def digests(root: Path = ROOT, modules: Sequence[str] = COMPILED) -> dict[str, str]:
    """Each module's source SHA-256, as the stamp records it."""
    return {m: hashlib.sha256(source_of(m, root).read_bytes()).hexdigest() for m in modules}


def _extension_present(module: str) -> bool:
    source = source_of(module)
    stem = source.with_suffix("")
    return any(Path(f"{stem}{suffix}").exists()
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _stamp() -> dict[str, str]:
    try:
        stamp = json.loads((ROOT / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _verdict(stamp: dict[str, str]) -> str:
    """``compiled``, or why the modules in :data:`_from_source` load from source."""
    if os.environ.get(PURE_PYTHON, "") not in ("", "0"):
        return f"Python ({PURE_PYTHON} is set)"
    if not any(_extension_present(m) for m in _from_source):
        return "Python (not compiled at install)"
    if not stamp:
        return "Python (the compiled modules have no stamp of their sources)"
    gone = sorted(set(_from_source) - set(COMPILED))
    if gone:
        return f"Python ({', '.join(gone)} no longer compiled: reinstall to compile)"
    try:
        now = digests()
    except OSError as exc:
        return f"Python (a compiled module's source cannot be read: {exc})"
    changed = sorted(m for m in COMPILED if stamp.get(m) != now[m])
    if changed:
        return f"Python ({', '.join(changed)} changed since compiled: reinstall to compile)"
    return "compiled"


class _SourceFirst:
    """A finder that loads the compiled group's modules from their ``.py`` files."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _from_source:
            return None
        return importlib.util.spec_from_file_location(name, source_of(name))


def guard() -> None:
    """Decides once per process whether the compiled modules may load; if not, makes every
    one of them load from source. Called by the packages that hold them (``ledger``,
    ``projections``), before any is imported."""
    global _state
    if _state is not None:
        return
    stamp = _stamp()
    # an older install may have compiled modules no longer listed: they load from source too
    _from_source.update(m for m in stamp if isinstance(m, str) and m not in COMPILED)
    _state = _verdict(stamp)
    if _state != "compiled" and _SourceFirst not in sys.meta_path:
        sys.meta_path.insert(0, _SourceFirst)  # type: ignore[arg-type]


def state() -> str:
    """``compiled``, or ``Python (why)``: how the fold runs in this process."""
    guard()
    assert _state is not None
    return _state

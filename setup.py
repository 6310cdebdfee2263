"""Compiles the fold with mypyc when it can (``ledger/compiled.py`` lists the modules and
explains the guard); everything else about the package is in ``pyproject.toml``.

Without a C compiler or the Python headers, or with ``CORLEDGER_PURE_PYTHON`` set, the
package installs as plain Python and gives the same answers, slower.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import sysconfig
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
COMPILED: Any = runpy.run_path(str(HERE / "ledger" / "compiled.py"))
PACKAGES = ("ledger", "storage", "projections", "commands", "service")


def _can_compile() -> str | None:
    """Why the fold cannot be compiled here, or None."""
    if os.environ.get(COMPILED["PURE_PYTHON"], "") not in ("", "0"):
        return f"{COMPILED['PURE_PYTHON']} is set"
    include = sysconfig.get_paths().get("include")
    if not include or not Path(include, "Python.h").exists():
        return "the Python headers (Python.h) are missing"
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        return "mypyc is not available"
    return None


class StampedBuild(build_ext):
    """build_ext that also records the SHA-256 of each compiled source (the stamp the
    guard checks), beside the extensions it builds."""

    def run(self) -> None:
        if self.inplace:
            _drop_stale_extensions()
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - a failed compile leaves a working install
            print(f"corledger: the fold stays Python: compiling it failed: {exc}",
                  file=sys.stderr)
            return
        stamp = json.dumps(COMPILED["digests"](HERE), indent=1, sort_keys=True) + "\n"
        targets = {HERE / COMPILED["STAMP"]} if self.inplace else set()
        targets.add(Path(self.build_lib) / COMPILED["STAMP"])
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(stamp)


def _drop_stale_extensions() -> None:
    """Removes, from the source tree, extension modules of modules no longer compiled: one
    left behind would load before its ``.py`` and call a group library that lacks it."""
    wanted = {tuple(m.split(".")) for m in COMPILED["COMPILED"]}
    for package in PACKAGES:
        for suffix in EXTENSION_SUFFIXES:
            for path in (HERE / package).glob(f"**/*{suffix}"):
                parts = path.relative_to(HERE).parts
                if (*parts[:-1], path.name[: -len(suffix)]) not in wanted:
                    path.unlink()


def _extensions() -> list[Any]:
    why_not = _can_compile()
    if why_not is not None:
        print(f"corledger: the fold stays Python: {why_not}", file=sys.stderr)
        return []
    from mypyc.build import mypycify

    paths = [str(COMPILED["source_of"](m, HERE).relative_to(HERE))
             for m in COMPILED["COMPILED"]]
    try:
        return list(mypycify(paths, opt_level="3", group_name="corledger_fold"))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - mypy's errors exit
        print(f"corledger: the fold stays Python: mypyc refused it: {exc}", file=sys.stderr)
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": StampedBuild})

"""The fold compiled by the install (mypyc) answers as its source does, and a stale or
unwanted compile falls back to the source (ledger/compiled.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.compiled import COMPILED, PURE_PYTHON, STAMP, digests, source_of, state

pytestmark = pytest.mark.integration  # real processes and files

ROOT = Path(__file__).resolve().parents[1]
COMPILED_HERE = state() == "compiled"
needs_compiled = pytest.mark.skipif(
    not COMPILED_HERE, reason=f"this install's fold is not compiled: {state()}")

PROBE = ("import projections.timeline as t; from ledger.compiled import state; "
         "print(state()); print(t.__file__)")


def _python(code: str, *, cwd: Path = ROOT, env: dict[str, str] | None = None,
            path: Path | None = None) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != PURE_PYTHON}
    environ.update(env or {})
    if path is not None:
        environ["PYTHONPATH"] = str(path)
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environ,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _copied_tree(tmp_path: Path) -> Path:
    """The packages that hold compiled modules, as installed here (extensions, stamp and the
    group's shared library included), copied to change one without touching the install."""
    copy = tmp_path / "tree"
    copy.mkdir()
    for package in ("ledger", "projections"):
        shutil.copytree(ROOT / package, copy / package)
    for extension in ROOT.glob("corledger_fold__mypyc*"):
        shutil.copy2(extension, copy)
    return copy


def test_the_stamp_names_every_compiled_module_by_its_source_hash() -> None:
    if not (ROOT / STAMP).exists():
        pytest.skip("no stamp: this install did not compile the fold")
    import json

    assert json.loads((ROOT / STAMP).read_text()) == digests(ROOT)


def test_the_ci_install_compiles_the_fold() -> None:
    """.ci/run sets CORLEDGER_EXPECT_COMPILED: the README's install must compile there, or
    the benchmarks measure another program."""
    if not os.environ.get("CORLEDGER_EXPECT_COMPILED"):
        pytest.skip("CORLEDGER_EXPECT_COMPILED is not set (only .ci/run asks)")
    assert state() == "compiled"


@needs_compiled
def test_a_compiled_install_loads_the_fold_as_machine_code() -> None:
    verdict, where = _python(PROBE)
    assert verdict == "compiled"
    assert not where.endswith(".py")


def test_the_pure_python_switch_loads_every_module_from_source() -> None:
    modules = "; ".join(f"import {m}" for m in COMPILED)
    files = ", ".join(f"{m}.__file__" for m in COMPILED)
    lines = _python(f"{modules}; from ledger.compiled import state; print(state()); "
                    f"print(*[{files}], sep=chr(10))", env={PURE_PYTHON: "1"})
    assert lines[0] == f"Python ({PURE_PYTHON} is set)"
    assert lines[1:] == [str(source_of(m)) for m in COMPILED]


def test_a_source_changed_since_the_compile_runs_as_python(tmp_path: Path) -> None:
    """An edit after the install (or a checkout) must not leave the old machine code
    answering: the whole group loads from source, since compiled modules call each other
    directly."""
    copy = _copied_tree(tmp_path)
    status = copy / "projections" / "status.py"
    status.write_text(status.read_text() + "\n# changed after the install\n")
    verdict, where = _python(PROBE, cwd=tmp_path, path=copy)
    if COMPILED_HERE:
        assert verdict == ("Python (projections.status changed since compiled: reinstall "
                           "to compile)")
    assert where == str(copy / "projections" / "timeline.py")


@needs_compiled
def test_the_compiled_fold_builds_the_same_read_models_as_its_source(tmp_path: Path) -> None:
    """Every row the rebuild writes from a generated ledger is the same whether the fold
    runs compiled or as Python."""
    generated = tmp_path / "generated.jsonl"
    subprocess.run([sys.executable, "-m", "scripts.generate", "--employers", "400",
                    "--seed", "7", "--out", str(generated)], cwd=ROOT, check=True,
                   timeout=300)
    dumps = []
    for env in ({}, {PURE_PYTHON: "1"}):
        url = f"sqlite:///{tmp_path / ('pure' if env else 'compiled')}.db"
        code = (
            "import sys; from datetime import UTC, datetime; "
            "from commands.importer import Importer; from storage.store import open_store; "
            "from projections.sql.projector import rebuild; "
            "from scripts.dump_read_models import dump; from ledger.compiled import state; "
            f"store = open_store({url!r}); "
            "Importer(store, now=datetime(2026, 11, 30, tzinfo=UTC))"
            f".run(open({str(generated)!r}, 'rb')); "
            "rebuild(store, workers=1); print(state()); print(*dump(" + repr(url) + "), "
            "sep=chr(10))")
        lines = _python(code, env=env)
        assert lines[0] == ("compiled" if not env else f"Python ({PURE_PYTHON} is set)")
        dumps.append(lines[1:])
    assert len(dumps[0]) > 3000
    assert dumps[0] == dumps[1]


@needs_compiled
def test_a_module_compiled_by_an_older_install_loads_from_source(tmp_path: Path) -> None:
    """A stamp naming a module the list no longer holds (an install from before a pull):
    its extension may still sit beside the source, so the whole group loads from source."""
    import json

    copy = _copied_tree(tmp_path)
    stamp = copy / STAMP
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "projections.diff": "0"}))
    verdict, where = _python(PROBE + "; import projections.diff as d; print(d.__file__)",
                             cwd=tmp_path, path=copy)[:2]
    assert verdict == "Python (projections.diff no longer compiled: reinstall to compile)"
    assert where == str(copy / "projections" / "timeline.py")

"""The command line starts the ways users and scripts start it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # a real database, process or server

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", ["commands", "commands.cli"])
def test_python_dash_m_lists_every_command(module: str) -> None:
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("import", "history", "status", "explain", "lapses", "demo"):
        assert f"  {command} " in result.stdout


def test_an_unsupported_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "commands", "--db", "mysql://x/y",
                             "history", "E-1"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "unsupported database 'mysql'" in result.stderr

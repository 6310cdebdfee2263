"""The benchmark's import children (scripts/bench.py) run the real importer, with the log
and without it (figure g), past the line count where a parsing process takes part."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.generate import LedgerSpec, ledger_lines

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("log_kept", ["log", "nolog"])
def test_the_benchmark_imports_a_file_long_enough_for_a_parsing_process(
        tmp_path: Path, log_kept: str) -> None:
    source = tmp_path / "ledger.jsonl"
    source.write_bytes(b"".join(ledger_lines(LedgerSpec(600, 3))))
    lines = source.read_bytes().count(b"\n")
    assert lines > 20_000  # past commands.importer.PARALLEL_FROM_LINES
    out = subprocess.run(
        [sys.executable, "-m", "scripts.bench", "--child", "import", str(source),
         f"sqlite:///{tmp_path / 'ledger.db'}", log_kept],
        cwd=ROOT, check=True, capture_output=True, timeout=300).stdout
    result = json.loads(out)
    assert result["lines"] == lines
    assert result["events"] == lines
    assert result["parser_rss_mb"] > 0  # a parsing process took part

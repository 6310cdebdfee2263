"""Start-up figures (issue 17): whole processes, each against ``python -c pass`` in one run.

    python -m scripts.bench --startup [--startup-runs 21] [--json]

Times, as whole processes started the way a user starts them (the ``corledger`` console
script of this interpreter), on a small imported ledger (the bundled sample, ~1.5k events)
whose read models have caught up:

- ``python -c pass``: the interpreter's own start, the baseline;
- ``corledger --help``;
- ``corledger status EMPLOYER`` and ``... --json`` (the read-model answer, known now);
- ``corledger status EMPLOYER --known-at ...`` (a fold of the employer's stream).

The commands run in turn, round after round (interleaved, so a machine that slows down
slows them all), after one warm-up round. Per command: the median wall time, and the median
CPU time of the child (user + system, from ``getrusage(RUSAGE_CHILDREN)``, which a loaded
machine disturbs less); ratios are medians over ``python -c pass``'s in the same run. The
targets: ``--help`` <= 5x and a read-model ``status`` <= 8x.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

KNOWN_AT = "2024-06-30T00:00:00Z"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """One whole process: (wall seconds, its CPU seconds). Its output is discarded; a
    failure stops the benchmark (a figure of a failing command would mean nothing)."""
    cpu0, wall0 = _child_cpu(), time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - wall0, _child_cpu() - cpu0


def sample_ledger(workdir: Path, corledger: str, env: dict[str, str]) -> str:
    """Imports the bundled sample into a fresh SQLite file, catches the read models up, and
    returns an employer of it."""
    db = workdir / "startup.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env["CORLEDGER_DB"] = f"sqlite:///{db}"
    sample = resources.files("commands") / "sample" / "demo.jsonl"
    with sample.open("rb") as stream:
        employer = next(line["employer"] for line in map(json.loads, stream)
                        if line["type"] == "EmployerRegistered")
    with resources.as_file(sample) as path:
        subprocess.run([corledger, "import", str(path)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run([corledger, "status", employer], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # the read models catch up here
    lag = json.loads(subprocess.run([corledger, "projections", "status", "--json"], env=env,
                                    check=True, capture_output=True, text=True).stdout)
    if lag.get("lag") != 0:
        raise SystemExit(f"the read models did not catch up: {lag}")
    return employer


def measure_startup(runs: int = 21) -> dict[str, Any]:
    """The start-up figures (see the module's docstring)."""
    bindir = Path(sys.executable).parent
    corledger = str(bindir / "corledger")
    env = {**os.environ}
    env.pop("CORLEDGER_CONFIG", None)
    with tempfile.TemporaryDirectory(prefix="corbench-startup-") as tmp:
        employer = sample_ledger(Path(tmp), corledger, env)
        commands = {
            "python_pass": [sys.executable, "-c", "pass"],
            "help": [corledger, "--help"],
            "status": [corledger, "status", employer],
            "status_json": [corledger, "status", employer, "--json"],
            "status_known_at": [corledger, "status", employer, "--known-at", KNOWN_AT],
        }
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(runs + 1):
            for name, argv in commands.items():
                w, c = timed(argv, env)
                if round_:  # round 0 warms the caches up
                    wall[name].append(w)
                    cpu[name].append(c)
    out: dict[str, Any] = {"startup_runs": runs, "startup_employer": employer}
    base_wall = statistics.median(wall["python_pass"])
    base_cpu = statistics.median(cpu["python_pass"])
    for name in commands:
        out[f"startup_{name}_ms"] = round(statistics.median(wall[name]) * 1000, 1)
        out[f"startup_{name}_cpu_ms"] = round(statistics.median(cpu[name]) * 1000, 1)
        if name != "python_pass":
            out[f"startup_{name}_ratio"] = round(statistics.median(wall[name]) / base_wall, 2)
            out[f"startup_{name}_cpu_ratio"] = round(statistics.median(cpu[name]) / base_cpu,
                                                     2)
    return out

"""The project's own acceptance cases (``tests/acceptance/*.json``), run through the command
line on every store: import the case's batches, then each query's JSON must match its pattern.

A case is ``{"name", "events", "import"?, "then_import"?, "expect": [{"query", ..., "match"}]}``;
the same cases also run against the installed ``corledger`` in CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance_match import mismatches
from tests.conftest import Cli

CASES = sorted((Path(__file__).parent / "acceptance").glob("*.json"))


def _query_args(query: dict[str, Any]) -> list[str]:
    kind = query["query"]
    if kind == "status":
        args = ["status", query["employer"], "--as-of", query["as_of"]]
    elif kind == "incentive":
        args = ["incentive", query["employer"], "--year", str(query["year"])]
    elif kind == "lapses":
        args = ["lapses", "--as-of", query["as_of"]]
        if "within" in query:
            args += ["--within", str(query["within"])]
    else:
        raise ValueError(f"unknown query {kind}")
    if query.get("known_at") and kind != "lapses":
        args += ["--known-at", query["known_at"]]
    return [*args, "--json"]


def _import(cli: Cli, events: list[Any], expected: str) -> list[str]:
    result = cli.import_lines(events)
    if expected == "ok" and result.exit_code != 0:
        return [f"import: exit {result.exit_code}: {result.stderr.strip()[-400:]}"]
    if expected == "refused" and result.exit_code == 0:
        return ["import: accepted, but should have been refused"]
    if expected == "refused" and not result.stderr.strip():
        return ["import: refused without an error message on stderr"]
    return []


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_acceptance_case_holds(case: Path, cli: Cli) -> None:
    scenario = json.loads(case.read_text())
    problems = _import(cli, scenario["events"], scenario.get("import", "ok"))
    for events, expected in scenario.get("then_import", []):
        problems += _import(cli, events, expected)
    for query in [] if problems else scenario.get("expect", []):
        args = _query_args(query)
        result = cli(*args)
        if result.exit_code != 0:
            problems.append(f"{' '.join(args)}: exit {result.exit_code}: {result.stderr[-400:]}")
            continue
        problems += [f"{' '.join(args)}: {p}" for p in mismatches(query["match"],
                                                                  json.loads(result.stdout))]
    assert not problems, "\n".join(problems)

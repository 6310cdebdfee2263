"""``diff`` and ``changes`` on the ledger's own time axis (``--ledger-at``, ``--tree-size``),
as every other query: a report published before a backdated import replays exactly (both
stores)."""

from __future__ import annotations

from typing import Any

from ledger.codec import format_time
from tests.conftest import Cli, audit, line, registration
from tests.test_receipts import heads


def first_batch() -> list[dict[str, Any]]:
    return [registration("E-1", recorded_at="2020-01-06T09:00:00Z"),
            audit("E-1", recorded_at="2020-06-01T09:00:00Z"),
            line("QADecided", "E-1", "2020-06-15", {"audit": "A1", "outcome": "accepted"},
                 id="E-1-QA1", recorded_at="2020-06-15T09:00:00Z"),
            registration("E-2", recorded_at="2020-01-06T09:00:00Z")]


def backdated_batch() -> list[dict[str, Any]]:
    """Imported later, recorded in the past: a revocation of E-1 and an audit of E-2."""
    return [line("CertificationRevoked", "E-1", "2020-09-01",
                 {"authority": "board", "reason": "serious incident"}, id="E-1-rev",
                 recorded_at="2020-09-01T10:00:00Z"),
            audit("E-2", "2020-09-02", recorded_at="2020-09-02T09:00:00Z")]


def pinned_ledger(cli: Cli) -> tuple[int, str]:
    """Both batches imported; the tree size and the moment between them."""
    assert cli.import_lines(first_batch()).exit_code == 0
    moment = format_time(heads(cli)[-1].appended_at)
    size = heads(cli)[-1].size
    assert cli.import_lines(backdated_batch()).exit_code == 0
    assert heads(cli)[-1].size == size + 2
    return size, moment


DIFF = ("diff", "E-1", "--from", "2020-10-01@2020-08-01", "--to", "2020-10-01", "--json")
CHANGES = ("changes", "--since", "2020-08-01", "--as-of", "2020-10-01", "--json")


def test_diff_at_a_tree_size_replays_the_diff_before_a_backdated_import(cli: Cli) -> None:
    size, moment = pinned_ledger(cli)
    now = cli.json(*DIFF)
    assert (now["before"]["status"], now["after"]["status"]) == ("certified", "revoked")
    assert "E-1-rev" in {c["event"] for change in now["changes"] for c in change["because"]}
    assert "tree_size" not in now
    then = cli.json(*DIFF, "--tree-size", str(size))
    assert then["unchanged"] is True and then["changes"] == []
    assert then["after"]["status"] == "certified"
    assert then["tree_size"] == size
    assert cli.json(*DIFF, "--ledger-at", moment) == then
    assert cli.json(*DIFF, "--tree-size", str(size + 2)) == {**now, "tree_size": size + 2}
    text = cli(*DIFF[:-1], "--tree-size", str(size))
    assert text.exit_code == 0
    assert f"(from the ledger's first {size} events)" in text.stdout
    assert "unchanged" in text.stdout


def test_changes_at_a_tree_size_counts_only_what_the_ledger_then_held(cli: Cli) -> None:
    size, moment = pinned_ledger(cli)
    now = cli.json(*CHANGES)
    assert now["touched"] == 2  # the revocation of E-1 and the audit of E-2
    assert [e["employer"] for e in now["changed"]] == ["E-1", "E-2"]  # E-2: an audit in QA
    assert "tree_size" not in now
    then = cli.json(*CHANGES, "--ledger-at", moment)
    assert (then["touched"], then["changed"], then["tree_size"]) == (0, [], size)
    assert cli.json(*CHANGES, "--tree-size", str(size)) == then
    assert cli.json(*CHANGES, "--tree-size", str(size + 2)) == {**now, "tree_size": size + 2}
    text = cli(*CHANGES[:-1], "--tree-size", str(size))
    assert text.exit_code == 0
    assert f"0 of 0 employers touched since 2020-08-01T23:59:59.999999Z read differently on " \
        f"2020-10-01 (from the ledger's first {size} events)" in text.stdout


def test_diff_and_changes_refuse_both_pins_and_a_size_past_the_log(cli: Cli) -> None:
    size, _ = pinned_ledger(cli)
    for args in (DIFF, CHANGES):
        both = cli(*args, "--tree-size", "1", "--ledger-at", "2020-01-01")
        assert both.exit_code == 2 and "not both" in both.stderr
        past = cli(*args, "--tree-size", str(size + 3))
        assert past.exit_code == 2
        assert f"the ledger's log has {size + 2} events, not {size + 3}" in past.stderr

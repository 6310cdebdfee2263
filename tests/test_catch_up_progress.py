"""No silent waiting: a query that must catch up the read models first reports how far it
has come, and the CLI shows it on stderr (a bar on a terminal, a line in a log)."""

from __future__ import annotations

import io
from datetime import date

from rich.console import Console

from commands.catchup import NOTICE_EVENTS, CatchUpReport
from projections.sql.projector import progress
from projections.sql.queries import lapses_from_read_model, status_from_read_model
from storage.store import open_store
from tests.conftest import Cli, audit, registration


def test_a_query_behind_the_log_reports_its_catch_up_from_zero_to_the_lag(
        cli: Cli, db_url: str) -> None:
    cli.import_lines([registration("E-1"), audit("E-1"), registration("E-2")])
    store = open_store(db_url)
    try:
        behind = progress(store).lag
        assert behind == 3
        heard: list[tuple[int, int]] = []
        status_from_read_model(store, "E-1", date(2021, 1, 1), on_progress=lambda *a:
                               heard.append(a))
        assert heard[0] == (0, behind) and heard[-1] == (behind, behind)
        heard.clear()
        lapses_from_read_model(store, date(2021, 1, 1), on_progress=lambda *a: heard.append(a))
        assert heard == []  # nothing behind: nothing to say
    finally:
        store.close()


def test_the_report_draws_a_bar_on_a_terminal() -> None:
    out = io.StringIO()
    report = CatchUpReport(Console(file=out, force_terminal=True, width=100))
    report(0, 500)
    report(500, 500)
    report.close()
    assert "catching up" in out.getvalue()


def test_in_a_log_the_report_writes_one_line_for_a_long_catch_up_only() -> None:
    out = io.StringIO()
    report = CatchUpReport(Console(file=out, force_terminal=False))
    report(0, 50)
    report(50, 50)
    assert out.getvalue() == ""
    report(0, NOTICE_EVENTS)
    report(NOTICE_EVENTS // 2, NOTICE_EVENTS)
    assert out.getvalue().count("\n") == 1
    assert f"{NOTICE_EVENTS} events behind" in out.getvalue()

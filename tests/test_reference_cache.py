"""Reference data (base rates) is read once per store and kept by its stream position: a
later read sees what was appended since, through any other store or process."""

from __future__ import annotations

from storage.store import open_store
from tests.conftest import Cli, line


def _rate(cu: str, year: int, rate: str) -> dict[str, object]:
    return line("BaseRateSet", None, f"{year}-01-01",
                {"jurisdiction": "BC", "cu": cu, "year": year, "base_rate": rate},
                id=f"rate-{cu}-{year}")


def test_reference_read_again_returns_the_same_events_and_then_what_was_appended(
        cli: Cli, db_url: str) -> None:
    cli.import_lines([_rate("721002", 2020, "3.01"), _rate("721002", 2021, "3.10")])
    store = open_store(db_url)
    try:
        first = store.reference()
        assert [e.event_id for e in first] == ["rate-721002-2020", "rate-721002-2021"]
        assert store.reference() == first
        cli.import_lines([_rate("721002", 2022, "3.24")])  # another store object appends
        later = store.reference()
        assert [e.event_id for e in later] == ["rate-721002-2020", "rate-721002-2021",
                                               "rate-721002-2022"]
        assert later[:2] == first
        later.clear()  # a caller's list is its own: the kept events are not touched
        assert len(store.reference()) == 3
    finally:
        store.close()

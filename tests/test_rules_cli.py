"""``corledger rules``: every rule findable by its id, with versions, partners and sources;
docs/rules.md is generated from it and must not go stale."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from commands.cli import main
from ledger.rulebooks import RULES

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    result = CliRunner().invoke(main, ["rules", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_docs_rules_md_is_the_generated_rule_table() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == run("--markdown"), \
        "docs/rules.md is stale: run `corledger rules --markdown > docs/rules.md`"


def test_every_rule_version_is_listed_with_its_day_partners_and_source() -> None:
    listed = {v["id"]: (e, v) for e in json.loads(run("--json"))["rules"]
              for v in e["versions"]}
    assert set(listed) == {r.id for r in RULES.all()}
    entry, version = listed["WSBC-2020.audit-waiver"]
    assert entry["partners"] == ["BCCSA", "GO2HR"]
    assert version["in_force_from"] == "2020-03-30"
    assert version["source"][0]["title"].startswith("WorkSafeBC: Information for COR")
    assert version["source"][0]["url"] == "https://www.worksafebc.com"


def test_one_rule_by_its_id_or_key_with_the_seed_as_local_copy() -> None:
    by_id = json.loads(run("BCCSA-2000.pass-mark", "--json"))["rules"]
    by_key = json.loads(run("BCCSA.pass-mark", "--json"))["rules"]
    assert by_id == by_key and len(by_id) == 1
    assert by_id[0]["source"] == [{"title": "BCCSA COR FAQ", "url": "https://www.bccsa.ca",
                                   "local": "seed 004"}]
    assert "80% overall" in by_id[0]["says"]


def test_an_unknown_rule_id_is_refused_with_a_clear_message() -> None:
    result = CliRunner().invoke(main, ["rules", "BCCSA-1999.nope"])
    assert result.exit_code != 0
    assert "no rule 'BCCSA-1999.nope'" in result.output


def test_the_table_shows_whole_rule_ids() -> None:
    assert "WSBC-2020.audit-waiver" in run("WSBC-2020.audit-waiver")


def test_every_rule_id_is_defined_in_exactly_one_place_in_ledger() -> None:
    """What ``grep -rn 'BCCSA-2000.pass-mark' ledger/`` shows: one line, the definition."""
    whole_id = re.compile(r"[A-Z0-9]+-\d{4}(?:-\d{2}-\d{2})?\.[a-z0-9-]*[a-z0-9]")
    places: dict[str, list[str]] = {}
    for path in sorted((ROOT / "ledger").rglob("*.py")):
        for number, text in enumerate(path.read_text().splitlines(), 1):
            for found in whole_id.findall(text):
                places.setdefault(found, []).append(f"{path.name}:{number}: {text.strip()}")
    for rule in RULES.all():
        assert len(places.get(rule.id, [])) == 1, (rule.id, places.get(rule.id))
        assert f'Rule("{rule.id}"' in places[rule.id][0]
    assert set(places) == {r.id for r in RULES.all()}, "no id outside a definition"


def test_sources_are_cited_by_title_never_by_a_file_name() -> None:
    for rule in RULES.all():
        assert ".txt" not in rule.source and "DOMAIN.md" not in rule.source

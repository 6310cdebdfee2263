"""The mutated-line corpus (issue 19): valid lines of every kind, each broken in one of the
ways a hostile or unlucky sender breaks them, by a seeded generator. Every broken line is
refused, naming its line and the field broken; nothing crashes; nothing is written. Random
byte flips on top must never crash either.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.importer import LineError, key_given_twice, parse_line
from ledger.codec import format_time
from tests.conftest import Cli, audit, line, registration

SEED = 19
NOW = datetime(2026, 11, 1, tzinfo=UTC)

BASES: list[dict[str, Any]] = [
    audit(recorded_at="2020-06-02T09:30:00Z", by="clerk@partner"),
    line("HeadcountReported", "E-1", "2021-01-01", {"headcount": 40}, id="hc-1"),
    line("PremiumPaid", "E-1", "2021-03-01", {"year": 2020, "cu": "G100", "amount": "8123.45"},
         id="pp-1", recorded_at="2021-03-02T10:00:00.5+01:00"),
    line("PayrollReported", "E-1", "2021-02-01",
         {"year": 2020, "cu": "G100", "assessable_payroll": "912345.00",
          "deadline": "2021-02-28"}, id="pr-1"),
    line("SeriousIncidentReported", "E-1", "2021-04-01",
         {"fatality": False, "description": "a fall from a ladder"}, id="si-1"),
    line("ScopeChanged", "E-1", "2021-05-01",
         {"change": "merger", "detail": "merged with E-2", "certification_audit_required": None},
         id="sc-1"),
    line("QADecided", "E-1", "2020-07-01",
         {"audit": "A1", "outcome": "rejected", "reasons": ["late", "incomplete"]}, id="qa-1"),
    line("EventVoided", "E-1", "2021-06-01", {"target": "hc-1", "reason": "typo"}, id="v-1"),
]
MONEY_KEYS = {"amount", "assessable_payroll", "base_rate"}
DATE_KEYS = {"started", "completed", "deadline", "planned_start", "due"}
ENUM_KEYS = {"kind", "auditor_type", "outcome", "change", "partner", "program", "level"}
FOREIGN_DIGITS = ["٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९", "۰۱۲۳۴۵۶۷۸۹"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00a0", " ", "\u3000",
             "\u180e", "\u034f"]
CONTROLS = [chr(c) for c in [*range(0, 9), *range(11, 32), 127, *range(0x80, 0xA0)]]
LOOKALIKES = {"E": ["Е", "Ε", "Ｅ"], "-": ["\u2010", "\u2011", "\u2212", "\u2013", "\u00ad"],
              "1": ["１", "١", "𝟏"]}

Mutation = Callable[[random.Random, dict[str, Any]], tuple[str, str] | None]
"""A way to break a valid line: its raw text and the field it broke, or None if it does not
apply to this line."""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _data_keys(obj: dict[str, Any], wanted: Callable[[str, Any], bool]) -> list[str]:
    return [k for k, v in obj["data"].items() if wanted(k, v)]


def duplicate_key(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    where = rng.choice(["top", "data"])
    target = obj if where == "top" else obj["data"]
    key = rng.choice(sorted(target))
    first = {**target}
    text = _dumps(first)[:-1] + f", {json.dumps(key)}: {json.dumps(rng.choice([0, 'x', None]))}}}"
    if rng.random() < 0.5:  # or the duplicate first, the real value winning under orjson
        text = "{" + f"{json.dumps(key)}: 1, " + _dumps(first)[1:]
    if where == "top":
        return text, key
    top = _dumps({**obj, "data": "__DATA__"}).replace('"__DATA__"', text)
    return top, f"data.{key}"


def lookalike_employer(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    employer: str = obj["employer"]
    how = rng.choice(["swap", "zero-width", "space", "nul", "reserved", "control"])
    if how == "swap":
        i = rng.choice([i for i, c in enumerate(employer) if c in LOOKALIKES])
        employer = employer[:i] + rng.choice(LOOKALIKES[employer[i]]) + employer[i + 1:]
    elif how == "zero-width":
        i = rng.randrange(len(employer) + 1)
        employer = employer[:i] + rng.choice(INVISIBLE) + employer[i:]
    elif how == "space":
        employer = rng.choice([employer + " ", " " + employer, employer + "\t"])
    elif how == "nul":
        employer = employer + "\u0000"
    elif how == "reserved":
        employer = rng.choice(["@reference", "@" + employer])
    else:
        employer = employer[:1] + rng.choice(CONTROLS) + employer[1:]
    return _dumps({**obj, "employer": employer}), "employer"


def invisible_text(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    keys = _data_keys(obj, lambda k, v: isinstance(v, str) and k not in MONEY_KEYS | DATE_KEYS
                      | ENUM_KEYS)
    if not keys:
        return None
    key = rng.choice(keys)
    blank = "".join(rng.choice(INVISIBLE) for _ in range(rng.randint(1, 6)))
    return _dumps({**obj, "data": {**obj["data"], key: blank}}), f"data.{key}"


def control_in_text(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    keys = _data_keys(obj, lambda k, v: isinstance(v, str) and k not in MONEY_KEYS | DATE_KEYS
                      | ENUM_KEYS)
    if rng.random() < 0.3 or not keys:
        field = rng.choice(["id", "by"])
        value = str(obj.get(field) or "x")
        i = rng.randrange(len(value) + 1)
        bad = rng.choice([*CONTROLS, "\t", "\n"])  # tabs and newlines only in data texts
        return _dumps({**obj, field: value[:i] + bad + value[i:]}), field
    key = rng.choice(keys)
    value = obj["data"][key]
    i = rng.randrange(len(value) + 1)
    bad_value = value[:i] + rng.choice(CONTROLS) + value[i:]
    return _dumps({**obj, "data": {**obj["data"], key: bad_value}}), f"data.{key}"


def _foreign_digit(rng: random.Random, text: str) -> str:
    i = rng.choice([i for i, c in enumerate(text) if c.isdigit()])
    return text[:i] + rng.choice(FOREIGN_DIGITS)[int(text[i])] + text[i + 1:]


def bad_money(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    keys = _data_keys(obj, lambda k, v: k in MONEY_KEYS)
    if not keys:
        return None
    key = rng.choice(keys)
    value: str = obj["data"][key]
    bad = rng.choice([
        _foreign_digit(rng, value), value + "\n", value + " ", " " + value, value[:-1],
        value[:-3], value + "0", "-" + value, value.replace(".", ","), "+" + value,
        float(value), value + "\u200b", "1e3", ""])
    return _dumps({**obj, "data": {**obj["data"], key: bad}}), f"data.{key}"


def bad_date(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    keys = ["effective"] + [f"data.{k}" for k in _data_keys(
        obj, lambda k, v: k in DATE_KEYS and isinstance(v, str))]
    path = rng.choice(keys)
    value = obj["effective"] if path == "effective" else obj["data"][path[5:]]
    bad = rng.choice([_foreign_digit(rng, value), value + " ", value.replace("-", "/"),
                      value[:4] + "-02-30", value + "T00:00:00Z", value.replace("-", "\u2011")])
    if path == "effective":
        return _dumps({**obj, "effective": bad}), path
    return _dumps({**obj, "data": {**obj["data"], path[5:]: bad}}), path


def bad_recorded_at(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    bad = rng.choice([
        "0001-01-01T00:00:00+14:00", "0001-01-01T13:59:59+14:00", "9999-12-31T23:59:59-00:01",
        "9999-12-31T20:00:00-14:00", "2020-06-01 10:00:00Z", "2020-06-01T10:00Z",
        "2020-06-01T10:00:00.1234567Z", "2020-06-01T10:00:00+0100", "2020-06-01T10:00:00",
        "2020-06-01T10:00:00z+01:00", "2020-06-01T10:00:00Z\n", "2020-W22-3T10:00:00Z",
        "2020-06-01T24:00:00Z", "2020-06-01T10:00:60Z", _foreign_digit(rng, "2020-06-01T10:00:00Z"),
        "2999-01-01T00:00:00Z", 1591005600, ""])
    return _dumps({**obj, "recorded_at": bad}), "recorded_at"


def deep_value(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    key = rng.choice(sorted(obj["data"]))
    depth = rng.choice([2, 5, 60, 300, 900, 1000, 1020])
    nested = "[" * depth + "]" * depth if rng.random() < 0.5 else '{"a":' * depth + "1" + \
        "}" * depth
    text = _dumps({**obj, "data": {**obj["data"], key: "__DEEP__"}}).replace('"__DEEP__"', nested)
    return text, f"data.{key}"


def wrong_json_type(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    key = rng.choice(sorted(obj["data"]))
    value = obj["data"][key]
    if value is None:
        bad: Any = rng.choice([0, "null", [], {}])
    elif isinstance(value, bool):
        bad = rng.choice([0, 1, "true"])
    elif isinstance(value, int | float):
        bad = rng.choice([str(value), [value], True, {"v": value}])
    elif isinstance(value, str):
        bad = rng.choice([1, True, [value], {"v": value}])
    else:
        bad = rng.choice(["x", 1, True])
    return _dumps({**obj, "data": {**obj["data"], key: bad}}), f"data.{key}"


def enum_lookalike(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    keys = _data_keys(obj, lambda k, v: k in ENUM_KEYS)
    if not keys:
        return None
    key = rng.choice(keys)
    value: str = obj["data"][key]
    bad = rng.choice([value.upper(), value + " ", value + "\u200b", "е" + value[1:],
                      value.capitalize()])
    if bad == value:
        bad = value + " "
    return _dumps({**obj, "data": {**obj["data"], key: bad}}), f"data.{key}"


def unknown_field(rng: random.Random, obj: dict[str, Any]) -> tuple[str, str] | None:
    name = rng.choice(["colour", "Employer", "employer\u200b", "dаta", "__proto__"])
    if rng.random() < 0.5:
        return _dumps({**obj, name: 1}), name
    return _dumps({**obj, "data": {**obj["data"], name: 1}}), f"data.{name}"


MUTATIONS: list[Mutation] = [duplicate_key, lookalike_employer, invisible_text, control_in_text,
                             bad_money, bad_date, bad_recorded_at, deep_value, wrong_json_type,
                             enum_lookalike, unknown_field]


def corpus(size: int, seed: int = SEED) -> Iterator[tuple[str, str, str]]:
    """``size`` broken lines: (mutation name, raw line, the field it broke)."""
    rng = random.Random(seed)
    made = 0
    while made < size:
        mutation = rng.choice(MUTATIONS)
        found = mutation(rng, json.loads(json.dumps(rng.choice(BASES))))
        if found is not None:
            made += 1
            yield mutation.__name__, *found


def flipped(rng: random.Random, raw: bytes) -> bytes:
    """A line with a few random bytes changed: may be valid or not, must never crash."""
    data = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def test_every_line_of_the_corpus_is_refused_naming_its_line_and_field() -> None:
    now_text = format_time(NOW)
    for base in BASES:  # the bases themselves are valid: the refusals are the mutations'
        assert not isinstance(parse_line(1, _dumps(base).encode(), NOW, now_text), list), base
    seen: dict[str, int] = {}
    for number, (name, raw, field) in enumerate(corpus(3000), start=1):
        got = parse_line(number, raw.encode(), NOW, now_text)
        assert isinstance(got, list), f"accepted an invalid line ({name}): {raw[:300]}"
        assert all(type(e) is LineError and e.line == number and e.field and e.message
                   for e in got)
        assert field in {e.field for e in got} or any(
            e.field.startswith(field + ".") for e in got), (name, field, got, raw[:300])
        seen[name] = seen.get(name, 0) + 1
    assert set(seen) == {m.__name__ for m in MUTATIONS}  # every kind of break was tried


def test_random_byte_flips_never_crash_the_parser() -> None:
    rng = random.Random(SEED)
    now_text = format_time(NOW)
    refused = 0
    for number in range(1, 3001):
        raw = flipped(rng, _dumps(rng.choice(BASES)).encode())
        got = parse_line(number, raw, NOW, now_text)
        if isinstance(got, list):
            refused += 1
            assert all(e.line == number and e.field and e.message for e in got)
    assert refused > 2000  # not vacuous: most flips break a line


@pytest.mark.parametrize("seed", [SEED, SEED + 1])
def test_the_corpus_through_the_cli_crashes_nothing_and_writes_nothing(
        cli: Cli, seed: int) -> None:
    """On each store: each broken line in its own file after a valid one is refused naming
    line 2 and its field; nothing of any of them is written (the click runner re-raises any
    exception, so a crash fails the test)."""
    assert cli.import_lines([registration(), audit()]).exit_code == 0
    before = cli.json("history", "E-1")["events"]
    good = line("HeadcountReported", "E-1", "2021-01-01", {"headcount": 3}, id="ok-1")
    broken = list(corpus(70, seed))
    for name, raw, field in broken:
        result = cli.import_lines([good, raw])
        assert result.exit_code == 1, (name, raw[:300], result.output)
        assert "nothing was imported" in result.stderr
        assert f"line 2: {field}" in result.stderr, (name, field, result.stderr[:600])
    # and all of them in one file: one refusal, at most 20 errors named
    result = cli.import_lines([good] + [raw for _, raw, _ in broken])
    assert result.exit_code == 1
    assert result.stderr.count("\n  line ") == 20
    assert cli.json("history", "E-1")["events"] == before


# --- the duplicate-key test is exact: never a false alarm, never a miss ----------------------

KEYS = st.text(alphabet=st.sampled_from(list('ab:"\\\u00e9\u200b ')), max_size=4)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                   st.text(alphabet=st.sampled_from(list('x:"\\\u00e9 {}[],')), max_size=5))
TREES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=12)


@st.composite
def written(draw: st.DrawFn, value: Any) -> tuple[str, str | None]:
    """``value`` as a sender might write it (any spacing, escapes or not), perhaps with one
    key given twice: (the text, the path of the key given twice or None)."""
    space = draw(st.sampled_from(["", " ", "  ", "\t"]))
    ascii_only = draw(st.booleans())

    def text(v: Any, path: str, twice: list[str]) -> str:
        if isinstance(v, dict):
            items = [f"{json.dumps(k, ensure_ascii=ascii_only)}{space}:{space}"
                     f"{text(x, f'{path}.{k}' if path else k, twice)}" for k, x in v.items()]
            if v and not twice and draw(st.integers(0, 9)) == 0:
                key = draw(st.sampled_from(sorted(v)))
                twice.append(f"{path}.{key}" if path else key)
                items.insert(draw(st.integers(0, len(items))),
                             f"{json.dumps(key, ensure_ascii=ascii_only)}:{json.dumps(v[key])}")
            return "{" + f",{space}".join(items) + "}"
        if isinstance(v, list):
            return "[" + f",{space}".join(text(x, f"{path}.{i}" if path else str(i), twice)
                                          for i, x in enumerate(v)) + "]"
        return json.dumps(v, ensure_ascii=ascii_only)

    twice: list[str] = []
    out = text(value, "", twice)
    return out, (twice[0] if twice else None)


@settings(max_examples=400)
@given(st.data())
def test_a_key_given_twice_is_found_and_no_other_line_is_refused(data: st.DataObject) -> None:
    tree = data.draw(st.dictionaries(KEYS, TREES, max_size=4))
    raw_text, twice = data.draw(written(tree))
    raw = raw_text.encode()
    found = key_given_twice(raw, orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS))
    if twice is None:
        assert found is None, raw_text
    else:
        assert found == twice, raw_text

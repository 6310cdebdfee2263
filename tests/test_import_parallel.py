"""Past PARALLEL_FROM_LINES lines a second process parses: same rows, same refusals."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from commands import importer
from commands.importer import Importer, ImportRefused
from storage.store import open_store

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SAMPLE = Path(importer.__file__).parent / "sample" / "demo.jsonl"


def rows(url: str) -> list[tuple[object, ...]]:
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return [*conn.execute("SELECT rowid, * FROM stored_events ORDER BY rowid"),
                *conn.execute("SELECT * FROM ledger_event_ids ORDER BY event_id"),
                *conn.execute("SELECT * FROM ledger_employers ORDER BY employer"),
                *conn.execute("SELECT * FROM ledger_recorded ORDER BY 1, 2, 3"),
                *conn.execute("SELECT * FROM ledger_log ORDER BY first_idx"),
                *conn.execute("SELECT * FROM ledger_log_nodes ORDER BY level, idx")]
    finally:
        conn.close()


def run(url: str, data: bytes) -> object:
    store = open_store(url)
    try:
        return Importer(store, now=NOW, batch_size=50).run(io.BytesIO(data))
    finally:
        store.close()


@pytest.fixture
def in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "PARALLEL_FROM_LINES", 100)
    monkeypatch.setattr(importer, "BLOCK_BYTES", 997)  # blocks of a few lines


def test_a_parsing_process_stores_what_one_process_stores(tmp_path: Path,
                                                          in_parallel: None) -> None:
    data = SAMPLE.read_bytes()
    assert data.count(b"\n") > 1000  # well past the threshold: many chunks
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importer, "PARALLEL_FROM_LINES", 10**9)
        inline = run(one, data)
    parallel = run(two, data)
    assert parallel == inline
    assert rows(two) == rows(one)
    assert run(two, data).skipped == inline.added  # idempotent as ever  # type: ignore[attr-defined]


def test_a_parsing_process_refuses_as_one_process_does(tmp_path: Path,
                                                       in_parallel: None) -> None:
    lines = SAMPLE.read_bytes().splitlines()
    bad = orjson.loads(lines[500])
    bad["data"] = {"colour": "red"}
    lines[500] = orjson.dumps(bad)
    lines[700] = b"{not json"
    data = b"\n".join(lines) + b"\n"
    errors = []
    for name, threshold in (("one", 10**9), ("two", 100)):
        url = f"sqlite:///{tmp_path / name}.db"
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(importer, "PARALLEL_FROM_LINES", threshold)
            with pytest.raises(ImportRefused) as refused:
                run(url, data)
        errors.append([str(e) for e in refused.value.errors])
        assert rows(url) == []
    assert errors[0] == errors[1]
    assert any(e.startswith("line 501:") for e in errors[1])
    assert any(e.startswith("line 701: line: not valid JSON") for e in errors[1])


def numbered(data: bytes, first: int) -> list[tuple[int, object]]:
    """What the parsing process gets from :func:`read_blocks`: each line with its number
    (the refusal of an overlong one as text), as :func:`read_lines` numbers them."""
    out: list[tuple[int, object]] = []
    for start, block, overlong in importer.read_blocks(io.BytesIO(data), first):
        if overlong is not None:
            out.append((overlong, "overlong"))
            continue
        lines = block.split(b"\n")
        last = lines.pop()
        out += [(start + k, raw + b"\n") for k, raw in enumerate(lines) if raw.strip()]
        if last.strip():
            out.append((start + len(lines), last))
    return out


def by_lines(data: bytes, first: int) -> list[tuple[int, object]]:
    return [(number + first - 1, "overlong" if isinstance(raw, importer.LineError) else raw)
            for number, raw in importer.read_lines(io.BytesIO(data))]


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 19])
def test_blocks_number_and_refuse_lines_as_the_line_reader_does(
        monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Blank lines, a last line without a newline, and lines at, just over and far over the
    length limit, wherever the blocks' ends fall."""
    monkeypatch.setattr(importer, "MAX_LINE_BYTES", 40)
    monkeypatch.setattr(importer, "BLOCK_BYTES", block)
    limit = importer.MAX_LINE_BYTES
    lines = [b'{"a":1}', b"", b"   ", b"x" * limit, b"y" * (limit + 1), b'{"b":2}',
             b"z" * (5 * limit), b"\r", b"w" * (limit - 1), b"v" * (limit + 1)]
    for data in (b"\n".join(lines), b"\n".join(lines) + b"\n", b"\n".join(lines[:-1]),
                 b"\n\n" + b"\n".join(lines[3:]) + b"\n" + b"q" * (limit + 1)):
        assert numbered(data, 20_001) == by_lines(data, 20_001), data


def test_leaves_hashed_by_the_parsing_process_are_the_log_one_process_keeps(
        tmp_path: Path, in_parallel: None) -> None:
    """The parsing process hashes each line's leaf for the version it guesses; where the
    guess is wrong (employers already in the ledger, lines skipped) the importer hashes the
    line itself. Either way: the same log as one process keeps, and it verifies."""
    from storage.verify import verify_log

    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    # the second part goes on with employers of the first (guesses from 1 are wrong for
    # them), the third is all skipped
    parts = [b"".join(lines[:700]), b"".join(lines[700:]), b"".join(lines)]
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
    results: dict[str, list[object]] = {one: [], two: []}
    for part in parts:
        for url in (one, two):
            with pytest.MonkeyPatch.context() as mp:
                if url == one:
                    mp.setattr(importer, "PARALLEL_FROM_LINES", 10**9)
                results[url].append(run(url, part))
    assert results[one] == results[two]
    assert [r.added for r in results[two]] == [700, len(lines) - 700, 0]  # type: ignore[attr-defined]
    assert rows(two) == rows(one)
    store = open_store(two)
    try:
        with store.log_db() as db:
            report = verify_log(db, [], None)
    finally:
        store.close()
    assert report.ok, report.damage
    assert report.events > 0


def test_a_parsing_process_started_early_takes_over_when_ready_and_stores_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that looks long at the probe starts its parsing process there, and lines are
    parsed here until it is ready (at the threshold at the latest): the same rows either way."""
    data = SAMPLE.read_bytes()
    monkeypatch.setattr(importer, "PROBE_LINES", 10)
    monkeypatch.setattr(importer, "PARALLEL_FROM_LINES", data.count(b"\n") - 50)
    monkeypatch.setattr(importer, "BLOCK_BYTES", 997)
    started: list[int] = []
    real_pool = importer.worker_pool

    def counting_pool(workers: int) -> object:
        started.append(workers)
        return real_pool(workers)

    monkeypatch.setattr(importer, "worker_pool", counting_pool)
    estimates: list[float] = []
    real_estimate = importer._lines_left

    def estimate(stream: io.BytesIO, lines: int, length: int) -> float:
        estimates.append(real_estimate(stream, lines, length))
        return estimates[-1]

    monkeypatch.setattr(importer, "_lines_left", estimate)
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importer, "PARALLEL_FROM_LINES", 10**9)
        mp.setattr(importer, "PROBE_LINES", 10**9)
        inline = run(one, data)
    assert started == []
    parallel = run(two, data)
    assert started == [1]
    assert len(estimates) == 1 and estimates[0] > importer.PARALLEL_FROM_LINES  # at the probe
    assert parallel == inline
    assert rows(two) == rows(one)


def test_lines_left_is_estimated_from_a_stream_that_can_tell_its_length() -> None:
    from commands.session import DigestingReader

    data = b"0123456789\n" * 100
    for stream in (io.BytesIO(data), DigestingReader(io.BytesIO(data))):
        for _ in range(10):
            stream.readline()
        assert importer._lines_left(stream, 10, 110) == pytest.approx(90)
        assert importer.bytes_left(stream) == 990
        assert stream.readline() == b"0123456789\n"  # read on from where it was
    reader = DigestingReader(io.BytesIO(data))
    assert reader.read() == data and reader.digest.hexdigest() == hashlib.sha256(data).hexdigest()

    class Pipe(io.RawIOBase):
        def seekable(self) -> bool:
            return False

    assert importer._lines_left(Pipe(), 10, 110) == 0  # type: ignore[arg-type]
    assert importer.bytes_left(object()) is None  # type: ignore[arg-type]


def test_blocks_are_parsed_here_while_the_parsing_process_is_busy_in_file_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While the next result is not ready the importing process parses the next blocks
    itself (at most PARSED_HERE_AHEAD held): the lines still come out in file order."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(importer, "BLOCK_BYTES", 997)
    data = b"".join(SAMPLE.read_bytes().splitlines(keepends=True)[100:300])
    blocks = list(importer.read_blocks(io.BytesIO(data), 101))
    assert len(blocks) > 10
    here: list[int] = []
    real_parse = importer.parse_block
    main = threading.current_thread()

    def parse_block(first: int, *rest: object) -> list[object]:
        if threading.current_thread() is main:
            here.append(first)
        return real_parse(first, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "parse_block", parse_block)
    expected = [real_parse(*block, NOW, "now") for block in blocks]
    assert any(type(p) is tuple and p[3] is not None for p in expected[-1])  # employer lines
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(release.wait)  # the "parsing process" is busy until released
        threading.Timer(0.3, release.set).start()
        got = list(importer.shared_parse(pool, blocks, NOW, "now"))
    def unguessed(results: list[list[object]]) -> list[object]:
        # a leaf is a guess (used only if right); the guesses differ with who parsed what
        return [p[:-2] if type(p) is tuple else p for block in results for p in block]

    assert unguessed(got) == unguessed(expected)
    assert len(here) >= importer.PARSED_HERE_AHEAD  # parsed here while the pool was busy
    assert here[:2] == [blocks[3][0], blocks[4][0]]  # the blocks after those sent out


def test_parsed_blocks_travel_back_as_marshal_bytes_only_when_every_line_is_plain() -> None:
    """The parsing process sends a block of valid fast-path lines back as marshal bytes that
    read back to the very tuples parsed; a block holding a refusal (LineError objects) or a
    line only marshmallow took (its typed envelope) travels as the list itself."""
    import marshal

    now_text = "2026-11-01T00:00:00Z"
    demo = SAMPLE.read_bytes()
    parsed = importer.parse_block(1, demo, None, NOW, now_text)
    plain = importer.packed(lambda: parsed)
    assert type(plain) is bytes
    assert marshal.loads(plain) == parsed

    refused = demo + b"{not json\n"
    kept = importer.packed(importer.parse_block, 1, refused, None, NOW, now_text)
    assert type(kept) is list and type(kept[-1]) is list  # the refusal, as parsed

    # a line only marshmallow took carries its typed envelope (dates), which marshal cannot
    # write: the list goes as it is
    from datetime import date

    typed = [(*parsed[0][:7], {"effective": date(2021, 10, 1)}, *parsed[0][8:])]
    assert importer.packed(lambda: typed) is typed

"""Benchmarks against raw baselines, measured in one run on the same generated data (issue 8).

    python -m scripts.bench --employers 100000 [--small-employers 10000] [--db URL] [--json]

What is measured, each beside its physical baseline where it has one:

(a) import, events/s, through the real :class:`commands.importer.Importer` into a fresh store;
    baseline: read the same JSONL, ``json.loads`` each line and ``executemany``
    (id, stream, version, payload) into an SQLite table indexed as the ledger must be (unique
    sender id, unique stream version) in one transaction. ``import_ratio`` = import / baseline.
    The baseline runs before and after the import; the ratio uses their mean. With
    ``--import-runs N`` the two alternate N times (B I B I ... B): each import's ratio is
    taken against the baselines either side of it, and ``import_ratio`` is their median
    (on a shared machine one pair can be off by a fifth).
(b) full read-model rebuild, events/s, through :func:`projections.sql.projector.rebuild`;
    baseline: an ordered scan of the same stored rows plus ``json.loads`` of each; and its
    CPU seconds over every process. ``--rebuild-only URL`` runs only this, on an existing
    ledger, adding a rebuild in one process (``workers=1``) in events per CPU second.
(c) ``status --as-of`` latency in process (:func:`projections.sql.queries.status_from_read_model`,
    known now), p50/p99 ms, random employers and dates.
(d) ``lapses`` over all employers (:func:`projections.sql.queries.lapses_from_read_model`), seconds.
(e) peak RSS of the import at two file sizes: each import runs in a child process that
    reports its own ``ru_maxrss``.
(g) one employer's ``status --known-at`` at 1k, 10k and 50k events, in process, and its slope
    (:func:`measure_long_history`; ``--long-history`` runs only this).
(f) all of it on PostgreSQL when ``--db postgresql://...`` is given (a fresh database per
    import, created and dropped here; the baselines stay on SQLite, the physical floor).
(g) the Merkle log's cost (issue 12): the same import with the log kept and with its upkeep
    switched off in the child process, alternated ``--log-runs`` times each;
    ``log_import_ratio`` = mean rate with the log / mean rate without (the bar: >= 0.9).
(h) ``verify`` over the imported ledger, events/s, against a raw SHA-256 of the same entry
    bytes (each entry hashed as a leaf, already in memory): ``verify_ratio``.
(h) ``changes --since`` (issue 15), seconds, for a day, a week and a month of recorded events
    before 2023-12-01T00:00Z, as of that date (the generator's histories are busiest then: a
    month holds about 0.9% of the events; they thin out after March 2024), with
    how many employers the ``ledger_recorded`` index says were touched and how many changed;
    the index query alone, ms; baseline: the brute force ``changes`` avoids, comparing every
    employer's status at the two times, timed on a random sample of employers and scaled to
    all of them. ``changes_ratio_<window>`` = brute force / changes (how many times faster).
(i) start-up (issue 17, ``--startup`` runs only this): whole-process ``corledger --help`` and
    ``status`` against ``python -c pass`` in the same run (:mod:`scripts.bench_startup`).

Generated files are cached under ``--cache`` (default ``/tmp/corbench``), keyed by employers
and seed. Progress goes to stderr; ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("CORBENCH_CACHE", "/tmp/corbench"))


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- data ------------------------------------------------------------------------------------


def generated(employers: int, seed: int, cache: Path) -> Path:
    """The generated ledger for these arguments, made once and cached."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"gen-e{employers}-s{seed}.jsonl"
    if path.exists():
        return path
    log(f"generating {employers} employers (seed {seed}) -> {path}")
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    subprocess.run([sys.executable, "-m", "scripts.generate", "--employers", str(employers),
                    "--seed", str(seed), "--out", str(tmp)], check=True)
    tmp.rename(path)
    return path


def _fresh_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- child processes: one measurement each, reporting its own peak RSS -----------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _children_rss_mb() -> float:
    """The peak RSS of the largest finished child: the import's parsing process."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child_import(source: str, url: str, log_kept: str = "log") -> dict[str, Any]:
    from commands.importer import Importer
    from storage.store import open_store

    if log_kept == "nolog":  # (g): the import as it was before the log, for the ratio
        import importlib

        from commands import importer
        from storage.log import LogAppender, Logged

        # the parsing process hashes no leaves either (by module name: this is __main__);
        # nor does this one, which parses blocks too while it would wait (shared_parse)
        bench = importlib.import_module("scripts.bench")
        bench._PARSE_BLOCK = importer.parse_block  # type: ignore[attr-defined]
        importer.parse_block = bench.parse_block_without_leaves  # type: ignore[attr-defined]

        LogAppender.prepare = lambda self, rows: Logged([], [])  # type: ignore[method-assign]
        LogAppender.append = lambda self, rows: None  # type: ignore[method-assign]
        LogAppender.write = lambda self, logged: None  # type: ignore[method-assign]
        LogAppender.finish = lambda self, now: None  # type: ignore[method-assign]

    store = open_store(url)
    wall0, cpu0, kids0 = time.perf_counter(), time.process_time(), _children_cpu()
    with open(source, "rb") as stream:
        result = Importer(store, now=datetime.now(UTC)).run(stream)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0 + _children_cpu() - kids0  # with its parsing process
    store.close()
    return {"events": result.added, "lines": result.lines, "wall_s": wall, "cpu_s": cpu,
            "rss_mb": _rss_mb(), "parser_rss_mb": _children_rss_mb()}


_PARSE_BLOCK: Any = None  # the importer's own parse_block, where child_import replaced it


def parse_block_without_leaves(*args: Any) -> list[Any]:
    """(g), in either process: :func:`commands.importer.parse_block` without hashing the
    lines' Merkle leaves, as the import parsed before the log."""
    from commands import importer

    importer.guess_leaves = lambda parsed, now_text: [  # type: ignore[assignment]
        tuple(p) if type(p) is importer._Line else p for p in parsed]
    return (_PARSE_BLOCK or importer.parse_block)(*args)


BASELINE_DDL = (
    "CREATE TABLE raw_events (id TEXT PRIMARY KEY, stream TEXT NOT NULL,"
    " version INTEGER NOT NULL, payload BLOB NOT NULL)",
    "CREATE UNIQUE INDEX raw_events_stream ON raw_events (stream, version)",
)
BASELINE_BATCH = 2000


def child_baseline(source: str, db: str) -> dict[str, Any]:
    """The import's physical floor: json.loads + one executemany per batch, one transaction."""
    _fresh_sqlite(Path(db))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in BASELINE_DDL:
        conn.execute(statement)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    versions: dict[str, int] = {}
    events = 0
    conn.execute("BEGIN IMMEDIATE")
    batch: list[tuple[Any, ...]] = []
    insert = "INSERT INTO raw_events VALUES (?,?,?,?)"
    with open(source, "rb") as stream:
        for line in stream:
            obj = json.loads(line)
            stream_name = obj.get("employer") or "@reference"
            version = versions[stream_name] = versions.get(stream_name, 0) + 1
            batch.append((obj.get("id"), stream_name, version, line))
            if len(batch) >= BASELINE_BATCH:
                conn.executemany(insert, batch)
                events += len(batch)
                batch = []
    conn.executemany(insert, batch)
    events += len(batch)
    conn.execute("COMMIT")
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    conn.close()
    _fresh_sqlite(Path(db))
    return {"events": events, "wall_s": wall, "cpu_s": cpu, "rss_mb": _rss_mb()}


def in_child(kind: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "scripts.bench", "--child", kind, *args],
                         check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)


# --- stores ----------------------------------------------------------------------------------


class Target:
    """Where imports go: a fresh SQLite file per import, or a fresh PostgreSQL database."""

    def __init__(self, db: str | None, workdir: Path) -> None:
        self.db = db
        self.workdir = workdir
        self.pg = bool(db) and db.split(":", 1)[0].startswith("postgres")
        self.made: list[str] = []

    def fresh(self, name: str) -> str:
        if not self.pg:
            path = self.workdir / f"{name}.db"
            _fresh_sqlite(path)
            return f"sqlite:///{path}"
        from sqlalchemy.engine import make_url

        url = make_url(self.db).set(database=f"corbench_{name}_{os.getpid()}")
        text = url.render_as_string(hide_password=False)
        self._drop(text)
        from storage.store import create_database

        create_database(text)
        self.made.append(text)
        return text

    def _drop(self, url_text: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(url_text)
        admin = url.set(drivername="postgresql", database="postgres")
        with psycopg.connect(admin.render_as_string(hide_password=False).replace(
                "postgresql://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    def cleanup(self) -> None:
        for url in self.made:
            try:
                self._drop(url)
            except Exception as exc:  # pragma: no cover - best effort
                log(f"could not drop {url}: {exc}")
        if not self.pg:
            for path in self.workdir.glob("*.db"):
                _fresh_sqlite(path)


# --- (b) rebuild and its baseline ------------------------------------------------------------


def scan_baseline(url: str) -> dict[str, Any]:
    """Ordered scan of the stored rows plus json.loads of each: the rebuild's floor."""
    loads = json.loads
    wall0 = time.perf_counter()
    rows = 0
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
        cursor = conn.execute("SELECT rowid, originator_id, originator_version,"  # rowid:
                              " topic, state FROM stored_events ORDER BY rowid")  # its position
        while True:
            page = cursor.fetchmany(10_000)
            if not page:
                break
            for row in page:
                loads(row[4])
            rows += len(page)
        conn.close()
    else:
        import psycopg

        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain) as conn, conn.cursor(name="scan") as cursor:
            cursor.itersize = 10_000
            cursor.execute("SELECT notification_id, originator_id, originator_version,"
                           " topic, state FROM stored_events ORDER BY notification_id")
            for row in cursor:
                loads(bytes(row[4]))
                rows += 1
    return {"events": rows, "wall_s": time.perf_counter() - wall0}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the rebuild's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + _children_cpu()


def measure_rebuild(url: str, serial: bool = False) -> dict[str, Any]:
    """(b) on the store a URL names: the rebuild (one worker per CPU) beside the ordered scan
    before and after it, and its CPU seconds (every process). With ``serial``, also a rebuild
    in this process alone (``workers=1``): events per CPU second, the figure a loaded machine
    does not distort."""
    from projections.sql.projector import rebuild
    from storage.store import open_store

    out: dict[str, Any] = {}
    log("rebuild baseline: ordered scan + json.loads")
    scan = scan_baseline(url)
    store = open_store(url)
    events = store.position()
    log(f"rebuild of the read models over {events} events")
    wall0, cpu0 = time.perf_counter(), _cpu()
    rebuild(store)
    rebuild_s, rebuild_cpu = time.perf_counter() - wall0, _cpu() - cpu0
    log("rebuild baseline again")
    scan2 = scan_baseline(url)
    scan_rate = statistics.mean([scan["events"] / scan["wall_s"],
                                 scan2["events"] / scan2["wall_s"]])
    out["rebuild_events_per_s"] = round(events / rebuild_s)
    out["rebuild_s"] = round(rebuild_s, 2)
    out["rebuild_baseline_events_per_s"] = round(scan_rate)
    out["rebuild_ratio"] = round(events / rebuild_s / scan_rate, 3)
    out["rebuild_cpu_s"] = round(rebuild_cpu, 2)
    out["rebuild_cpu_events_per_s"] = round(events / rebuild_cpu)
    if serial:
        log("rebuild in one process (workers=1), CPU seconds")
        wall0, cpu0 = time.perf_counter(), _cpu()
        rebuild(store, workers=1)
        out["rebuild_serial_s"] = round(time.perf_counter() - wall0, 2)
        out["rebuild_serial_cpu_s"] = round(_cpu() - cpu0, 2)
        out["rebuild_serial_cpu_events_per_s"] = round(events / (_cpu() - cpu0))
    out["load_average"] = round(os.getloadavg()[0], 1)
    store.close()
    return out


def measure_reads(url: str, samples: int, seed: int) -> dict[str, Any]:
    """(b), (c), (d) on the store a URL names; {} when the read models are not there."""
    try:
        from projections.sql.queries import lapses_from_read_model
    except ImportError as exc:
        log(f"read models not available ({exc}): skipping rebuild, status and lapses")
        return {}
    from storage.store import open_store

    out = measure_rebuild(url)
    store = open_store(url)
    out.update(measure_status(store, samples, seed))

    log("lapses over all employers, 3 runs")
    runs = []
    for as_of in (date(2026, 10, 31), date(2024, 6, 1), date(2026, 10, 31)):
        t0 = time.perf_counter()
        entries = lapses_from_read_model(store, as_of, 90)
        runs.append(time.perf_counter() - t0)
    out["lapses_s"] = round(statistics.median(runs), 3)
    out["lapses_runs_s"] = [round(r, 3) for r in runs]
    out["lapses_entries"] = len(entries)
    store.close()
    return out


def measure_status(store: Any, samples: int, seed: int) -> dict[str, Any]:
    """(c) on an open store whose read models are current: ``status`` known now of random
    employers on random dates, in process, p50/p99 ms."""
    from projections.sql.queries import status_from_read_model

    employers = store.employers()
    rng = random.Random(seed)
    first, last = date(2014, 1, 1).toordinal(), date(2026, 10, 31).toordinal()
    queries = [(rng.choice(employers), date.fromordinal(rng.randint(first, last)))
               for _ in range(samples)]
    for employer, day in queries[:50]:  # warm up connections and caches
        status_from_read_model(store, employer, day)
    log(f"status: {samples} random (employer, as-of) queries")
    times = []
    for employer, day in queries:
        t0 = time.perf_counter()
        status_from_read_model(store, employer, day)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"status_p50_ms": round(times[len(times) // 2], 3),
            "status_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3),
            "status_samples": samples}


# --- (h) changes and its brute-force baseline -----------------------------------------------------

REPORT_AT = datetime(2023, 12, 1, tzinfo=UTC)  # "what changed since the last report"
CHANGE_WINDOWS = {"day": 1, "week": 7, "month": 30}


def measure_changes(url: str, samples: int, seed: int) -> dict[str, Any]:
    """(h) on the store a URL names."""
    from commands.diff_cli import changed_employers
    from projections.diff import View, document
    from storage.store import open_store

    store = open_store(url)
    out: dict[str, Any] = {}
    as_of = REPORT_AT.date()
    try:
        for name, days in CHANGE_WINDOWS.items():
            since = REPORT_AT - timedelta(days=days)
            t0 = time.perf_counter()
            touched_list = store.touched(since, REPORT_AT)
            out[f"changes_touched_query_ms_{name}"] = round((time.perf_counter() - t0) * 1000,
                                                            2)
            log(f"changes since {since.isoformat()} ({name}): {len(touched_list)} touched")
            t0 = time.perf_counter()
            touched, entries = changed_employers(store, since, REPORT_AT, as_of)
            out[f"changes_s_{name}"] = round(time.perf_counter() - t0, 3)
            out[f"changes_touched_{name}"] = touched
            out[f"changes_changed_{name}"] = len(entries)
        employers = store.employers()
        sample = random.Random(seed).sample(employers, min(samples, len(employers)))
        since = REPORT_AT - timedelta(days=CHANGE_WINDOWS["day"])
        log(f"brute-force baseline: both views of {len(sample)} random employers")
        t0 = time.perf_counter()
        for employer in sample:
            events = store.stream(employer)
            document(events, View(as_of, since), employer=employer)
            document(events, View(as_of, REPORT_AT), employer=employer)
        per = (time.perf_counter() - t0) / len(sample)
        out["changes_brute_force_ms_per_employer"] = round(per * 1000, 3)
        out["changes_brute_force_s_estimated"] = round(per * len(employers), 1)
        for name in CHANGE_WINDOWS:
            out[f"changes_ratio_{name}"] = round(
                per * len(employers) / max(out[f"changes_s_{name}"], 1e-9), 1)
    finally:
        store.close()
    return out


LONG_HISTORY = (1_000, 10_000, 50_000)


def measure_long_history(cache: Path, sizes: tuple[int, ...] = LONG_HISTORY,
                         runs: int = 5) -> dict[str, Any]:
    """(g) ``status --known-at`` in process for one employer with 1k, 10k and 50k events
    (:mod:`scripts.long_history`): read the stream from a SQLite store as the command does
    (:func:`projections.sql.queries.status_stream`: the money events left unread), fold,
    render; after
    one run not counted (the store's first read, the rulebooks' first use), the median of
    ``runs`` (more for the small sizes, which take milliseconds and so are the noisiest:
    about as many as fit in the time of one 50k run), wall and CPU (on a shared machine the
    CPU time is the steadier figure). ``long_ratio`` = time at the largest / time at the
    smallest (linear: about the ratio of sizes, 50), ``long_cpu_ratio`` the same in CPU
    seconds; ``long_slope_ms_per_1k`` the least-squares slope."""
    from commands.importer import Importer
    from projections.sql.queries import status_stream
    from projections.status import render
    from projections.timeline import fold
    from scripts.long_history import EMPLOYER, lines
    from storage.store import open_store

    out: dict[str, Any] = {}
    times: dict[int, float] = {}
    cpu_times: dict[int, float] = {}
    known_at = datetime(2026, 1, 1, 23, 59, tzinfo=UTC)
    for size in sizes:
        db = cache / "long" / f"long-{size}.db"  # kept: a full run empties cache/work
        if not db.exists():
            db.parent.mkdir(parents=True, exist_ok=True)
            log(f"one employer with {size} events: generating and importing")
            source = cache / f"long-{size}.jsonl"
            source.write_text("".join(json.dumps(line) + "\n" for line in lines(size)))
            tmp = db.with_suffix(".tmp")
            _fresh_sqlite(tmp)
            store = open_store(f"sqlite:///{tmp}")
            with open(source, "rb") as stream:
                Importer(store, now=datetime.now(UTC)).run(stream)
            store.close()
            tmp.rename(db)
        store = open_store(f"sqlite:///{db}")
        samples, cpu = [], []
        for run in range(1 + max(runs, min(25, max(sizes) // size))):
            t0, c0 = time.perf_counter(), time.process_time()
            render(fold(status_stream(store, EMPLOYER), as_of=date(2025, 12, 31),
                        known_at=known_at, employer=EMPLOYER))
            if run:  # the first is a warm-up
                samples.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        store.close()
        times[size] = statistics.median(samples)
        cpu_times[size] = statistics.median(cpu)
        out[f"long_{size}_s"] = round(times[size], 6)
        out[f"long_{size}_cpu_s"] = round(cpu_times[size], 6)
        log(f"  status --known-at, {size} events: {times[size]:.3f} s "
            f"({statistics.median(cpu):.3f} s CPU)")
    xs, ys = list(times), [times[x] for x in times]
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
             / sum((x - mean_x) ** 2 for x in xs))
    out["long_ratio"] = round(times[sizes[-1]] / times[sizes[0]], 1)
    # the same from CPU seconds (on a shared machine the small run's wall time is noise),
    # from the medians themselves: the small one rounded to 0.1 ms moved the ratio by a fifth
    out["long_cpu_ratio"] = round(cpu_times[sizes[-1]] / max(cpu_times[sizes[0]], 1e-9), 1)
    out["long_slope_ms_per_1k"] = round(slope * 1e6, 2)
    return out
# --- (g) the log's cost on import, (h) verify against raw SHA-256 -----------------------------


def measure_log(source: Path, target: Target, runs: int) -> dict[str, Any]:
    """Imports with and without the log's upkeep, alternated, each into a fresh store."""
    rates: dict[str, list[float]] = {"log": [], "nolog": []}
    cpu: dict[str, list[float]] = {"log": [], "nolog": []}
    for run_no in range(runs):
        for kind in ("nolog", "log") if run_no % 2 == 0 else ("log", "nolog"):
            url = target.fresh(f"log_{kind}")
            result = in_child("import", str(source), url, kind)
            rates[kind].append(result["events"] / result["wall_s"])
            cpu[kind].append(result["events"] / result["cpu_s"])
            log(f"  import ({kind}): {rates[kind][-1]:,.0f} events/s, "
                f"{cpu[kind][-1]:,.0f} per CPU second")
    with_log, without = statistics.mean(rates["log"]), statistics.mean(rates["nolog"])
    # CPU seconds (the importer and its parsing process) are steadier than wall time on a
    # shared machine: the second ratio says what the log costs whatever the load.
    cpu_ratio = statistics.mean(cpu["log"]) / statistics.mean(cpu["nolog"])
    return {"log_import_events_per_s": round(with_log),
            "nolog_import_events_per_s": round(without),
            "log_import_runs": {k: [round(r) for r in v] for k, v in rates.items()},
            "log_import_ratio": round(with_log / without, 3),
            "log_import_cpu_ratio": round(cpu_ratio, 3)}


def measure_verify(url: str) -> dict[str, Any]:
    """(h): ``verify`` over a store, and a raw SHA-256 over the same entry bytes."""
    import hashlib

    from ledger.merkle import entry_bytes
    from storage.store import open_store
    from storage.verify import verify_log

    store = open_store(url)
    try:
        with store.log_db() as db:
            wall0 = time.perf_counter()
            report = verify_log(db, [], None)
            verify_s = time.perf_counter() - wall0
            assert report.ok, report.damage
            entries = [entry_bytes(t, s, int(v), bytes(b)) for t, s, v, b in db.stream(
                "SELECT topic, {stream_text}, originator_version, state FROM {stored_events}"
                " ORDER BY {order}")]
    finally:
        store.close()
    sha256 = hashlib.sha256
    wall0 = time.perf_counter()
    for entry in entries:
        sha256(b"\x00" + entry).digest()
    raw_s = time.perf_counter() - wall0
    wall0 = time.perf_counter()
    stream = sha256()
    for entry in entries:
        stream.update(entry)
    stream.digest()
    stream_s = time.perf_counter() - wall0
    total = sum(map(len, entries))
    return {"verify_events": report.events,
            "verify_events_per_s": round(report.events / verify_s),
            "sha256_leaves_per_s": round(len(entries) / raw_s),
            "sha256_stream_mb_per_s": round(total / stream_s / 1e6, 1),
            "verify_ratio": round(report.events / verify_s / (len(entries) / raw_s), 3)}


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    cache = Path(args.cache)
    workdir = cache / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    large = generated(args.employers, args.seed, cache)
    small_n = args.small_employers or max(1, args.employers // 10)
    small = generated(small_n, args.seed, cache)
    target = Target(args.db, workdir)
    baseline_db = str(workdir / "baseline.db")
    from ledger.compiled import state

    out: dict[str, Any] = {"employers": args.employers, "backend": "postgresql" if target.pg
                           else "sqlite", "fold": state()}
    try:
        log(f"import baseline (json.loads + executemany) on {large.name}")
        bases = [in_child("baseline", str(large), baseline_db)]
        log(f"  {bases[0]['events'] / bases[0]['wall_s']:,.0f} events/s")
        imports, ratios, cpu_ratios = [], [], []
        for _ in range(max(1, args.import_runs)):
            url = target.fresh("large")
            log(f"import via Importer into {target.db or 'a fresh SQLite file'}")
            imp = in_child("import", str(large), url)
            log(f"  {imp['events'] / imp['wall_s']:,.0f} events/s, rss {imp['rss_mb']:.0f} MB")
            log("import baseline again")
            bases.append(in_child("baseline", str(large), baseline_db))
            log(f"  {bases[-1]['events'] / bases[-1]['wall_s']:,.0f} events/s")
            either_side = bases[-2:]
            base_rate = statistics.mean([b["events"] / b["wall_s"] for b in either_side])
            base_cpu = statistics.mean([b["events"] / b["cpu_s"] for b in either_side])
            imports.append(imp)
            ratios.append(imp["events"] / imp["wall_s"] / base_rate)
            cpu_ratios.append(imp["events"] / imp["cpu_s"] / base_cpu)
        median = sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]
        imp = imports[median]  # the run of the median ratio: its figures go together
        out.update({
            "events": imp["events"],
            "import_events_per_s": round(imp["events"] / imp["wall_s"]),
            "import_ratio": round(ratios[median], 3),
            "import_ratio_runs": [round(r, 3) for r in ratios],
            "import_s": round(imp["wall_s"], 2),
            "import_cpu_events_per_s": round(imp["events"] / imp["cpu_s"]),
            "import_baseline_events_per_s": round(imp["events"] / imp["wall_s"]
                                                  / ratios[median]),
            "import_baseline_runs_events_per_s": [round(b["events"] / b["wall_s"])
                                                  for b in bases],
            "import_cpu_ratio": round(statistics.median(cpu_ratios), 3),
            "import_rss_mb_large": round(max(i["rss_mb"] for i in imports), 1),
            "import_parser_rss_mb_large": round(max(i["parser_rss_mb"] for i in imports), 1),
            "baseline_rss_mb": round(bases[0]["rss_mb"], 1),
        })
        log(f"import of the small file ({small_n} employers) for its peak RSS")
        url_small = target.fresh("small")
        imp_small = in_child("import", str(small), url_small)
        out["import_rss_mb_small"] = round(imp_small["rss_mb"], 1)
        out["import_parser_rss_mb_small"] = round(imp_small["parser_rss_mb"], 1)
        out["events_small"] = imp_small["events"]
        out["import_events_per_s_small"] = round(imp_small["events"] / imp_small["wall_s"])
        if not args.skip_reads:
            out.update(measure_reads(url, args.status_samples, args.seed))
            out.update(measure_long_history(cache))
        if args.log_runs:
            log(f"the Merkle log's cost: {args.log_runs} imports with and without it")
            out.update(measure_log(small if args.log_on_small else large, target,
                                   args.log_runs))
            log("verify against raw SHA-256")
            out.update(measure_verify(url))
        if not args.skip_changes:
            out.update(measure_changes(url, args.changes_samples, args.seed))
    finally:
        if not args.keep:
            target.cleanup()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employers", type=int, default=100_000)
    parser.add_argument("--small-employers", type=int, default=0,
                        help="the smaller file for the RSS comparison (default employers/10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--import-runs", type=int, default=1,
                        help="imports, each between two baselines (the ratio: their median)")
    parser.add_argument("--db", default=None, help="postgresql://... (default: SQLite files)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--cache", default=str(CACHE), help="generated files and databases")
    parser.add_argument("--status-samples", type=int, default=2000)
    parser.add_argument("--skip-reads", action="store_true",
                        help="no rebuild, status or lapses figures")
    parser.add_argument("--skip-changes", action="store_true", help="no changes figures")
    parser.add_argument("--changes-samples", type=int, default=2000,
                        help="employers folded for the brute-force changes baseline")
    parser.add_argument("--changes-only", metavar="URL",
                        help="only (h), on an existing ledger (e.g. one kept with --keep)")
    parser.add_argument("--rebuild-only", metavar="URL",
                        help="only (b), on an existing ledger, with a workers=1 rebuild's "
                             "events per CPU second")
    parser.add_argument("--status-only", metavar="URL",
                        help="only (c), on an existing ledger whose read models are current "
                             "(e.g. one kept with --keep): --runs times")
    parser.add_argument("--runs", type=int, default=3, help="runs of --status-only")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--long-history", action="store_true",
                        help="only (g): one employer's status --known-at at 1k/10k/50k events")
    parser.add_argument("--log-runs", type=int, default=2,
                        help="imports each with and without the Merkle log (0: skip g, h)")
    parser.add_argument("--log-on-small", action="store_true",
                        help="measure the log's import cost on the small file")
    parser.add_argument("--startup", action="store_true",
                        help="only the start-up figures (scripts/bench_startup.py)")
    parser.add_argument("--startup-runs", type=int, default=21,
                        help="rounds of the start-up commands, interleaved")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        result = child_import(*rest) if kind == "import" else child_baseline(*rest)
        print(json.dumps(result))
        return
    started = datetime.now(UTC)
    if args.startup:
        from scripts.bench_startup import measure_startup

        out = measure_startup(args.startup_runs)
    elif args.long_history:
        (Path(args.cache) / "work").mkdir(parents=True, exist_ok=True)
        out = measure_long_history(Path(args.cache))
    elif args.rebuild_only:
        out = measure_rebuild(args.rebuild_only, serial=True)
    elif args.changes_only:
        out = measure_changes(args.changes_only, args.changes_samples, args.seed)
    elif args.status_only:
        from storage.store import open_store

        store = open_store(args.status_only, create=False)
        try:
            runs = [measure_status(store, args.status_samples, args.seed + run)
                    for run in range(args.runs)]
        finally:
            store.close()
        out = {f"status_{key}_runs": [r[f"status_{key}"] for r in runs]
               for key in ("p50_ms", "p99_ms")}
        out["status_samples"] = args.status_samples
    else:
        out = run(args)
    out["started"] = started.isoformat(timespec="seconds")
    out["elapsed_s"] = round((datetime.now(UTC) - started) / timedelta(seconds=1), 1)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(f"{key:32} {value}")


if __name__ == "__main__":
    main()

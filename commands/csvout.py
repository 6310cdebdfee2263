"""The one CSV writer of every export (roll, lapses, incentives, history, changes).

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula, so such a cell is written with a leading apostrophe (the
OWASP "CSV injection" advice): stored text opens as text. Negative numbers are left alone:
they are data the ledger wrote, not text a partner sent. A file is written to a temporary
file beside the target and renamed over it, so a reader never sees half a file; an existing
file is kept unless ``force`` is given.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import click

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def cell(value: Any) -> str:
    """One cell as text: empty for None, ``true``/``false``, lists space-separated, and a
    formula-looking text neutralised with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    text = str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def render(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """The CSV text: a header line, then one line per row (missing keys are empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def write_csv(target: str, columns: Sequence[str], rows: Iterable[dict[str, Any]],
              force: bool = False) -> None:
    """Writes the CSV to ``target`` (``-``: stdout), atomically, never over an existing
    file unless ``force``; a target that cannot be written is a one-line error."""
    text = render(columns, rows)
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    if path.is_dir():
        raise click.ClickException(f"{target} is a directory: give a file name")
    if path.exists() and not force:
        raise click.ClickException(f"{target} exists already: nothing written (use --force to "
                                   "replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.ClickException(f"cannot write {target}: folder {folder} does not exist")
    import tempfile  # only a file export needs it, not every command that can export

    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=folder)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror}") from None
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would have made it
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if not force and path.exists():  # appeared meanwhile: keep the other writer's file
            raise click.ClickException(f"{target} exists already: nothing written (use "
                                       "--force to replace it)")
        os.replace(temporary, path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


force_option = click.option("--force", is_flag=True,
                            help="replace the --csv file if it exists already")


def csv_options(rows: str) -> Callable[[Any], Any]:
    """``--csv FILE`` (one row per ``rows``, ``-`` for stdout) and ``--force``: every list
    command's CSV output, declared once."""
    csv_option = click.option(
        "--csv", "csv_file", type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
        help=f"write one row per {rows} as CSV to FILE (- for stdout)")

    def decorate(command: Any) -> Any:
        return csv_option(force_option(command))
    return decorate

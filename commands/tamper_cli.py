"""Tamper evidence on the command line: keys, checkpoints, verify, proofs, import batches.

- ``keys generate NAME``: an Ed25519 key pair in signed-note format (private file 0600);
- ``checkpoint``: signs the log's current tree head, stores it, prints the note to keep;
  ``checkpoint --export``: prints the latest stored one;
- ``verify``: recomputes the log from the events, checks every stored checkpoint and any given;
- ``proof EVENT_ID`` / ``proof --consistency OLD NEW``: proofs, as JSON, for offline checking;
- ``verify-proof PROOF``: that offline check (public key, checkpoint, proof; no database);
- ``batches``: the imports on record.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from commands.session import Session, console, emit_json, stderr
from commands.signing import (
    PUBLIC_KEY_ENV,
    SIGNING_KEY_ENV,
    KeyFileError,
    load_signer,
    load_verifier,
    make_checkpoint,
    write_key_pair,
)
from ledger.checkpoint import Checkpoint, NoteError, Signer, Verifier, read_checkpoint
from ledger.codec import format_time
from ledger.proof import ProofError, check_proof, consistency_document, inclusion_document
from storage.log import LogDamaged
from storage.verify import GivenCheckpoint, Report, verify_log

public_key_option = click.option(
    "--public-key", "public_key", type=click.Path(dir_okay=False, path_type=Path),
    envvar=PUBLIC_KEY_ENV, metavar="FILE",
    help=f"the log's public key file (default: ${PUBLIC_KEY_ENV})")


def _verifier(path: Path | None) -> Verifier | None:
    if path is None:
        return None
    try:
        return load_verifier(path)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None


def _read_note(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read the checkpoint ({exc})") from None


# --- keys --------------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """The log's signing keys."""


@keys.command("generate")
@click.argument("name")
@click.option("--private-key", "private_key", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("corledger-log.key"), show_default=True, metavar="FILE",
              help="where to write the private key (created 0600; keep it off the database "
                   "server's backups)")
@click.option("--public-key", "public_key", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="where to write the public key (default: the private key's name with .pub)")
def generate(name: str, private_key: Path, public_key: Path | None) -> None:
    """Write a new Ed25519 key pair whose NAME is the log's origin (e.g. example.org/ledger)."""
    try:
        signer = Signer.generate(name)
        public_key = public_key or private_key.with_suffix(".pub")
        write_key_pair(signer, private_key, public_key)
    except (NoteError, KeyFileError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"private key: {private_key} (mode 600; never share it)")
    click.echo(f"public key:  {public_key} (give it to partners and regulators)")
    click.echo(signer.verifier.text())


# --- checkpoints -------------------------------------------------------------------------------


@click.command()
@click.option("--key", "key", type=click.Path(dir_okay=False, path_type=Path),
              envvar=SIGNING_KEY_ENV, metavar="FILE",
              help=f"the private key file (default: ${SIGNING_KEY_ENV})")
@click.option("--export", is_flag=True,
              help="print the latest stored checkpoint instead of signing a new one")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="also write the checkpoint note to FILE")
@click.pass_obj
def checkpoint(session: Session, key: Path | None, export: bool, output: Path | None) -> None:
    """Sign and store the log's current tree head; print the checkpoint note to keep."""
    store = session.store()
    if export:
        with store.log() as log:
            stored = log.checkpoints()
        if not stored:
            raise click.ClickException("no checkpoint stored yet: sign one with "
                                       "`corledger checkpoint --key FILE`")
        note = stored[-1].note
    else:
        if key is None:
            raise click.ClickException(f"give the private key with --key FILE (or "
                                       f"${SIGNING_KEY_ENV}); `corledger keys generate` "
                                       "makes one")
        try:
            signer = load_signer(key)
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
        head, note = make_checkpoint(store, signer, session.now())
        stderr.print(f"checkpoint signed: tree size {head.size}", highlight=False)
    if output is not None:
        output.write_text(note, encoding="utf-8")
    click.echo(note, nl=False)


# --- verify ------------------------------------------------------------------------------------


@click.command()
@click.option("--checkpoint", "checkpoint_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="also hold the log to this checkpoint (one a partner kept); repeatable")
@public_key_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_obj
def verify(session: Session, checkpoint_files: tuple[Path, ...], public_key: Path | None,
           as_json: bool) -> None:
    """Recompute the log from the stored events; check every checkpoint. Exit 0 only if all
    holds, else name the first damaged event and the kind of damage."""
    verifier = _verifier(public_key)
    store = session.store()
    with store.log() as log:
        given = [GivenCheckpoint(f"stored checkpoint #{c.id} (signed "
                                 f"{format_time(c.signed_at)})", c.note)
                 for c in log.checkpoints()]
    given += [GivenCheckpoint(f"checkpoint file {path}", _read_note(path))
              for path in checkpoint_files]
    with store.log_db() as db:
        if stderr.is_terminal and not as_json:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            total = int(db.rows("SELECT COUNT(*) FROM {stored_events}")[0][0])
            with Progress("[progress.description]{task.description}", BarColumn(),
                          MofNCompleteColumn(), TimeRemainingColumn(), console=stderr,
                          transient=True) as progress:
                task = progress.add_task("verifying", total=total)
                report = verify_log(db, given, verifier, lambda n: progress.advance(task, n))
        else:
            report = verify_log(db, given, verifier)
    if as_json:
        emit_json(report.as_json())
    else:
        _print_report(report)
    if not report.ok:
        raise SystemExit(1)


def _print_report(report: Report) -> None:
    out = console()
    root = base64.b64encode(report.root).decode()
    out.print(f"{report.events} events, log of {report.log_size} entries, root {root}",
              highlight=False, markup=False)
    out.print(f"{report.heads_checked} tree heads and {report.checkpoints_checked} "
              f"checkpoints checked", highlight=False, markup=False)
    if not report.signatures_checked:
        out.print("signatures NOT checked: give --public-key FILE (your own copy of the "
                  "log's public key) to check them", highlight=False, markup=False)
    if report.unlogged:
        out.print(f"NOT VERIFIED: the ledger's {report.unlogged} events were appended before "
                  "it kept a Merkle log, and the log has not caught up: there is nothing to "
                  "hold them to yet (this is not damage). The next write (import, scan, the "
                  "API) logs them in append order, or `corledger checkpoint --key FILE` does "
                  "now and signs the tree", highlight=False, markup=False)
        if not report.damage:
            return
    if report.ok:
        out.print("OK: the log matches the events and every checkpoint", highlight=False,
                  markup=False)
        return
    for damage in report.damage:
        out.print(f"DAMAGE ({damage.kind}): {damage.message}", highlight=False, markup=False)


# --- proofs ------------------------------------------------------------------------------------


def _stored_checkpoint(session: Session, size: int | None) -> str:
    """The latest stored checkpoint note (of that tree size, if given)."""
    with session.store().log() as log:
        notes = [c.note for c in log.checkpoints() if size is None or c.size == size]
    if not notes:
        raise click.ClickException(
            "no checkpoint stored" + (f" of tree size {size}" if size is not None else "")
            + ": sign one with `corledger checkpoint --key FILE`, or give --checkpoint FILE")
    return notes[-1]


def _checkpoint_arg(session: Session, value: str) -> str:
    """A checkpoint named on the command line: a file, or the tree size of a stored one."""
    path = Path(value)
    if path.is_file():
        return _read_note(path)
    if value.isdigit():
        return _stored_checkpoint(session, int(value))
    raise click.BadParameter(f"{value!r} is neither a checkpoint file nor a tree size")


def _head(note: str, label: str) -> Checkpoint:
    try:
        return read_checkpoint(note)
    except NoteError as exc:
        raise click.ClickException(f"{label}: {exc}") from None


@click.command()
@click.argument("event_id", required=False)
@click.option("--consistency", nargs=2, metavar="OLD NEW",
              help="prove checkpoint NEW extends checkpoint OLD (files, or stored tree sizes)")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="prove against this checkpoint (default: the latest stored)")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="write the proof to FILE instead of stdout")
@click.pass_obj
def proof(session: Session, event_id: str | None, consistency: tuple[str, str] | None,
          checkpoint_file: Path | None, output: Path | None) -> None:
    """An inclusion proof of EVENT_ID (the sender's id) against a checkpoint, or with
    --consistency OLD NEW a proof that NEW extends OLD; JSON, for `corledger verify-proof`."""
    if (event_id is None) == (consistency is None):
        raise click.UsageError("give an EVENT_ID, or --consistency OLD NEW")
    store = session.store()
    try:
        if consistency is not None:
            old_note, new_note = (_checkpoint_arg(session, v) for v in consistency)
            old, new = _head(old_note, "OLD"), _head(new_note, "NEW")
            with store.log() as log:
                _must_match(log.size(), log.root(new.size) if new.size <= log.size() else None,
                            new, "NEW")
                path = log.consistency(old.size, new.size)
            doc = consistency_document(old.size, old.root, new.size, path, new_note, old_note)
        else:
            assert event_id is not None
            note = (_read_note(checkpoint_file) if checkpoint_file is not None
                    else _stored_checkpoint(session, None))
            head = _head(note, "checkpoint")
            with store.log() as log:
                index = log.index_of_event_id(event_id)
                if index is None:
                    raise click.ClickException(f"{event_id}: no event with this id in the log")
                if index >= head.size:
                    raise click.ClickException(
                        f"{event_id} is at log index {index}, after the checkpoint's tree of "
                        f"{head.size}: sign a newer checkpoint")
                _must_match(log.size(), log.root(head.size), head, "checkpoint")
                entry = log.entry(index)
                if entry is None:
                    raise click.ClickException(f"{event_id}: logged at index {index} but gone "
                                               "from the events: run `corledger verify`")
                doc = inclusion_document(index, head.size, entry,
                                         log.inclusion(index, head.size), note)
    except (ValueError, LogDamaged) as exc:
        raise click.ClickException(str(exc)) from None
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def _must_match(log_size: int, root: bytes | None, head: Checkpoint, label: str) -> None:
    if head.size > log_size:
        raise click.ClickException(f"{label} signs a tree of {head.size} entries, the log has "
                                   f"{log_size}: run `corledger verify`")
    if root != head.root:
        raise click.ClickException(f"{label}'s root hash differs from the log's at tree size "
                                   f"{head.size}: run `corledger verify`")


@click.command("verify-proof")
@click.argument("proof_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@public_key_option
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="check against this checkpoint (one you kept) instead of "
                                   "the proof's own")
@click.option("--old-checkpoint", "old_checkpoint_file",
              type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="for a consistency proof: the checkpoint you kept before, which the new "
                   "tree must extend (the proof's old tree must be this one)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def verify_proof(proof_file: Path, public_key: Path | None, checkpoint_file: Path | None,
                 old_checkpoint_file: Path | None, as_json: bool) -> None:
    """Check a proof offline: needs only the public key, the checkpoint and the proof."""
    verifier = _verifier(public_key)
    if verifier is None:
        raise click.ClickException(f"give the log's public key with --public-key FILE (or "
                                   f"${PUBLIC_KEY_ENV})")
    try:
        raw: bytes = (sys.stdin.buffer.read() if str(proof_file) == "-"
                      else proof_file.read_bytes())
        doc = orjson.loads(raw)
    except OSError as exc:
        raise click.ClickException(f"{proof_file}: cannot read ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise click.ClickException(f"{proof_file}: not JSON ({exc})") from None
    note = _read_note(checkpoint_file) if checkpoint_file is not None else None
    kept_old = _read_note(old_checkpoint_file) if old_checkpoint_file is not None else None
    try:
        verified = check_proof(doc, verifier, note, kept_old)
    except ProofError as exc:
        if as_json:
            emit_json({"ok": False, "error": str(exc)})
            raise SystemExit(1) from None
        raise click.ClickException(f"{proof_file}: {exc}") from None
    result: dict[str, Any] = {"ok": True, "proof": verified.kind,
                              "origin": verified.checkpoint.origin,
                              "tree_size": verified.checkpoint.size}
    if verified.kind == "inclusion":
        entry = verified.entry or b""
        result["log_index"] = verified.log_index
        result["entry"] = entry.decode("utf-8", "replace")
    else:
        result["old_size"] = verified.old_size
    if as_json:
        emit_json(result)
        return
    if verified.kind == "inclusion":
        click.echo(f"OK: the entry at log index {verified.log_index} is in {verifier.name}'s "
                   f"tree of {verified.checkpoint.size}, signed by its key")
        click.echo(result["entry"])
    else:
        click.echo(f"OK: {verifier.name}'s tree of {verified.checkpoint.size} extends its tree "
                   f"of {verified.old_size}")


# --- batches -----------------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_obj
def batches(session: Session, as_json: bool) -> None:
    """The imports on record: who, file SHA-256, lines, added, skipped, log indexes, times."""
    with session.store().log() as log:
        rows = log.batches()
    if as_json:
        emit_json([b.as_json() for b in rows])
        return
    out = console()
    if not rows:
        out.print("no import on record")
    from rich.table import Table
    from rich.text import Text

    table = Table("#", "source", "by", "sha256", "lines", "added", "skipped", "log indexes",
                  "finished")
    for b in rows:
        span = "-" if b.first_index is None else f"{b.first_index}..{b.last_index}"
        table.add_row(str(b.id), Text(b.source), Text(b.by or "-"), b.sha256[:16] + "…",
                      str(b.lines),
                      str(b.added), str(b.skipped), span, format_time(b.finished_at))
    if rows:
        out.print(table)


COMMANDS = [keys, checkpoint, verify, proof, verify_proof, batches]

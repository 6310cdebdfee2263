"""Key files and checkpoint signing, shared by ``corledger checkpoint`` and the scheduler.

The private key lives in a file only its owner can read (0600), never in the database; the
checkpoint's origin is the key's name, as C2SP recommends. The clock reading comes in.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

from ledger.checkpoint import Checkpoint, NoteError, Signer, Verifier, sign_checkpoint
from storage.log import made_before_the_log
from storage.store import LedgerStore

SIGNING_KEY_ENV = "CORLEDGER_SIGNING_KEY"
PUBLIC_KEY_ENV = "CORLEDGER_PUBLIC_KEY"


class KeyFileError(Exception):
    """A key file that cannot be used; the message names the file and why."""


def write_key_pair(signer: Signer, private_path: Path, public_path: Path) -> None:
    """Writes the private key (created 0600, never over an existing file) and the public
    key beside it."""
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} exists: refusing to overwrite a key")
        if not path.parent.is_dir():
            raise KeyFileError(f"{path}: folder {path.parent} does not exist")
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(signer.text() + "\n")
    public_path.write_text(signer.verifier.text() + "\n", encoding="ascii")


def load_signer(path: Path) -> Signer:
    """The signer in a private key file, refused when others may read the file."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(f"{path}: the private key file is readable by others (mode "
                               f"{stat.filemode(mode)}); chmod 600 it")
        return Signer.parse(path.read_text(encoding="ascii"))
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the private key ({exc.strerror})") from None
    except (NoteError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def load_verifier(path: Path) -> Verifier:
    try:
        return Verifier.parse(path.read_text(encoding="ascii"))
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the public key ({exc.strerror})") from None
    except (NoteError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def make_checkpoint(store: LedgerStore, signer: Signer, now: datetime) -> tuple[Checkpoint, str]:
    """Signs the log's current tree head and stores the note; returns both. A ledger made
    before the log has its events logged first, by a write of their own: a checkpoint never
    signs a tree that leaves events out."""
    with store.log_db() as db:
        behind = made_before_the_log(db)
    if behind:
        with store.writer() as writer:
            writer.log.catch_up()
    with store.log() as log:
        size = log.size()
        head = Checkpoint(signer.name, size, log.root(size))
        note = sign_checkpoint(head, signer)
        log.add_checkpoint(size, note, now)
    return head, note

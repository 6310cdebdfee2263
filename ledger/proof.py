"""Proof documents, and their offline check: what a partner needs besides the public key.

An inclusion proof (``corledger proof EVENT_ID``) is the JSON object::

    {"proof": "inclusion", "log_index": i, "tree_size": n,
     "entry": base64(entry bytes), "path": [base64 hash, ...], "checkpoint": signed note}

and a consistency proof (``corledger proof --consistency OLD NEW``)::

    {"proof": "consistency", "old_size": m, "tree_size": n, "old_root": base64,
     "path": [...], "checkpoint": signed note of size n, "old_checkpoint": note of size m}

Checking one takes the signed checkpoint (the proof's own, or one the partner kept), its
signature by the log's public key, and RFC 9162's verification of the path (2.1.3.2 for
inclusion, 2.1.4.2 for consistency) against the checkpoint's root.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ledger.checkpoint import Checkpoint, NoteError, Verifier, open_checkpoint
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion


class ProofError(ValueError):
    """A proof that is malformed or does not hold; the message says which part and why."""


def _b64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise ProofError(f"{field}: expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProofError(f"{field}: not standard base64") from None


def _int(doc: dict[str, Any], field: str) -> int:
    value = doc.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{field}: expected a non-negative integer")
    return value


def encode_hashes(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def inclusion_document(index: int, size: int, entry: bytes, path: list[bytes],
                       checkpoint_note: str) -> dict[str, Any]:
    return {"proof": "inclusion", "log_index": index, "tree_size": size,
            "entry": base64.b64encode(entry).decode(), "path": encode_hashes(path),
            "checkpoint": checkpoint_note}


def consistency_document(old_size: int, old_root: bytes, size: int, path: list[bytes],
                         checkpoint_note: str, old_checkpoint_note: str | None,
                         ) -> dict[str, Any]:
    doc = {"proof": "consistency", "old_size": old_size,
           "old_root": base64.b64encode(old_root).decode(), "tree_size": size,
           "path": encode_hashes(path), "checkpoint": checkpoint_note}
    if old_checkpoint_note is not None:
        doc["old_checkpoint"] = old_checkpoint_note
    return doc


@dataclass(frozen=True)
class Verified:
    """What a proof established, against which signed checkpoint."""

    kind: str
    checkpoint: Checkpoint
    log_index: int | None = None
    entry: bytes | None = None
    old_size: int | None = None


def _checkpoint(note: Any, verifier: Verifier, field: str) -> Checkpoint:
    if not isinstance(note, str):
        raise ProofError(f"{field}: expected the signed checkpoint note as a string")
    try:
        return open_checkpoint(note, verifier)
    except NoteError as exc:
        raise ProofError(f"{field}: {exc}") from None


def check_proof(doc: Any, verifier: Verifier, checkpoint_note: str | None = None,
                kept_old_note: str | None = None) -> Verified:
    """Checks a proof document offline; ``checkpoint_note`` replaces the proof's own
    checkpoint (one the partner kept). ``kept_old_note``, for a consistency proof, is the
    checkpoint the partner kept before: the proof's old tree must be that one (its size and
    root), so a proof from a re-signed rewrite of it fails. Returns what was proved, or
    raises ProofError."""
    if not isinstance(doc, dict):
        raise ProofError("a proof is a JSON object")
    kind = doc.get("proof")
    if kept_old_note is not None and kind != "consistency":
        raise ProofError("an old checkpoint you kept is checked against a consistency proof "
                         "only")
    head = _checkpoint(checkpoint_note if checkpoint_note is not None else doc.get("checkpoint"),
                       verifier, "checkpoint")
    size = _int(doc, "tree_size")
    if head.size != size:
        raise ProofError(f"the proof is for tree size {size}, the checkpoint for "
                         f"{head.size}")
    path_field = doc.get("path")
    if not isinstance(path_field, list):
        raise ProofError("path: expected a list of base64 hashes")
    path = [_b64(h, f"path[{i}]") for i, h in enumerate(path_field)]
    if kind == "inclusion":
        index = _int(doc, "log_index")
        entry = _b64(doc.get("entry"), "entry")
        if not verify_inclusion(index, size, leaf_hash(entry), path, head.root):
            raise ProofError(f"the entry at log index {index} is not in the tree of size "
                             f"{size} the checkpoint signs: the proof does not hold")
        return Verified("inclusion", head, log_index=index, entry=entry)
    if kind == "consistency":
        old_size = _int(doc, "old_size")
        old_root = _b64(doc.get("old_root"), "old_root")
        if "old_checkpoint" in doc:
            old = _checkpoint(doc["old_checkpoint"], verifier, "old_checkpoint")
            if (old.size, old.root) != (old_size, old_root):
                raise ProofError("old_checkpoint does not match old_size and old_root")
        if kept_old_note is not None:
            kept = _checkpoint(kept_old_note, verifier, "the old checkpoint you kept")
            if kept.size != old_size:
                raise ProofError(f"the proof extends a tree of size {old_size}, the checkpoint "
                                 f"you kept is of size {kept.size}: ask for a proof from "
                                 "yours (`corledger proof --consistency KEPT NEW`)")
            if kept.root != old_root:
                raise ProofError(f"the proof's old tree of size {old_size} is not the one you "
                                 "kept (another root hash): the new tree does not extend "
                                 "your checkpoint; history was rewritten after it")
        if not verify_consistency(old_size, size, old_root, head.root, path):
            raise ProofError(f"the tree of size {old_size} is not a prefix of the tree of "
                             f"size {size}: the proof does not hold")
        return Verified("consistency", head, old_size=old_size)
    raise ProofError(f"proof: expected 'inclusion' or 'consistency', not {kind!r}")

"""The stored and exchanged formats of the log, pinned: RFC 6962's published test vectors,
the Go ``sumdb/note`` reference note (so partners' standard tools read our keys and notes),
and golden files of our entry bytes and a checkpoint note. A change here breaks every
receipt, proof and checkpoint ever handed out: never edit a golden file to make it pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.checkpoint import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from ledger.merkle import (
    entry_bytes,
    event_leaf,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_inclusion,
)

GOLDEN = Path(__file__).parent / "golden"

# RFC 6962 / certificate-transparency reference inputs and tree heads (sizes 1..8)
CT_ENTRIES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
CT_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]}

# golang.org/x/mod/sumdb/note's documented example
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_NOTE = GO_TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN"
                     "1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")

# a fixed key and three fixed stored events for the golden files
GOLDEN_SIGNER = Signer("golden.example/corledger", bytes(range(32)))
GOLDEN_EVENTS = [
    ("EmployerRegistered", "0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f", 1,
     b'{"v":1,"id":"bccsa-2021-0042","employer":"BC-100234","effective":"2021-06-10",'
     b'"recorded_at":"2021-06-11T15:02:00Z","appended_at":"2021-06-11T15:05:00Z",'
     b'"by":"j.singh@bccsa","data":{"name":"Sample Ltd","partner":"BCCSA","program":"COR",'
     b'"classification_units":["721002"],"headcount":12}}'),
    ("HeadcountReported", "0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f", 2,
     b'{"v":1,"id":"bccsa-2021-0043","employer":"BC-100234","effective":"2021-07-01",'
     b'"recorded_at":"2021-07-02T09:00:00Z","appended_at":"2021-07-02T09:00:01Z",'
     b'"by":"j.singh@bccsa","data":{"headcount":14}}'),
    ("BaseRateSet", "00000000000000000000000000000000", 1,
     b'{"v":1,"id":"rate-2021","employer":null,"effective":"2021-01-01",'
     b'"recorded_at":"2021-01-01T00:00:00Z","appended_at":"2021-01-01T00:00:00Z",'
     b'"by":null,"data":{"jurisdiction":"BC","cu":"721002","year":2021,"base_rate":"4.10"}}'),
]


def test_roots_and_proofs_match_rfc_6962s_published_vectors() -> None:
    leaves = [leaf_hash(e) for e in CT_ENTRIES]
    for n in range(1, 9):
        assert root_of(leaves[:n]).hex() == CT_ROOTS[n - 1]
    assert root_of([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for (index, size), expected in CT_INCLUSION.items():
        proof = inclusion_proof(index, size, lambda a, b: root_of(leaves[a:b]))
        assert [p.hex() for p in proof] == expected
        assert verify_inclusion(index, size, leaves[index], proof, bytes.fromhex(CT_ROOTS[7]))


def test_keys_and_notes_match_the_go_reference_byte_for_byte() -> None:
    signer = Signer.parse(GO_SKEY)
    assert signer.text() == GO_SKEY
    assert signer.verifier.text() == GO_VKEY
    assert Verifier.parse(GO_VKEY) == signer.verifier
    assert sign_note(GO_TEXT, signer) == GO_NOTE  # Ed25519 is deterministic
    assert open_note(GO_NOTE, Verifier.parse(GO_VKEY)) == GO_TEXT


def test_an_altered_note_or_a_wrong_key_is_refused() -> None:
    verifier = Verifier.parse(GO_VKEY)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)
    other = Signer.generate("PeterNeumann").verifier
    with pytest.raises(NoteError, match="signed by another key"):
        open_note(GO_NOTE, other)
    with pytest.raises(NoteError, match="does not match"):
        Verifier.parse(GO_VKEY.replace("c74f20a3", "c74f20a4"))


def test_entry_bytes_are_pinned_by_a_golden_file() -> None:
    entries = b"".join(entry_bytes(*e) + b"\n--\n" for e in GOLDEN_EVENTS)
    assert entries == (GOLDEN / "log_entries_v1.txt").read_bytes()
    leaves = "".join(leaf_hash(entry_bytes(*e)).hex() + "\n" for e in GOLDEN_EVENTS)
    assert leaves == (GOLDEN / "log_leaves_v1.txt").read_text()
    assert all(event_leaf(*e) == leaf_hash(entry_bytes(*e)) for e in GOLDEN_EVENTS)


def test_a_checkpoint_note_is_pinned_by_a_golden_file() -> None:
    leaves = [leaf_hash(entry_bytes(*e)) for e in GOLDEN_EVENTS]
    head = Checkpoint("golden.example/corledger", 3, root_of(leaves))
    note = sign_checkpoint(head, GOLDEN_SIGNER)
    assert note == (GOLDEN / "checkpoint_v1.txt").read_text(encoding="utf-8")
    assert open_checkpoint(note, GOLDEN_SIGNER.verifier) == head
    keys = GOLDEN_SIGNER.text() + "\n" + GOLDEN_SIGNER.verifier.text() + "\n"
    assert keys == (GOLDEN / "log_keys_v1.txt").read_text()

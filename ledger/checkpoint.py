"""Signed checkpoints: C2SP ``tlog-checkpoint`` bodies in C2SP ``signed-note`` envelopes, Ed25519.

A checkpoint is the text::

    <origin>
    <tree size, decimal>
    <root hash, standard base64>

signed as a note: that text, a blank line, then ``— <key name> base64(key ID || signature)``
per signature. The key ID is ``SHA-256(key name || 0x0A || 0x01 || public key)[:4]``. Keys
are written as Go's ``golang.org/x/mod/sumdb/note`` does, so that tooling reads them too:
``PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>`` for the signer and
``<name>+<key ID hex>+<base64(0x01 || public key)>`` for the verifier.

Pure: the key material and texts come in as arguments; nothing here reads files or clocks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.merkle import HASH_SIZE

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space


class NoteError(ValueError):
    """A key, note or checkpoint that is malformed, or a signature that does not verify."""


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not standard base64: {text!r}") from None


@dataclass(frozen=True)
class Verifier:
    """A public key with its name: checks signatures on notes."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    def text(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # base64 may hold '+'; a name may not
        if len(parts) != 3:
            raise NoteError("a public key reads NAME+KEYID+BASE64 (as `corledger keys "
                            "generate` writes it)")
        name, hex_id, encoded = parts
        raw = _b64(encoded, "the public key")
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the public key is not an Ed25519 note key (0x01 + 32 bytes)")
        verifier = cls(_check_name(name), raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"the public key's id {hex_id} does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key with its name: signs notes. Its text never goes into the database."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> Signer:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(_check_name(name), seed)

    @property
    def verifier(self) -> Verifier:
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, public)

    def text(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a private key reads PRIVATE+KEY+NAME+KEYID+BASE64 (as "
                            "`corledger keys generate` writes it)")
        name, hex_id, encoded = parts[2:]
        raw = _b64(encoded, "the private key")
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the private key is not an Ed25519 note key (0x01 + 32 bytes)")
        signer = cls(_check_name(name), raw[1:])
        if signer.verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"the private key's id {hex_id} does not match its name and key")
        return signer

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def sign_note(text: str, signer: Signer) -> str:
    """The signed note of ``text`` (which must end in a newline)."""
    if not text.endswith("\n") or "\n\n" in text or any(
            ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text ends in a newline and has no blank lines or control "
                        "characters")
    signature = signer.verifier.key_id + signer.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a signed note, once a signature by ``verifier`` checks; else NoteError."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("not a signed note: no blank line between text and signatures")
    text += "\n"
    found = False
    for line in signatures.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"not a signature line: {line!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
        raw = _b64(encoded, "a signature")
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue  # another key's signature: ignored, as the spec says
        if not verifier.verify(text.encode(), raw[4:]):
            raise NoteError(f"the signature by {name} does not verify: the note was altered "
                            "or signed by another key")
        found = True
    if not found:
        raise NoteError(f"the note carries no signature by key {verifier.name} "
                        f"({verifier.key_id.hex()}): signed by another key")
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's name, its size and its root hash."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has an origin, a tree size and a root hash, each "
                            "on its own line")
        origin, size, root = lines[:3]
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"bad checkpoint origin or tree size: {origin!r}, {size!r}")
        digest = _b64(root, "the checkpoint's root hash")
        if len(digest) != HASH_SIZE:
            raise NoteError("the checkpoint's root hash is not 32 bytes")
        return cls(origin, int(size), digest)


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    return sign_note(checkpoint.text(), signer)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint in a signed note, once its signature by ``verifier`` checks."""
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise NoteError(f"checkpoint of log {checkpoint.origin!r}, but the key is "
                        f"{verifier.name!r}'s")
    return checkpoint


def read_checkpoint(note: str) -> Checkpoint:
    """The checkpoint in a signed note, without checking its signature (for display only)."""
    text, sep, _ = note.rpartition("\n\n")
    if not sep:
        raise NoteError("not a signed note: no blank line between text and signatures")
    return Checkpoint.parse(text + "\n")

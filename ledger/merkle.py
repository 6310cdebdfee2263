"""RFC 9162 (RFC 6962) Merkle tree hashing and proofs, over the ledger's events in append order.

Pure: hashes in, hashes out. The log of :mod:`storage.log` stores leaf hashes and the hashes of
complete subtrees; everything here takes what it needs through small callbacks.

- leaf  = SHA-256(0x00 || entry)
- node  = SHA-256(0x01 || left || right)
- MTH(D[0:n]) splits at k, the largest power of two below n: node(MTH(D[0:k]), MTH(D[k:n])).

The entry of an event is its stored row: :func:`entry_bytes` (topic, stream, version and the
stored state, which holds both its times), so any change to what a query reads changes a leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
ENTRY_PREFIX = b"corledger-event-v1\n"

SubtreeHash = Callable[[int, int], bytes]
"""``subtree(start, end)``: MTH of the leaves ``[start, end)`` of the tree at hand."""


def entry_bytes(topic: str, stream: str, version: int, state: bytes) -> bytes:
    """The logged bytes of one stored event: a fixed prefix, then topic, stream id (hex),
    version (decimal) each on its own line, then the stored state (JSON) as stored."""
    return b"%s%s\n%s\n%d\n%s" % (ENTRY_PREFIX, topic.encode(), stream.encode(), version,
                                  bytes(state))


LEAF_FORMAT = b"\x00" + ENTRY_PREFIX + b"%s\n%s\n%d\n%s"  # 0x00 || entry_bytes(...)


def event_leaf(topic: str, stream: str, version: int, state: bytes) -> bytes:
    """``leaf_hash(entry_bytes(...))`` in one formatting step: the append path's hot loop."""
    return hashlib.sha256(LEAF_FORMAT % (topic.encode(), stream.encode(), version,
                                          state)).digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, by RFC 9162's definition (iteratively, no recursion)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:  # pair up left to right; an odd last node moves up as it is
        paired = [node_hash(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class TreeBuilder:
    """A compact range from 0: appends leaves in O(1) amortised, gives the root in O(log n).

    ``frontier`` holds the roots of the perfect subtrees that make up the tree, highest
    first, as (level, hash); :meth:`append` returns the perfect subtrees it completed, as
    (level, index, hash), so a store can keep the ones it wants.
    """

    def __init__(self, size: int = 0, frontier: Sequence[tuple[int, bytes]] = ()) -> None:
        self.size = size
        self.frontier: list[tuple[int, bytes]] = list(frontier)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        level, digest, index = 0, leaf, self.size
        done = [(0, index, leaf)]
        while self.frontier and self.frontier[-1][0] == level:
            _, left = self.frontier.pop()
            digest = node_hash(left, digest)
            level += 1
            index >>= 1
            done.append((level, index, digest))
        self.frontier.append((level, digest))
        self.size += 1
        return done

    def root(self) -> bytes:
        if not self.frontier:
            return EMPTY_ROOT
        digest = self.frontier[-1][1]
        for _, left in reversed(self.frontier[:-1]):
            digest = node_hash(left, digest)
        return digest


def subtree_hash(start: int, end: int, perfect: Callable[[int, int], bytes]) -> bytes:
    """MTH of leaves ``[start, end)`` from the hashes of aligned perfect subtrees.

    ``perfect(level, index)`` gives the hash of leaves ``[index << level, (index+1) << level)``.
    ``start`` must be a multiple of the largest power of two not above ``end - start``, as
    every range a proof or root asks for is.
    """
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return perfect(level, start >> level)
    k = split_point(size)
    return node_hash(subtree_hash(start, start + k, perfect),
                     subtree_hash(start + k, end, perfect))


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """RFC 9162 2.1.3.1: the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(old: int, new: int, subtree: SubtreeHash) -> list[bytes]:
    """RFC 9162 2.1.4.1: proves the tree of ``old`` leaves is a prefix of the one of ``new``."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old == 0 or old == new:
        return []
    siblings: list[bytes] = []
    m, start, end, complete = old, 0, new, True  # m counts from start
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            siblings.append(subtree(start + k, end))
            end = start + k
        else:
            siblings.append(subtree(start, start + k))
            start, m, complete = start + k, m - k, False
    proof = [] if complete else [subtree(start, end)]
    proof.extend(reversed(siblings))
    return proof


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` show leaf ``index`` of a tree of ``size`` has root
    ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: does ``proof`` show the tree of ``old`` leaves and root ``old_root``
    is a prefix of the tree of ``new`` leaves and root ``new_root``?"""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: old_root is the first node of the path
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root

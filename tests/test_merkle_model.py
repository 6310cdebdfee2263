"""The Merkle log against a reference model: RFC 9162's recursive definitions computed the
obvious way over an in-memory list, checked with hypothesis against the pure code and against
the real log a store keeps (both stores), across writes of any size and the stored levels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.events import stream_id
from ledger.merkle import (
    EMPTY_ROOT,
    TreeBuilder,
    consistency_proof,
    entry_bytes,
    inclusion_proof,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from storage.store import LedgerStore, StoredRow, open_store

# --- the reference model -----------------------------------------------------------------------


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, by the letter (over leaf hashes)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = k_of(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n <= 1:
        return []
    k = k_of(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = k_of(n)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def reference_leaves(count: int) -> list[bytes]:
    return [leaf_hash(b"entry %d" % i) for i in range(count)]


# --- the pure code -----------------------------------------------------------------------------


@given(st.integers(1, 700), st.data())
@settings(max_examples=60, deadline=None)
def test_the_pure_tree_and_proofs_match_the_reference(n: int, data: st.DataObject) -> None:
    leaves = reference_leaves(n)
    builder = TreeBuilder()
    for leaf in leaves:
        builder.append(leaf)
    root = mth(leaves)
    assert builder.root() == root

    def sub(a: int, b: int) -> bytes:
        return mth(leaves[a:b])

    m = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(m, n, sub)
    assert proof == path(m, leaves)
    assert verify_inclusion(m, n, leaves[m], proof, root)
    assert not verify_inclusion(m, n, leaf_hash(b"forged"), proof, root)
    if proof:
        assert not verify_inclusion(m, n, leaves[m], proof[:-1], root)
    old = data.draw(st.integers(1, n))
    proof = consistency_proof(old, n, sub)
    assert proof == (subproof(old, leaves, True) if old < n else [])
    assert verify_consistency(old, n, mth(leaves[:old]), root, proof)
    if old < n:
        assert not verify_consistency(old, n, leaf_hash(b"forged"), root, proof)


# --- the real log ------------------------------------------------------------------------------


@pytest.fixture
def growing(db_url: str) -> Iterator[tuple[LedgerStore, list[bytes]]]:
    """A store whose log grows from example to example, and the leaves it should hold."""
    store = open_store(db_url)
    yield store, []
    store.close()


def row(version: int) -> StoredRow:
    state = b'{"v":1,"n":%d}' % version
    return StoredRow("BaseRateSet", stream_id(None).hex, version, state, f"r-{version}",
                     "h", None, None, "2020-01-01", "2020-01-01T00:00:00.000000Z")


@given(sizes=st.lists(st.integers(1, 300), min_size=1, max_size=3), data=st.data())
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_stored_log_matches_the_reference(growing: tuple[LedgerStore, list[bytes]],
                                              sizes: list[int], data: st.DataObject) -> None:
    store, expected = growing
    for size in sizes:  # one write transaction each, of any size
        with store.writer() as writer:
            first = len(expected) + 1
            rows = [row(v) for v in range(first, first + size)]
            writer.append(rows)
        expected += [leaf_hash(entry_bytes(r.topic, r.stream, r.version, r.state))
                     for r in rows]
    n = len(expected)
    with store.log() as log:
        assert log.size() == n
        assert log.leaves(0, n) == expected
        assert log.root(n) == mth(expected)
        assert log.head(n) is not None and log.head(n).root == mth(expected)  # type: ignore[union-attr]
        # fractions of the current size: draws must not depend on how far the log has grown
        m = 1 + data.draw(st.integers(0, 10**6), label="tree size") % n
        assert log.root(m) == mth(expected[:m])
        index = data.draw(st.integers(0, 10**6), label="leaf") % m
        assert log.inclusion(index, m) == path(index, expected[:m])
        old = 1 + data.draw(st.integers(0, 10**6), label="old size") % m
        assert log.consistency(old, m) == (subproof(old, expected[:m], True) if old < m
                                           else [])

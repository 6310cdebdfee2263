"""The ledger core: events, their codec, the rulebooks and the Merkle log; no I/O."""

from ledger.compiled import guard

guard()

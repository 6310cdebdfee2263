"""The folds (status, lapses, incentive, diffs) and their SQL read models."""

from ledger.compiled import guard

guard()

"""Baseline: the tables as `corledger init` creates them from storage.schema.

A database made by `corledger init` (or first use) is at this revision; stamp it with
`alembic stamp head` once, and later revisions upgrade it from here.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

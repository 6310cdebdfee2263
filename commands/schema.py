"""Every SQL table beside the events, gathered in one place: the modules that define them are
imported here (plainly, so the import contracts see them), then :data:`storage.schema.metadata`
holds the whole schema for ``corledger init`` and for Alembic's comparisons."""

from __future__ import annotations

from sqlalchemy import MetaData

import commands.notify  # noqa: F401  the outbox and its relay's tracking
import commands.scheduler  # noqa: F401  the scan state and the scheduler's jobs
import commands.status_notices  # noqa: F401  the statuses last announced
import projections.sql.read_models  # noqa: F401  the read models and their tracking
from storage.schema import metadata


def all_tables() -> MetaData:
    """The shared metadata, with every table of the ledger's schema on it."""
    return metadata

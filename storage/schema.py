"""The one SQLAlchemy ``MetaData`` of the tables beside the events (read models, jobs, outbox).

Every module that defines such a table registers it here, so ``corledger init`` can create
them all and Alembic (``alembic/env.py``) sees one target schema to migrate.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()

# The modules that define tables on ``metadata``: a helper adding a table module lists it
# here, so `corledger init` creates its tables and Alembic compares them, whichever commands
# happened to be imported. A module that does not exist (yet) is skipped.
TABLE_MODULES = (
    "projections.sql.read_models",
    "commands.scheduler",
    "commands.notify",
    "commands.status_notices",
)


def load_tables() -> MetaData:
    """Imports every table module, so ``metadata`` holds the whole schema; returns it."""
    import importlib

    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return metadata

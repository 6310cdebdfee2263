"""The one SQLAlchemy ``MetaData`` of the tables beside the events (read models, jobs, outbox).

Every module that defines such a table registers it here, so ``corledger init`` can create
them all and Alembic (``alembic/env.py``) sees one target schema to migrate.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()

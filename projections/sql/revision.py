"""Which derivation the read models' rows come from, as one number.

A read-model row is the fold's answer under this code's rules and rendering. Code that folds,
renders or stores rows differently (a rule fixed, a rule version added, a column added) makes
the rows of an older build wrong without any new event, so each slot records the revision it
was built under (table ``rm_revision``) and a slot of another revision is stale: the next query
empties it and catches it up from the first event (:func:`projections.sql.projector.catch_up`).

Bump :data:`READ_MODEL_REVISION` whenever the rows a ledger projects to would change. A golden
file (``tests/golden/read_model_revisions.json``) holds, per revision, the rules' fingerprint
and a digest of the bundled demo ledger's rows; a test fails when either moves under an
unchanged revision. This module imports nothing: the fast ``status`` path reads it too.
"""

READ_MODEL_REVISION = 11

"""Storage adapters: the event stores (SQLite, PostgreSQL), their engine, the SQL schema
beside the events, and the worker processes the importer and rebuild use."""

"""The SQL read models: status timelines and the lapse index, their projector and queries."""

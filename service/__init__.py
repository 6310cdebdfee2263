"""The HTTP service: one WSGI app (flask-smorest) serving partners, regulators, operators and
the public from one ledger, each seeing only what is theirs (issue 13)."""

"""`python -m commands` runs the corledger command line."""

from commands.cli import main

main()

"""`python -m promptcrafter` runs the command line."""

from promptcrafter.cli import main

main()

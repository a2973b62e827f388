"""`python -m siaga` runs the command line."""

from siaga.cli import main

main()

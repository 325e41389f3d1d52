"""`python -m callqueue`: the same command line as the `callqueue` script."""

from callqueue.cli import main

main()

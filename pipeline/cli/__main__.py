"""`python -m pipeline.cli`: the same entry point as the `memp` script."""

from pipeline.cli import main

main()

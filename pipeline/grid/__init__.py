"""`memp grid`: many run configurations as one experiment, memory cells paired with controls."""

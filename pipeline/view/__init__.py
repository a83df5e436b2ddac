"""`memp view`: a read-only web viewer over run and grid directories."""

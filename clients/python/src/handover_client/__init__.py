"""A typed client of the Handover API, and the `handover` command line built on it."""

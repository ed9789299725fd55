"""Training of the retrieval networks (imports `core`, never `editor`)."""

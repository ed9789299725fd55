"""Retrieval: the paper's networks, presets, bundles, music-fit scorers, suggestions, decoders."""

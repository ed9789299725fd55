"""Export: the JSON timeline, BVH, glTF, CSV and preview images of a choreography."""

"""Choreography: placements, beat warping, rendering, metrics, the session engine."""

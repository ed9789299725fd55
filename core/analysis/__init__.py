"""Music analysis: tempo and beats, meter and downbeats, melody, sections (`analyzer` runs them)."""

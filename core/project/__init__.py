"""Project files (`.choreo`): the editable state of a choreography session, saved and restored."""

"""`choreo` sub-commands that live in the editor package (the `edit` command)."""

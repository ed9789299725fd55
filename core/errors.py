"""User-facing errors: one clear line saying what went wrong, where, and what to do."""


class ChoreoError(Exception):
    """An error caused by the user's input or environment, shown as a single line, no traceback.

    The message should name the file (or object) involved, say what is wrong, and what to do.
    """


class Cancelled(Exception):
    """Raised inside a long-running stage when the user cancelled it (GUI cancel button)."""

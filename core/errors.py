"""User-facing errors: one clear line saying what went wrong, where, and what to do."""


class ChoreoError(Exception):
    """An error caused by the user's input or environment, shown as a single line, no traceback.

    The message should name the file (or object) involved, say what is wrong, and what to do.
    """


class PathError(ChoreoError):
    """A file or folder could not be read or written (permission, full disk, wrong kind, ...).

    ``errno`` is the operating system's error number, so callers that can do without the file
    (a cache) can tell this apart from bad contents and carry on.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class Cancelled(Exception):
    """Raised inside a long-running stage when the user cancelled it (GUI cancel button)."""

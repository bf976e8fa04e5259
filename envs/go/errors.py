"""Errors a user of the Go engine can cause; all derive from ``GoError`` (a ``ValueError``)."""


class GoError(ValueError):
    """Base class of the errors a user of the Go engine can cause."""


class CoordinateError(GoError):
    """A move or vertex that does not name a point of the board."""

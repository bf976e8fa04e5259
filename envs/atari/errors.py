"""Errors a user of the Atari environments can cause: ``AtariConfigError`` (a ``ValueError``)."""


class AtariConfigError(ValueError):
    """A setting that is not allowed: an unknown protocol or game, an out-of-range value, a bad action."""

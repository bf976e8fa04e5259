"""Logging: library code and Ray actors log, the command decides how much is shown.

Every module of the library logs through its own logger, ``log = logging.getLogger(__name__)`` (all under
the ``tenuki`` logger), and never prints; only ``tenuki.commands`` and ``bench/`` write to stdout. The
command calls ``setup_logging`` once from its ``-v`` / ``-q`` flags:

=========  ===============  ==============================================
verbosity  level            shown
=========  ===============  ==============================================
-1 (-q)    WARNING          problems only
0          INFO             progress of long jobs (the default)
1 (-v)     DEBUG            everything
=========  ===============  ==============================================

Messages go to stderr as plain lines (``message``, or ``LEVEL name: message`` at DEBUG), so stdout stays
the command's own output (a GTP stream, one JSON object). Ray forwards an actor's stderr to the driver,
so actors log the same way.
"""

from __future__ import annotations

import logging
import sys

ROOT_LOGGER = "tenuki"
_HANDLER_FLAG = "_tenuki_handler"


def level_for(verbosity: int) -> int:
    """The logging level of a ``-v`` / ``-q`` count (negative: quieter)."""
    if verbosity < 0:
        return logging.WARNING
    return logging.INFO if verbosity == 0 else logging.DEBUG


def setup_logging(verbosity: int = 0, stream=None) -> logging.Logger:
    """Send the ``tenuki`` loggers to ``stream`` (stderr) at the level of ``verbosity``; idempotent (a
    second call replaces the handler and the level, it never adds a second one)."""
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_FLAG, False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_FLAG, True)
    level = level_for(verbosity)
    fmt = "%(levelname)s %(name)s: %(message)s" if level <= logging.DEBUG else "%(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger

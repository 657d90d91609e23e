"""The root of telmon's own exceptions.

Every exception class telmon defines derives from :class:`TelmonError` (keeping its other
base, e.g. ``ValueError``, so an ``except ValueError`` written before still catches it).
``telmon``'s ``main()`` (monitor/cli/__init__.py) catches the root and maps each class to an exit code
in one table there. This module imports nothing, so the pure core can derive from it too.
"""


class TelmonError(Exception):
    """An error telmon raises on purpose; its message is written for the person running telmon."""

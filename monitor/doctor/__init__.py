"""``telmon doctor``: check a live installation, one line per item, each failure with its fix.

Every check returns :class:`Check` results (never raises): ``ok``, ``warn`` (works,
but not as it should be) or ``fail`` (telmon cannot do its job). The command
exits 1 when anything failed, so it can gate a deployment or a monitoring probe.
The checks read the installation as telmon's own process sees it: run the
doctor as the ``telmon`` user (``sudo -u telmon telmon doctor``).
"""
from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """The result of one check: what was checked, how it came out, and how to fix it."""

    item: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        """One line for the terminal: status, item, what was found, and the fix when not ok."""
        text = f"{self.status.upper():4}  {self.item}: {self.detail}"
        return f"{text} — fix: {self.fix}" if self.fix and self.status != OK else text

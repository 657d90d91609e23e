"""One masking policy for every output: caller numbers are personal data (Korea's PIPA).

Tables, JSON lines, reports, logs and error messages show numbers masked
(``010-****-5678``); extensions (six digits or fewer) are not personal data and
stay. Full numbers are shown only when the person asking says so with a flag and
a reason, and that is logged with who asked (:func:`log_unmasked`). Log lines and
error texts that may quote a frame or a database row pass through :func:`scrub`.
"""
from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
from pathlib import Path

from .core.masking import mask_number, scrub  # noqa: F401  (the policy is core's; re-exported for adapters)

log = logging.getLogger("telmon.privacy")

def process_owner() -> str:
    """Who runs this process, from the operating system (not ``LOGNAME``, which anyone can set)."""
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):   # no passwd entry (a container's arbitrary uid)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else getpass.getuser()


def unmasked_log_path() -> Path:
    """Where unmasked exports are logged: ``TELMON_AUDIT_LOG`` or the owner's state folder, never the export's."""
    env = os.environ.get("TELMON_AUDIT_LOG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "telmon" / "unmasked-exports.log"


def log_unmasked(what: str, reason: str) -> None:
    """Record that ``what`` shows full numbers, who asked (the process owner) and why; 0600 file."""
    who = process_owner()
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    line = f"{stamp} {who} {what} reason: {' '.join(reason.split())}\n"
    path = unmasked_log_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line)
    log.warning("%s with UNMASKED caller numbers by %s (reason: %s); logged in %s", what, who, reason, path)


class ScrubbingFormatter(logging.Formatter):
    """A log formatter that masks phone numbers in the whole line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted line, scrubbed."""
        return scrub(super().format(record))

"""What every ``telmon`` command family shares: the ``--since`` parser, loading the
settings and the directory, and the ``--unmasked --reason`` flags with their check.

Each family module (``calls``, ``live``, ``backfill``, ``speech``, ``review``,
``report``, ``doctor``, ``web``) has one entry point, ``register(sub, common)``:
it adds its subparsers to ``sub``, calls ``common`` (``config.add_common_flags``)
on those that read the configuration, and sets ``handler`` on each, a
function ``(args) -> int`` that ``main()`` calls.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..config import Settings, load_settings, overrides_from_args
from ..directory import Directory, load_directory
from ..masking import log_unmasked

LATEST_SINCE = 4102444800.0   # 2100-01-01: a --since beyond it is a typo

# config.add_common_flags: --config, --database-url and the other settings' flags.
CommonFlags = Callable[[argparse.ArgumentParser], None]
# The ``sub`` argument of ``register``: what ``ArgumentParser.add_subparsers`` returns (generic only to mypy).
if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = Any


def parse_since(text: str, now: Optional[float] = None) -> float:
    """``--since``: epoch seconds, an ISO date/time, or an age like ``90m``, ``2h``, ``7d``."""
    now = time.time() if now is None else now
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    value: Optional[float] = None
    if m:
        value = now - float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if value is None:
        try:
            value = float(text)
        except ValueError:
            pass
    if value is None:
        try:
            value = dt.datetime.fromisoformat(text).timestamp()
        except (ValueError, OverflowError, OSError):
            pass
    # nan and inf parse as floats; a time before 1970 or after 2100 is a typo, not a window.
    if value is None or not math.isfinite(value) or not 0 <= value <= LATEST_SINCE:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: give epoch seconds, an ISO time (2026-11-25T09:00) or an age (2h, 7d)")
    return value


def load(args: argparse.Namespace) -> Settings:
    """The settings: defaults < the ``--config`` file < the environment < the command's flags."""
    return load_settings(args.config, os.environ, overrides_from_args(args))


def setup(args: argparse.Namespace) -> tuple[Settings, Directory]:
    """The settings and the directory they name (read and checked)."""
    settings = load(args)
    return settings, load_directory(settings.directory_path)


def add_unmask_flags(p: argparse.ArgumentParser) -> None:
    """``--unmasked`` and ``--reason``, for the commands whose ``--json`` can show full numbers."""
    p.add_argument("--unmasked", action="store_true", help="full caller numbers in --json (logged, with --reason)")
    p.add_argument("--reason", help="why full numbers are needed (goes to the unmasked-export log)")


def unmasked(args: argparse.Namespace, what: str) -> bool:
    """Full numbers only with ``--unmasked --reason``, and only as JSON; logged with who asked and why."""
    if not getattr(args, "unmasked", False):
        return False
    if not args.json or not (args.reason or "").strip():
        raise argparse.ArgumentTypeError("--unmasked needs --json and --reason WHY (it is logged)")
    log_unmasked(what, args.reason)
    return True

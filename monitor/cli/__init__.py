"""``telmon``: the one command-line entry point.

Subcommands: ``replay`` (recorded AMI streams into the database, with a verdict
table or ``--json``), ``calls`` (stored calls in the same formats) and
``directory`` (check a directory file): calls.py; ``demo`` (the bundled real
captures replayed live, verdicts printed as calls end), ``run``, ``simulate``:
live.py; ``models``, ``check-greeting``: speech.py; ``review``, ``report``,
``backfill`` (calls from Asterisk's CEL), ``doctor``/``migrate``: their
modules; the workbench's ``web``, ``user``, ``audit``, ``purge``: web.py.
Configuration: defaults < file < environment < flags (see ``monitor/config.py``).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional, Sequence

from ..config import add_common_flags
from ..errors import TelmonError
from ..exit_codes import exit_code_of
from ..masking import ScrubbingFormatter
from . import backfill, calls, doctor, live, report, review, speech, web

log = logging.getLogger("telmon")
# Each family adds its subcommands, in the order ``telmon --help`` lists them.
FAMILIES = (calls, live, speech, review, report, backfill, doctor, web)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand; each sets ``handler``, a function ``(args) -> int``."""
    parser = argparse.ArgumentParser(prog="telmon", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for family in FAMILIES:
        family.register(sub, add_common_flags)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run telmon; returns the process exit code."""
    # Everything telmon writes (database, WAL, exports, spill and audit files) is the owner's, readable
    # by the shared group at most (README: "Files and the shared group"); never by other local users.
    os.umask(0o027)
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = args.command not in ("run", "simulate")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:   # no caller number reaches a log, whatever logs it
        handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    try:
        return int(args.handler(args) or 0)
    except (TelmonError, argparse.ArgumentTypeError) as exc:
        # One clear line (a directory file's problems: one line each), no traceback; -v shows where.
        log.debug("exit on %s", type(exc).__name__, exc_info=True)
        print(f"telmon: {exc}", file=sys.stderr)
        return exit_code_of(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0

"""``telmon report``: the monthly compliance report (CSV, XLSX, HTML, PDF) of monitor/report/.

The files are made by :func:`monitor.report.make.make_report`; this prints one
summary line on stderr and the path of every file written on stdout. A bad
request (month, format, department, output folder, missing tools) is one line
``telmon report: ...`` and exit 2.
"""
from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..report.make import ReportRequest, make_report
from ..report.period import DEFAULT_TZ, ReportError
from .common import CommonFlags, Subparsers, setup


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``report``."""
    p = sub.add_parser("report", help="the monthly compliance report (CSV, XLSX, HTML, PDF)")
    p.add_argument("--month", required=True, help="YYYY-MM, in the foundation's local time")
    p.add_argument("--department", action="append", help="only this department (repeat for several)")
    p.add_argument("--format", action="append", dest="formats",
                   help="csv, xlsx, html, pdf (repeat or comma-separate; default csv,xlsx,html)")
    p.add_argument("--out", default=".", help="output directory (default: the current one)")
    p.add_argument("--timezone", default=DEFAULT_TZ, help=f"month boundaries' time zone (default {DEFAULT_TZ})")
    p.add_argument("--unmasked", action="store_true", help="full caller numbers in the call sheet (logged)")
    p.add_argument("--reason", help="why full numbers are needed (required with --unmasked; logged)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    common(p)
    p.set_defaults(handler=report)


def report(args: argparse.Namespace, err: TextIO = sys.stderr) -> int:
    """The ``telmon report`` command; returns the exit code."""
    settings, directory = setup(args)
    request = ReportRequest(month=args.month, out=args.out, formats=args.formats, departments=args.department,
                            timezone=args.timezone, unmasked=args.unmasked, reason=args.reason or "",
                            progress=not args.no_progress)
    try:
        made = make_report(settings, directory, request, err)
    except ReportError as exc:
        print(f"telmon report: {exc}", file=err)
        return 2
    month = made.report.month
    print(f"telmon report: {month.label}: {made.report.total.calls} calls in {made.seconds:.1f} s; "
          f"{len(made.report.trainees())} on the R9 training list", file=err)
    for path in made.written:
        print(path)
    return 0

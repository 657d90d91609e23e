"""The workbench's commands: ``telmon web`` (serve it), ``telmon user`` (its accounts),
``telmon audit`` (its audit trail) and ``telmon purge`` (recordings past retention).

Parsers and dispatch only: what each does is in monitor/web/commands.py and
monitor/web/audit.py.
"""
from __future__ import annotations

import argparse

from ..storage.store import Store
from ..storage.workbench import ROLES
from ..web import audit, commands
from .common import CommonFlags, Subparsers, parse_since, setup


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``web``, ``user``, ``audit`` and ``purge``."""
    p = sub.add_parser("web", help="the workbench: review queue, call journeys, reports (http://127.0.0.1:8080)")
    p.add_argument("--host", help="listen address (default [web] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default [web] port, 8080)")
    common(p)
    p.set_defaults(handler=serve)

    p = sub.add_parser("user", help="workbench accounts: add, passwd, disable, enable, list")
    p.add_argument("action", choices=("add", "passwd", "disable", "enable", "list"))
    p.add_argument("name", nargs="?")
    p.add_argument("--role", choices=ROLES, help="admin, compliance, supervisor or reviewer (add)")
    p.add_argument("--department", action="append", help="a supervisor's department (repeat)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--generate", action="store_true", help="make a random password and print it")
    common(p)
    p.set_defaults(handler=user)

    p = sub.add_parser("audit", help="the workbench's audit trail (who saw, heard, unmasked what)")
    p.add_argument("--since", help="epoch seconds, ISO time, or an age such as 2h or 7d (default 7d)")
    p.add_argument("--actor", help="only this user")
    p.add_argument("--action", help=f"only this action ({', '.join(audit.ACTIONS)})")
    p.add_argument("--json", action="store_true", help="one JSON object per row")
    common(p)
    p.set_defaults(handler=audit_trail)

    p = sub.add_parser("purge", help="delete recordings and transcripts whose retention is over")
    common(p)
    p.set_defaults(handler=purge)


def serve(args: argparse.Namespace) -> int:
    """``telmon web``: the workbench until interrupted."""
    settings, directory = setup(args)
    return commands.serve(args, settings, directory)


def user(args: argparse.Namespace) -> int:
    """``telmon user``: add, passwd, disable, enable or list the workbench's accounts."""
    settings, _ = setup(args)
    return commands.user(args, settings)


def audit_trail(args: argparse.Namespace) -> int:
    """``telmon audit``: the audit trail's rows since ``--since`` (default the last 7 days)."""
    settings, _ = setup(args)
    return audit.run(args, Store.open(settings.database_url).engine, parse_since(args.since or "7d"))


def purge(args: argparse.Namespace) -> int:
    """``telmon purge``: delete what is past retention now (``telmon run`` does it every hour)."""
    settings, _ = setup(args)
    return commands.purge(settings)

"""``telmon doctor`` and ``telmon migrate``: the command-line side of checking an installation
(the checks themselves: monitor/doctor/)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..doctor import FAIL, Check
from ..doctor.local import check_database, check_directory, check_model, check_spool, check_whisper
from ..doctor.pbx import check_ami, check_fastagi, check_manager_conf, check_metrics
from ..settings import Settings
from ..storage.store import Store
from .common import CommonFlags, Subparsers, load

DEFAULT_MANAGER_CONF = "/etc/asterisk/manager.conf"


def register(sub: Subparsers, common: CommonFlags) -> None:
    """Add ``doctor`` and ``migrate``."""
    p = sub.add_parser("doctor", help="check a live installation: one line per item, each problem with its fix")
    p.add_argument("--manager-conf", default=DEFAULT_MANAGER_CONF,
                   help=f"Asterisk's manager.conf, read for the account's classes and filters ({DEFAULT_MANAGER_CONF})")
    p.add_argument("--no-speech", action="store_true", help="skip loading the speech model (~2 s, ~0.5 GB)")
    common(p)
    p.set_defaults(handler=doctor)
    p = sub.add_parser("migrate", help="bring the database to the newest schema (after an upgrade)")
    common(p)
    p.set_defaults(handler=migrate)


def run_checks(settings: Settings, manager_conf: Path, speech: bool = True) -> list[Check]:
    """Every check, in the order an administrator would fix things."""
    checks = check_ami(settings)
    checks += check_manager_conf(manager_conf, settings.ami.username)
    checks.append(check_fastagi(settings))
    checks.append(check_metrics(settings))
    checks += check_spool(settings)
    if speech:
        checks.append(check_model(settings))
        checks.append(check_whisper(settings))
    checks.append(check_database(settings))
    checks += check_directory(settings)
    return checks


def doctor(args: argparse.Namespace) -> int:
    """Print every check; exit 1 when anything failed."""
    settings = load(args)
    checks = run_checks(settings, Path(args.manager_conf), speech=not args.no_speech)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if c.status == FAIL]
    print(f"telmon doctor: {len(checks)} checks, {len(failed)} failed")
    return 1 if failed else 0


def migrate(args: argparse.Namespace) -> int:
    """Open the database, which migrates it to the newest revision, and say where it stands."""
    settings = load(args)
    store = Store.open(settings.database_url)
    store.close()
    print(f"telmon migrate: {Store.display_url(settings.database_url)} is at the newest schema")
    return 0

"""What the workbench's commands do: ``telmon web`` (serve), ``telmon user``, ``telmon purge``;
the hourly purge and the recordings gauges inside ``telmon run``; the demo's accounts.
Their parsers: monitor/cli/web.py.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import secrets
import sys
from typing import Any, Optional

from ..storage import recordings
from ..storage.store import Store
from .accounts import AccountError, Accounts

log = logging.getLogger("telmon.web")
PURGE_EVERY = 3600.0


def open_store(settings: Any) -> Store:
    """The call database, its connections checked before use (a restarted server is picked up again)."""
    return Store.open(settings.database_url, pool_pre_ping=True)


def serve(args: argparse.Namespace, settings: Any, directory: Any) -> int:
    """``telmon web``: the workbench until interrupted."""
    import uvicorn

    from .app import create_app
    app = create_app(settings, directory, open_store(settings))
    host = args.host or settings.web.host
    port = settings.web.port if args.port is None else args.port
    print(f"telmon web: http://{host}:{port}/ (database {Store.display_url(settings.database_url)}, "
          f"recordings from {settings.agi.spool_dir})", flush=True)
    # proxy_headers: behind the TLS reverse proxy on this host, the client's address comes from X-Forwarded-For.
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True, server_header=False)
    return 0


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    if args.generate:
        return secrets.token_urlsafe(12), True
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if not sys.stdin.isatty():
        raise AccountError("give the password with --password-stdin or --generate (no terminal to ask on)")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first, False


def user(args: argparse.Namespace, settings: Any) -> int:
    """``telmon user``."""
    from . import audit
    store = Store.open(settings.database_url)
    accounts = Accounts(store.engine)
    actor = f"cli:{getpass.getuser()}"
    try:
        if args.action == "list":
            for row in accounts.all():
                state = "disabled" if row.disabled else ("locked" if row.locked_until else "active")
                print(f"{row.name:20} {row.role:11} {state:9} {row.departments}")
            return 0
        if not args.name:
            raise AccountError(f"telmon user {args.action} NAME")
        if args.action == "add":
            if not args.role:
                raise AccountError("--role is required (admin, compliance, supervisor, reviewer)")
            password, made = _password(args)
            accounts.add(args.name, args.role, password, tuple(args.department or ()))
            audit.record(store.engine, actor, "cli", "user.added", args.name, args.role)
        elif args.action == "passwd":
            password, made = _password(args)
            accounts.set_password(args.name, password)
            audit.record(store.engine, actor, "cli", "user.password", args.name)
        else:
            accounts.set_disabled(args.name, args.action == "disable")
            audit.record(store.engine, actor, "cli", f"user.{args.action}d", args.name)
            made = False
    except AccountError as exc:
        print(f"telmon user: {exc}", file=sys.stderr)
        return 2
    print(f"telmon user: {args.action} {args.name}: done" + (f"; password: {password}" if made else ""))
    return 0


def purge(settings: Any) -> int:
    """``telmon purge``."""
    store = Store.open(settings.database_url)
    done = recordings.purge(store.engine, settings.agi.spool_dir, settings.speech.keep_days_after_review,
                            settings.speech.retain_recordings)
    count, size = recordings.stored(store.engine)
    print(f"telmon purge: {done.deleted} recordings past retention ({done.files} files, {done.bytes} bytes "
          f"deleted), {done.transcripts} transcripts removed; {count} recordings kept ({size} bytes)")
    return 0


class RetentionLoop:
    """Inside ``telmon run``: purge every hour and export how many recordings are kept (and bytes)."""

    def __init__(self, settings: Any, store: Store, metrics: Any = None) -> None:
        self.settings, self.store = settings, store
        self.metrics = metrics
        self.gauges: Optional[tuple[Any, Any]] = None
        if metrics is not None:
            from prometheus_client import Gauge
            stored = Gauge("telmon_recordings_stored", "Greeting recordings kept for review (not yet purged).",
                           registry=metrics.registry)
            size = Gauge("telmon_recordings_bytes", "Bytes of the greeting recordings kept for review.",
                         registry=metrics.registry)
            self.gauges = (stored, size)
            metrics.history += [stored, size]   # before the /metrics endpoint starts: it renders history

    def once(self) -> None:
        """One purge and one gauge update; errors are logged, never raised (the monitor goes on)."""
        sp = self.settings.speech
        try:
            recordings.purge(self.store.engine, self.settings.agi.spool_dir, sp.keep_days_after_review,
                             sp.retain_recordings)
            count, size = recordings.stored(self.store.engine)
        except Exception as exc:   # a database hiccup: next hour again
            log.error("recording purge failed: %s", exc)
            return
        if self.gauges is not None and self.metrics is not None:
            self.gauges[0].set(count)
            self.gauges[1].set(size)
            self.metrics.version += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Purge now and then every hour until ``stop``."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            await loop.run_in_executor(None, self.once)
            try:
                await asyncio.wait_for(stop.wait(), PURGE_EVERY)
            except asyncio.TimeoutError:
                pass


def seed_demo_accounts(store: Store) -> list[tuple[str, str, Optional[str]]]:
    """The demo's accounts (made once): (name, role, the password made, or None when it existed)."""
    accounts = Accounts(store.engine)
    out: list[tuple[str, str, Optional[str]]] = []
    for name, role in (("admin", "admin"), ("compliance", "compliance")):
        if accounts.by_name(name) is not None:
            out.append((name, role, None))
            continue
        password = secrets.token_urlsafe(12)
        accounts.add(name, role, password)
        out.append((name, role, password))
    return out

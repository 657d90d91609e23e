"""Settings: defaults < TOML file < ``TELMON_*`` environment < command-line flags.

Every setting has one dotted name (``ami.host``, ``cadence.on``, ``database_url``)
used by all four layers, so the precedence is one loop, not four code paths.
Errors name where the bad value came from (file, variable or flag) and never
echo the AMI secret or a database password.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import tomllib
import typing
from pathlib import Path
from typing import Any, Mapping, Optional

from .settings import (AgiSettings, AmiSettings, CadenceSettings, MetricsSettings, Settings, SpeechSettings,
                       ThresholdSettings, TrackerSettings, WebSettings)
from .errors import TelmonError

# The settings classes live in monitor/settings.py; they are importable from here too.
__all__ = ["AgiSettings", "AmiSettings", "CadenceSettings", "ConfigError", "MetricsSettings", "Settings",
           "SpeechSettings", "ThresholdSettings", "TrackerSettings", "WebSettings", "add_common_flags",
           "load_settings", "overrides_from_args"]


class ConfigError(TelmonError, ValueError):
    """A configuration value that cannot be used; the message names its source."""


ENV = {
    "TELMON_AMI_HOST": "ami.host", "TELMON_AMI_PORT": "ami.port", "TELMON_AMI_USERNAME": "ami.username",
    "TELMON_AMI_SECRET": "ami.secret", "TELMON_AMI_SECRET_FILE": "ami.secret_file",
    "TELMON_SPILL_DIR": "spill_dir", "TELMON_CEL_PATH": "cel_path",
    "TELMON_DATABASE_URL": "database_url", "TELMON_DIRECTORY": "directory",
    "TELMON_RING_ON": "cadence.on", "TELMON_RING_OFF": "cadence.off", "TELMON_MAX_RINGS": "thresholds.max_rings",
    "TELMON_MAX_WAIT_SECONDS": "thresholds.max_wait_seconds",
    "TELMON_CALLBACK_WINDOW_HOURS": "thresholds.callback_window_hours", "TELMON_TRUNKS": "tracker.trunks",
    "TELMON_STALE_CALL_SECONDS": "tracker.stale_call_seconds", "TELMON_METRICS_PORT": "metrics.port",
    "TELMON_METRICS_HOST": "metrics.host", "TELMON_METRICS_PERSON_LABELS": "metrics.person_labels",
    "TELMON_AGI_HOST": "agi.host", "TELMON_AGI_PORT": "agi.port", "TELMON_SPOOL_DIR": "agi.spool_dir",
    "TELMON_MODEL_PATH": "speech.model_path", "TELMON_SPEECH": "speech.enabled",
    "TELMON_KEEP_DAYS_AFTER_REVIEW": "speech.keep_days_after_review",
    "TELMON_WEB_HOST": "web.host", "TELMON_WEB_PORT": "web.port", "TELMON_WEB_SECURE_COOKIES": "web.secure_cookies",
    "TELMON_SPEECH_ENGINES": "speech.engines", "TELMON_WHISPER_DIR": "speech.whisper_dir",
}

FLAGS = {  # flag -> (dotted key, help)
    "--database-url": ("database_url", "SQLAlchemy URL (sqlite:///telmon.db, postgresql+psycopg://...)"),
    "--directory": ("directory", "directory YAML file (departments and people)"),
    "--cel-path": ("cel_path", "Asterisk's cel_custom CSV (calls made while telmon was down)"),
    "--ring-on": ("cadence.on", "seconds of ring tone per ring"),
    "--ring-off": ("cadence.off", "seconds of silence per ring"),
    "--max-rings": ("thresholds.max_rings", "R1: the last ring at which answering passes"),
    "--max-wait-seconds": ("thresholds.max_wait_seconds", "R4: longest allowed wait"),
    "--callback-window-hours": ("thresholds.callback_window_hours", "R8: callback window"),
    "--stale-call-seconds": ("tracker.stale_call_seconds", "flush a silent call as incomplete after this"),
    "--ami-host": ("ami.host", "Asterisk manager host"), "--ami-port": ("ami.port", "Asterisk manager port"),
    "--ami-username": ("ami.username", "AMI user (read-only)"),
    "--ami-secret-file": ("ami.secret_file", "a file holding the AMI secret (or TELMON_AMI_SECRET; never a flag)"),
    "--agi-host": ("agi.host", "FastAGI listen address"), "--agi-port": ("agi.port", "FastAGI port (0 = off)"),
    "--spool-dir": ("agi.spool_dir", "where Asterisk records greetings for telmon"),
}
# Settings that were removed: a file that still sets one gets a warning naming why, never a crash.
DEPRECATED = {
    "tracker.outbound_prefix": "it was never read: a call is outbound when a phone's call leaves on a trunk "
                               "channel (tracker.trunks), whatever digits were dialled",
}
log = logging.getLogger("telmon.config")
_FLAG_OF = {key: flag for flag, (key, _) in FLAGS.items()} | {"tracker.trunks": "--trunk"}

# Sanity bounds: key -> (lowest, whether the lowest itself is allowed, highest).
_BOUNDS: dict[str, tuple[float, bool, float]] = {
    "ami.port": (1, True, 65535), "metrics.port": (0, True, 65535), "agi.port": (0, True, 65535),
    "ami.backoff_min": (0.01, True, math.inf), "ami.backoff_max": (0, False, math.inf),
    "cadence.on": (0, False, math.inf), "cadence.off": (0, True, math.inf),
    "thresholds.max_rings": (1, True, math.inf), "thresholds.max_wait_seconds": (0, False, math.inf),
    "thresholds.max_transfers": (0, True, math.inf), "thresholds.callback_window_hours": (0, False, math.inf),
    "tracker.stale_call_seconds": (60, True, math.inf),   # a talking call sends no events for minutes
    "speech.processes": (1, True, 64), "speech.max_backlog": (0, True, math.inf),
    "speech.head_seconds": (0, False, 60), "speech.stated_similarity": (0, True, 1),
    "speech.stated_confidence": (0, True, 1), "speech.absent_similarity": (0, True, 1),
    "speech.absent_confidence": (0, True, 1), "speech.keep_days_after_review": (0, True, 3650),
    "web.port": (0, True, 65535), "web.session_hours": (0, False, 24 * 30), "web.lock_after": (1, True, 1000),
    "web.lock_minutes": (0, False, 24 * 60), "web.page_size": (1, True, 500),
}


def _sections() -> dict[str, type]:
    return {f.name: type(f.default) for f in dataclasses.fields(Settings) if dataclasses.is_dataclass(f.default)}


def _field_type(key: str) -> type:
    """The plain type (int, float, str or tuple) of a dotted key; KeyError when there is none."""
    top, _, sub = key.partition(".")
    owner = _sections().get(top) if sub else Settings
    hints = typing.get_type_hints(owner) if owner else {}
    name = sub or top
    if name not in hints or (not sub and top in _sections()):
        raise KeyError(key)
    hint = hints[name]
    if typing.get_origin(hint) is tuple:
        return tuple
    args = [a for a in typing.get_args(hint) if a is not type(None)]  # Optional[str] is str
    return hint if isinstance(hint, type) else args[0]


def _convert(key: str, value: Any, where: str, text: bool) -> Any:
    """Check (file: TOML is typed) or parse (``text``: environment and flags give strings) a value."""
    typ = _field_type(key)
    if text and isinstance(value, str) and typ is bool:
        word = value.strip().lower()
        value = True if word in ("1", "true", "yes", "on") else False if word in ("0", "false", "no", "off") else value
    elif text and isinstance(value, str) and typ is not str:
        value = value.split(",") if typ is tuple else value.strip()
        try:
            value = typ(value) if typ is not tuple else value
        except ValueError:
            pass
    ok = {
        str: isinstance(value, str),
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        tuple: isinstance(value, (list, tuple)) and all(isinstance(i, str) for i in value),
    }[typ]
    if not ok:
        shown = "***" if key == "ami.secret" else repr(value)
        kind = "a list of names" if typ is tuple else typ.__name__
        raise ConfigError(f"{where}: {key} must be {kind}, got {shown}")
    if typ is tuple:
        return tuple(i.strip() for i in value if i.strip())
    return float(value) if typ is float else value


def _check_bounds(key: str, value: Any, where: str) -> None:
    low, inclusive, high = _BOUNDS.get(key, (-math.inf, True, math.inf))
    if value < low or (value == low and not inclusive):
        raise ConfigError(f"{where}: {key} must be {'at least' if inclusive else 'more than'} {low}, got {value}")
    if value > high:
        raise ConfigError(f"{where}: {key} must be at most {high}, got {value}")


def _read_file(path: str) -> dict[str, Any]:
    """The file's settings by dotted key; a relative ``directory`` is relative to the file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    flat: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            if k not in _sections():
                raise ConfigError(f"{path}: unknown section [{k}] (expected {', '.join(_sections())})")
            flat.update({f"{k}.{sk}": sv for sk, sv in v.items()})
        else:
            flat[k] = v
    for key in sorted(DEPRECATED.keys() & flat.keys()):
        log.warning("%s: %s is no longer a setting and is ignored (%s); remove it from the file",
                    path, key, DEPRECATED[key])
        del flat[key]
    if isinstance(flat.get("directory"), str) and flat["directory"]:
        flat["directory"] = str(Path(path).parent / Path(flat["directory"]).expanduser())
    return flat


def load_settings(config_path: Optional[str], env: Mapping[str, str],
                  overrides: Mapping[str, Any]) -> Settings:
    """Merge defaults, the TOML file (``config_path`` or ``TELMON_CONFIG``), ``env`` and ``overrides``.

    ``overrides`` are dotted keys (``"ami.host"``) holding only what the user gave on
    the command line; strings there and in ``env`` are parsed, the file's values must
    already have the right TOML type. Raises :class:`ConfigError` naming the source.
    """
    path = config_path or env.get("TELMON_CONFIG")
    layers: list[tuple[dict[str, Any], Any, bool]] = []   # (values, key -> where, values are text)
    if path:
        layers.append((_read_file(path), lambda key: path, False))
    env_keys = {v: k for k, v in ENV.items()}
    layers.append(({ENV[k]: v for k, v in env.items() if k in ENV},
                   lambda key: f"environment variable {env_keys[key]}", True))
    layers.append((dict(overrides),
                   lambda key: f"flag {_FLAG_OF[key]}" if key in _FLAG_OF else f"command-line setting {key}", True))
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for layer, where_of, text in layers:
        for key, value in layer.items():
            where = where_of(key)
            try:
                values[key] = _convert(key, value, where, text)
            except KeyError:
                raise ConfigError(f"{where}: unknown setting {key!r}") from None
            origin[key] = where
            if not isinstance(values[key], (str, tuple)):
                _check_bounds(key, values[key], where)
    settings = _with_secret(_build(values), origin)
    engines = settings.speech.engines
    if not engines or engines[0] != "vosk" or set(engines) - {"vosk", "whisper"} or len(set(engines)) != len(engines):
        raise ConfigError(f"{origin.get('speech.engines', 'defaults')}: speech.engines must be \"vosk\" or "
                          f"\"vosk,whisper\" (Vosk first), got {','.join(engines)!r}")
    if settings.ami.backoff_min > settings.ami.backoff_max:
        where = origin.get("ami.backoff_min") or origin.get("ami.backoff_max", "defaults")
        raise ConfigError(f"{where}: ami.backoff_min ({settings.ami.backoff_min}) is above "
                          f"ami.backoff_max ({settings.ami.backoff_max})")
    return settings


def _with_secret(settings: Settings, origin: Mapping[str, str]) -> Settings:
    """The AMI secret read from ``ami.secret_file`` when one is named; one line, never echoed."""
    ami = settings.ami
    if ami.secret_file:
        where = origin.get("ami.secret_file", "defaults")
        if ami.secret:
            raise ConfigError(f"{where}: give the AMI secret as ami.secret or ami.secret_file, not both")
        try:
            text = Path(ami.secret_file).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigError(f"{where}: cannot read the AMI secret file {ami.secret_file}: {why}") from None
        secret = text.rstrip("\r\n")
        settings = dataclasses.replace(settings, ami=dataclasses.replace(ami, secret=secret))
        origin = {**origin, "ami.secret": f"{where} (file {ami.secret_file})"}
    if "\n" in settings.ami.secret or "\r" in settings.ami.secret:
        raise ConfigError(f"{origin.get('ami.secret', 'defaults')}: the AMI secret must be one line")
    return settings


def _build(values: Mapping[str, Any]) -> Settings:
    top = {k: v for k, v in values.items() if "." not in k}
    for name in _sections():
        sub = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(name + ".")}
        if sub:
            top[name] = dataclasses.replace(getattr(Settings(), name), **sub)
    return Settings(**top)


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and every setting flag (all default to None = not given)."""
    parser.add_argument("--config", help="TOML configuration file (also TELMON_CONFIG)")
    for flag, (_, text) in FLAGS.items():
        parser.add_argument(flag, default=None, help=text)
    # Named so that argparse never takes it for an abbreviation of --ami-secret-file (and echoes the secret).
    parser.add_argument("--ami-secret", dest="ami_secret_given", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trunk", action="append", default=None,
                        help="an endpoint that is a trunk (repeat); default: endpoints not named by a number")


def overrides_from_args(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings the user actually gave as flags, by dotted key."""
    if getattr(ns, "ami_secret_given", None) is not None:
        raise ConfigError("flag --ami-secret: a secret on the command line is visible to every local user (ps); "
                          "use --ami-secret-file FILE or the environment variable TELMON_AMI_SECRET")
    out: dict[str, Any] = {}
    for flag, (key, _) in FLAGS.items():
        value = getattr(ns, flag.lstrip("-").replace("-", "_"), None)
        if value is not None:
            out[key] = value
    if getattr(ns, "trunk", None):
        out["tracker.trunks"] = tuple(ns.trunk)
    return out

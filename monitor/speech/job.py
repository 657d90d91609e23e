"""The greeting job: what the FastAGI hook leaves in the spool for the speech worker, in one type.

The hook writes it (``monitor/live/greeting_hook.py``), the demo queues one
(``monitor/cli/live.py``), the speech worker claims it (:mod:`.spool`) and the
check process reads it (:mod:`.check_job`): all through :class:`GreetingJob`.

The file is a flat JSON object. Version 1 is what every telmon so far has written
(without a ``version`` key): a job left in a spool by an earlier telmon still
reads, keys it no longer uses (``mixed_audio``) are ignored. Whoever can write
the spool can write a job, so a file is validated field by field and a wrong one
raises :class:`JobError` naming what is wrong; the spool sets it aside.
No heavy imports: this module is loaded by the FastAGI threads and the check processes.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from ..core.record import INBOUND, OUTBOUND
from ..errors import TelmonError

VERSION = 1
DIRECTIONS = (INBOUND, OUTBOUND)   # the greetings checked: answered incoming calls, outbound calls


class JobError(TelmonError, ValueError):
    """A greeting job file that is not a job telmon wrote (wrong type, missing field, unknown version)."""


@dataclass(frozen=True)
class GreetingJob:
    """What the speech worker needs to check one greeting."""

    linkedid: str
    uniqueid: str
    extension: str
    answering_audio: str         # the staff member's voice only (the one file recorded)
    channel: str = ""
    department: Optional[str] = None
    person: Optional[str] = None
    started: float = 0.0         # when the hook ran (orders the answers of one call)
    direction: str = "inbound"   # inbound: r() of the answering phone; outbound: t() of the trunk

    def __str__(self) -> str:
        # The INFO log line of the FastAGI session: extension and call, never a phone number.
        who = f"{self.extension} ({self.department or 'not in the directory'})"
        return f"{who} {self.direction} call {self.linkedid}: recording {Path(self.answering_audio).name}"

    def to_dict(self) -> dict[str, Any]:
        """The job as the JSON object written to the spool (with its format version)."""
        return {"version": VERSION, **asdict(self)}

    def to_json(self) -> str:
        """The job file's text."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> "GreetingJob":
        """A job from a decoded JSON object; JobError when it is not one."""
        if not isinstance(data, Mapping):
            raise JobError(f"not a JSON object but {type(data).__name__}")
        version = data.get("version", VERSION)
        if version != VERSION or isinstance(version, bool):
            raise JobError(f"unknown job version {version!r} (this telmon reads version {VERSION})")
        fields: dict[str, Any] = {}
        for name in ("linkedid", "uniqueid", "extension", "answering_audio"):
            if name not in data:
                raise JobError(f"field {name!r} missing")
            fields[name] = _typed(data, name, str)
        if "channel" in data:
            fields["channel"] = _typed(data, "channel", str)
        for name in ("department", "person"):
            if data.get(name) is not None:
                fields[name] = _typed(data, name, str)
        if "started" in data:
            started = data["started"]
            if isinstance(started, bool) or not isinstance(started, (int, float)) or started != started:
                raise JobError(f"field 'started' is {started!r}, not a time")
            fields["started"] = float(started)
        if "direction" in data:
            direction = _typed(data, "direction", str)
            if direction not in DIRECTIONS:
                raise JobError(f"field 'direction' is {direction!r}, not one of {', '.join(DIRECTIONS)}")
            fields["direction"] = direction
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str | bytes) -> "GreetingJob":
        """A job from a job file's text; JobError when it is not JSON or not a job."""
        return cls.from_dict(decode(text))


def decode(text: str | bytes) -> Any:
    """A job or claim file's JSON; JobError (naming the JSON fault) when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:     # JSONDecodeError and undecodable bytes alike
        raise JobError(f"not JSON: {exc}") from None


def _typed(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data[name]
    if not isinstance(value, kind):
        raise JobError(f"field {name!r} is {type(value).__name__}, not {kind.__name__}")
    return value

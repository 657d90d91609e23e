"""What a FastAGI session does when a person answers: tag the channel, record the staff member, leave a job.

Two scripts, one per direction (``asterisk_conf/extensions.conf``):

* ``answered`` runs on the answering phone's channel (``Dial U()``, the Queue
  gosub). The staff member's voice is what Asterisk *receives* from that channel
  (MixMonitor ``r()``).
* ``outbound`` runs on the called trunk channel of an outbound call. The staff
  member is on the other side, so their voice is what Asterisk *sends* to the
  trunk (``t()``); what it receives there is the customer, which is not recorded.

Only that one direction is recorded (MixMonitor with no main file: no mixed
recording of both parties). The job file written next to it tells the speech
worker who should be heard; it is written atomically so the worker never reads
half of one.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from ..directory import Directory
from ..speech.job import GreetingJob
from .agi_protocol import AgiSession, safe_text

__all__ = ["GreetingHook", "GreetingJob", "agi_value", "extension_given", "extension_of_channel",
           "greeting_handlers"]

_SAFE = re.compile(r"[^0-9A-Za-z._-]")
INBOUND_SCRIPT, OUTBOUND_SCRIPT = "answered", "outbound"


def extension_of_channel(channel: str) -> str:
    """The extension in a channel name: PJSIP/6831-0000001a -> 6831, Local/6842@queue-agent-00000003;1 -> 6842."""
    resource = channel.partition("/")[2].split(";", 1)[0]
    if "@" in resource:
        return resource.split("@", 1)[0]
    return resource.rsplit("-", 1)[0] if "-" in resource else resource


def extension_given(value: str) -> str:
    """ARG1 as the dialplan passes it: an extension, or a member interface (PJSIP/6834, Local/6842@ctx)."""
    return value.rsplit("/", 1)[-1].split("@", 1)[0]


class GreetingHook:
    """The handler of one FastAGI script (``answered`` or ``outbound``)."""

    def __init__(self, directory: Directory, spool_dir: str, record_format: str = "wav16",
                 direction: str = "inbound") -> None:
        self.directory = directory
        self.spool = Path(spool_dir)
        self.record_format = record_format
        self.direction = direction
        self.spool.mkdir(parents=True, exist_ok=True)

    def __call__(self, agi: AgiSession) -> GreetingJob:
        env = agi.env
        given = (env.get("agi_arg_1") or "").strip()
        if self.direction == "outbound":
            # The channel is the trunk; only the dialplan knows who called.
            if not given:
                raise ValueError("outbound hook without the caller's extension (ARG1): nothing recorded")
            extension = extension_given(given)
        else:
            # Never the caller ID here: on the answering channel that is the customer's number.
            extension = extension_given(given) if given else extension_of_channel(env["agi_channel"])
        extension = _SAFE.sub("", extension)
        linkedid = env.get("agi_arg_2") or env["agi_uniqueid"]
        person = self.directory.person(extension)
        department = self.directory.department_of(extension)
        agi.set_variable("TELMON_EXTENSION", agi_value(extension))
        agi.set_variable("TELMON_DEPARTMENT", agi_value(department or ""))
        agi.set_variable("TELMON_PERSON", agi_value(person.name if person else ""))
        stem = self.spool / f"{_SAFE.sub('_', linkedid)}-{_SAFE.sub('_', env['agi_uniqueid'])}"
        audio = f"{stem}-{'staff' if self.direction == 'outbound' else 'answering'}.{self.record_format}"
        side = "t" if self.direction == "outbound" else "r"
        agi.exec_app("MixMonitor", f",{side}({audio})")     # no main file: nothing mixed is written
        job = GreetingJob(linkedid=linkedid, uniqueid=env["agi_uniqueid"], extension=extension,
                          answering_audio=audio, channel=env["agi_channel"], department=department,
                          person=person.name if person else None, started=time.time(), direction=self.direction)
        final = Path(f"{stem}.json")      # not with_suffix: uniqueids contain dots
        tmp = Path(f"{stem}.json.tmp")
        tmp.write_text(job.to_json(), encoding="utf-8")
        os.replace(tmp, final)           # the worker never sees half a job
        return job


def agi_value(text: str) -> str:
    """A value set on the channel: safe inside ``SET VARIABLE name "value"`` (a quote, a backslash
    or a line end in a name would end the command or start another) and at most 256 characters."""
    return safe_text(text)[:256]


def greeting_handlers(directory: Directory, spool_dir: str, record_format: str) -> dict[str, GreetingHook]:
    """The FastAGI scripts telmon serves: ``answered`` (inbound) and ``outbound``."""
    return {INBOUND_SCRIPT: GreetingHook(directory, spool_dir, record_format, "inbound"),
            OUTBOUND_SCRIPT: GreetingHook(directory, spool_dir, record_format, "outbound")}


AnsweredHandler = GreetingHook   # the name earlier code and tests use
